/*
 * The static interceptor in-process, against Flume's StaticInterceptor: defaults key=value with
 * preserveExisting true, overwriting when it is false, and a custom key and value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interceptor_harness.h"

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "static");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.StaticInterceptor$Builder");
}

static void test_defaults(void **state)
{
    struct ih *h = *state;
    ih_open(h, NULL);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Creating StaticInterceptor: key=key,"
                                                        "value=value,preserveExisting=true"),
                     1);
    struct sluice_event *ev = ih_run_body(h, "x");
    ih_assert_header(ev, "key", "value");
    test_host.event_free(ev);
    /* preserveExisting defaults to true: an existing header stays */
    ev = ih_run(h, ih_event("x", (const char *[]){"key", "mine", NULL}));
    ih_assert_header(ev, "key", "mine");
    assert_int_equal(ev->n_headers, 1);
    test_host.event_free(ev);
}

static void test_overwrite(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"key", "datacenter", "value", "NYC_01", "preserveExisting", "false",
                                NULL});
    struct sluice_event *ev =
        ih_run(h, ih_event("x", (const char *[]){"datacenter", "old", "key", "k", NULL}));
    ih_assert_header(ev, "datacenter", "NYC_01");
    ih_assert_header(ev, "key", "k");
    ih_assert_body(ev, "x");
    test_host.event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_defaults, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_overwrite, ih_setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
