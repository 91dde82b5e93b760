/*
 * regex_literals and literal_find: the strings read from patterns real configs use, the
 * patterns it must refuse, and the property that matters: whenever PCRE2 matches a body, every
 * string it reported is in that body (checked on generated bodies and patterns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../../interceptors/common/literal_search.h"
#include "../../interceptors/common/newline_scan.h"
#include "../../interceptors/common/regex_literals.h"

static void expect_lits(const char *re, const char *const *want)
{
    struct regex_literals l;
    assert_int_equal(regex_literals_find(re, 2, &l), 0);
    size_t n = 0;
    while (want[n])
        n++;
    if (l.n != n)
        fail_msg("pattern %s: %zu strings, expected %zu (first: %s)", re, l.n, n,
                 l.n ? l.s[0] : "-");
    for (size_t i = 0; i < n; i++)
        if (strcmp(l.s[i], want[i]) != 0)
            fail_msg("pattern %s: string %zu is \"%s\", expected \"%s\"", re, i, l.s[i], want[i]);
    regex_literals_free(&l);
}

#define LITS(re, ...) expect_lits(re, (const char *const[]){__VA_ARGS__, NULL})
#define NONE(re)      expect_lits(re, (const char *const[]){NULL})

static void test_strings_read(void **state)
{
    (void)state;
    LITS("(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}"
         "\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)",
         "ip=/", "tbl=");
    LITS(".*HiveMetaStore\\.audit.*", "HiveMetaStore.audit");
    LITS("ERROR.*Exception", "Exception", "ERROR");
    LITS("abc?d", "ab"); /* c is optional */
    LITS("ab+cd", "cd"); /* b repeats: "a" alone is too short */
    NONE("xy{2}z");      /* only single characters remain */
    LITS("^GET /api/v1 HTTP", "GET /api/v1 HTTP");
    LITS("\\bfoo\\b bar", " bar", "foo"); /* longest first */
    LITS("(?:abc)+def", "def");
    LITS("[ab]cd[ef]gh", "cd", "gh");
    LITS("[]x]yz", "yz");
    LITS("[[:digit:]]ab", "ab");
    LITS("user=(?<u>\\w+) op=", "user=", " op=");
    LITS("a\\.b\\/c\\\\d", "a.b/c\\d");
    LITS("caf\xc3\xa9s?x", "caf\xc3\xa9");
    LITS("(a|b)zz", "zz");
}

static void test_patterns_refused(void **state)
{
    (void)state;
    NONE("abc|def");
    NONE("(?i)hello");
    NONE("hello(?i)world");
    NONE("\\Qa|b\\E");
    NONE("\\x41BC");
    NONE("(a)\\1xyz");
    NONE("\\tTAB");
    NONE("(*UTF)abc");
    NONE("(?x) a b c");
    NONE("abc)");
    NONE("(abc");
    NONE("a\\p{Lu}bc");
}

/* Small deterministic PRNG for the property test. */
static uint64_t rng = 7;
static unsigned next(unsigned n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng >> 33) % n);
}

static void test_matches_contain_the_strings(void **state)
{
    (void)state;
    static const char *const atoms[] = {
        "ab",   "a",     "b",   "c",   ".",    ".*",     "x?",      "[ab]",
        "(ab)", "(a|c)", "\\d", "\\.", "b+",   "c{1,2}", "(?:bc)?", "\\b",
        "^",    "$",     "ca",  "\\/", "[^a]", "(?=a)",  "(?<=b)",  "\xc3\xa9",
    };
    static const char alphabet[] = "abc.1/ \n\xc3\xa9";
    char pat[128];
    uint8_t body[64];
    int checked = 0;
    for (int p = 0; p < 3000; p++) {
        size_t k = 0, parts = 1 + next(6);
        pat[0] = 0;
        for (size_t i = 0; i < parts; i++) {
            const char *a = atoms[next(sizeof(atoms) / sizeof(*atoms))];
            if (k + strlen(a) + 1 >= sizeof(pat))
                break;
            memcpy(pat + k, a, strlen(a) + 1);
            k += strlen(a);
        }
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
        if (!re)
            continue;
        struct regex_literals l;
        assert_int_equal(regex_literals_find(pat, 1, &l), 0);
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        for (int b = 0; b < 200; b++) {
            size_t len = next(sizeof(body));
            for (size_t i = 0; i < len; i++)
                body[i] = (uint8_t)alphabet[next(sizeof(alphabet) - 1)];
            int rc = pcre2_match(re, body, len, 0, 0, md, NULL);
            if (rc >= 0) {
                checked++;
                if (!regex_literals_present(&l, body, len))
                    fail_msg("pattern %s matches a %zu-byte body lacking one of its %zu strings",
                             pat, len, l.n);
            }
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        regex_literals_free(&l);
    }
    assert_true(checked > 1000); /* the property was really exercised */
}

static void test_literal_find(void **state)
{
    (void)state;
    uint8_t hay[100];
    for (int round = 0; round < 20000; round++) {
        size_t n = next(sizeof(hay) + 1), k = next(20);
        for (size_t i = 0; i < n; i++)
            hay[i] = (uint8_t) "aab\0"[next(4)];
        uint8_t needle[20];
        for (size_t i = 0; i < k; i++)
            needle[i] = (uint8_t) "aab\0"[next(4)];
        const uint8_t *want = NULL;
        for (size_t i = 0; k <= n && i + k <= n && !want; i++)
            if (memcmp(hay + i, needle, k) == 0)
                want = hay + i;
        const uint8_t *got = literal_find(hay, n, needle, k);
        if (got != want)
            fail_msg("needle of %zu in %zu bytes: found at %td, expected %td", k, n,
                     got ? got - hay : -1, want ? want - hay : -1);
    }
}

/* newline_scan_rare against a plain reading, and the equivalence it is used for: a body
 * without rare terminators gets the same answer from a NEWLINE_LF and a NEWLINE_ANY compile. */
static void test_newline_scan(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a",        "b.",           "\n",           "\r",           "\v",   "\f",       "\xc2\x85",
        "\xc2\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\x9c", "\xc2", "\xe2\x80", " x"};
    static const char *const pats[] = {"a.*b", "^a.b$", "a$", "(?m)^b", "a\\Nb", ".{3}", "x\\R"};
    uint8_t body[80];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, want = 0;
        size_t parts = next(12);
        for (size_t i = 0; i < parts; i++) {
            const char *p = pieces[next(sizeof(pieces) / sizeof(*pieces))];
            size_t l = strlen(p);
            if (n + l > sizeof(body))
                break;
            memcpy(body + n, p, l);
            n += l;
        }
        for (size_t i = 0; i < n && !want; i++)
            want = body[i] == '\r' || body[i] == '\v' || body[i] == '\f' ||
                   (i + 1 < n && body[i] == 0xc2 && body[i + 1] == 0x85) ||
                   (i + 2 < n && body[i] == 0xe2 && body[i + 1] == 0x80 &&
                    (body[i + 2] == 0xa8 || body[i + 2] == 0xa9));
        assert_int_equal(newline_scan_rare(body, n), (int)want);
        if (want)
            continue;
        const char *pat = pats[next(sizeof(pats) / sizeof(*pats))];
        int code;
        PCRE2_SIZE off;
        pcre2_compile_context *any = pcre2_compile_context_create(NULL);
        pcre2_compile_context *lf = pcre2_compile_context_create(NULL);
        pcre2_set_newline(any, PCRE2_NEWLINE_ANY);
        pcre2_set_newline(lf, PCRE2_NEWLINE_LF);
        uint32_t o = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
        pcre2_code *ra = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, o, &code, &off, any);
        pcre2_code *rl = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, o, &code, &off, lf);
        assert_non_null(ra);
        assert_non_null(rl);
        pcre2_match_data *md = pcre2_match_data_create(4, NULL);
        int a = pcre2_match(ra, body, n, 0, 0, md, NULL);
        PCRE2_SIZE as = a >= 0 ? pcre2_get_ovector_pointer(md)[0] : 0;
        int l = pcre2_match(rl, body, n, 0, 0, md, NULL);
        PCRE2_SIZE ls = l >= 0 ? pcre2_get_ovector_pointer(md)[0] : 0;
        if ((a >= 0) != (l >= 0) || as != ls)
            fail_msg("pattern %s on a %zu-byte body: ANY %d at %zu, LF %d at %zu", pat, n, a,
                     (size_t)as, l, (size_t)ls);
        pcre2_match_data_free(md);
        pcre2_code_free(ra);
        pcre2_code_free(rl);
        pcre2_compile_context_free(any);
        pcre2_compile_context_free(lf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_read),
        cmocka_unit_test(test_patterns_refused),
        cmocka_unit_test(test_matches_contain_the_strings),
        cmocka_unit_test(test_literal_find),
        cmocka_unit_test(test_newline_scan),
    };
    return cmocka_run_group_tests_name("regex_literals", tests, NULL, NULL);
}
