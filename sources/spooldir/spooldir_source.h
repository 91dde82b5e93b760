/*
 * Internals of the spooldir source shared by its files and its tests: the conf struct the
 * agent fills, the decoder (inputCharset + decodeErrorPolicy, LINE deserializer with
 * maxLineLength and outputCharset), the directory scan and the position tracker. Everything
 * runs on the agent's source thread; nothing here takes locks.
 */
#ifndef SLUICE_SPOOLDIR_SOURCE_H
#define SLUICE_SPOOLDIR_SOURCE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <iconv.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sluice/plugin.h"

/* ENUM choices: index 0 is the default. */
enum sd_delete { SD_DELETE_NEVER = 0, SD_DELETE_IMMEDIATE };
enum sd_tracking { SD_TRACK_RENAME = 0, SD_TRACK_TRACKER_DIR };
enum sd_order { SD_ORDER_OLDEST = 0, SD_ORDER_YOUNGEST, SD_ORDER_RANDOM };
enum sd_policy { SD_POLICY_FAIL = 0, SD_POLICY_REPLACE, SD_POLICY_IGNORE };

/* Filled by the agent from the option table in spooldir_source.c. */
struct spooldir_conf {
    char *spool_dir;
    char *file_suffix;
    int delete_policy; /* enum sd_delete */
    int file_header;
    char *file_header_key;
    int basename_header;
    char *basename_header_key;
    char *include_pattern;
    char *ignore_pattern;
    char *tracker_dir;
    int tracking_policy; /* enum sd_tracking */
    int consume_order;   /* enum sd_order */
    int64_t poll_delay;
    int recursive;
    int64_t max_backoff;
    int64_t batch_size;
    char *input_charset;
    int decode_error_policy; /* enum sd_policy */
    char *deserializer;
    int64_t max_line_length;
    char *output_charset;
};

#define SD_READ_BLOCK      (64 * 1024)
#define SD_MAX_DEPTH       32
#define SD_TRACKER_NAME    ".sluice-spooldir.pos"
#define SD_BACKOFF_START   250
#define SD_LOG_INTERVAL_MS 60000

struct sd_source;

/* ---- spooldir_decode.c: bytes -> characters -> lines -> bodies ------------------------- */

struct sd_decoder {
    int utf8_in;  /* inputCharset is UTF-8: decoded here; else iconv to UTF-32 */
    int utf8_out; /* outputCharset is UTF-8: the line is the body */
    iconv_t dec, enc;
    uint8_t *obuf; /* output-charset scratch */
    size_t ocap;
};

/* 0 or SLUICE_ECONFIG with msg (unknown charset, not ASCII-compatible input). */
int sd_decoder_open(struct sd_decoder *d, const char *in_cs, const char *out_cs, char *msg,
                    size_t msg_len);
void sd_decoder_close(struct sd_decoder *d);
/* One character from p[0..n): 1 with *cp and *used; 0 when more bytes are needed (only when
 * !at_eof); -1 when the first *used bytes are malformed. */
int sd_decode_char(struct sd_decoder *d, const uint8_t *p, size_t n, int at_eof, uint32_t *cp,
                   size_t *used);
/* The body for a UTF-8 line in outputCharset (unmappable characters become '?', as Java's
 * getBytes). *out is line itself or scratch valid until the next call. 0 or SLUICE_ENOMEM. */
int sd_encode_line(struct sd_decoder *d, const uint8_t *line, size_t n, const uint8_t **out,
                   size_t *out_len);

/* ---- the file being read ----------------------------------------------------------------- */

struct sd_file {
    char *path; /* absolute, as Flume's getAbsolutePath() */
    char *rel;  /* relative to spoolDir (tracker_dir markers) */
    const char *base;
    int fd;
    dev_t dev;
    ino_t ino;
    int64_t size, mtime_ns; /* at open: the file must not change */
    int64_t committed;      /* every byte before it is in a committed event */
    /* reader */
    uint8_t *rbuf;
    int64_t rbase; /* file offset of rbuf[0] */
    size_t rpos, rlen;
    int eof;
    /* the line being assembled (UTF-8), at most maxLineLength UTF-16 units */
    uint8_t *line;
    size_t line_len, line_cap;
    int64_t units;
    int cut_pending;  /* the line reached maxLineLength: it ends at the next character */
    int64_t scan_off; /* file offset after the last character taken */
    uint64_t cut_lines, replaced;
    int cut_warned;
    int bad; /* a FAIL decode error: stop after the lines before it */
    int64_t bad_off;
};

/* ---- spooldir_reader.c: lines of the current file ----------------------------------------- */

/* Open path at offset (a line start); the file's size and mtime now are what it must keep.
 * 0, or -errno. */
int sd_file_open(struct sd_source *s, const char *path, const char *rel, int64_t offset,
                 struct sd_file **out);
void sd_file_close(struct sd_file *f);
/* Forget what was read after the committed offset (the channel refused a batch). */
void sd_file_rewind(struct sd_file *f);

enum sd_line_result {
    SD_LINE = 1, /* f->line[0..line_len) ends before *end; reset line_len after use */
    SD_EOF = 0,  /* nothing more before the size the file had at open */
    SD_BAD = 2   /* malformed input with decodeErrorPolicy FAIL at f->bad_off */
};
/* The next line (LINE deserializer: up to '\n', which is dropped; '\r' stays; cut after
 * maxLineLength characters, the rest starting the next line). SD_* or -errno. */
int sd_next_line(struct sd_source *s, struct sd_file *f, int64_t *end);

/* ---- spooldir_scan.c: which file next ----------------------------------------------------- */

struct sd_skip {
    char *path;
    dev_t dev;
    ino_t ino;
    int64_t size, mtime_ns;
    int sticky; /* skipped while the inode is the same, whatever its size and mtime */
};

/* The next file to read by consumeOrder: 1 with its absolute path and its path relative to
 * spoolDir (both malloc'd), 0 when there is none, SLUICE_E* when spoolDir cannot be listed. */
int sd_next_file(struct sd_source *s, char **path, char **rel);
/* Remember a file that must not be read again while it stays the same. */
void sd_skip_add(struct sd_source *s, const char *path, dev_t dev, ino_t ino, int64_t size,
                 int64_t mtime_ns, int sticky);
void sd_skips_free(struct sd_source *s);
int64_t sd_mtime_ns(const struct stat *st);

/* ---- spooldir_tracker.c: where a file was left ------------------------------------------- */

struct sd_pos {
    int valid;
    dev_t dev;
    ino_t ino;
    int64_t size, mtime_ns, offset;
    char *path;
};

/* Read trackerDir's position file; a missing one is no position, a malformed one is logged
 * and ignored. */
void sd_tracker_load(struct sd_source *s, struct sd_pos *pos);
/* Save f's committed offset atomically (tmp, fsync, rename, fsync dir). 0 or -1 (logged). */
int sd_tracker_save(struct sd_source *s, const struct sd_file *f);
/* Forget the position (the file was completed). */
void sd_tracker_clear(struct sd_source *s);
/* tracker_dir policy: the marker of a completed file (trackerDir/<rel><fileSuffix>). */
char *sd_marker_path(struct sd_source *s, const char *rel);
int sd_marker_create(struct sd_source *s, const char *rel, char *msg, size_t msg_len);
int sd_fsync_dir_of(const char *path);

/* ---- spooldir_source.c ----------------------------------------------------------------- */

struct sd_source {
    const struct spooldir_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    char *dir;         /* spoolDir, absolute */
    char *tracker_dir; /* absolute */
    char *tracker_path;
    pcre2_code *include_re, *ignore_re;
    pcre2_match_data *md;
    struct sd_decoder dec;
    size_t max_units;
    size_t batch_size;
    struct sluice_event **batch;
    int64_t *batch_end;
    struct sd_file *cur;
    struct sd_pos resume; /* from the tracker at start: taken first */
    struct sd_skip *skips;
    size_t n_skips, cap_skips;
    int64_t backoff_ms;
    unsigned rand_state;
    uint64_t files_done;
    int64_t last_tracker_err_ms;
};

extern const struct sluice_source_ops spooldir_source_ops;

#endif
