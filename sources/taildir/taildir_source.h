/*
 * Internals of the taildir source shared by its files and its tests: the conf struct the agent
 * fills, file groups (directory + file-name regex + headers), the table of tailed files keyed
 * by inode, the bounded line reader, the position file (Flume's JSON) and the inotify watcher.
 * Everything runs on the agent's source thread; nothing here takes locks.
 */
#ifndef SLUICE_TAILDIR_SOURCE_H
#define SLUICE_TAILDIR_SOURCE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice/plugin.h"

/* ---- configuration --------------------------------------------------------------------- */

enum td_overflow { TD_OVERFLOW_TRUNCATE = 0, TD_OVERFLOW_SKIP = 1 };

/* Filled by the agent from the option table in taildir_source.c. */
struct taildir_conf {
    char *filegroups;                     /* "g1 g2" */
    struct sluice_kvlist filegroup_paths; /* filegroups.<g> = /dir/regex */
    char *position_file;
    struct sluice_kvlist headers; /* headers.<g>.<key> = value */
    int byte_offset_header;
    int skip_to_end;
    int64_t idle_timeout;
    int64_t write_pos_interval;
    int64_t batch_size;
    int64_t max_batch_count;
    int64_t backoff_sleep_increment;
    int64_t max_backoff_sleep;
    int cache_pattern_matching;
    int file_header;
    char *file_header_key;
    int64_t max_line_length;
    int line_overflow_policy; /* enum td_overflow */
};

#define TD_DEFAULT_MAX_LINE  (1024 * 1024)
#define TD_READ_BLOCK        (64 * 1024)
#define TD_POLL_INTERVAL_MS  500 /* stat every file at least this often */
#define TD_WAIT_MAX_MS       100 /* longest process() waits for inotify */
#define TD_WORK_BUDGET_MS    50  /* reading time per process() before returning */
#define TD_LOG_INTERVAL_MS   60000
#define TD_DELETED_GRACE_MS  1000 /* a drained deleted file stays open this long */
#define TD_FP_LEN            32   /* bytes compared to detect a rewritten file */
#define TD_POSFILE_MAX       (64 << 20)
#define TD_BYTEOFFSET_HEADER "byteoffset"
#define TD_TRUNCATED_HEADER  "truncated"

/* One log line per interval per subject; the rest are counted and reported with the next. */
struct td_ratelimit {
    int64_t last_ms;
    uint64_t suppressed;
};
/* Returns 1 when the caller may log now (then *suppressed holds how many were skipped). */
int td_ratelimit_ok(struct td_ratelimit *rl, int64_t now, uint64_t *suppressed);

/* ---- groups: taildir_groups.c ---------------------------------------------------------- */

struct td_header {
    char *key;
    char *value;
};

struct td_group {
    char *name;
    char *dir;     /* the literal directory part, no trailing slash (except "/") */
    char *pattern; /* the file-name regex, matched against the whole name */
    pcre2_code *re;
    pcre2_match_data *md;
    struct td_header *headers;
    size_t n_headers;
    /* listing cache */
    int listed;           /* names[] is valid */
    int relist;           /* inotify (or a failure) says the entries changed */
    int64_t dir_mtime_ns; /* of the directory when names[] was taken */
    int64_t listed_wall_ns;
    int dir_missing; /* the directory was missing at the last look */
    int scan_ok;     /* the last scan saw the directory's entries (or it is gone) */
    int wd;          /* inotify watch descriptor, -1 none */
    char **names;    /* matching entry names, as listed */
    size_t n_names, cap_names;
    struct td_ratelimit missing_log;
};

/* Parse filegroups / filegroups.<g> / headers.<g>.<k>; on error fills err (names the key). */
int td_groups_parse(const struct taildir_conf *conf, const struct sluice_host *host,
                    struct sluice_ctx *ctx, struct td_group **groups, size_t *n_groups,
                    struct sluice_err *err);
void td_groups_free(struct td_group *groups, size_t n);
/* 1 when name matches the group's regex as a whole. */
int td_group_match(struct td_group *g, const char *name);

/* ---- lines: taildir_reader.c ----------------------------------------------------------- */

/* The line being read: [start, scanned) was examined, its first bytes are kept. */
struct td_line {
    int64_t start;   /* file offset of the line's first byte */
    int64_t scanned; /* offset of the next byte to examine */
    uint8_t *keep;   /* the line's first min(scanned - start, max + 1) bytes */
    size_t keep_cap;
    uint8_t last; /* last byte examined, for a '\r' right before '\n' */
};

struct td_line_out {
    const uint8_t *body; /* NULL for a skipped line */
    size_t len;
    int64_t offset;  /* of the line's first byte */
    int64_t end;     /* offset after its '\n' (or after the last byte of a final line) */
    int64_t raw_len; /* the line's length without terminator */
    int overflow;    /* longer than max: truncated (body set) or skipped (body NULL) */
};

/* Called per complete line; return 0 to go on, 1 to stop after this line, < 0 on error. */
typedef int (*td_line_fn)(void *arg, const struct td_line_out *line);

enum td_read_result {
    TD_READ_EOF = 0, /* no complete line left (a partial one may be kept) */
    TD_READ_STOP,    /* the callback asked to stop */
    TD_READ_BUDGET,  /* read the byte budget; call again */
    TD_READ_ERR      /* pread failed: *err_no set */
};

void td_line_reset(struct td_line *l, int64_t at);
void td_line_free(struct td_line *l);
/* Read complete lines of fd from l->scanned using buf, at most *budget bytes. */
int td_read_lines(int fd, struct td_line *l, size_t max, int skip_overflow, uint8_t *buf,
                  size_t buf_len, int64_t *budget, td_line_fn fn, void *arg, int *err_no);
/* The kept partial line as a final line (file closing); 0 when there is none. */
int td_line_final(struct td_line *l, size_t max, int skip_overflow, struct td_line_out *out);

/* ---- tailed files: taildir_files.c ----------------------------------------------------- */

struct td_file {
    char *path; /* where it was last found */
    dev_t dev;
    ino_t ino;
    int64_t btime_ns; /* birth time, 0 when the file system does not report it */
    size_t group;
    int fd;               /* -1 while closed (idle) */
    int64_t pos;          /* committed: every byte before it is in a committed event */
    int64_t size;         /* last size seen */
    int64_t mtime_ns;     /* last mtime seen (reading order) */
    int64_t last_data_ms; /* monotonic time bytes last arrived (idle check) */
    int seen;             /* matched by the current scan */
    int deleted;          /* link count 0: drain, then drop */
    struct td_line line;
    uint8_t fp[TD_FP_LEN]; /* file bytes [fp_end - fp_len, fp_end) as last read */
    size_t fp_len;
    int64_t fp_end;
    size_t batch_cap; /* lowered while the channel says a batch can never fit */
    struct td_ratelimit overflow_log, read_log;
};

/* What statx says about a path or descriptor (birth time 0 when the file system has none). */
struct td_stat {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    nlink_t nlink;
    int64_t size;
    int64_t mtime_ns;
    int64_t btime_ns;
};
/* 0 or -errno. */
int td_stat_path(const char *path, struct td_stat *st);

/* A matching path that cannot be tailed (directory, fifo, permission denied...). */
struct td_bad {
    char *path;
    dev_t dev;
    ino_t ino;
    int err; /* errno, or EISDIR / EINVAL (not a regular file) */
    int seen;
    int64_t last_log_ms;
};

/* ---- position file: taildir_position.c -------------------------------------------------- */

struct td_pos_entry {
    uint64_t inode;
    int64_t pos;
    char *file;
    int used;
};

/* Load entries. A missing or empty file gives none (INFO); an unreadable or malformed file
 * gives none and an ERROR; an entry missing a member is logged (ERROR) and skipped. */
int td_pos_load(const char *path, const struct sluice_host *host, struct sluice_ctx *ctx,
                struct td_pos_entry **out, size_t *n_out);
void td_pos_entries_free(struct td_pos_entry *e, size_t n);
/* Append one JSON string with Gson's HTML-safe escapes. 0, or -1 when s is not valid UTF-8
 * or the buffer could not grow. */
struct td_buf {
    char *p;
    size_t len, cap;
};
int td_buf_add(struct td_buf *b, const char *s, size_t n);
int td_json_string(struct td_buf *b, const char *s);
/* Write `text` to path atomically (tmp file, fsync, rename, fsync of the directory). */
int td_pos_write_atomic(const char *path, const char *text, size_t len, char *msg, size_t msg_len);
/* mkdir -p of path's parent directory. */
int td_mkdir_parents(const char *path, char *msg, size_t msg_len);

/* ---- inotify: taildir_watch.c ---------------------------------------------------------- */

struct td_watch {
    int fd; /* inotify descriptor, -1 when unavailable (polling only) */
    int disabled;
};

struct td_source;
int td_watch_open(struct td_watch *w);
void td_watch_close(struct td_watch *w);
/* Add (or re-add) the watch of a group's directory; -1 on failure. */
int td_watch_add(struct td_watch *w, const char *dir);
/* Wait up to timeout_ms for events and apply them to the groups (relist flags); returns 1 when
 * anything happened, 0 on timeout. Without inotify it just sleeps (bounded). */
int td_watch_wait(struct td_source *s, int timeout_ms);

/* ---- the source: taildir_source.c ------------------------------------------------------ */

struct td_source {
    const struct taildir_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    struct td_group *groups;
    size_t n_groups;
    char *pos_path; /* positionFile with ~ expanded */
    const char *file_header_key;
    struct td_file **files;
    size_t n_files, cap_files;
    struct td_bad *bad;
    size_t n_bad, cap_bad;
    struct td_watch watch;
    uint8_t *rbuf;
    size_t max_line;
    size_t batch_size;
    int64_t max_batch_count;
    struct sluice_event **batch;
    size_t n_batch;
    int64_t batch_end; /* offset after the last line put in the batch */
    struct sluice_err emit_err;
    /* startup */
    struct td_pos_entry *start_pos;
    size_t n_start_pos;
    int initial_scan;     /* the first scan after start: position entries and skipToEnd apply */
    int64_t pos_mtime_ns; /* when the position file was last written (0: unknown/none) */
    int started;
    /* timing */
    int64_t next_poll_ms;
    int64_t next_pos_write_ms;
    int busy;            /* a file still has unread bytes: do not wait in the next process() */
    char *last_pos_json; /* what was written last (skip identical writes) */
    size_t last_pos_len;
    int pos_written;
    struct td_ratelimit emit_log, pos_log, scan_log;
};

/* taildir_files.c */
/* Look at every group: list directories when needed, stat matching paths, track new files,
 * follow renames, notice deletions and replaced files. */
void td_scan(struct td_source *s, int64_t now_ms);
/* Check an open file before reading: truncation/rewrite (restart at 0), deletion. 0 to go on,
 * -1 when the file was dropped. */
int td_file_check(struct td_source *s, struct td_file *f, int64_t now_ms);
int td_file_open(struct td_source *s, struct td_file *f);
void td_file_close(struct td_file *f);
/* taildir_moved.c: files renamed while the agent was not running */
/* Where the unused entry e's file went: another name in its directory, which is a group's
 * directory (index in *group). 1 with path and st filled, 0 when it is not found. */
int td_moved_find(struct td_source *s, const struct td_pos_entry *e, char *path, size_t path_len,
                  struct td_stat *st, size_t *group);
/* Remember the bytes before f->line.scanned for td_file_check. */
void td_file_fingerprint(struct td_file *f);
void td_file_drop(struct td_source *s, size_t i);
void td_files_free(struct td_source *s);
int64_t td_now_ms(void);
int64_t td_wall_ns(void);

/* taildir_source.c: the position file text for the current table (Flume's exact format). */
int td_positions_json(struct td_source *s, struct td_buf *b);
int td_positions_write(struct td_source *s);

extern const struct sluice_source_ops taildir_source_ops;

#endif
