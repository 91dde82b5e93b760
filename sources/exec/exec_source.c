/*
 * The `exec` source (org.apache.flume.source.ExecSource): runs a command and turns each line
 * of its stdout into an event. Pollable: the agent's source thread calls process(), which
 * waits at most 100 ms for output, splits it into lines and hands full batches (or a partial
 * one after batchTimeout) to host->emit(), which blocks while the channel is full. A blocked
 * emit stops our reads, the pipe fills, and the child blocks in write(): back-pressure
 * instead of Flume's lost batches. See flume-reference.md section 4.1 for Flume's behaviour.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec_source.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- argv ---------------------------------------------------------------------------------
 * Flume splits on \s+ with no quoting or globbing; with `shell`, the shell string is split and
 * the whole command is appended as one argument.
 */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int argv_push(struct exec_source *s, const char *p, size_t n)
{
    char **v = realloc(s->argv, (s->argc + 2) * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    s->argv = v;
    if (!(v[s->argc] = strndup(p, n)))
        return SLUICE_ENOMEM;
    v[++s->argc] = NULL;
    return 0;
}

static int argv_split(struct exec_source *s, const char *str)
{
    const char *p = str;
    while (*p) {
        while (*p && is_space(*p))
            p++;
        const char *start = p;
        while (*p && !is_space(*p))
            p++;
        if (p > start && argv_push(s, start, (size_t)(p - start)))
            return SLUICE_ENOMEM;
    }
    return 0;
}

static void argv_free(struct exec_source *s)
{
    for (size_t i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s->argv);
    s->argv = NULL;
    s->argc = 0;
}

/* ---- batches ------------------------------------------------------------------------------- */

static int flush(struct exec_source *s, struct sluice_err *err)
{
    s->last_flush_ms = now_ms();
    if (s->n_pending == 0)
        return 0;
    size_t n = s->n_pending;
    s->n_pending = 0; /* ownership passes to the agent whatever emit returns */
    return s->host->emit(s->ctx, s->pending, n, err);
}

static void drop_pending(struct exec_source *s)
{
    for (size_t i = 0; i < s->n_pending; i++)
        s->host->event_free(s->pending[i]);
    s->n_pending = 0;
}

/* An over-long line: counted always, logged at most once per EXEC_LOG_INTERVAL_MS. */
static void note_overflow(struct exec_source *s, size_t len, uint64_t raw_len, int skipped)
{
    s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
    int64_t now = now_ms();
    if (s->overflow_log_ms && now - s->overflow_log_ms < EXEC_LOG_INTERVAL_MS) {
        s->overflow_suppressed++;
        return;
    }
    char more[96] = "";
    if (s->overflow_suppressed)
        snprintf(more, sizeof(more), " (%" PRIu64 " more such lines since the last message)",
                 s->overflow_suppressed);
    s->overflow_log_ms = now;
    s->overflow_suppressed = 0;
    if (skipped)
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "line %" PRIu64 " of command [%s] is %" PRIu64
                     " bytes, longer than maxLineLength %zu: skipped (lineOverflowPolicy = "
                     "skip)%s",
                     s->stdout_count, s->conf->command, raw_len, s->max_line, more);
    else
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "line %" PRIu64 " of command [%s] is %" PRIu64
                     " bytes, longer than maxLineLength %zu: sent its first %zu bytes with "
                     "header %s=true%s",
                     s->stdout_count, s->conf->command, raw_len, s->max_line, len,
                     EXEC_TRUNCATED_HEADER, more);
}

static int on_stdout_line(void *arg, const uint8_t *line, size_t len, uint64_t raw_len)
{
    struct exec_source *s = arg;
    const uint8_t *body;
    size_t body_len;
    s->stdout_count++;
    if (raw_len)
        note_overflow(s, len, raw_len, line == NULL);
    if (raw_len && !line)
        return 0; /* skipped */
    /* a line read whole from a block of pure ASCII decodes to itself: no per-line check */
    uintptr_t at = (uintptr_t)line, block = (uintptr_t)s->rbuf;
    if (s->rbuf_ascii && at >= block && at + len <= block + EXEC_READ_BLOCK) {
        body = line;
        body_len = len;
    } else if (exec_charset_body(&s->cs, line, len, &body, &body_len) != 0) {
        return s->host->err_set(&s->emit_err, SLUICE_ENOMEM, "exec: out of memory for a line");
    }
    struct sluice_event *ev = s->host->event_new(body, body_len);
    if (!ev)
        return s->host->err_set(&s->emit_err, SLUICE_ENOMEM, "exec: out of memory for an event");
    if (raw_len && s->host->event_header_set(ev, EXEC_TRUNCATED_HEADER, "true") != SLUICE_OK) {
        s->host->event_free(ev);
        return s->host->err_set(&s->emit_err, SLUICE_ENOMEM, "exec: out of memory for an event");
    }
    s->pending[s->n_pending++] = ev;
    if (s->n_pending >= s->batch_size)
        return flush(s, &s->emit_err);
    return 0;
}

static int on_stderr_line(void *arg, const uint8_t *line, size_t len, uint64_t raw_len)
{
    struct exec_source *s = arg;
    const uint8_t *text;
    size_t text_len;
    if (exec_charset_text(&s->cs, line, len, &text, &text_len) != 0)
        return 0; /* out of memory for a log line: skip it rather than stop the source */
    s->stderr_count++;
    if (raw_len)
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "StderrLogger[%" PRIu64 "] = '%.*s' (the first %zu of %" PRIu64 " bytes)",
                     s->stderr_count, (int)text_len, (const char *)text, len, raw_len);
    else
        s->host->log(s->ctx, SLUICE_LOG_INFO, "StderrLogger[%" PRIu64 "] = '%.*s'", s->stderr_count,
                     (int)text_len, (const char *)text);
    return 0;
}

/* ---- in-process tail (exec_tail.c) -------------------------------------------------------- */

/* What tail would have written on stderr: logged as its stderr lines are with logStdErr, and
 * otherwise still logged (a file that cannot be read is worth a line), as the source's own. */
static void tail_said(void *arg, enum sluice_level level, const char *text)
{
    struct exec_source *s = arg;
    if (s->conf->log_stderr)
        s->host->log(s->ctx, SLUICE_LOG_INFO, "StderrLogger[%" PRIu64 "] = '%s'", ++s->stderr_count,
                     text);
    else
        s->host->log(s->ctx, level, "%s (command [%s] followed in-process)", text,
                     s->conf->command);
}

/* 1 when the command is a tail this source follows itself (see exec_tail_parse). */
static int native_plan(struct exec_source *s)
{
    const struct exec_conf *c = s->conf;
    if (!c->native_tail)
        return 0;
    if (!c->shell)
        return exec_tail_parse(&s->tail, s->argv, s->argc);
    if (!exec_tail_shell_plain(c->command))
        return 0;
    struct exec_source words = {0}; /* what the shell would run: the command's own words */
    int rc = argv_split(&words, c->command);
    if (rc == 0)
        rc = exec_tail_parse(&s->tail, words.argv, words.argc);
    argv_free(&words);
    return rc == SLUICE_ENOMEM ? -1 : rc;
}

/* Read what the file has (bounded); 1 when every block came back full (more is waiting). */
static int native_read(struct exec_source *s, int *cb_rc)
{
    for (int i = 0; i < 16; i++) {
        size_t n = exec_tail_read(&s->tail, s->rbuf, EXEC_READ_BLOCK);
        if (n == 0)
            return 0;
        s->rbuf_ascii = s->ascii_ident && exec_ascii_only(s->rbuf, n);
        if ((*cb_rc = exec_lines_feed(&s->out_lines, s->rbuf, n, on_stdout_line, s)) != 0)
            return 0;
        if (n < EXEC_READ_BLOCK)
            return 0;
    }
    return 1;
}

/* ---- child lifecycle ----------------------------------------------------------------------- */

static void child_ended(struct exec_source *s, int code)
{
    s->last_exit_code = code;
    if (s->conf->restart) {
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Restarting in %" PRId64 "ms, exit code %d",
                     s->conf->restart_throttle, code);
        s->state = EXEC_WAITING;
    } else {
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Command [%s] exited with %d", s->conf->command,
                     code);
        s->state = EXEC_DONE;
    }
}

static void spawn(struct exec_source *s)
{
    const char *what = "";
    exec_lines_reset(&s->out_lines);
    exec_lines_reset(&s->err_lines);
    s->stderr_count = 0;
    s->stdout_count = 0;
    s->last_flush_ms = now_ms();
    if (s->native) {
        exec_tail_close(&s->tail);
        if (exec_tail_open(&s->tail, tail_said, s) == 0) {
            s->native_busy = 1;
            s->state = EXEC_RUNNING;
            return;
        }
        /* not a regular file, or missing without --retry: tail says what it makes of it */
        s->native = 0;
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "%s is not a regular file that can be opened now: running [%s] itself",
                     s->tail.path, s->conf->command);
    }
    int rc = exec_child_spawn(&s->child, s->argv, &what);
    if (rc == 0) {
        s->state = EXEC_RUNNING;
        return;
    }
    s->host->log(s->ctx, SLUICE_LOG_ERROR,
                 "Failed while running command: %s: cannot run program \"%s\": %s: %s",
                 s->conf->command, s->argv[0], what, strerror(-rc));
    child_ended(s, EXEC_START_FAILED_CODE);
}

/* Read what is there (bounded); 1 at EOF or on a read error, else 0. */
static int read_some(struct exec_source *s, int fd, struct exec_lines *ls, exec_line_fn fn,
                     int discard, int *cb_rc)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(fd, s->rbuf, EXEC_READ_BLOCK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            s->host->log(s->ctx, SLUICE_LOG_WARN, "reading output of command [%s]: %s",
                         s->conf->command, strerror(errno));
            return 1;
        }
        if (n == 0)
            return 1;
        s->rbuf_ascii =
            fn == on_stdout_line && s->ascii_ident && exec_ascii_only(s->rbuf, (size_t)n);
        if (!discard && (*cb_rc = exec_lines_feed(ls, s->rbuf, (size_t)n, fn, s)) != 0)
            return 0;
        if (n < EXEC_READ_BLOCK)
            return 0; /* the pipe is most likely empty now */
    }
    return 0;
}

static int stdout_eof(struct exec_source *s, struct sluice_err *err)
{
    int rc = exec_lines_finish(&s->out_lines, on_stdout_line, s);
    close(s->child.out_fd);
    s->child.out_fd = -1;
    if (rc == 0)
        rc = flush(s, &s->emit_err);
    if (rc != 0)
        *err = s->emit_err;
    return rc;
}

static void stderr_eof(struct exec_source *s)
{
    if (s->conf->log_stderr)
        exec_lines_finish(&s->err_lines, on_stderr_line, s);
    close(s->child.err_fd);
    s->child.err_fd = -1;
}

/* After stdout ended: once the child is reaped, take what is left on stderr and finish. */
static void check_exit(struct exec_source *s)
{
    int code, cb_rc = 0;
    if (!exec_child_try_reap(&s->child, &code))
        return;
    /* a grandchild may hold stderr open: take what is there now, without waiting for EOF */
    if (s->child.err_fd >= 0) {
        read_some(s, s->child.err_fd, &s->err_lines, on_stderr_line, !s->conf->log_stderr, &cb_rc);
        stderr_eof(s);
    }
    child_ended(s, code);
}

/* ---- ops ----------------------------------------------------------------------------------- */

static int exec_create(void **self, const void *conf_, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct exec_conf *conf = conf_;
    char msg[256];
    struct exec_source *s = calloc(1, sizeof(*s));
    *self = NULL;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "exec: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->child.pid = -1;
    s->child.out_fd = s->child.err_fd = -1;
    s->cs.dec = s->cs.enc = (iconv_t)-1;
    s->state = EXEC_IDLE;
    s->max_line = conf->max_line_length > 0 ? (size_t)conf->max_line_length : EXEC_DEFAULT_MAX_LINE;
    exec_lines_init(&s->out_lines, s->max_line, 0,
                    conf->line_overflow_policy == EXEC_OVERFLOW_SKIP);
    exec_lines_init(&s->err_lines, EXEC_MAX_ERR_LINE, 0, 0);
    *self = s;

    if (!conf->command || !conf->command[0])
        return host->err_set(err, SLUICE_ECONFIG, "command: must not be empty");
    int rc = conf->shell ? argv_split(s, conf->shell) : argv_split(s, conf->command);
    if (rc == 0 && conf->shell)
        rc = argv_push(s, conf->command, strlen(conf->command));
    if (rc != 0)
        return host->err_set(err, SLUICE_ENOMEM, "exec: out of memory");
    if (s->argc == 0)
        return host->err_set(err, SLUICE_ECONFIG, "%s: no program to run in '%s'",
                             conf->shell ? "shell" : "command",
                             conf->shell ? conf->shell : conf->command);
    s->tail.fd = s->tail.next_fd = s->tail.ify = s->tail.wd_file = -1;
    if ((rc = native_plan(s)) < 0)
        return host->err_set(err, SLUICE_ENOMEM, "exec: out of memory");
    s->native = rc;
    if ((rc = exec_charset_open(&s->cs, conf->charset, msg, sizeof(msg))) != 0)
        return host->err_set(err, rc, "%s", msg);
    s->out_lines.utf8_cut = s->err_lines.utf8_cut = s->cs.kind == EXEC_CS_UTF8;
    s->ascii_ident = exec_charset_ascii_identity(&s->cs);
    s->batch_size = conf->batch_size > 0 ? (size_t)conf->batch_size : 1;
    s->pending = calloc(s->batch_size, sizeof(*s->pending));
    s->rbuf = malloc(EXEC_READ_BLOCK);
    if (!s->pending || !s->rbuf)
        return host->err_set(err, SLUICE_ENOMEM, "exec: out of memory for batchSize %zu",
                             s->batch_size);
    return SLUICE_OK;
}

static int exec_start(void *self, struct sluice_err *err)
{
    struct exec_source *s = self;
    (void)err;
    s->host->log(s->ctx, SLUICE_LOG_INFO, "Exec source starting with command: %s%s",
                 s->conf->command,
                 s->native ? " (followed in-process, as tail would: nativeTail = true)" : "");
    spawn(s); /* a command that cannot start is reported and handled like one that exited */
    return SLUICE_OK;
}

/* Wait time for new lines: at most 100 ms, less while lines wait to be handed over. */
static int wait_ms(const struct exec_source *s)
{
    if (s->n_pending == 0)
        return 100;
    /* lines are pending: wait at most EXEC_IDLE_FLUSH_MS for more, then hand the partial
     * batch over (the command went quiet), and never beyond batchTimeout */
    int64_t left = s->last_flush_ms + s->conf->batch_timeout - now_ms();
    if (left < EXEC_IDLE_FLUSH_MS)
        return left <= 0 ? 0 : (int)left;
    return EXEC_IDLE_FLUSH_MS;
}

static int native_process(struct exec_source *s, struct sluice_err *err)
{
    int woke = 1;
    if (!s->native_busy)
        woke = exec_tail_wait(&s->tail, wait_ms(s));
    int cb_rc = 0;
    s->native_busy = native_read(s, &cb_rc);
    if (cb_rc != 0) {
        *err = s->emit_err;
        return cb_rc == SLUICE_ESTOPPED ? SLUICE_READY : cb_rc;
    }
    /* as with a pipe: a partial batch goes once the file was quiet for EXEC_IDLE_FLUSH_MS */
    if (s->n_pending > 0 && (!woke || now_ms() - s->last_flush_ms >= s->conf->batch_timeout)) {
        int rc = flush(s, err);
        if (rc != 0)
            return rc == SLUICE_ESTOPPED ? SLUICE_READY : rc;
    }
    return SLUICE_READY;
}

static int exec_process(void *self, struct sluice_err *err)
{
    struct exec_source *s = self;
    const struct sluice_host *h = s->host;
    if (h->stopping(s->ctx)) {
        /* hand over the lines already read; this thread is the one the agent waits for (up
         * to its drain time) while emit retries on a full channel */
        int rc = flush(s, err);
        return rc < 0 && rc != SLUICE_ESTOPPED ? rc : SLUICE_READY;
    }
    switch (s->state) {
    case EXEC_IDLE:
    case EXEC_DONE:
        return SLUICE_BACKOFF;
    case EXEC_WAITING:
        if (h->sleep_ms(s->ctx, s->conf->restart_throttle))
            return SLUICE_READY; /* stopping */
        spawn(s);
        return SLUICE_READY;
    case EXEC_RUNNING:
        if (s->native)
            return native_process(s, err);
        break;
    }

    struct pollfd pfd[2];
    nfds_t nfds = 0;
    int out_i = -1, err_i = -1;
    if (s->child.out_fd >= 0) {
        out_i = (int)nfds;
        pfd[nfds++] = (struct pollfd){.fd = s->child.out_fd, .events = POLLIN};
    }
    if (s->child.err_fd >= 0) {
        err_i = (int)nfds;
        pfd[nfds++] = (struct pollfd){.fd = s->child.err_fd, .events = POLLIN};
    }
    int timeout = wait_ms(s);
    if (s->n_pending == 0 && out_i < 0)
        timeout = 20; /* only waiting for the child to exit */
    int pr = poll(pfd, nfds, timeout);
    if (pr < 0 && errno != EINTR)
        return h->err_set(err, SLUICE_EIO, "exec: poll: %s", strerror(errno));

    int cb_rc = 0;
    if (pr > 0 && out_i >= 0 && pfd[out_i].revents) {
        int eof = read_some(s, s->child.out_fd, &s->out_lines, on_stdout_line, 0, &cb_rc);
        if (cb_rc != 0) {
            *err = s->emit_err;
            return cb_rc == SLUICE_ESTOPPED ? SLUICE_READY : cb_rc;
        }
        if (eof) {
            int rc = stdout_eof(s, err);
            if (rc != 0)
                return rc == SLUICE_ESTOPPED ? SLUICE_READY : rc;
        }
    }
    if (pr > 0 && err_i >= 0 && pfd[err_i].revents && s->child.err_fd >= 0) {
        if (read_some(s, s->child.err_fd, &s->err_lines, on_stderr_line, !s->conf->log_stderr,
                      &cb_rc))
            stderr_eof(s);
    }
    if (s->n_pending > 0 && (pr == 0 || now_ms() - s->last_flush_ms >= s->conf->batch_timeout)) {
        int rc = flush(s, err);
        if (rc != 0)
            return rc == SLUICE_ESTOPPED ? SLUICE_READY : rc;
    }
    if (s->child.out_fd < 0)
        check_exit(s);
    return SLUICE_READY;
}

static void exec_stop(void *self)
{
    struct exec_source *s = self;
    int code;
    if (s->native && s->state == EXEC_RUNNING)
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Stopped following %s (command [%s])", s->tail.path,
                     s->conf->command);
    exec_tail_close(&s->tail);
    if (s->child.pid > 0 || s->child.out_fd >= 0 || s->child.err_fd >= 0) {
        exec_child_terminate(&s->child, EXEC_STOP_GRACE_MS, &code);
        /* as in Flume, where stop() kills the child and the runner then reports its end */
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Command [%s] exited with %d", s->conf->command,
                     code);
    }
    /* process() flushes when it sees the agent stopping; emitting here could wait forever
     * on a full channel (stop() must be bounded), so anything left is reported and freed */
    if (s->n_pending > 0) {
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "%zu lines of command [%s] read but not delivered before stop", s->n_pending,
                     s->conf->command);
        drop_pending(s);
    }
    exec_lines_reset(&s->out_lines);
    exec_lines_reset(&s->err_lines);
    s->state = EXEC_IDLE;
}

static void exec_destroy(void *self)
{
    struct exec_source *s = self;
    if (!s)
        return;
    if (s->child.pid > 0 || s->child.out_fd >= 0 || s->child.err_fd >= 0) {
        int code;
        exec_child_terminate(&s->child, EXEC_STOP_GRACE_MS, &code);
    }
    if (s->pending)
        drop_pending(s);
    free(s->pending);
    free(s->rbuf);
    exec_lines_free(&s->out_lines);
    exec_lines_free(&s->err_lines);
    exec_charset_close(&s->cs);
    exec_tail_free(&s->tail);
    argv_free(s);
    free(s);
}

const struct sluice_source_ops exec_source_ops = {
    .create = exec_create,
    .start = exec_start,
    .process = exec_process,
    .stop = exec_stop,
    .destroy = exec_destroy,
};

/* ---- descriptor ---------------------------------------------------------------------------- */

static const char *const overflow_choices[] = {"truncate", "skip", NULL};

static const struct sluice_option exec_options[] = {
    {.name = "command",
     .type = SLUICE_OPT_STRING,
     .desc = "Command to run; split on whitespace (no quoting) unless `shell` is set",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct exec_conf, command)},
    {.name = "shell",
     .type = SLUICE_OPT_STRING,
     .desc = "Shell to run the command with, e.g. '/bin/sh -c'; the command is its last "
             "argument",
     .offset = offsetof(struct exec_conf, shell)},
    {.name = "restart",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Run the command again after it exits",
     .offset = offsetof(struct exec_conf, restart)},
    {.name = "restartThrottle",
     .type = SLUICE_OPT_INT,
     .def = "10000",
     .desc = "Milliseconds to wait before running the command again",
     .min = 0,
     .max = INT64_C(86400000),
     .offset = offsetof(struct exec_conf, restart_throttle)},
    {.name = "logStdErr",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Log each stderr line of the command at INFO (stderr is always read)",
     .offset = offsetof(struct exec_conf, log_stderr)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "20",
     .desc = "Lines per batch handed to the channel",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct exec_conf, batch_size)},
    {.name = "batchTimeout",
     .type = SLUICE_OPT_INT,
     .def = "3000",
     .desc = "Milliseconds after which a partial batch is handed over at the latest; sluice "
             "hands it over as soon as the command has been quiet for 5 ms",
     .min = 1,
     .max = INT64_C(86400000),
     .offset = offsetof(struct exec_conf, batch_timeout)},
    {.name = "charset",
     .type = SLUICE_OPT_STRING,
     .def = "UTF-8",
     .desc = "Charset of the command's output; bodies are re-encoded with it as Flume does",
     .offset = offsetof(struct exec_conf, charset)},
    {.name = "maxLineLength",
     .type = SLUICE_OPT_INT,
     .def = "1048576",
     .desc = "Longest line in bytes sent whole; longer lines follow lineOverflowPolicy and only "
             "this many bytes are ever held per line (sluice only)",
     .min = 1,
     .max = INT64_C(268435456),
     .offset = offsetof(struct exec_conf, max_line_length)},
    {.name = "lineOverflowPolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "truncate",
     .desc = "truncate: send the first maxLineLength bytes with header truncated=true; skip: "
             "drop the line. Both count EventReadFail and log a warning (sluice only)",
     .choices = overflow_choices,
     .offset = offsetof(struct exec_conf, line_overflow_policy)},
    {.name = "nativeTail",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Follow the file of a plain `tail -f FILE` / `tail -F FILE` command in-process, "
             "reading what tail would print, instead of running tail; false always runs the "
             "command (sluice only)",
     .offset = offsetof(struct exec_conf, native_tail)},
    {.name = NULL},
};

static const char *const exec_aliases[] = {"org.apache.flume.source.ExecSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "exec"),
    .aliases = exec_aliases,
    .summary = "Runs a command and turns each line of its stdout into an event",
    .options = exec_options,
    .conf_size = sizeof(struct exec_conf),
    .ops = &exec_source_ops,
};
