/*
 * Internals of the exec source shared by its files and its unit test: the conf struct the
 * agent fills, the line splitter (Java BufferedReader.readLine semantics), the charset
 * round trip applied to every line, and child process control.
 */
#ifndef SLUICE_EXEC_SOURCE_H
#define SLUICE_EXEC_SOURCE_H

#include <iconv.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice/plugin.h"

enum exec_overflow { EXEC_OVERFLOW_TRUNCATE = 0, EXEC_OVERFLOW_SKIP = 1 };

/* Filled by the agent from the option table in exec_source.c. */
struct exec_conf {
    char *command;
    char *shell;
    int restart;
    int64_t restart_throttle;
    int log_stderr;
    int64_t batch_size;
    int64_t batch_timeout;
    char *charset;
    int64_t max_line_length;
    int line_overflow_policy; /* enum exec_overflow */
    int native_tail;          /* follow a plain `tail -f/-F FILE` in-process */
};

/* ---- exec_lines.c: bytes to lines --------------------------------------------------------- */

/* Called once per line (terminator removed). raw_len is 0 for a line kept whole; for a line
 * longer than the splitter's bound it is the line's full length, and `line` holds its first
 * bytes (truncate) or is NULL with len 0 (skip). A non-zero return stops the feed. */
typedef int (*exec_line_fn)(void *arg, const uint8_t *line, size_t len, uint64_t raw_len);

struct exec_lines {
    uint8_t *buf; /* the partial line carried between reads (at most max bytes) */
    size_t len, cap;
    size_t max;        /* longest line kept whole */
    int utf8_cut;      /* truncate on a UTF-8 character boundary when possible */
    int skip_overflow; /* drop an over-long line instead of truncating it */
    int overflow;      /* the current line is longer than max: its rest is dropped */
    uint64_t raw_len;  /* full length of the current line so far, once it overflowed */
    int skip_lf;       /* the last byte fed was '\r': one '\n' right after it is swallowed */
};

void exec_lines_init(struct exec_lines *ls, size_t max, int utf8_cut, int skip_overflow);
void exec_lines_free(struct exec_lines *ls);
/* Forget any partial line (a new child starts). */
void exec_lines_reset(struct exec_lines *ls);
/* Split p[0..n): '\n', "\r\n" and a lone '\r' end a line, also across calls. Returns 0, the
 * callback's non-zero result, or SLUICE_ENOMEM. */
int exec_lines_feed(struct exec_lines *ls, const uint8_t *p, size_t n, exec_line_fn fn, void *arg);
/* End of input: a final line without terminator is still a line. */
int exec_lines_finish(struct exec_lines *ls, exec_line_fn fn, void *arg);

/* ---- exec_charset.c: what Java's decode + getBytes does to a line ------------------------- */

enum exec_cs_kind { EXEC_CS_UTF8, EXEC_CS_LATIN1, EXEC_CS_ASCII, EXEC_CS_ICONV };

struct exec_charset {
    enum exec_cs_kind kind;
    iconv_t dec;        /* charset -> UTF-8 (EXEC_CS_ICONV only) */
    iconv_t enc;        /* UTF-8 -> charset (EXEC_CS_ICONV only) */
    uint8_t *tmp, *out; /* scratch buffers, reused per line */
    size_t tmp_cap, out_cap;
};

/* Returns 0, or SLUICE_ECONFIG with msg naming the charset when neither we nor iconv know it. */
int exec_charset_open(struct exec_charset *cs, const char *name, char *msg, size_t msg_len);
void exec_charset_close(struct exec_charset *cs);
/* The event body for a line: Java's line.getBytes(cs) after decoding with cs. *out may point
 * at `in` (fast path) or at scratch valid until the next call. 0 or SLUICE_ENOMEM. */
int exec_charset_body(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len);
/* The line decoded to UTF-8 text, for logging stderr. Same contract as exec_charset_body. */
int exec_charset_text(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len);
/* 1 when every ASCII byte's body is itself in cs (UTF-8, ISO-8859-1, US-ASCII): a line of
 * pure ASCII then needs no decoding. 0 for iconv charsets. */
int exec_charset_ascii_identity(const struct exec_charset *cs);
/* 1 when p[0..n) holds only bytes below 0x80: one pass over a whole read block. */
int exec_ascii_only(const uint8_t *p, size_t n);
/* Length of the longest valid UTF-8 prefix of p[0..n) (n when all valid). */
size_t exec_utf8_valid_prefix(const uint8_t *p, size_t n);
/* Copy p[0..n) to out replacing each malformed sequence the way Java's UTF-8 decoder does
 * with EF BF BD. out must hold 3 * n bytes. Returns the bytes written. */
size_t exec_utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out);

/* ---- exec_child.c: the child process ---------------------------------------------------- */

/* Flume's exit code when the command could not be started (Integer.MIN_VALUE / 2). */
#define EXEC_START_FAILED_CODE (-1073741824)

struct exec_child {
    pid_t pid;  /* > 0 while not reaped; also the process group id */
    int out_fd; /* read ends, non-blocking, CLOEXEC; -1 when closed */
    int err_fd;
};

/* Start argv with stdin on /dev/null, stdout/stderr on pipes, in its own process group.
 * Returns 0, or -errno with *what naming the failing step ("execvp", "fork", ...); on
 * failure nothing is left running or open. */
int exec_child_spawn(struct exec_child *ch, char *const *argv, const char **what);
/* Reap without blocking: 1 and *code when it exited (Java's exitValue: status, or 128 +
 * signal), 0 while running. */
int exec_child_try_reap(struct exec_child *ch, int *code);
/* SIGTERM the process group, wait up to grace_ms, then SIGKILL and reap. Closes the fds. */
void exec_child_terminate(struct exec_child *ch, int grace_ms, int *code);
void exec_child_close_fds(struct exec_child *ch);

/* ---- exec_tail.c: a plain `tail -f/-F FILE` followed in-process -------------------------- */

/* What tail would say on stderr ("tail: ..."), for the source to log. */
typedef void (*exec_tail_say_fn)(void *arg, enum sluice_level level, const char *text);

struct exec_tail {
    char *path;
    int by_name;         /* -F / --follow=name --retry: reopen when the name is another file */
    int retry;           /* --retry (implied by -F) */
    int bytes;           /* -c: count bytes, not lines */
    int from_start;      /* +K: start at line (byte) K, not K from the end */
    uint64_t count;      /* N of -n/-c (default: 10 lines) */
    int fd;              /* the file being read, -1 while none is open */
    int next_fd;         /* the file that replaced it, opened once fd is drained; or -1 */
    dev_t dev, next_dev; /* identity of fd and next_fd */
    ino_t ino, next_ino;
    uint64_t pos;        /* bytes of fd consumed */
    int ify;             /* inotify descriptor (wake-ups only), -1 without */
    int wd_file;         /* watch on the open file's inode, -1 without */
    int said_gone;       /* "has become inaccessible" said for the current absence */
    int said_errno;      /* the errno of the last "cannot open" said (0: none) */
    int said_untailable; /* "replaced with an untailable file" said */
    exec_tail_say_fn say;
    void *say_arg;
};

/* Parse argv as a tail command. 1 when it is `tail` (tail, /bin/tail or /usr/bin/tail) with
 * one FILE and only options whose effect is reproduced here: -f/--follow[=descriptor],
 * -F/--follow=name with --retry, --retry, -n/--lines and -c/--bytes with [+-]DIGITS, -q,
 * --quiet, --silent, --; fills path, by_name, retry, bytes, from_start and count. 0 for
 * anything else (the command is then run as it is). -1 when out of memory. */
int exec_tail_parse(struct exec_tail *t, char *const *argv, size_t argc);
/* 1 when a shell would split `cmd` on whitespace and expand nothing in it. */
int exec_tail_shell_plain(const char *cmd);
/* Open FILE and go to where tail starts (-n/-c), set up inotify. 0 on success (also when the
 * file is missing and retry is on: it is read from its first byte once it appears); 1 when
 * FILE is not a regular file, or is missing without retry: the caller runs tail itself. */
int exec_tail_open(struct exec_tail *t, exec_tail_say_fn say, void *say_arg);
/* Up to cap bytes of what tail would write next; 0 when there is nothing new now (rotation,
 * truncation and appearance checked first). Never blocks. */
size_t exec_tail_read(struct exec_tail *t, uint8_t *buf, size_t cap);
/* Wait up to timeout_ms for the file or its directory to change (inotify, else a plain
 * sleep). 1 when something changed, 0 when the time passed. */
int exec_tail_wait(struct exec_tail *t, int timeout_ms);
void exec_tail_close(struct exec_tail *t);
void exec_tail_free(struct exec_tail *t);

/* ---- exec_source.c ----------------------------------------------------------------------- */

#define EXEC_READ_BLOCK (64 * 1024)
/* maxLineLength's default, as the taildir source's. */
#define EXEC_DEFAULT_MAX_LINE (1024u * 1024)
/* Longest stderr line logged; the rest of a longer one is left out of the log. */
#define EXEC_MAX_ERR_LINE     (64u * 1024)
#define EXEC_TRUNCATED_HEADER "truncated"
#define EXEC_LOG_INTERVAL_MS  60000 /* over-long line warnings: at most one per interval */
#define EXEC_STOP_GRACE_MS    5000

enum exec_state {
    EXEC_IDLE,    /* not started, or stopped */
    EXEC_RUNNING, /* a child is running (or exited and not yet reaped) */
    EXEC_WAITING, /* the child ended and restart is on: sleep restartThrottle, respawn */
    EXEC_DONE     /* the child ended, restart is off: nothing more will come */
};

struct exec_source {
    const struct exec_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    char **argv; /* NULL-terminated, one allocation per string */
    size_t argc;
    struct exec_charset cs;
    struct exec_lines out_lines, err_lines;
    struct exec_child child;
    enum exec_state state;
    int last_exit_code;
    uint64_t stderr_count;   /* StderrLogger[<n>], counted per child as Flume does */
    uint64_t stdout_count;   /* lines of this child's stdout, for messages */
    int64_t overflow_log_ms; /* last over-long line warning (rate limit) */
    uint64_t overflow_suppressed;
    size_t max_line;
    uint8_t *rbuf;   /* EXEC_READ_BLOCK bytes */
    int rbuf_ascii;  /* the stdout bytes now in rbuf are all ASCII (set per read) */
    int ascii_ident; /* exec_charset_ascii_identity(&cs) */
    struct sluice_event **pending;
    size_t n_pending, batch_size;
    int64_t last_flush_ms;
    struct sluice_err emit_err; /* filled when a line callback fails */
    int native;                 /* the command is a tail followed in-process (exec_tail.c) */
    int native_busy;            /* the last read filled every block: more is waiting */
    struct exec_tail tail;
};

extern const struct sluice_source_ops exec_source_ops;

/* A partial batch is handed to the channel once the command has written nothing for this
 * long (Flume waits for batchTimeout; under load batches still fill up to batchSize). */
#define EXEC_IDLE_FLUSH_MS 5

#endif
