/*
 * The uuid interceptor in-process, against Flume's UUIDInterceptor: header `id` holds a
 * 36-character version 4 UUID (lowercase, as Java's UUID.toString()), unique over 100,000
 * events, with prefix; preserveExisting (default true) both ways; a custom headerName.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interceptor_harness.h"

static const struct sluice_interceptor_ops *ops(void)
{
    return sluice_plugin.ops;
}

/* xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lowercase hex */
static void assert_uuid_v4(const char *s)
{
    if (strlen(s) != 36)
        fail_msg("'%s' is not 36 characters", s);
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || !s[i])
            fail_msg("'%s': bad character at %d", s, i);
    }
    if (s[14] != '4')
        fail_msg("'%s' is not version 4", s);
    if (!strchr("89ab", s[19]))
        fail_msg("'%s' does not have the IETF variant", s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "uuid");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder");
}

static void test_format_and_unique(void **state)
{
    struct ih *h = *state;
    ih_open(h, NULL);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Creating UUIDInterceptor: headerName=id,"
                                                        "preserveExisting=true,prefix="),
                     1);
    enum { N = 100000, BATCH = 1000 };
    char **ids = calloc(N, sizeof(*ids));
    assert_non_null(ids);
    struct sluice_event *evs[BATCH];
    for (int b = 0; b < N / BATCH; b++) {
        for (int i = 0; i < BATCH; i++)
            evs[i] = ih_event("e", NULL);
        assert_int_equal(ops()->intercept(h->self, evs, BATCH), BATCH);
        for (int i = 0; i < BATCH; i++) {
            const char *id = test_host.event_header_get(evs[i], "id");
            assert_non_null(id);
            assert_uuid_v4(id);
            ids[b * BATCH + i] = strdup(id);
            assert_non_null(ids[b * BATCH + i]);
            test_host.event_free(evs[i]);
        }
    }
    qsort(ids, N, sizeof(*ids), cmp_str);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate UUID %s", ids[i]);
    /* every hex digit position other than the fixed ones varies */
    int varies = 0;
    for (int i = 1; i < N; i++)
        varies |= ids[i][0] != ids[0][0];
    assert_true(varies);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
}

static void test_prefix_and_header_name(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"headerName", "eventId", "prefix", "agent1-", NULL});
    struct sluice_event *ev = ih_run_body(h, "x");
    const char *v = test_host.event_header_get(ev, "eventId");
    assert_non_null(v);
    assert_int_equal(strncmp(v, "agent1-", 7), 0);
    assert_uuid_v4(v + 7);
    ih_assert_header(ev, "id", NULL);
    test_host.event_free(ev);
}

static void test_preserve_existing(void **state)
{
    struct ih *h = *state;
    ih_open(h, NULL); /* default true */
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"id", "mine", NULL}));
    ih_assert_header(ev, "id", "mine");
    test_host.event_free(ev);
    ih_open(h, (const char *[]){"preserveExisting", "false", NULL});
    ev = ih_run(h, ih_event("x", (const char *[]){"id", "mine", NULL}));
    assert_uuid_v4(test_host.event_header_get(ev, "id"));
    test_host.event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_format_and_unique, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_prefix_and_header_name, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_preserve_existing, ih_setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
