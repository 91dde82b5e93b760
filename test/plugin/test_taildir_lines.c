/*
 * taildir line handling: splitting on '\n' with one '\r' removed (every split point of the
 * input), partial lines held back while tailing and sent when the file closes idle, batches of
 * batchSize, maxBatchCount fairness, per-group headers, fileHeader, byteOffsetHeader, NUL bytes
 * and invalid UTF-8 passed through, and the maxLineLength policies on a 12 MB line that is
 * never held whole.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log_capture.h"
#include "taildir_harness.h"

static int setup(void **state)
{
    struct tdh *t = calloc(1, sizeof(*t));
    tdh_init(t);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tdh *t = *state;
    tdh_fini(t);
    free(t);
    return 0;
}

/* ---- the reader alone ------------------------------------------------------------------- */

struct got {
    char body[8][16];
    int64_t off[8], end[8];
    size_t n;
};

static int collect(void *arg, const struct td_line_out *l)
{
    struct got *g = arg;
    assert_true(g->n < 8 && l->len < 16 && !l->overflow);
    memcpy(g->body[g->n], l->body, l->len);
    g->body[g->n][l->len] = 0;
    g->off[g->n] = l->offset;
    g->end[g->n] = l->end;
    g->n++;
    return 0;
}

static void test_reader_every_split_point(void **state)
{
    struct tdh *t = *state;
    static const char in[] = "a\r\nb\rc\n\r\n\nd\r";
    static const char *const want[] = {"a", "b\rc", "", ""};
    static const int64_t offs[] = {0, 3, 7, 9}, ends[] = {3, 7, 9, 10};
    size_t n = sizeof(in) - 1;
    uint8_t buf[4];
    for (size_t k = 0; k <= n; k++) {
        const char *p = tdh_path(t, "split.txt");
        unlink(p);
        tdh_append(t, "split.txt", in, k);
        int fd = open(p, O_RDONLY);
        assert_true(fd >= 0);
        struct td_line l = {0};
        struct got g = {0};
        int64_t budget = 1 << 20;
        int e = 0;
        td_line_reset(&l, 0);
        /* a 4-byte buffer makes lines cross reads too */
        assert_int_equal(td_read_lines(fd, &l, 100, 0, buf, sizeof(buf), &budget, collect, &g, &e),
                         TD_READ_EOF);
        tdh_append(t, "split.txt", in + k, n - k);
        assert_int_equal(td_read_lines(fd, &l, 100, 0, buf, sizeof(buf), &budget, collect, &g, &e),
                         TD_READ_EOF);
        assert_int_equal(g.n, 4);
        for (size_t i = 0; i < 4; i++) {
            assert_string_equal(g.body[i], want[i]);
            assert_int_equal(g.off[i], offs[i]);
            assert_int_equal(g.end[i], ends[i]);
        }
        struct td_line_out fin;
        assert_int_equal(td_line_final(&l, 100, 0, &fin), 1);
        assert_int_equal(fin.len, 2); /* the closing file's last bytes as they are: "d\r" */
        assert_memory_equal(fin.body, "d\r", 2);
        assert_int_equal(fin.offset, 10);
        assert_int_equal(fin.end, 12);
        td_line_free(&l);
        close(fd);
    }
}

/* ---- through the source ----------------------------------------------------------------- */

static void test_crlf_and_partial_lines(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 300;
    tdh_appends(t, "a.log", "one\r\ntwo\r");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    tdh_run_for(t, 100);
    assert_int_equal(tdh_n(t), 1); /* "two\r" has no '\n' yet */
    assert_true(tdh_body_is(t, 0, "one"));
    tdh_appends(t, "a.log", "\nx\ry\nlast\r\nfinal");
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
    assert_true(tdh_body_is(t, 1, "two"));
    assert_true(tdh_body_is(t, 2, "x\ry")); /* a lone '\r' is data */
    assert_true(tdh_body_is(t, 3, "last"));
    assert_int_equal(tdh_file(t, "a.log")->pos, 20);
    /* the final line without '\n' is sent when the file closes idle */
    assert_int_equal(tdh_run_until(t, 5, 5000), 5);
    assert_true(tdh_body_is(t, 4, "final"));
    assert_int_equal(tdh_file(t, "a.log")->fd, -1);
    assert_int_equal(tdh_file(t, "a.log")->pos, 25);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "(idle)"), 1);
    /* a closed file that grows is opened again and read on */
    tdh_appends(t, "a.log", "more\n");
    assert_int_equal(tdh_run_until(t, 6, 5000), 6);
    assert_true(tdh_body_is(t, 5, "more"));
}

static void test_batches(void **state)
{
    struct tdh *t = *state;
    t->conf.batch_size = 3;
    for (int i = 0; i < 10; i++) {
        char line[16];
        snprintf(line, sizeof(line), "l%d\n", i);
        tdh_appends(t, "a.log", line);
    }
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 10, 5000), 10);
    assert_int_equal(tdh_emit_calls, 4); /* 3 + 3 + 3 + 1 */
    assert_int_equal(t->ctx.n_emit_calls, 4);
}

static void test_max_batch_count_alternates(void **state)
{
    struct tdh *t = *state;
    t->conf.batch_size = 2;
    t->conf.max_batch_count = 1;
    tdh_appends(t, "a.log", "a1\na2\na3\na4\n");
    usleep(20000); /* b.log is newer: a.log is read first */
    tdh_appends(t, "b.log", "b1\nb2\nb3\nb4\n");
    tdh_group(t, "g1", "", "[ab]\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 8, 5000), 8);
    static const char *const want[] = {"a1", "a2", "b1", "b2", "a3", "a4", "b3", "b4"};
    for (size_t i = 0; i < 8; i++)
        if (!tdh_body_is(t, i, want[i]))
            fail_msg("event %zu is '%s', want '%s'", i, tdh_body(t, i), want[i]);
}

static void test_headers(void **state)
{
    struct tdh *t = *state;
    t->conf.file_header = 1;
    t->conf.file_header_key = "path";
    t->conf.byte_offset_header = 1;
    tdh_appends(t, "a.log", "ab\ncd\r\nef\n");
    tdh_appends(t, "b.txt", "b1\n");
    tdh_group(t, "g1", "", "a\\.log");
    tdh_group(t, "g2", "", "b\\.txt");
    tdh_header(t, "g1.topic", "t1");
    tdh_header(t, "g1.kind", "access");
    tdh_header(t, "g2.topic", "t2");
    tdh_header(t, "nogroup.x", "y"); /* warned about, ignored */
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "headers.nogroup.x ignored"), 1);
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
    static const char *const offs[] = {"0", "3", "7"};
    size_t na = 0;
    for (size_t i = 0; i < 4; i++) {
        struct sluice_event *ev = tdh_ev(t, i);
        const char *path = test_host.event_header_get(ev, "path");
        assert_non_null(path);
        if (strcmp(path, tdh_path(t, "a.log")) == 0) {
            assert_string_equal(test_host.event_header_get(ev, "topic"), "t1");
            assert_string_equal(test_host.event_header_get(ev, "kind"), "access");
            assert_string_equal(test_host.event_header_get(ev, "byteoffset"), offs[na]);
            assert_null(test_host.event_header_get(ev, "truncated"));
            assert_int_equal(ev->n_headers, 4);
            na++;
        } else {
            assert_string_equal(path, tdh_path(t, "b.txt"));
            assert_string_equal(test_host.event_header_get(ev, "topic"), "t2");
            assert_string_equal(test_host.event_header_get(ev, "byteoffset"), "0");
            assert_null(test_host.event_header_get(ev, "kind"));
        }
    }
    assert_int_equal(na, 3);
}

static void test_nul_and_invalid_utf8(void **state)
{
    struct tdh *t = *state;
    static const char data[] = "a\0b\xff\xfe\xc3(\n\0\n";
    tdh_append(t, "a.log", data, sizeof(data) - 1);
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    assert_int_equal(tdh_ev(t, 0)->body_len, 7);
    assert_memory_equal(tdh_ev(t, 0)->body, "a\0b\xff\xfe\xc3(", 7);
    assert_int_equal(tdh_ev(t, 1)->body_len, 1);
    assert_int_equal(tdh_ev(t, 1)->body[0], 0);
    assert_int_equal(test_ctx_counter(&t->ctx, SLUICE_CTR_EVENT_READ_FAIL), 0);
}

/* Append a line of `len` bytes of 'x' in 1 MiB writes (no newline). */
static void append_long(struct tdh *t, const char *name, size_t len)
{
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof(chunk));
    while (len) {
        size_t n = len < sizeof(chunk) ? len : sizeof(chunk);
        tdh_append(t, name, chunk, n);
        len -= n;
    }
}

static void test_long_line_truncate(void **state)
{
    struct tdh *t = *state;
    t->conf.max_line_length = 1000;
    t->conf.byte_offset_header = 1;
    tdh_appends(t, "a.log", "first\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    /* half of a 12 MB line: nothing to send yet, and only max + 1 bytes are held */
    append_long(t, "a.log", 5u << 20);
    tdh_run_for(t, 300);
    assert_int_equal(tdh_n(t), 1);
    struct td_file *f = tdh_file(t, "a.log");
    assert_true(f->line.keep_cap <= 1001);
    assert_true(f->line.scanned > 6 + (4 << 20)); /* read on, not re-read each time */
    append_long(t, "a.log", 7u << 20);
    tdh_appends(t, "a.log", "\r\n");
    append_long(t, "a.log", 1000); /* exactly max: whole (its '\r' is not content) */
    tdh_appends(t, "a.log", "\r\n");
    append_long(t, "a.log", 1001); /* one more: truncated */
    tdh_appends(t, "a.log", "\nafter\n");
    assert_int_equal(tdh_run_until(t, 5, 10000), 5);
    struct sluice_event *ev = tdh_ev(t, 1);
    assert_int_equal(ev->body_len, 1000);
    assert_string_equal(test_host.event_header_get(ev, "truncated"), "true");
    assert_string_equal(test_host.event_header_get(ev, "byteoffset"), "6");
    assert_int_equal(tdh_ev(t, 2)->body_len, 1000);
    assert_null(test_host.event_header_get(tdh_ev(t, 2), "truncated"));
    assert_int_equal(tdh_ev(t, 3)->body_len, 1000);
    assert_string_equal(test_host.event_header_get(tdh_ev(t, 3), "truncated"), "true");
    assert_true(tdh_body_is(t, 4, "after"));
    assert_true(f->line.keep_cap <= 1001);
    assert_int_equal(test_ctx_counter(&t->ctx, SLUICE_CTR_EVENT_READ_FAIL), 2);
    char needle[600];
    snprintf(needle, sizeof(needle), "line at byte offset 6 of %s is 12582912 bytes",
             tdh_path(t, "a.log"));
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, needle), 1);
    /* the second overflow within the minute is counted, not logged */
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "longer than maxLineLength"), 1);
}

static void test_long_line_skip(void **state)
{
    struct tdh *t = *state;
    t->conf.max_line_length = 1000;
    t->conf.line_overflow_policy = TD_OVERFLOW_SKIP;
    tdh_appends(t, "a.log", "first\n");
    append_long(t, "a.log", 12u << 20);
    tdh_appends(t, "a.log", "\nafter\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 2, 10000), 2);
    tdh_run_for(t, 100);
    assert_int_equal(tdh_n(t), 2);
    assert_true(tdh_body_is(t, 0, "first"));
    assert_true(tdh_body_is(t, 1, "after"));
    assert_true(tdh_file(t, "a.log")->line.keep_cap <= 1001);
    assert_int_equal(tdh_file(t, "a.log")->pos, 6 + (12 << 20) + 1 + 6);
    assert_int_equal(test_ctx_counter(&t->ctx, SLUICE_CTR_EVENT_READ_FAIL), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "skipped (lineOverflowPolicy = skip)"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reader_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf_and_partial_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_batch_count_alternates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_and_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_skip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
