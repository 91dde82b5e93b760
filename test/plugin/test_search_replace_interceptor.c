/*
 * The search_replace interceptor in-process, against Flume's SearchAndReplaceInterceptor and
 * Java's Matcher.replaceAll(): the user guide's examples, group references ($n, ${name}, the
 * longest-valid-number rule), \$ and \\ escapes, empty matches, every non-overlapping match,
 * charsets (UTF-8 with malformed input, ISO-8859-1, US-ASCII, one through iconv) and the
 * configuration errors Java would throw at the first match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "interceptor_harness.h"

/* body after replacing pattern with replacement (charset default) */
static void expect_len(struct ih *h, const char *pattern, const char *replacement,
                       const char *charset, const char *body, size_t body_len, const char *want,
                       size_t want_len)
{
    const char *kv[7] = {"searchPattern", pattern, NULL, NULL, NULL, NULL, NULL};
    size_t k = 2;
    if (replacement) {
        kv[k++] = "replaceString";
        kv[k++] = replacement;
    }
    if (charset) {
        kv[k++] = "charset";
        kv[k++] = charset;
    }
    ih_open(h, kv);
    struct sluice_event *ev = test_host.event_new(body, body_len);
    assert_non_null(ev);
    ih_run(h, ev);
    if (ev->body_len != want_len || memcmp(ev->body, want, want_len) != 0)
        fail_msg("'%s' -> '%s' on \"%.*s\": expected \"%.*s\", got \"%.*s\"", pattern,
                 replacement ? replacement : "(default)", (int)body_len, body, (int)want_len, want,
                 (int)ev->body_len, (const char *)ev->body);
    test_host.event_free(ev);
}

#define EXPECT(h, pat, repl, body, want)                                                           \
    expect_len(h, pat, repl, NULL, body, strlen(body), want, strlen(want))
#define EXPECT_CS(h, pat, repl, cs, body, want)                                                    \
    expect_len(h, pat, repl, cs, body, sizeof(body) - 1, want, sizeof(want) - 1)

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "search_replace");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder");
}

static void test_user_guide_examples(void **state)
{
    struct ih *h = *state;
    /* "Remove leading alphanumeric characters in an event body" (replaceString left empty) */
    EXPECT(h, "^[A-Za-z0-9_]+", NULL, "lorem_42 ipsum dolor", " ipsum dolor");
    EXPECT(h, "^[A-Za-z0-9_]+", "", "  lorem", "  lorem");
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Creating SearchAndReplaceInterceptor: "
                                                        "searchPattern=^[A-Za-z0-9_]+,"
                                                        "replaceString=,charset=UTF-8"),
                     2);
    /* "Use grouping operators to reorder and munge words on a line" */
    EXPECT(h, "The quick brown ([a-z]+) jumped over the lazy ([a-z]+)",
           "The hungry $2 ate the careless $1", "The quick brown fox jumped over the lazy dog",
           "The hungry dog ate the careless fox");
}

static void test_group_references(void **state)
{
    struct ih *h = *state;
    EXPECT(h, "(\\w+)@(\\w+)", "$2 at $1", "mail bob@example now", "mail example at bob now");
    EXPECT(h, "b+", "[$0]", "abbbcb", "a[bbb]c[b]");
    EXPECT(h, "(?<user>\\w+)@(?<host>\\w+)", "${host}/${user}", "x bob@ex y", "x ex/bob y");
    /* $12 with one group is $1 then "2"; with twelve groups it is group 12 */
    EXPECT(h, "(a)", "$12", "xa", "xa2");
    EXPECT(h, "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", "$12$1$10", "abcdefghijkl", "laj");
    /* a group that took no part inserts nothing */
    EXPECT(h, "(x)?y", "<$1>", "y xy", "<> <x>");
}

static void test_escapes(void **state)
{
    struct ih *h = *state;
    EXPECT(h, "USD", "\\$", "10 USD", "10 $");
    EXPECT(h, "USD ([0-9]+)", "\\$$1.00", "USD 10", "$10.00");
    EXPECT(h, "/", "\\\\", "a/b/c", "a\\b\\c");
    EXPECT(h, "x", "\\n\\}", "axb", "an}b"); /* any escaped character is itself */
    EXPECT(h, "x", "\\\xc3\xa9", "axb",
           "a\xc3\xa9"
           "b");
}

static void test_all_matches_and_empty_matches(void **state)
{
    struct ih *h = *state;
    EXPECT(h, "aa", "b", "aaaaa", "bba");
    EXPECT(h, "x*", "-", "abc", "-a-b-c-");
    EXPECT(h, "b*", "-", "abc", "-a--c-");
    EXPECT(h, "(?:)", "-", "", "-");
    EXPECT(h, "\\S+", "<$0>", "J\xc3\xb6rg x", "<J\xc3\xb6rg> <x>");    /* \S is not just ASCII */
    EXPECT(h, "x*", "-", "\xc3\xa9t\xc3\xa9", "-\xc3\xa9-t-\xc3\xa9-"); /* one step = one char */
    EXPECT(h, "\\s+", " ", "a \t b\t\tc", "a b c");
    EXPECT(h, "a$", "b", "a\n", "b\n");   /* $ before a final line terminator, as in Java */
    EXPECT(h, "^", ">", "a\nb", ">a\nb"); /* no MULTILINE: ^ only at the start */
    EXPECT(h, "(?<=a)b", "c", "abab", "acac");
    EXPECT(h, "zzz", "y", "no match here", "no match here");
}

static void test_no_match_keeps_body(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"searchPattern", "zzz", NULL});
    struct sluice_event *ev = ih_event("unchanged", NULL);
    const uint8_t *before = ev->body;
    ih_run(h, ev);
    assert_ptr_equal(ev->body, before); /* not even copied */
    ih_assert_body(ev, "unchanged");
    test_host.event_free(ev);
}

static void test_charsets(void **state)
{
    struct ih *h = *state;
    /* UTF-8 (the default): malformed input reads as U+FFFD, so Flume writes EF BF BD for it
     * even where nothing matched */
    EXPECT_CS(h, "zzz", "", NULL, "caf\xe9!", "caf\xef\xbf\xbd!");
    EXPECT_CS(h, "\xef\xbf\xbd", "?", NULL,
              "a\xff\xfe"
              "b",
              "a??b");
    EXPECT_CS(h, ".", "x", NULL, "\xc3\xa9\xe2\x82\xac", "xx");
    /* ISO-8859-1: bytes are characters; what it cannot hold becomes '?' */
    EXPECT_CS(h, "\xc3\xa9", "e", "ISO-8859-1", "caf\xe9", "cafe");
    EXPECT_CS(h, ".", "x", "latin1", "\xe9\xff", "xx");
    EXPECT_CS(h, "e", "\xe2\x82\xac", "ISO-8859-1", "e\xe9", "?\xe9");
    EXPECT_CS(h, "zzz", "", "ISO-8859-1", "\xe9\x80", "\xe9\x80");
    /* US-ASCII: a byte above 0x7F reads as U+FFFD and is written as '?' */
    EXPECT_CS(h, "b", "c", "US-ASCII",
              "a\xe9"
              "b",
              "a?c");
    EXPECT_CS(h, "b", "\xc3\xa9", "ascii", "ab", "a?");
    /* any other charset through iconv */
    EXPECT_CS(h, "\xe2\x82\xac", "EUR", "windows-1252", "5\x80", "5EUR");
    EXPECT_CS(h, "x", "\xc3\xa9", "windows-1252", "x", "\xe9");
}

static void test_config_errors(void **state)
{
    struct ih *h = *state;
    struct sluice_err err;
    static const struct {
        const char *pattern, *replacement, *charset, *msg;
    } cases[] = {
        {"a(", NULL, NULL,
         "search_replace: searchPattern 'a(' does not compile: missing closing "
         "parenthesis at offset 2"},
        {"", NULL, NULL, "searchPattern is required and may not be empty"},
        {"a", "x$", NULL,
         "search_replace: replaceString 'x$': Illegal group reference: group "
         "index is missing"},
        {"a", "x\\", NULL, "replaceString 'x\\': character to be escaped is missing"},
        {"(a)", "$2", NULL, "replaceString '$2': No group 2"},
        {"a", "$x", NULL, "Illegal group reference"},
        {"(?<n>a)", "${m}", NULL, "No group with name {m}"},
        {"(?<n>a)", "${n", NULL, "named capturing group is missing trailing '}'"},
        {"(?<n>a)", "${}", NULL, "named capturing group has 0 length name"},
        {"(?<n>a)", "${1n}", NULL, "capturing group name {1n} starts with digit character"},
        {"a", NULL, "NO-SUCH-CHARSET",
         "search_replace: charset: unknown or unsupported charset "
         "'NO-SUCH-CHARSET'"},
        {"a", NULL, "UTF-8//TRANSLIT", "unknown or unsupported charset"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *kv[7] = {"searchPattern", cases[i].pattern, NULL, NULL, NULL, NULL, NULL};
        size_t k = 2;
        if (cases[i].replacement) {
            kv[k++] = "replaceString";
            kv[k++] = cases[i].replacement;
        }
        if (cases[i].charset) {
            kv[k++] = "charset";
            kv[k++] = cases[i].charset;
        }
        int rc = ih_create(h, kv, &err);
        if (rc != SLUICE_ECONFIG || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d, message \"%s\", expected \"%s\"", i, rc, err.msg,
                     cases[i].msg);
    }
}

static void test_batch_order(void **state)
{
    struct ih *h = *state;
    ih_open(h, (const char *[]){"searchPattern", "(\\d+)", "replaceString", "<$1>", NULL});
    enum { N = 30 };
    struct sluice_event *evs[N];
    char body[32], want[32];
    for (int i = 0; i < N; i++) {
        snprintf(body, sizeof(body), "n%d", i);
        evs[i] = ih_event(body, NULL);
    }
    assert_int_equal(
        ((const struct sluice_interceptor_ops *)sluice_plugin.ops)->intercept(h->self, evs, N), N);
    for (int i = 0; i < N; i++) {
        snprintf(want, sizeof(want), "n<%d>", i);
        ih_assert_body(evs[i], want);
        test_host.event_free(evs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_user_guide_examples, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_group_references, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_escapes, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_all_matches_and_empty_matches, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_no_match_keeps_body, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_charsets, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, ih_setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_batch_order, ih_setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
