/*
 * The spooldir source in-process, driven through process() on a temporary spooling directory:
 * a file is completed (renamed / deleted / tracker_dir marker) only after its lines were
 * committed, include/ignore patterns, consumeOrder, recursion, a restart in the middle of a
 * file resuming without duplicates or loss, Flume's line cut at maxLineLength, charsets and
 * decodeErrorPolicy, name clashes and files changed while read, configuration errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../sources/spooldir/spooldir_source.h"
#include "log_capture.h"
#include "plugin_conf.h"

extern const struct sluice_plugin sluice_plugin;
#define P (&sluice_plugin)

static struct sluice_host host;
static int emit_fail; /* emit calls left to refuse */

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    if (emit_fail > 0) {
        emit_fail--;
        for (size_t i = 0; i < n; i++)
            test_host.event_free(evs[i]);
        return test_host.err_set(err, SLUICE_EDELIVERY, "channel refused");
    }
    return test_host.emit(ctx, evs, n, err);
}

struct fx {
    struct sluice_ctx ctx;
    struct spooldir_conf *conf;
    void *src;
    char dir[64];
    char path[512];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    host.emit = wrap_emit;
    emit_fail = 0;
    log_capture_reset();
    test_ctx_init(&f->ctx, "r1");
    snprintf(f->dir, sizeof(f->dir), "/tmp/sluice-spooldir-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->conf = pconf_new(P);
    pconf_str(P, f->conf, "spoolDir", f->dir);
    pconf_int(P, f->conf, "pollDelay", 5);
    pconf_int(P, f->conf, "maxBackoff", 20);
    *state = f;
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void stop_src(struct fx *f)
{
    if (f->src) {
        spooldir_source_ops.stop(f->src);
        spooldir_source_ops.destroy(f->src);
        f->src = NULL;
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;
    stop_src(f);
    test_ctx_destroy(&f->ctx);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->conf);
    free(f);
    return 0;
}

static const char *at(struct fx *f, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    return f->path;
}

static void put_file(struct fx *f, const char *name, const void *data, size_t n)
{
    static int seq;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%d", f->dir, seq++); /* hidden: never read */
    FILE *fp = fopen(tmp, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(rename(tmp, at(f, name)), 0); /* placed atomically, as users must */
}

static void put_text(struct fx *f, const char *name, const char *text)
{
    put_file(f, name, text, strlen(text));
}

static int exists(struct fx *f, const char *name)
{
    struct stat st;
    return stat(at(f, name), &st) == 0;
}

static void start(struct fx *f)
{
    struct sluice_err err = {0};
    int rc = spooldir_source_ops.create(&f->src, f->conf, &host, &f->ctx, &err);
    if (rc != 0)
        fail_msg("create: %s", err.msg);
    rc = spooldir_source_ops.start(f->src, &err);
    if (rc != 0)
        fail_msg("start: %s", err.msg);
}

/* process() n times */
static void run(struct fx *f, int n)
{
    for (int i = 0; i < n; i++) {
        struct sluice_err err = {0};
        int rc = spooldir_source_ops.process(f->src, &err);
        if (rc < 0)
            fail_msg("process: %s", err.msg);
    }
}

/* process() until `name` exists (or not), at most 200 calls */
static void run_until(struct fx *f, const char *name, int want)
{
    for (int i = 0; i < 200 && exists(f, name) != want; i++)
        run(f, 1);
    assert_int_equal(exists(f, name), want);
}

static void assert_body(struct fx *f, size_t i, const void *want, size_t n)
{
    assert_true(i < f->ctx.n_emitted);
    struct sluice_event *ev = f->ctx.emitted[i];
    if (ev->body_len != n || memcmp(ev->body, want, n) != 0)
        fail_msg("event %zu: body '%.*s' (%zu bytes), want '%.*s' (%zu)", i, (int)ev->body_len,
                 (const char *)ev->body, ev->body_len, (int)n, (const char *)want, n);
}

static void assert_str_body(struct fx *f, size_t i, const char *want)
{
    assert_body(f, i, want, strlen(want));
}

static const char *hdr(struct fx *f, size_t i, const char *key)
{
    return test_host.event_header_get(f->ctx.emitted[i], key);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_completed_after_commit(void **state)
{
    struct fx *f = *state;
    f->conf->file_header = 1;
    f->conf->basename_header = 1;
    f->conf->basename_header_key = "bn";
    put_text(f, "a.log", "one\r\n\ntwo\nlast without newline");
    start(f);
    emit_fail = 2; /* the channel refuses twice: nothing may be completed meanwhile */
    run(f, 2);
    assert_int_equal(f->ctx.n_emitted, 0);
    assert_true(exists(f, "a.log"));
    assert_false(exists(f, "a.log.COMPLETED"));
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "The channel threw an exception"), 2);
    run_until(f, "a.log.COMPLETED", 1);
    assert_false(exists(f, "a.log"));
    assert_int_equal(f->ctx.n_emitted, 4);
    assert_str_body(f, 0, "one\r"); /* split on '\n' only: '\r' stays, as in Flume */
    assert_str_body(f, 1, "");      /* an empty line is an empty event */
    assert_str_body(f, 2, "two");
    assert_str_body(f, 3, "last without newline");
    assert_string_equal(hdr(f, 0, "file"), at(f, "a.log"));
    assert_string_equal(hdr(f, 3, "bn"), "a.log");
    assert_int_equal(f->ctx.emitted[0]->n_headers, 2);
    /* the completed file is never read again; the position file is gone */
    run(f, 5);
    assert_int_equal(f->ctx.n_emitted, 4);
    assert_false(exists(f, ".flumespool/" SD_TRACKER_NAME));
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Preparing to move file"), 1);
}

static void test_delete_policy(void **state)
{
    struct fx *f = *state;
    f->conf->delete_policy = SD_DELETE_IMMEDIATE;
    put_text(f, "a.log", "x\ny\n");
    start(f);
    run_until(f, "a.log", 0);
    assert_false(exists(f, "a.log.COMPLETED"));
    assert_int_equal(f->ctx.n_emitted, 2);
    assert_str_body(f, 1, "y");
}

static void test_include_ignore(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "includePattern", "^.*\\.log$");
    pconf_str(P, f->conf, "ignorePattern", "^c.*");
    put_text(f, "a.log", "a\n");
    put_text(f, "b.txt", "b\n");
    put_text(f, "c.log", "c\n");
    put_text(f, "xa.log.bak", "no\n"); /* include must match the whole name */
    start(f);
    run(f, 20);
    assert_int_equal(f->ctx.n_emitted, 1);
    assert_str_body(f, 0, "a");
    assert_true(exists(f, "a.log.COMPLETED"));
    assert_true(exists(f, "b.txt") && exists(f, "c.log") && exists(f, "xa.log.bak"));
}

static void test_consume_order_and_recursion(void **state)
{
    struct fx *f = *state;
    put_text(f, "new.log", "new\n");
    put_text(f, "old.log", "old\n");
    assert_int_equal(mkdir(at(f, "sub"), 0755), 0);
    put_text(f, "sub/deep.log", "deep\n");
    struct timespec t[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    utimensat(AT_FDCWD, at(f, "old.log"), t, 0);
    t[0].tv_sec = t[1].tv_sec = 2000000;
    utimensat(AT_FDCWD, at(f, "sub/deep.log"), t, 0);
    f->conf->consume_order = SD_ORDER_YOUNGEST;
    start(f);
    run(f, 10);
    assert_int_equal(f->ctx.n_emitted, 2); /* not recursive: sub/ is left alone */
    assert_str_body(f, 0, "new");
    assert_str_body(f, 1, "old");
    assert_true(exists(f, "sub/deep.log"));
    stop_src(f);
    f->conf->recursive = 1;
    start(f);
    run_until(f, "sub/deep.log.COMPLETED", 1);
    assert_int_equal(f->ctx.n_emitted, 3);
    assert_str_body(f, 2, "deep");
}

static void test_oldest_first(void **state)
{
    struct fx *f = *state;
    const char *names[3] = {"c.log", "a.log", "b.log"};
    for (int i = 0; i < 3; i++) {
        char body[8];
        snprintf(body, sizeof(body), "%d\n", i);
        put_text(f, names[i], body);
        struct timespec t[2] = {{.tv_sec = 1000 + i}, {.tv_sec = 1000 + i}};
        utimensat(AT_FDCWD, at(f, names[i]), t, 0);
    }
    start(f);
    run(f, 12);
    assert_int_equal(f->ctx.n_emitted, 3);
    for (int i = 0; i < 3; i++) {
        char body[8];
        snprintf(body, sizeof(body), "%d", i);
        assert_str_body(f, (size_t)i, body);
    }
}

static void test_restart_resumes_mid_file(void **state)
{
    struct fx *f = *state;
    enum { LINES = 35 };
    char text[LINES * 16] = "";
    for (int i = 0; i < LINES; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "line %d\n", i);
    put_text(f, "a.log", text);
    f->conf->batch_size = 10;
    start(f);
    run(f, 1);
    emit_fail = 1; /* a refused batch in between: re-read, not lost */
    run(f, 2);
    assert_int_equal(f->ctx.n_emitted, 20);
    struct stat st;
    assert_int_equal(stat(at(f, ".flumespool/" SD_TRACKER_NAME), &st), 0);
    /* the agent goes away mid-file (no completion), a new one starts on the same directory */
    stop_src(f);
    assert_true(exists(f, "a.log"));
    start(f);
    run_until(f, "a.log.COMPLETED", 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "a.log at byte 150"), 1);
    assert_int_equal(f->ctx.n_emitted, LINES);
    for (int i = 0; i < LINES; i++) {
        char want[16];
        snprintf(want, sizeof(want), "line %d", i);
        assert_str_body(f, (size_t)i, want);
    }
}

static void test_long_lines_cut(void **state)
{
    struct fx *f = *state;
    f->conf->max_line_length = 10;
    /* 25 chars; exactly 10 chars; 12 two-byte chars (counted as characters, not bytes) */
    put_text(f, "a.log",
             "abcdefghijklmnopqrstuvwxy\n0123456789\n"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n");
    start(f);
    run_until(f, "a.log.COMPLETED", 1);
    assert_int_equal(f->ctx.n_emitted, 6);
    assert_str_body(f, 0, "abcdefghij");
    assert_str_body(f, 1, "klmnopqrst");
    assert_str_body(f, 2, "uvwxy");
    assert_str_body(f, 3, "0123456789");
    assert_int_equal(f->ctx.emitted[4]->body_len, 20);
    assert_str_body(f, 5, "\xc3\xa9\xc3\xa9");
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "Line length exceeds max (10)"), 1);
}

static void test_decode_replace_ignore(void **state)
{
    struct fx *f = *state;
    static const char data[] = "ok\nbad\xff\xfeline\nend\xe2\x82";
    f->conf->decode_error_policy = SD_POLICY_REPLACE;
    put_file(f, "a.log", data, sizeof(data) - 1);
    start(f);
    run_until(f, "a.log.COMPLETED", 1);
    assert_int_equal(f->ctx.n_emitted, 3);
    assert_str_body(f, 1, "bad\xef\xbf\xbd\xef\xbf\xbdline");
    assert_str_body(f, 2, "end\xef\xbf\xbd"); /* a truncated sequence at the end: one U+FFFD */
    stop_src(f);
    f->conf->decode_error_policy = SD_POLICY_IGNORE;
    put_file(f, "b.log", data, sizeof(data) - 1);
    start(f);
    run_until(f, "b.log.COMPLETED", 1);
    assert_int_equal(f->ctx.n_emitted, 6);
    assert_str_body(f, 4, "badline");
    assert_str_body(f, 5, "end");
}

static void test_decode_fail_skips_file(void **state)
{
    struct fx *f = *state;
    static const char data[] = "ok\nbad\xff\nnever\n";
    put_file(f, "a.log", data, sizeof(data) - 1);
    struct timespec t[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    utimensat(AT_FDCWD, at(f, "a.log"), t, 0);
    put_text(f, "b.log", "b\n");
    start(f);
    run_until(f, "b.log.COMPLETED", 1);
    run(f, 5);
    assert_int_equal(f->ctx.n_emitted, 2);
    assert_str_body(f, 0, "ok");
    assert_str_body(f, 1, "b");
    assert_true(exists(f, "a.log"));
    assert_false(exists(f, "a.log.COMPLETED"));
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "the bytes at offset 6 are not valid "
                                                         "UTF-8 (decodeErrorPolicy = FAIL)"),
                     1);
    assert_int_equal(test_ctx_counter(&f->ctx, SLUICE_CTR_EVENT_READ_FAIL), 1);
}

static void test_charsets(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "inputCharset", "ISO-8859-1");
    put_text(f, "a.log", "caf\xe9\n");
    start(f);
    run_until(f, "a.log.COMPLETED", 1);
    assert_str_body(f, 0, "caf\xc3\xa9"); /* decoded, stored as UTF-8 */
    stop_src(f);
    pconf_str(P, f->conf, "inputCharset", "UTF-8");
    pconf_str(P, f->conf, "deserializer.outputCharset", "ISO-8859-1");
    put_text(f, "b.log", "caf\xc3\xa9 \xe2\x82\xac\n");
    start(f);
    run_until(f, "b.log.COMPLETED", 1);
    assert_str_body(f, 1, "caf\xe9 ?"); /* not representable: '?', as Java's getBytes */
}

static void test_name_clash(void **state)
{
    struct fx *f = *state;
    put_text(f, "a.log.COMPLETED", "done before\n");
    put_text(f, "a.log", "same name again\n");
    put_text(f, "b.log", "b\n");
    start(f);
    run_until(f, "b.log.COMPLETED", 1);
    run(f, 5);
    assert_int_equal(f->ctx.n_emitted, 1);
    assert_str_body(f, 0, "b");
    assert_true(exists(f, "a.log"));
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "a.log.COMPLETED already exists"), 1);
}

static void test_changed_while_read(void **state)
{
    struct fx *f = *state;
    put_text(f, "a.log", "1\n2\n3\n4\n5\n");
    f->conf->batch_size = 2;
    start(f);
    run(f, 1);
    assert_int_equal(f->ctx.n_emitted, 2);
    FILE *fp = fopen(at(f, "a.log"), "a");
    assert_non_null(fp);
    fputs("6\n", fp);
    fclose(fp);
    run(f, 6);
    assert_int_equal(f->ctx.n_emitted, 5); /* what was there at open, nothing lost */
    assert_true(exists(f, "a.log"));
    assert_false(exists(f, "a.log.COMPLETED"));
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "changed while being read (size 10 -> "
                                                         "12)"),
                     1);
}

static void test_tracker_dir_policy(void **state)
{
    struct fx *f = *state;
    f->conf->tracking_policy = SD_TRACK_TRACKER_DIR;
    put_text(f, "a.log", "a\n");
    start(f);
    run_until(f, ".flumespool/a.log.COMPLETED", 1);
    run(f, 5);
    assert_true(exists(f, "a.log")); /* the file itself stays as it is */
    assert_int_equal(f->ctx.n_emitted, 1);
    stop_src(f);
    start(f); /* a restart does not read it again */
    run(f, 5);
    assert_int_equal(f->ctx.n_emitted, 1);
}

static void create_fails(struct fx *f, const char *needle)
{
    struct sluice_err err = {0};
    assert_int_equal(spooldir_source_ops.create(&f->src, f->conf, &host, &f->ctx, &err),
                     SLUICE_ECONFIG);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
    spooldir_source_ops.destroy(f->src);
    f->src = NULL;
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "deserializer", "AVRO");
    create_fails(f, "deserializer: 'AVRO' is not supported");
    pconf_str(P, f->conf, "deserializer",
              "org.apache.flume.sink.solr.morphline.BlobDeserializer"
              "$Builder");
    create_fails(f, "only LINE");
    pconf_str(P, f->conf, "deserializer", "line");
    pconf_str(P, f->conf, "includePattern", "([a-z");
    create_fails(f, "includePattern: '([a-z' is not a valid regex");
    pconf_str(P, f->conf, "includePattern", "^.*$");
    pconf_str(P, f->conf, "inputCharset", "NO-SUCH-CHARSET");
    create_fails(f, "inputCharset: unknown or unsupported charset 'NO-SUCH-CHARSET'");
    pconf_str(P, f->conf, "inputCharset", "UTF-16");
    create_fails(f, "not ASCII-compatible");
    pconf_str(P, f->conf, "inputCharset", "UTF-8");
    pconf_str(P, f->conf, "spoolDir", "/nonexistent/spool");
    struct sluice_err err = {0};
    assert_int_equal(spooldir_source_ops.create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_true(spooldir_source_ops.start(f->src, &err) < 0);
    assert_non_null(strstr(err.msg, "spoolDir: /nonexistent/spool: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_completed_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_ignore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_order_and_recursion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes_mid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_replace_ignore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_fail_skips_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_charsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_clash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_while_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracker_dir_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
