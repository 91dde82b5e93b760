/*
 * The exec source driven in-process: real child processes, the test host capturing emitted
 * batches and log lines. Covers line splitting (also across reads), batching by size and by
 * time, restart, a command that cannot start, stop() killing children, charsets and shell,
 * and the in-process tail: its option parsing, the same bytes as tail itself for each start
 * option, rotation, truncation, a file that appears later, -f, and what is left to tail.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../sources/exec/exec_source.h"
#include "log_capture.h"

/* ---- harness ----------------------------------------------------------------------------------
 */

static struct sluice_host host;
static size_t batch_sizes[4096];
static size_t n_batches;
static int emit_override;   /* when non-zero emit frees the batch and returns this */
static pid_t pipeline_pgid; /* killed in teardown, should a failed test leave it running */

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    if (n_batches < sizeof(batch_sizes) / sizeof(batch_sizes[0]))
        batch_sizes[n_batches++] = n;
    if (emit_override) {
        for (size_t i = 0; i < n; i++)
            test_host.event_free(evs[i]);
        return test_host.err_set(err, emit_override, "emit refused by the test");
    }
    return test_host.emit(ctx, evs, n, err);
}

struct fx {
    struct sluice_ctx ctx;
    struct exec_conf conf;
    void *src;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    host.emit = wrap_emit;
    n_batches = 0;
    emit_override = 0;
    log_capture_reset();
    test_ctx_init(&f->ctx, "r1");
    f->conf.restart_throttle = 10000;
    f->conf.batch_size = 20;
    f->conf.batch_timeout = 3000;
    f->conf.charset = "UTF-8";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->src) {
        exec_source_ops.stop(f->src);
        exec_source_ops.destroy(f->src);
    }
    if (pipeline_pgid > 0) {
        kill(-pipeline_pgid, SIGKILL);
        while (waitpid(-pipeline_pgid, NULL, 0) > 0)
            ;
        pipeline_pgid = 0;
        prctl(PR_SET_CHILD_SUBREAPER, 0);
    }
    test_ctx_destroy(&f->ctx);
    log_capture_reset();
    free(f);
    return 0;
}

static struct exec_source *start(struct fx *f)
{
    struct sluice_err err = {0};
    assert_int_equal(exec_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err), SLUICE_OK);
    assert_int_equal(exec_source_ops.start(f->src, &err), SLUICE_OK);
    return f->src;
}

/* Call process() until the child is done (restart off) or the deadline passes. */
static void run_until_done(struct fx *f, int timeout_ms)
{
    struct exec_source *s = f->src;
    struct sluice_err err;
    int64_t end = now_ms() + timeout_ms;
    while (s->state != EXEC_DONE && now_ms() < end)
        assert_true(exec_source_ops.process(f->src, &err) >= 0);
    assert_int_equal(s->state, EXEC_DONE);
}

/* Call process() until n events were emitted or the deadline passes; returns the count. */
static size_t run_until_events(struct fx *f, size_t n, int timeout_ms)
{
    struct sluice_err err;
    int64_t end = now_ms() + timeout_ms;
    while (f->ctx.n_emitted < n && now_ms() < end)
        assert_true(exec_source_ops.process(f->src, &err) >= 0);
    return f->ctx.n_emitted;
}

static void assert_bodies(struct fx *f, const char *const *want, size_t n)
{
    assert_int_equal(f->ctx.n_emitted, n);
    for (size_t i = 0; i < n; i++) {
        struct sluice_event *ev = f->ctx.emitted[i];
        if (ev->body_len != strlen(want[i]) || memcmp(ev->body, want[i], ev->body_len) != 0)
            fail_msg("event %zu: got '%.*s' (%zu bytes), want '%s'", i, (int)ev->body_len,
                     (const char *)ev->body, ev->body_len, want[i]);
        assert_int_equal(ev->n_headers, 0);
    }
}

/* ---- line splitting, unit level ---------------------------------------------------------------
 */

struct collected {
    char lines[32][32];
    uint64_t raw[32]; /* 0 for a line kept whole */
    int skipped[32];
    size_t n;
};

static int collect(void *arg, const uint8_t *line, size_t len, uint64_t raw_len)
{
    struct collected *c = arg;
    assert_true(c->n < 32 && len < 32);
    if (len)
        memcpy(c->lines[c->n], line, len);
    c->lines[c->n][len] = 0;
    c->skipped[c->n] = line == NULL;
    c->raw[c->n++] = raw_len;
    return 0;
}

static void test_lines_every_split_point(void **state)
{
    static const char in[] = "a\r\nb\rc\n\r\nd\re\r\r\nf";
    static const char *const want[] = {"a", "b", "c", "", "d", "e", "", "f"};
    size_t n = sizeof(in) - 1;
    (void)state;
    /* every way of cutting the input into two reads, and one byte at a time */
    for (size_t k = 0; k <= n + 1; k++) {
        struct exec_lines ls;
        struct collected c = {0};
        exec_lines_init(&ls, 1024, 0, 0);
        if (k <= n) {
            assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)in, k, collect, &c), 0);
            assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)in + k, n - k, collect, &c), 0);
        } else {
            for (size_t i = 0; i < n; i++)
                assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)in + i, 1, collect, &c), 0);
        }
        assert_int_equal(exec_lines_finish(&ls, collect, &c), 0);
        exec_lines_free(&ls);
        assert_int_equal(c.n, 8);
        for (size_t i = 0; i < 8; i++) {
            assert_string_equal(c.lines[i], want[i]);
            assert_int_equal(c.raw[i], 0);
        }
    }
}

static void test_lines_long_lines(void **state)
{
    struct exec_lines ls;
    struct collected c = {0};
    (void)state;
    /* truncate: the first 4 bytes, flagged with the line's full length; a line of exactly 4
     * bytes is whole */
    exec_lines_init(&ls, 4, 0, 0);
    assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)"abcdefghij\nwxyz\nxy", 18, collect, &c),
                     0);
    assert_int_equal(exec_lines_finish(&ls, collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "abcd");
    assert_int_equal(c.raw[0], 10);
    assert_string_equal(c.lines[1], "wxyz");
    assert_int_equal(c.raw[1], 0);
    assert_string_equal(c.lines[2], "xy");
    assert_int_equal(c.raw[2], 0);
    assert_true(ls.cap <= 4); /* never more than maxLineLength held */
    exec_lines_free(&ls);

    /* the over-long line arrives a byte at a time, and is the last line (no terminator) */
    memset(&c, 0, sizeof(c));
    exec_lines_init(&ls, 4, 0, 0);
    const char *in = "ok\r\n123456789";
    for (size_t i = 0; i < strlen(in); i++)
        assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)in + i, 1, collect, &c), 0);
    assert_int_equal(exec_lines_finish(&ls, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.lines[0], "ok");
    assert_string_equal(c.lines[1], "1234");
    assert_int_equal(c.raw[1], 9);
    exec_lines_free(&ls);

    /* skip: nothing of the line, its length reported; the lines around it intact */
    memset(&c, 0, sizeof(c));
    exec_lines_init(&ls, 4, 0, 1);
    assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)"a\nabcdefghij", 12, collect, &c), 0);
    assert_int_equal(exec_lines_feed(&ls, (const uint8_t *)"klm\nb\n", 6, collect, &c), 0);
    assert_int_equal(exec_lines_finish(&ls, collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "a");
    assert_int_equal(c.skipped[1], 1);
    assert_int_equal(c.raw[1], 13);
    assert_string_equal(c.lines[2], "b");
    assert_int_equal(c.raw[2], 0);
    exec_lines_free(&ls);

    /* truncated on a UTF-8 boundary: "abc" rather than half of the e-acute */
    memset(&c, 0, sizeof(c));
    exec_lines_init(&ls, 4, 1, 0);
    assert_int_equal(exec_lines_feed(&ls,
                                     (const uint8_t *)"abc\xC3\xA9"
                                                      "d\n",
                                     7, collect, &c),
                     0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.lines[0], "abc");
    assert_int_equal(c.raw[0], 6);
    exec_lines_free(&ls);
}

/* ---- UTF-8 replacement, unit level ------------------------------------------------------------
 */

#define R "\xEF\xBF\xBD"

static void check_sanitize(const char *in, size_t n, const char *want)
{
    uint8_t out[64];
    size_t got = exec_utf8_sanitize((const uint8_t *)in, n, out);
    if (got != strlen(want) || memcmp(out, want, got) != 0)
        fail_msg("sanitize of %zu bytes: got %zu bytes, want %zu", n, got, strlen(want));
    assert_int_equal(exec_utf8_valid_prefix((const uint8_t *)in, n) == n,
                     strcmp(in, want) == 0 && strlen(in) == n);
}

static void test_utf8_replacement_like_java(void **state)
{
    (void)state;
    check_sanitize("plain ascii text", 16, "plain ascii text");
    check_sanitize("caf\xC3\xA9 \xF0\x9F\x98\x80", 10, "caf\xC3\xA9 \xF0\x9F\x98\x80");
    check_sanitize("a\xFF"
                   "b",
                   3, "a" R "b");
    check_sanitize("\xE2\x82"
                   "A",
                   3, R "A");                 /* truncated: one U+FFFD */
    check_sanitize("\xE0\x80\x80", 3, R R R); /* overlong */
    check_sanitize("\xC0\xAF", 2, R R);       /* C0 is never valid */
    check_sanitize("\xED\xA0\x80"
                   "x",
                   4, R "x");                       /* surrogate: one, as the JDK */
    check_sanitize("\xF4\x90\x80\x80", 4, R R R R); /* above U+10FFFF */
    check_sanitize("\xF0\x9F\x98"
                   "x",
                   4, R "x");                /* truncated 4-byte */
    check_sanitize("ab\xE2\x82", 4, "ab" R); /* truncated at the end */
    check_sanitize("\x80\x80", 2, R R);      /* lone continuation bytes */
}

/* The per-block ASCII check that lets whole lines skip decoding: a byte >= 0x80 anywhere (in
 * the 64-byte steps or the tail) is seen, and an empty block is ASCII. */
static void test_ascii_only_block(void **state)
{
    (void)state;
    uint8_t buf[300];
    memset(buf, 'a', sizeof(buf));
    assert_true(exec_ascii_only(buf, 0));
    for (size_t n = 1; n <= sizeof(buf); n += 37) {
        assert_true(exec_ascii_only(buf, n));
        for (size_t at = 0; at < n; at++) {
            buf[at] = 0x80;
            if (exec_ascii_only(buf, n))
                fail_msg("byte 0x80 at %zu of %zu not seen", at, n);
            buf[at] = 0xFF;
            assert_false(exec_ascii_only(buf, n));
            buf[at] = 'a';
        }
    }
    buf[299] = 0xC3;
    assert_true(exec_ascii_only(buf, 299)); /* only the first n bytes count */
}

/* ---- the source with real commands ------------------------------------------------------------
 */

static void test_terminators(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"a", "b", "c", "d", "", "e"};
    f->conf.command = "printf a\\nb\\r\\nc\\rd\\n\\ne";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 6);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Command [printf a\\nb\\r\\nc\\rd\\n\\ne] "
                                                        "exited with 0"),
                     1);
}

static void test_cr_lf_across_reads(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"x", "y", "z"};
    /* "\r" ends one write and "\n" starts the next: one terminator, no empty line */
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'x\\r'; sleep 0.3; printf '\\ny\\r'; sleep 0.3; printf '\\nz'";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 3);
}

static void test_final_line_without_newline(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"first", "last"};
    f->conf.command = "printf first\\nlast";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 2);
}

static void test_batch_size(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
    f->conf.command = "seq 1 10";
    f->conf.batch_size = 3;
    f->conf.batch_timeout = 60000;
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 10);
    assert_int_equal(n_batches, 4);
    assert_int_equal(batch_sizes[0], 3);
    assert_int_equal(batch_sizes[1], 3);
    assert_int_equal(batch_sizes[2], 3);
    assert_int_equal(batch_sizes[3], 1); /* the rest, at EOF */
}

static void test_quiet_command_flushes_partial_batch(void **state)
{
    /* sluice hands a partial batch over as soon as the command goes quiet, long before
     * batchTimeout (Flume would wait for it) */
    struct fx *f = *state;
    static const char *const want[] = {"a", "b"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'a\\nb\\n'; exec sleep 30";
    f->conf.batch_size = 100;
    f->conf.batch_timeout = 20000;
    int64_t t0 = now_ms();
    struct exec_source *s = start(f);
    pid_t pid = s->child.pid;
    assert_int_equal(run_until_events(f, 2, 5000), 2);
    int64_t took = now_ms() - t0;
    assert_bodies(f, want, 2);
    assert_int_equal(n_batches, 1);
    assert_int_equal(batch_sizes[0], 2);
    assert_true(took < 5000);          /* not held back until batchTimeout */
    assert_int_equal(kill(pid, 0), 0); /* ... and not flushed by EOF: the child still runs */
}

static void test_restart(void **state)
{
    struct fx *f = *state;
    f->conf.command = "echo hi";
    f->conf.restart = 1;
    f->conf.restart_throttle = 50;
    start(f);
    assert_true(run_until_events(f, 3, 5000) >= 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->ctx.emitted[i]->body_len, 2);
        assert_memory_equal(f->ctx.emitted[i]->body, "hi", 2);
    }
    assert_true(log_capture_count(SLUICE_LOG_INFO, "Restarting in 50ms, exit code 0") >= 2);
    assert_int_equal(log_capture_count(-1, "exited with"), 0);
}

static void test_missing_command(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    f->conf.command = "/nonexistent/sluice-no-such-cmd --flag";
    start(f);
    assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_BACKOFF);
    assert_int_equal(f->ctx.n_emitted, 0);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR,
                                       "Failed while running command: /nonexistent/sluice-no-"
                                       "such-cmd --flag: cannot run program "
                                       "\"/nonexistent/sluice-no-such-cmd\": execvp: No such file "
                                       "or directory"),
                     1);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO,
                                       "Command [/nonexistent/sluice-no-such-cmd --flag] exited "
                                       "with -1073741824"),
                     1);
}

static void test_missing_command_with_restart(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    f->conf.command = "/nonexistent/sluice-no-such-cmd";
    f->conf.restart = 1;
    f->conf.restart_throttle = 1;
    start(f);
    for (int i = 0; i < 6; i++)
        assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_true(log_capture_count(SLUICE_LOG_ERROR, "No such file or directory") >= 4);
    assert_true(log_capture_count(SLUICE_LOG_INFO, "Restarting in 1ms, exit code -1073741824") >=
                4);
}

static void test_stop_kills_long_running_child(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    f->conf.command = "sleep 1000";
    struct exec_source *s = start(f);
    pid_t pid = s->child.pid;
    assert_true(pid > 0);
    assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_int_equal(kill(pid, 0), 0);
    int64_t t0 = now_ms();
    exec_source_ops.stop(f->src);
    assert_true(now_ms() - t0 < 2000);
    errno = 0;
    assert_int_equal(kill(pid, 0), -1); /* gone, and reaped: no zombie */
    assert_int_equal(errno, ESRCH);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Command [sleep 1000] exited with 143"), 1);
}

static void test_stop_kills_whole_pipeline(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    /* orphaned pipeline members get reparented to us, so we can see that they died */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "sleep 1000 | sleep 1000";
    struct exec_source *s = start(f);
    pid_t pgid = pipeline_pgid = s->child.pid;
    assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    int64_t t0 = now_ms();
    exec_source_ops.stop(f->src);
    assert_true(now_ms() - t0 < 2000);
    /* reap the reparented members; when none is left, the group is empty */
    int64_t end = now_ms() + 3000;
    while (now_ms() < end) {
        pid_t r = waitpid(-pgid, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD)
            break;
        if (r == 0) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    errno = 0;
    assert_int_equal(kill(-pgid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_child_inherits_only_stdio(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"closed"};
    /* a descriptor opened without O_CLOEXEC, as a careless library would */
    int fd = dup(1);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 100), 100);
    close(fd);
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "if [ -e /proc/self/fd/100 ]; then echo leaked; else echo closed; fi";
    start(f);
    run_until_done(f, 5000);
    close(100);
    assert_bodies(f, want, 1);
}

static void test_invalid_utf8_replaced(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"a" R "b", "caf\xC3\xA9"};
    f->conf.command = "printf a\\377b\\ncaf\\303\\251\\n";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 2);
}

/* Reads of pure ASCII skip decoding; a line begun in one and ended in a read with a bad byte,
 * or the other way round, is still decoded whole. */
static void test_invalid_utf8_across_reads(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"ok", "start" R "end", ("a" R), "tail", "b"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'ok\\nstart'; sleep 0.2; printf '\\377end\\na\\377'; sleep 0.2; "
                      "printf '\\ntail\\n'; sleep 0.2; printf b";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 5);
}

static void test_shell_pipeline(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"x", "z"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'x\\ny\\nz\\n' | grep -v y";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 2);
}

static void test_log_stderr(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"out"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "echo oops >&2; echo 'second one' >&2; echo out";
    f->conf.log_stderr = 1;
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "StderrLogger[1] = 'oops'"), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "StderrLogger[2] = 'second one'"), 1);
}

static void test_stderr_dropped_without_log_stderr(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"out"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "echo oops >&2; echo out";
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 1);
    assert_int_equal(log_capture_count(-1, "StderrLogger"), 0);
}

static void test_charsets(void **state)
{
    struct fx *f = *state;
    static const char *const latin1[] = {"caf\xE9"};
    static const char *const ascii[] = {"caf?"};
    static const char *const cp1252[] = {"caf\xE9?"};

    f->conf.command = "printf caf\\351";
    f->conf.charset = "ISO-8859-1"; /* decoded and encoded back: the same bytes */
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, latin1, 1);
    teardown(state);

    setup(state);
    f = *state;
    f->conf.command = "printf caf\\351";
    f->conf.charset = "US-ASCII"; /* U+FFFD cannot be encoded: Java writes '?' */
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, ascii, 1);
    teardown(state);

    setup(state);
    f = *state;
    f->conf.command = "printf caf\\351\\201"; /* 0x81 is unmapped in windows-1252 */
    f->conf.charset = "windows-1252";         /* through iconv */
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, cp1252, 1);
}

static void test_stderr_decoded_with_charset(void **state)
{
    struct fx *f = *state;
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'caf\\351\\n' >&2";
    f->conf.charset = "ISO-8859-1";
    f->conf.log_stderr = 1;
    start(f);
    run_until_done(f, 5000);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "StderrLogger[1] = 'caf\xC3\xA9'"), 1);
}

static void test_bad_config(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    f->conf.command = "cat";
    f->conf.charset = "NO-SUCH-CHARSET-42";
    assert_int_equal(exec_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "NO-SUCH-CHARSET-42"));
    exec_source_ops.destroy(f->src); /* half-built */

    f->src = NULL;
    f->conf.charset = "UTF-16"; /* lines are split on bytes: not ASCII-compatible */
    assert_int_equal(exec_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "UTF-16"));
    exec_source_ops.destroy(f->src);

    f->src = NULL;
    f->conf.charset = "UTF-8";
    f->conf.command = "   ";
    assert_int_equal(exec_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err),
                     SLUICE_ECONFIG);
    exec_source_ops.destroy(f->src);
    f->src = NULL;
}

static void test_long_line_truncated(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"first", "01234567", "ok", "x"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'first\\n0123456789abcdefghij\\nok\\n'; printf x";
    f->conf.max_line_length = 8;
    start(f);
    run_until_done(f, 5000);
    assert_int_equal(f->ctx.n_emitted, 4);
    for (size_t i = 0; i < 4; i++) {
        struct sluice_event *ev = f->ctx.emitted[i];
        assert_int_equal(ev->body_len, strlen(want[i]));
        assert_memory_equal(ev->body, want[i], ev->body_len);
        const char *t = test_host.event_header_get(ev, "truncated");
        if (i == 1)
            assert_string_equal(t, "true");
        else
            assert_null(t);
    }
    assert_int_equal(test_ctx_counter(&f->ctx, SLUICE_CTR_EVENT_READ_FAIL), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN,
                                       "line 2 of command [printf 'first\\n0123456789abcdefghij"
                                       "\\nok\\n'; printf x] is 20 bytes, longer than "
                                       "maxLineLength 8: sent its first 8 bytes with header "
                                       "truncated=true"),
                     1);
}

static void test_long_lines_skipped_and_rate_limited(void **state)
{
    struct fx *f = *state;
    static const char *const want[] = {"a", "b", "c"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'a\\n0123456789\\nb\\nABCDEFGHIJKLMNOP\\nc\\n'";
    f->conf.max_line_length = 8;
    f->conf.line_overflow_policy = EXEC_OVERFLOW_SKIP;
    start(f);
    run_until_done(f, 5000);
    assert_bodies(f, want, 3);
    assert_int_equal(test_ctx_counter(&f->ctx, SLUICE_CTR_EVENT_READ_FAIL), 2);
    /* one warning a minute: the second line is counted, not logged */
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "line 2 of command"), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "is 10 bytes, longer than maxLineLength 8: "
                                                        "skipped (lineOverflowPolicy = skip)"),
                     1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "line 4 of command"), 0);
}

static void test_huge_line_bounded_memory(void **state)
{
    struct fx *f = *state;
    /* 64 MiB without a newline between two normal lines: held at most maxLineLength bytes */
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "echo before; head -c 67108864 /dev/zero | tr '\\0' x; echo; echo after";
    f->conf.max_line_length = 4096;
    struct exec_source *s = start(f);
    run_until_done(f, 60000);
    assert_int_equal(f->ctx.n_emitted, 3);
    assert_int_equal(f->ctx.emitted[0]->body_len, 6);
    assert_memory_equal(f->ctx.emitted[0]->body, "before", 6);
    assert_int_equal(f->ctx.emitted[1]->body_len, 4096);
    assert_int_equal(f->ctx.emitted[1]->body[4095], 'x');
    assert_memory_equal(f->ctx.emitted[2]->body, "after", 5);
    assert_true(s->out_lines.cap <= 4096);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "is 67108864 bytes"), 1);
}

static void test_overflow_options(void **state)
{
    extern const struct sluice_plugin sluice_plugin;
    (void)state;
    int seen = 0;
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        if (strcmp(o->name, "maxLineLength") == 0) {
            assert_int_equal(o->type, SLUICE_OPT_INT);
            assert_string_equal(o->def, "1048576");
            assert_int_equal(o->min, 1);
            seen++;
        } else if (strcmp(o->name, "lineOverflowPolicy") == 0) {
            assert_int_equal(o->type, SLUICE_OPT_ENUM);
            assert_string_equal(o->def, "truncate");
            assert_string_equal(o->choices[EXEC_OVERFLOW_TRUNCATE], "truncate");
            assert_string_equal(o->choices[EXEC_OVERFLOW_SKIP], "skip");
            seen++;
        }
    }
    assert_int_equal(seen, 2);
}

static void test_emit_stopped(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    f->conf.command = "seq 1 100";
    f->conf.batch_size = 10;
    emit_override = SLUICE_ESTOPPED;
    start(f);
    int64_t end = now_ms() + 5000;
    while (n_batches == 0 && now_ms() < end)
        assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_true(n_batches >= 1);
    assert_int_equal(batch_sizes[0], 10);
    /* a stopping agent: process() returns at once */
    f->ctx.stopping = 1;
    int64_t t0 = now_ms();
    assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_true(now_ms() - t0 < 50);
}

static void test_stopping_flushes_pending_lines(void **state)
{
    struct fx *f = *state;
    struct sluice_err err;
    static const char *const want[] = {"a", "b"};
    f->conf.shell = "/bin/sh -c";
    f->conf.command = "printf 'a\\nb\\n'; exec sleep 30";
    f->conf.batch_size = 100;
    f->conf.batch_timeout = 60000;
    struct exec_source *s = start(f);
    int64_t end = now_ms() + 5000;
    while (s->n_pending < 2 && now_ms() < end)
        assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_int_equal(s->n_pending, 2);
    assert_int_equal(f->ctx.n_emitted, 0);
    f->ctx.stopping = 1; /* the agent stops: the next call hands the partial batch over */
    assert_int_equal(exec_source_ops.process(f->src, &err), SLUICE_READY);
    assert_bodies(f, want, 2);
    exec_source_ops.stop(f->src);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "not delivered"), 0);
}

/* ---- the in-process tail (exec_tail.c) --------------------------------------------------------
 */

static char tail_dir[64];

static const char *tail_path(const char *name)
{
    static char buf[4][128];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 128, "%s/%s", tail_dir, name);
    return p;
}

/* Starts the source on `tail OPTS PATH`; the command outlives the test (teardown stops it). */
static struct exec_source *start_tail(struct fx *f, const char *opts, const char *path)
{
    static char cmd[256];
    int n = snprintf(cmd, sizeof(cmd), "tail %s %s", opts, path);
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    f->conf.command = cmd;
    return start(f);
}

/* Stops and frees the source so the next step of a test can start another. */
static void stop_source(struct fx *f)
{
    exec_source_ops.stop(f->src);
    exec_source_ops.destroy(f->src);
    f->src = NULL;
}

static void write_file(const char *path, const char *mode, const char *bytes, size_t n)
{
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static int tail_setup(void **state)
{
    snprintf(tail_dir, sizeof(tail_dir), "/tmp/sluice-exec-tail.XXXXXX");
    assert_non_null(mkdtemp(tail_dir));
    setup(state);
    struct fx *f = *state;
    f->conf.native_tail = 1;
    f->conf.batch_size = 1000;
    return 0;
}

static int tail_teardown(void **state)
{
    teardown(state);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tail_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* The events so far, joined with '\n' after each: what tail's stream split into lines was. */
static char *joined(struct fx *f)
{
    size_t n = 1;
    for (size_t i = 0; i < f->ctx.n_emitted; i++)
        n += f->ctx.emitted[i]->body_len + 1;
    char *out = malloc(n), *p = out;
    assert_non_null(out);
    for (size_t i = 0; i < f->ctx.n_emitted; i++) {
        memcpy(p, f->ctx.emitted[i]->body, f->ctx.emitted[i]->body_len);
        p += f->ctx.emitted[i]->body_len;
        *p++ = '\n';
    }
    *p = '\0';
    return out;
}

static size_t count_lines(const char *p)
{
    size_t n = 0;
    for (; *p; p++)
        n += *p == '\n';
    return n;
}

/* Run process() for ms and return the events' count (nothing more should come). */
static size_t settle(struct fx *f, int ms)
{
    struct sluice_err err;
    int64_t end = now_ms() + ms;
    while (now_ms() < end)
        assert_true(exec_source_ops.process(f->src, &err) >= 0);
    return f->ctx.n_emitted;
}

static void test_tail_parse(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        int native, by_name, retry, bytes, from_start;
        uint64_t count;
    } cases[] = {
        {"tail -F /v/a.log", 1, 1, 1, 0, 0, 10},
        {"tail -f /v/a.log", 1, 0, 0, 0, 0, 10},
        {"/usr/bin/tail -n +1 -F /v/a.log", 1, 1, 1, 0, 1, 1},
        {"tail -F -n 0 /v/a.log", 1, 1, 1, 0, 0, 0},
        {"tail -qFn5 /v/a.log", 1, 1, 1, 0, 0, 5},
        {"tail -n+3 --follow=name --retry /v/a.log", 1, 1, 1, 0, 1, 3},
        {"tail --follow /v/a.log --lines=-7", 1, 0, 0, 0, 0, 7},
        {"tail --follow=descriptor --retry -c 100 /v/a.log", 1, 0, 1, 1, 0, 100},
        {"tail -F -f --bytes +2 /v/a.log", 1, 0, 1, 1, 1, 2},
        {"tail -f -F -- -odd.log", 1, 1, 1, 0, 0, 10},
        {"tail -n 3 /v/a.log", 0, 0, 0, 0, 0, 0},        /* no follow: prints, exits */
        {"tail -F /v/a.log /v/b.log", 0, 0, 0, 0, 0, 0}, /* headers between files */
        {"tail -F", 0, 0, 0, 0, 0, 0},                   /* standard input */
        {"tail -F -", 0, 0, 0, 0, 0, 0},
        {"tail --follow=name /v/a.log", 0, 0, 0, 0, 0, 0}, /* gives up on the name */
        {"tail -F -n 1k /v/a.log", 0, 0, 0, 0, 0, 0},      /* size suffixes */
        {"tail -F -s 5 /v/a.log", 0, 0, 0, 0, 0, 0},
        {"tail -Fv /v/a.log", 0, 0, 0, 0, 0, 0},
        {"tail -zF /v/a.log", 0, 0, 0, 0, 0, 0},
        {"tail -F --pid=7 /v/a.log", 0, 0, 0, 0, 0, 0},
        {"tail --foll /v/a.log", 0, 0, 0, 0, 0, 0}, /* abbreviations */
        {"tail -100f /v/a.log", 0, 0, 0, 0, 0, 0},  /* obsolete form */
        {"tail -F -n", 0, 0, 0, 0, 0, 0},
        {"/opt/bin/tail -F /v/a.log", 0, 0, 0, 0, 0, 0},
        {"tailx -F /v/a.log", 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char words[256], *argv[16];
        size_t argc = 0;
        snprintf(words, sizeof(words), "%s", cases[i].cmd);
        for (char *w = strtok(words, " "); w && argc < 16; w = strtok(NULL, " "))
            argv[argc++] = w;
        struct exec_tail t = {0};
        int got = exec_tail_parse(&t, argv, argc);
        if (got != cases[i].native)
            fail_msg("[%s]: parse gave %d, want %d", cases[i].cmd, got, cases[i].native);
        if (got == 1) {
            if (t.by_name != cases[i].by_name || t.retry != cases[i].retry ||
                t.bytes != cases[i].bytes || t.from_start != cases[i].from_start ||
                t.count != cases[i].count)
                fail_msg("[%s]: by_name %d retry %d bytes %d from_start %d count %llu",
                         cases[i].cmd, t.by_name, t.retry, t.bytes, t.from_start,
                         (unsigned long long)t.count);
            assert_string_equal(t.path, strstr(cases[i].cmd, "/v/a.log") ? "/v/a.log" : "-odd.log");
            assert_int_equal(t.fd, -1);
        }
        exec_tail_free(&t);
    }
    assert_int_equal(exec_tail_shell_plain("tail -F /var/log/x-1.log --lines=+2"), 1);
    static const char *const shellish[] = {"tail -F $LOG",    "tail -F ~/x",        "tail -F a*",
                                           "tail -F 'a b'",   "tail -F a | grep x", "tail -F a;b",
                                           "tail -F a\nrm b", "tail -F a > b",      "tail -F `x`"};
    for (size_t i = 0; i < sizeof(shellish) / sizeof(shellish[0]); i++)
        if (exec_tail_shell_plain(shellish[i]))
            fail_msg("[%s] taken as plain for a shell", shellish[i]);
}

/* The same bytes as tail: each start option on each file, then lines appended while followed,
 * read by the in-process tail and by tail itself (nativeTail = false). */
static void test_tail_same_as_tail(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *opts; /* with -f / -F */
        const char *once; /* the same start without following: what tail prints first */
    } cases[] = {
        {"-F", ""},
        {"-n 3 -F", "-n 3"},
        {"-F -n +4", "-n +4"},
        {"-qFn1", "-n 1"},
        {"--lines=0 -F", "-n 0"},
        {"-n +1 -f", "-n +1"},
        {"-n 100 -F", "-n 100"},
        {"-n +99 -F", "-n +99"},
        {"-f -c 7", "-c 7"},
        {"-fc +5", "-c +5"},
    };
    static const struct {
        const char *bytes;
        size_t len;
    } files[] = {
        {"l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14\nl15\n", 45},
        {"a\nb\nc", 5}, /* no newline at the end: tail's last line is continued */
        {"", 0},
        {"\n\n\nx\n\n", 6},
    };
    static const char more[] = "after-1\nafter-2\n";
    struct fx *base = f;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            const char *path = tail_path("same.log");
            write_file(path, "w", files[k].bytes, files[k].len);
            char sh[512], want[4096] = "";
            snprintf(sh, sizeof(sh), "tail %s '%s'", cases[c].once, path);
            FILE *p = popen(sh, "r");
            assert_non_null(p);
            size_t n = fread(want, 1, sizeof(want) - sizeof(more), p);
            assert_int_equal(pclose(p), 0);
            want[n] = '\0';
            size_t first = count_lines(want);
            strcat(want, more);
            /* tail -F itself on the file whose last line has no end: what `want` assumes */
            for (int native = 1; native >= (k == 1 ? 0 : 1); native--) {
                char cmd[512];
                snprintf(cmd, sizeof(cmd), "tail %s %s", cases[c].opts, path);
                write_file(path, "w", files[k].bytes, files[k].len);
                base->conf.command = cmd;
                base->conf.native_tail = native;
                struct exec_source *s = start(base);
                assert_int_equal(s->native, native);
                assert_int_equal(run_until_events(base, first, 5000), first);
                /* in-process, start() has read the file's start; tail needs a moment to */
                if (!native)
                    settle(base, 80);
                write_file(path, "a", more, sizeof(more) - 1);
                run_until_events(base, count_lines(want), 5000);
                if (k == 1)
                    settle(base, 30); /* and nothing more comes */
                char *got = joined(base);
                if (strcmp(got, want) != 0)
                    fail_msg("[%s] (%s) on file %zu: got\n%s\nwant\n%s", cmd,
                             native ? "in-process" : "tail", k, got, want);
                free(got);
                assert_int_equal(s->child.pid > 0, !native); /* no tail process in-process */
                exec_source_ops.stop(base->src);
                exec_source_ops.destroy(base->src);
                base->src = NULL;
                test_ctx_destroy(&base->ctx);
                test_ctx_init(&base->ctx, "r1");
            }
        }
    }
}

/* -F: a file renamed away is read to its end, then the new one from its first byte. */
static void test_tail_rotation(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("app.log"), *old = tail_path("app.log.1");
    write_file(path, "w", "o1\no2\n", 6);
    start_tail(f, "-n +1 -F", path);
    assert_int_equal(run_until_events(f, 2, 5000), 2);
    assert_int_equal(rename(path, old), 0);
    write_file(old, "a", "o3\n", 3); /* the writer still has the old file */
    write_file(path, "w", "n1\nn2\n", 6);
    assert_int_equal(run_until_events(f, 5, 5000), 5);
    write_file(path, "a", "n3\n", 3);
    assert_int_equal(run_until_events(f, 6, 5000), 6);
    static const char *const want[] = {"o1", "o2", "o3", "n1", "n2", "n3"};
    assert_int_equal(settle(f, 100), 6);
    assert_bodies(f, want, 6);
    assert_true(log_capture_count(SLUICE_LOG_INFO, "following new file") >= 1);
    assert_int_equal(((struct exec_source *)f->src)->child.pid > 0, 0);
}

/* copytruncate: the file shrinks, tail reads it again from its start. */
static void test_tail_truncation(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("t.log");
    write_file(path, "w", "one\ntwo\nthree\n", 14);
    start_tail(f, "-F", path);
    assert_int_equal(run_until_events(f, 3, 5000), 3);
    assert_int_equal(truncate(path, 0), 0);
    settle(f, 100);
    write_file(path, "a", "new\n", 4);
    assert_int_equal(run_until_events(f, 4, 5000), 4);
    static const char *const want[] = {"one", "two", "three", "new"};
    assert_int_equal(settle(f, 100), 4);
    assert_bodies(f, want, 4);
    char msg[640];
    snprintf(msg, sizeof(msg), "tail: %s: file truncated (command [%s] followed in-process)", path,
             f->conf.command);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, msg), 1);
}

/* -F on a file that is not there yet: said once, then read from its first byte (not its last
 * ten lines) when it appears; with logStdErr the words come as tail's stderr lines. */
static void test_tail_missing_then_appears(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("later.log");
    f->conf.log_stderr = 1;
    struct exec_source *s = start_tail(f, "-F", path);
    assert_int_equal(s->native, 1);
    assert_int_equal(settle(f, 150), 0);
    char content[256] = "";
    for (int i = 1; i <= 12; i++)
        snprintf(content + strlen(content), sizeof(content) - strlen(content), "m%d\n", i);
    write_file(path, "w", content, strlen(content));
    assert_int_equal(run_until_events(f, 12, 5000), 12);
    assert_int_equal(settle(f, 100), 12);
    char *got = joined(f);
    assert_string_equal(got, content);
    free(got);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "StderrLogger[1] = 'tail: cannot open '%s' for reading: No such file or directory'",
             path);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, msg), 1);
    snprintf(msg, sizeof(msg), "StderrLogger[2] = 'tail: '%s' has appeared;  following new file'",
             path);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, msg), 1);
}

/* -f follows the open file: renamed, it is still read; a new file at the name is not. */
static void test_tail_follow_descriptor(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("d.log"), *moved = tail_path("d.log.moved");
    write_file(path, "w", "x\n", 2);
    start_tail(f, "-f -n +1", path);
    assert_int_equal(run_until_events(f, 1, 5000), 1);
    assert_int_equal(rename(path, moved), 0);
    write_file(path, "w", "not-followed\n", 13);
    write_file(moved, "a", "y\n", 2);
    assert_int_equal(run_until_events(f, 2, 5000), 2);
    static const char *const want[] = {"x", "y"};
    assert_int_equal(settle(f, 150), 2);
    assert_bodies(f, want, 2);
}

/* What the in-process tail leaves to tail: nativeTail = false, a fifo, a missing file without
 * --retry (tail says so and exits 1), and a shell command with something to expand. */
static void test_tail_left_to_tail(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("plain.log");
    write_file(path, "w", "p\n", 2);
    f->conf.native_tail = 0;
    struct exec_source *s = start_tail(f, "-F -n +1", path);
    assert_int_equal(s->native, 0);
    assert_true(s->child.pid > 0);
    assert_int_equal(run_until_events(f, 1, 5000), 1);
    stop_source(f);

    f->conf.native_tail = 1;
    s = start_tail(f, "-f", tail_path("absent.log"));
    assert_true(s->child.pid > 0); /* tail itself runs, reports and exits */
    run_until_done(f, 5000);
    assert_int_equal(s->last_exit_code, 1);
    stop_source(f);

    const char *fifo = tail_path("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    s = start_tail(f, "-F", fifo);
    assert_int_equal(s->native, 0);
    assert_true(s->child.pid > 0);
    stop_source(f);

    f->conf.shell = "/bin/sh -c";
    s = start_tail(f, "-F -n +1", path);
    assert_int_equal(s->native, 1); /* nothing for the shell to do: followed in-process */
    assert_int_equal(run_until_events(f, 1, 5000), 1);
    stop_source(f);
    s = start_tail(f, "-F -n +1", tail_path("pl*.log"));
    assert_int_equal(s->native, 0); /* a glob: the shell's */
    assert_true(s->child.pid > 0);
}

/* A big file is read in blocks and handed over in full batches, all lines in order. */
static void test_tail_big_file(void **state)
{
    struct fx *f = *state;
    const char *path = tail_path("big.log");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200000; i++)
        fprintf(fp, "line %d of a file read in blocks\n", i);
    assert_int_equal(fclose(fp), 0);
    f->conf.batch_size = 500;
    start_tail(f, "-n +1 -F", path);
    assert_int_equal(run_until_events(f, 200000, 20000), 200000);
    for (size_t i = 0; i < 200000; i += 7919) {
        char want[64];
        int n = snprintf(want, sizeof(want), "line %zu of a file read in blocks", i);
        assert_int_equal(f->ctx.emitted[i]->body_len, (size_t)n);
        assert_memory_equal(f->ctx.emitted[i]->body, want, (size_t)n);
    }
    assert_int_equal(batch_sizes[0], 500);
}

static void test_descriptor(void **state)
{
    extern const struct sluice_plugin sluice_plugin;
    (void)state;
    assert_string_equal(sluice_plugin.name, "exec");
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.source.ExecSource");
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_SOURCE);
    size_t batch_opts = 0;
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++)
        if (o->flags & SLUICE_OPT_BATCH_SIZE)
            batch_opts++;
    assert_int_equal(batch_opts, 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_every_split_point),
        cmocka_unit_test(test_lines_long_lines),
        cmocka_unit_test(test_overflow_options),
        cmocka_unit_test(test_utf8_replacement_like_java),
        cmocka_unit_test(test_ascii_only_block),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_terminators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cr_lf_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_line_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_command_flushes_partial_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_command_with_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_kills_long_running_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_kills_whole_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_inherits_only_stdio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_dropped_without_log_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_charsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_decoded_with_charset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines_skipped_and_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_line_bounded_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_flushes_pending_lines, setup, teardown),
        cmocka_unit_test(test_tail_parse),
        cmocka_unit_test_setup_teardown(test_tail_same_as_tail, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_rotation, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_truncation, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_missing_then_appears, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_follow_descriptor, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_left_to_tail, tail_setup, tail_teardown),
        cmocka_unit_test_setup_teardown(test_tail_big_file, tail_setup, tail_teardown),
    };
    return cmocka_run_group_tests_name("exec_source", tests, NULL, NULL);
}
