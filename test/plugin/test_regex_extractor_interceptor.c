/*
 * The regex_extractor interceptor in-process, against Flume's RegexExtractorInterceptor: the
 * user guide's two examples (three pass-through serializers; the millis serializer with
 * pattern yyyy-MM-dd HH:mm in local time), one find() per event, groups and serializers that do
 * not pair up, Joda-Time pattern details (DST gap and overlap, month names, fractions), and the
 * configuration errors, which name the key and its file:line.
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

#define MILLIS "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"

/* America/Los_Angeles rules, without depending on tzdata */
static int setup_la(void **state)
{
    setenv("TZ", "PST8PDT,M3.2.0,M11.1.0", 1);
    tzset();
    return ih_setup(state);
}

static int setup_utc(void **state)
{
    setenv("TZ", "UTC0", 1);
    tzset();
    return ih_setup(state);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "regex_extractor");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder");
}

static void test_guide_three_serializers(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"regex", "(\\d):(\\d):(\\d)", "serializers", "s1 s2 s3",
                                "serializers.s1.name", "one", "serializers.s2.name", "two",
                                "serializers.s3.name", "three", NULL});
    assert_int_equal(
        log_capture_count(SLUICE_LOG_INFO,
                          "Creating RegexExtractorInterceptor: regex=(\\d):(\\d):(\\d) "
                          "(3 groups),serializers=[s1->one,s2->two,s3->three]"),
        1);
    struct sluice_event *ev = ih_run_body(h, "1:2:3.4foobar5");
    ih_assert_header(ev, "one", "1");
    ih_assert_header(ev, "two", "2");
    ih_assert_header(ev, "three", "3");
    ih_assert_body(ev, "1:2:3.4foobar5");
    test_host.event_free(ev);
    /* one find(): only the first match counts */
    ev = ih_run_body(h, "x 7:8:9 and 4:5:6");
    ih_assert_header(ev, "one", "7");
    ih_assert_header(ev, "three", "9");
    test_host.event_free(ev);
    /* no match: the event is left as it is */
    ev = ih_run(h, ih_event("1:2", (const char *[]){"one", "old", NULL}));
    ih_assert_header(ev, "one", "old");
    assert_int_equal(ev->n_headers, 1);
    test_host.event_free(ev);
}

static void test_guide_millis_serializer(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"regex", "^(?:\\n)?(\\d\\d\\d\\d-\\d\\d-\\d\\d\\s\\d\\d:\\d\\d)",
                                "serializers", "s1", "serializers.s1.type", MILLIS,
                                "serializers.s1.name", "timestamp", "serializers.s1.pattern",
                                "yyyy-MM-dd HH:mm", NULL});
    struct sluice_event *ev = ih_run_body(h, "2012-10-18 18:47:57,614 some log line");
    ih_assert_header(ev, "timestamp", "1350611220000");
    test_host.event_free(ev);
    /* the same minute again (served from the per-minute cache) and the next one */
    ev = ih_run_body(h, "2012-10-18 18:47:01 again");
    ih_assert_header(ev, "timestamp", "1350611220000");
    test_host.event_free(ev);
    ev = ih_run_body(h, "2012-10-18 18:48:01 later");
    ih_assert_header(ev, "timestamp", "1350611280000");
    test_host.event_free(ev);
}

/* Joda patterns: the value is parsed whole, in local time */
static void expect_millis(struct ih *h, const char *pattern, const char *text, const char *want)
{
    ih_open(h,
            (const char *[]){"regex", "^(.*)$", "serializers", "t", "serializers.t.name", "ts",
                             "serializers.t.type", MILLIS, "serializers.t.pattern", pattern, NULL});
    log_capture_reset();
    struct sluice_event *ev = ih_run_body(h, text);
    const char *got = test_host.event_header_get(ev, "ts");
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("pattern '%s' on '%s': expected %s, got %s", pattern, text, want,
                 got ? got : "no header");
    if (!want && got)
        fail_msg("pattern '%s' on '%s': expected no header, got %s", pattern, text, got);
    if (!want) /* a value that does not parse: logged, the event passes without the header */
        assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "header ts not set"), 1);
    test_host.event_free(ev);
}

static void test_joda_patterns(void **state)
{
    struct ih *h = *state;
    expect_millis(h, "yyyy-MM-dd HH:mm:ss,SSS", "2012-10-18 18:47:57,614", "1350611277614");
    expect_millis(h, "yyyy-MM-dd HH:mm:ss.S", "2012-10-18 18:47:57.6", "1350611277600");
    expect_millis(h, "dd/MMM/yyyy:HH:mm:ss", "18/Oct/2012:18:47:57", "1350611277000");
    expect_millis(h, "dd/MMM/yyyy:HH:mm:ss", "18/oct/2012:18:47:57", "1350611277000");
    expect_millis(h, "dd MMMM yyyy HH:mm:ss", "18 OCTOBER 2012 18:47:57", "1350611277000");
    expect_millis(h, "yyyyMMddHHmmss", "20121018184757", "1350611277000");
    expect_millis(h, "yyyy-M-d H:m", "2012-10-18 18:47", "1350611220000");
    expect_millis(h, "yyyy-MM-dd'T'HH:mm", "2012-10-18t18:47", "1350611220000");
    expect_millis(h, "yyyy-MM-dd", "2012-10-18", "1350543600000");
    expect_millis(h, "''yy-MM-dd''", "'12-10-18'", "1350543600000");
    /* DST overlap: the earlier instant (PDT); gap: no such local time */
    expect_millis(h, "yyyy-MM-dd HH:mm", "2012-11-04 01:30", "1352017800000");
    expect_millis(h, "yyyy-MM-dd HH:mm", "2012-03-11 02:30", NULL);
    /* malformed, too short, trailing text, out of range */
    expect_millis(h, "yyyy-MM-dd HH:mm", "2012-10-18 18:4x", NULL);
    expect_millis(h, "yyyy-MM-dd HH:mm", "2012-10-18", NULL);
    expect_millis(h, "yyyy-MM-dd HH:mm", "2012-10-18 18:47:57", NULL);
    expect_millis(h, "yyyy-MM-dd", "2012-02-30", NULL);
    expect_millis(h, "yyyy-MM-dd", "2012-13-01", NULL);
    expect_millis(h, "HH:mm", "24:00", NULL);
}

static void test_joda_utc_and_leap(void **state)
{
    struct ih *h = *state;
    expect_millis(h, "yyyy-MM-dd HH:mm:ss", "2012-10-18 18:47:57", "1350586077000");
    expect_millis(h, "HH:mm", "18:47", "67620000"); /* missing fields: 1970-01-01 */
    expect_millis(h, "yyyy-MM-dd", "2012-02-29", "1330473600000");
    expect_millis(h, "yyyy-MM-dd", "2011-02-29", NULL);
}

static void test_groups_and_serializers_pairing(void **state)
{
    struct ih *h = *state;
    /* more groups than serializers: the extra groups are skipped */
    ih_open(h, (const char *[]){"regex", "(a)(b)(c)", "serializers", "s1", "serializers.s1.name",
                                "first", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "groups after the 1-th are not stored"), 1);
    struct sluice_event *ev = ih_run_body(h, "abc");
    ih_assert_header(ev, "first", "a");
    assert_int_equal(ev->n_headers, 1);
    test_host.event_free(ev);
    /* more serializers than groups: a warning, the extra ones never used */
    log_capture_reset();
    ih_open(h, (const char *[]){"regex", "(a)", "serializers", "s1 s2", "serializers.s1.name",
                                "first", "serializers.s2.name", "second", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "the regex has 1 group(s) but 2 "
                                                        "serializers"),
                     1);
    ev = ih_run_body(h, "a");
    ih_assert_header(ev, "first", "a");
    ih_assert_header(ev, "second", NULL);
    test_host.event_free(ev);
    /* a group that took no part sets nothing; DEFAULT is the pass-through */
    ih_open(h, (const char *[]){"regex", "(x)?(y)", "serializers", "s1 s2", "serializers.s1.name",
                                "h1", "serializers.s2.name", "h2", "serializers.s2.type", "DEFAULT",
                                NULL});
    ev = ih_run_body(h, "zy");
    ih_assert_header(ev, "h1", NULL);
    ih_assert_header(ev, "h2", "y");
    test_host.event_free(ev);
    /* non-ASCII text, and malformed UTF-8 read as U+FFFD as Java's decoder does */
    ih_open(h, (const char *[]){"regex", "user=(\\S+)", "serializers", "u", "serializers.u.name",
                                "user", NULL});
    ev = ih_run_body(h, "user=J\xc3\xb6rg x");
    ih_assert_header(ev, "user", "J\xc3\xb6rg");
    test_host.event_free(ev);
    ev = ih_run_body(h, "user=J\xf6rg x");
    ih_assert_header(ev, "user", "J\xef\xbf\xbdrg");
    test_host.event_free(ev);
}

static void test_config_errors(void **state)
{
    struct ih *h = *state;
    struct sluice_err err;
    static const struct {
        const char *const kv[13];
        const char *msg;
    } cases[] = {
        {{"regex", "(a", "serializers", "s1", "serializers.s1.name", "x", NULL},
         "regex_extractor: regex '(a' does not compile"},
        {{"regex", "(a)", "serializers", "s1", NULL},
         "regex_extractor: serializers.s1.name is required (the header that receives group 1)"},
        {{"regex", "(a)", "serializers", " ", NULL}, "regex_extractor: serializers is required"},
        {{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x", "serializers.s1.type",
          "default", NULL},
         "test.conf:4: serializers.s1.type: unknown serializer type 'default' (Flume compares "
         "DEFAULT case-sensitively)"},
        {{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x", "serializers.s1.type",
          "com.example.Nope", NULL},
         "test.conf:4: serializers.s1.type: unknown serializer type 'com.example.Nope'; leave "
         "type out"},
        {{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x", "serializers.s1.type",
          MILLIS, NULL},
         "test.conf:4: serializers.s1.pattern is required by the millis serializer"},
        {{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x", "serializers.s1.type",
          MILLIS, "serializers.s1.pattern", "yyyy-MM-dd Z", NULL},
         "test.conf:5: serializers.s1.pattern: 'yyyy-MM-dd Z': pattern letter 'Z' is not "
         "supported"},
        {{"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x", "serializers.s1.type",
          MILLIS, "serializers.s1.pattern", "yyyy-qq", NULL},
         "'q' is not a Joda-Time pattern letter"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = ih_create(h, cases[i].kv, &err);
        if (rc != SLUICE_ECONFIG || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d, message \"%s\", expected \"%s\"", i, rc, err.msg,
                     cases[i].msg);
    }
    /* keys nothing reads are pointed out */
    log_capture_reset();
    ih_open(h, (const char *[]){"regex", "(a)", "serializers", "s1", "serializers.s1.name", "x",
                                "serializers.s2.name", "y", "serializers.s1.patern", "p",
                                "serializers.s1.pattern", "yyyy", NULL});
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "test.conf:4: serializers.s2.name is "
                                                        "ignored: 's2' is not in the serializers "
                                                        "list"),
                     1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "test.conf:5: serializers.s1.patern is "
                                                        "ignored: a serializer takes name, type "
                                                        "and pattern"),
                     1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "test.conf:6: serializers.s1.pattern is "
                                                        "ignored: serializer s1 passes the group "
                                                        "text as it is"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_guide_three_serializers, setup_la, ih_teardown),
        cmocka_unit_test_setup_teardown(test_guide_millis_serializer, setup_la, ih_teardown),
        cmocka_unit_test_setup_teardown(test_joda_patterns, setup_la, ih_teardown),
        cmocka_unit_test_setup_teardown(test_joda_utc_and_leap, setup_utc, ih_teardown),
        cmocka_unit_test_setup_teardown(test_groups_and_serializers_pairing, setup_la, ih_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup_la, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
