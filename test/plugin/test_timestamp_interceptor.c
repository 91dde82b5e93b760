/*
 * The timestamp interceptor in-process, against Flume's TimestampInterceptor: the default
 * header `timestamp` holds the current epoch milliseconds, preserveExisting both ways, a
 * custom headerName, and the Flume class name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interceptor_harness.h"

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The header is a decimal epoch-ms value within [lo, hi]. */
static void assert_ms_between(const struct sluice_event *ev, const char *key, int64_t lo,
                              int64_t hi)
{
    const char *v = test_host.event_header_get(ev, key);
    assert_non_null(v);
    char *end;
    long long ms = strtoll(v, &end, 10);
    assert_true(*v >= '1' && *v <= '9' && *end == 0);
    if (ms < lo || ms > hi)
        fail_msg("header %s = %s, expected between %lld and %lld", key, v, (long long)lo,
                 (long long)hi);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "timestamp");
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_INTERCEPTOR);
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.TimestampInterceptor$Builder");
}

static void test_defaults_set_epoch_ms(void **state)
{
    struct ih *h = *state;
    ih_open(h, NULL);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO,
                                       "Creating TimestampInterceptor: "
                                       "headerName=timestamp,preserveExisting=false"),
                     1);
    int64_t before = now_ms();
    struct sluice_event *ev = ih_run_body(h, "line");
    int64_t after = now_ms();
    assert_ms_between(ev, "timestamp", before, after);
    assert_int_equal(ev->n_headers, 1);
    ih_assert_body(ev, "line");
    test_host.event_free(ev);
}

static void test_overwrites_by_default(void **state)
{
    struct ih *h = *state;
    ih_open(h, NULL);
    int64_t before = now_ms();
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"timestamp", "1", NULL}));
    assert_ms_between(ev, "timestamp", before, now_ms());
    test_host.event_free(ev);
}

static void test_preserve_existing(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"preserveExisting", "true", NULL});
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"timestamp", "1", NULL}));
    ih_assert_header(ev, "timestamp", "1");
    test_host.event_free(ev);
    int64_t before = now_ms();
    ev = ih_run_body(h, "no header yet");
    assert_ms_between(ev, "timestamp", before, now_ms());
    test_host.event_free(ev);
}

static void test_header_name_and_batch(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"headerName", "ts", NULL});
    enum { N = 50 };
    struct sluice_event *evs[N];
    for (int i = 0; i < N; i++)
        evs[i] = ih_event("b", (const char *[]){"other", "o", NULL});
    int64_t before = now_ms();
    assert_int_equal(
        ((const struct sluice_interceptor_ops *)sluice_plugin.ops)->intercept(h->self, evs, N), N);
    int64_t after = now_ms();
    for (int i = 0; i < N; i++) {
        assert_ms_between(evs[i], "ts", before, after);
        ih_assert_header(evs[i], "timestamp", NULL);
        ih_assert_header(evs[i], "other", "o");
        test_host.event_free(evs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_defaults_set_epoch_ms, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_overwrites_by_default, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_preserve_existing, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_header_name_and_batch, ih_setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
