/*
 * The remove_header interceptor in-process, against Flume's RemoveHeaderInterceptor: withName,
 * fromList with the default and a custom separator (Java String.split rules), matching as a
 * full match on header names, all three at once, and configuration errors naming the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interceptor_harness.h"

static struct sluice_event *headers_event(void)
{
    return ih_event("body", (const char *[]){"a", "1", "b", "2", "c", "3", "tmp", "4", "tmp1", "5",
                                             "xtmp", "6", "", "7", NULL});
}

/* exactly the named headers remain */
static void assert_headers(const struct sluice_event *ev, const char *const *names)
{
    size_t n = 0;
    for (; names[n]; n++)
        if (!test_host.event_header_get(ev, names[n]))
            fail_msg("header '%s' was removed", names[n]);
    if (ev->n_headers != n) {
        for (uint32_t i = 0; i < ev->n_headers; i++)
            print_message("left: '%s'\n", ev->headers[i].key);
        fail_msg("%u headers left, expected %zu", ev->n_headers, n);
    }
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "remove_header");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder");
}

static void test_with_name(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"withName", "b", NULL});
    struct sluice_event *ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"a", "c", "tmp", "tmp1", "xtmp", "", NULL});
    ih_assert_body(ev, "body");
    test_host.event_free(ev);
    /* an event without that header is untouched */
    ev = ih_run(h, ih_event("x", (const char *[]){"bb", "1", NULL}));
    assert_headers(ev, (const char *[]){"bb", NULL});
    test_host.event_free(ev);
}

static void test_from_list_default_separator(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"fromList", "a ,b,  tmp , nothere", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "(4 names)"), 1);
    struct sluice_event *ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"c", "tmp1", "xtmp", "", NULL});
    test_host.event_free(ev);
}

static void test_from_list_custom_separator(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"fromList", "a|c|xtmp", "fromListSeparator", "\\|", NULL});
    struct sluice_event *ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"b", "tmp", "tmp1", "", NULL});
    test_host.event_free(ev);
    /* String.split: inner empty pieces stay (header ""), trailing ones are dropped */
    log_capture_reset();
    ih_open(h, (const char *[]){"fromList", "a;;b;;", "fromListSeparator", ";", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "(3 names)"), 1);
    ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"c", "tmp", "tmp1", "xtmp", NULL});
    test_host.event_free(ev);
    /* a zero-width match at the start gives no leading empty piece */
    log_capture_reset();
    ih_open(h, (const char *[]){"fromList", "ab", "fromListSeparator", "(?=[ab])", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "(2 names)"), 1);
    ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"c", "tmp", "tmp1", "xtmp", "", NULL});
    test_host.event_free(ev);
}

static void test_matching_is_a_full_match(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"matching", "tmp.*", NULL});
    struct sluice_event *ev = ih_run(h, headers_event());
    /* xtmp contains a match but is not one as a whole (find() would have removed it) */
    assert_headers(ev, (const char *[]){"a", "b", "c", "xtmp", "", NULL});
    test_host.event_free(ev);
    ih_open(h, (const char *[]){"matching", "[abc]|", NULL});
    ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"tmp", "tmp1", "xtmp", NULL});
    test_host.event_free(ev);
    /* a header name that is not valid UTF-8 reads as U+FFFD, and \S matches non-ASCII */
    ih_open(h, (const char *[]){"matching", "x-\\S+", NULL});
    ev = ih_run(
        h, ih_event("b", (const char *[]){"x-J\xc3\xb6rg", "1", "x-\xff", "2", "x-", "3", NULL}));
    assert_headers(ev, (const char *[]){"x-", NULL});
    test_host.event_free(ev);
    /* alternation that needs backtracking to reach the end */
    ih_open(h, (const char *[]){"matching", "tm|tmp1", NULL});
    ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"a", "b", "c", "tmp", "xtmp", "", NULL});
    test_host.event_free(ev);
}

static void test_all_three(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"withName", "a", "fromList", "b,c", "matching", ".*tmp", NULL});
    struct sluice_event *ev = ih_run(h, headers_event());
    assert_headers(ev, (const char *[]){"tmp1", "", NULL});
    test_host.event_free(ev);
    /* a batch, every event handled, order kept */
    enum { N = 10 };
    struct sluice_event *evs[N];
    for (int i = 0; i < N; i++)
        evs[i] = headers_event();
    assert_int_equal(
        ((const struct sluice_interceptor_ops *)sluice_plugin.ops)->intercept(h->self, evs, N), N);
    for (int i = 0; i < N; i++) {
        assert_headers(evs[i], (const char *[]){"tmp1", "", NULL});
        test_host.event_free(evs[i]);
    }
}

static void test_config_errors(void **state)
{
    struct ih *h = *state;
    struct sluice_err err;
    assert_int_equal(ih_create(h, (const char *[]){"matching", "tmp(", NULL}, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "remove_header: matching 'tmp(' does not compile: missing "
                                    "closing parenthesis"));
    assert_int_equal(
        ih_create(h, (const char *[]){"fromList", "a,b", "fromListSeparator", "[", NULL}, &err),
        SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "remove_header: fromListSeparator '[' does not compile"));
    /* nothing to remove is allowed, as in Flume, with a warning */
    log_capture_reset();
    ih_open(h, NULL);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "none of withName, fromList and matching"),
                     1);
    struct sluice_event *ev = ih_run(h, headers_event());
    assert_int_equal(ev->n_headers, 7);
    test_host.event_free(ev);
    /* a separator without a list */
    log_capture_reset();
    ih_open(h, (const char *[]){"withName", "a", "fromListSeparator", ";", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "fromListSeparator is set but fromList is "
                                                        "not"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_with_name, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_from_list_default_separator, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_from_list_custom_separator, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_matching_is_a_full_match, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_all_three, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, ih_setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
