/*
 * The logger sink: the exact text Flume's LoggerSink logs (hex dump layout, headers in
 * HashMap order, maxBytesToLog), and process() against a fake channel: one event per
 * transaction, BACKOFF when empty, rollback when the commit fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sinks/logger/logger_sink.h"
#include "event.h"
#include "fake_channel.h"
#include "log_capture.h"

extern const struct sluice_plugin sluice_plugin;

static void check(const char *body, size_t len, size_t max, const char *want)
{
    struct sluice_event *ev = event_new(body, len);
    struct logger_buf b = {0};
    assert_int_equal(logger_format_event(&b, ev, max), 0);
    assert_string_equal(b.p, want);
    assert_int_equal(b.len, strlen(want));
    logger_buf_free(&b);
    event_free(ev);
}

static void test_format_bodies(void **state)
{
    (void)state;
    check("", 0, 16, "Event: { headers:{} body: }");
    check("Hello world!\r", 13, 16,
          "Event: { headers:{} body: 48 65 6C 6C 6F 20 77 6F 72 6C 64 21 0D          Hello "
          "world!. }");
    check("0123456789abcdef", 16, 16,
          "Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 "
          "0123456789abcdef }");
    /* longer than 16: only the first 16 bytes, as Flume always does */
    check("The quick brown fox jumps", 25, 16,
          "Event: { headers:{} body: 54 68 65 20 71 75 69 63 6B 20 62 72 6F 77 6E 20 The quick "
          "brown  }");
    /* non-printables (and DEL, and bytes >= 0x80) show as '.' */
    check("\x00\x1F\x20\x7E\x7F\x80\xFF"
          "A",
          8, 16,
          "Event: { headers:{} body: 00 1F 20 7E 7F 80 FF 41                         .. ~...A }");
    check("abc", 3, 64,
          "Event: { headers:{} body: 61 62 63                                        abc }");
}

static void test_format_more_than_16_bytes(void **state)
{
    (void)state;
    /* maxBytesToLog > 16: further HexDump rows, each after a newline and its offset */
    check("0123456789abcdefghij", 20, 20,
          "Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 "
          "0123456789abcdef\n00000010 67 68 69 6A                                     ghij }");
    check("0123456789abcdefghij0123456789abcdefghij", 40, 64,
          "Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 "
          "0123456789abcdef\n00000010 67 68 69 6A 30 31 32 33 34 35 36 37 38 39 61 62 "
          "ghij0123456789ab\n00000020 63 64 65 66 67 68 69 6A                         cdefghij }");
}

/* Headers set in the given order on a 1-byte body "x"; want_map is the expected Map text. */
static void check_headers(const char *const *kv, size_t n, const char *want_map)
{
    struct sluice_event *ev = event_new("x", 1);
    struct logger_buf b = {0};
    char want[512];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(event_header_set(ev, kv[2 * i], kv[2 * i + 1]), SLUICE_OK);
    /* one byte: " 78", 15 missing bytes of 3 spaces, the separator space, then "x" */
    snprintf(want, sizeof(want), "Event: { headers:%s body: 78%46sx }", want_map, "");
    assert_int_equal(logger_format_event(&b, ev, 16), 0);
    assert_string_equal(b.p, want);
    logger_buf_free(&b);
    event_free(ev);
}

static void test_format_headers_in_hashmap_order(void **state)
{
    (void)state;
    static const char *const k[] = {"k2", "v2", "k1", "v1"};
    check_headers(k, 2, "{k1=v1, k2=v2}");
    static const char *const abc[] = {"c", "3", "b", "2", "a", "1"};
    check_headers(abc, 3, "{a=1, b=2, c=3}");
    /* String.hashCode buckets of 16: partition 3, host 8, key 14, timestamp 15 */
    static const char *const flume[] = {"timestamp", "1700000000000", "host", "h1", "key",
                                        "K",         "partition",     "0"};
    check_headers(flume, 4, "{partition=0, host=h1, key=K, timestamp=1700000000000}");
    /* 13 headers: the map has grown to 32 buckets. "hN".hashCode = 3224 + N's char, so
     * h0..h9 land in 8..17 and ha..hc in 25..27 (with 16 buckets h8 would come first) */
    static const char *const many[] = {"hc", "c",  "hb", "b",  "ha", "a",  "h9", "9",  "h8",
                                       "8",  "h7", "7",  "h6", "6",  "h5", "5",  "h4", "4",
                                       "h3", "3",  "h2", "2",  "h1", "1",  "h0", "0"};
    check_headers(many, 13,
                  "{h0=0, h1=1, h2=2, h3=3, h4=4, h5=5, h6=6, h7=7, h8=8, h9=9, ha=a, hb=b, hc=c}");
    /* non-ASCII keys hash over UTF-16 code units: "\u00e9" (233) and U+1F600 (a pair) */
    static const char *const uni[] = {"\xC3\xA9", "e", "\xF0\x9F\x98\x80", "smile"};
    check_headers(uni, 2, "{\xF0\x9F\x98\x80=smile, \xC3\xA9=e}"); /* buckets 8 and 9 */
}

/* ---- process() ------------------------------------------------------------------------------ */

struct fx {
    struct sluice_ctx ctx;
    struct sluice_host host;
    struct fake_channel fc;
    struct logger_conf conf;
    void *sink;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sluice_err err;
    log_capture_reset();
    f->host = log_capture_host();
    test_ctx_init(&f->ctx, "k1");
    fake_channel_init(&f->fc);
    f->conf.max_bytes_to_log = 16;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    assert_int_equal(ops->create(&f->sink, &f->conf, &f->host, &f->ctx, &err), SLUICE_OK);
    assert_int_equal(ops->start(f->sink, &err), SLUICE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    ops->stop(f->sink);
    ops->destroy(f->sink);
    fake_channel_destroy(&f->fc);
    test_ctx_destroy(&f->ctx);
    log_capture_reset();
    free(f);
    return 0;
}

static void test_process_logs_one_event_per_transaction(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    struct sluice_err err;
    fake_channel_push(&f->fc, "Hello world!\r", 13, "k", "v", NULL);
    fake_channel_push(&f->fc, "", 0, NULL);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_BACKOFF);
    assert_int_equal(f->fc.max_take_seen, 1);
    assert_int_equal(f->fc.commits, 3); /* Flume commits the empty take too */
    assert_int_equal(log_capture_n(), 2);
    assert_string_equal(log_capture_line(0), "Event: { headers:{k=v} body: 48 65 6C 6C 6F 20 77 "
                                             "6F 72 6C 64 21 0D          Hello world!. }");
    assert_string_equal(log_capture_line(1), "Event: { headers:{} body: }");
    assert_int_equal(f->fc.n, 0);
}

static void test_process_commit_failure_rolls_back(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    struct sluice_err err = {0};
    fake_channel_push(&f->fc, "a", 1, NULL);
    fake_channel_push(&f->fc, "b", 1, NULL);
    f->fc.fail_commit = 1;
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_EIO);
    assert_int_equal(f->fc.rollbacks, 1);
    assert_int_equal(f->fc.n, 2); /* back in the channel, in order */
    assert_memory_equal(f->fc.q[0]->body, "a", 1);
    assert_memory_equal(f->fc.q[1]->body, "b", 1);
    f->fc.fail_commit = 0;
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    assert_int_equal(f->fc.n, 1);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "logger");
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.sink.LoggerSink");
    assert_string_equal(sluice_plugin.options[0].name, "maxBytesToLog");
    assert_string_equal(sluice_plugin.options[0].def, "16");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_bodies),
        cmocka_unit_test(test_format_more_than_16_bytes),
        cmocka_unit_test(test_format_headers_in_hashmap_order),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_process_logs_one_event_per_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_process_commit_failure_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests_name("logger_sink", tests, NULL, NULL);
}
