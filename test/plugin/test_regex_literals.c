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

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "../../interceptors/common/literal_search.h"
#include "../../interceptors/common/newline_scan.h"
#include "../../interceptors/common/regex_ascii.h"
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

/* A body of up to `parts` pieces drawn at random (the first `common` of them two times in three
 * when common > 0), as long as they fit in cap bytes; returns its length. */
static size_t join_pieces(uint8_t *body, size_t cap, const char *const *pieces, size_t n_pieces,
                          size_t common, size_t parts)
{
    size_t n = 0;
    for (size_t i = 0; i < parts; i++) {
        const char *p =
            pieces[common && next(3) ? next((unsigned)common) : next((unsigned)n_pieces)];
        size_t l = strlen(p);
        if (n + l > cap)
            break;
        memcpy(body + n, p, l);
        n += l;
    }
    return n;
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
        size_t want = 0;
        size_t n =
            join_pieces(body, sizeof(body), pieces, sizeof(pieces) / sizeof(*pieces), 0, next(12));
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

/* newline_scan_kind against a plain reading, on bodies long enough for the 16-byte steps. */
static void test_newline_scan_kind(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "abcdefgh", "ip=/10.1.2.3 ", "\n",           "\r",   "\v",   "\f",       "\xc2\x85",
        "\xc2\xa9", "\xe2\x80\xa8",  "\xe2\x80\x9c", "\x7f", "\x80", "\xe2\x80", "\t"};
    uint8_t body[120];
    for (int round = 0; round < 20000; round++) {
        size_t n =
            join_pieces(body, sizeof(body), pieces, sizeof(pieces) / sizeof(*pieces), 2, next(16));
        int high = 0;
        for (size_t i = 0; i < n; i++)
            high |= body[i] >= 0x80;
        enum newline_kind want = newline_scan_rare(body, n) ? NEWLINE_KIND_RARE
                                 : high                     ? NEWLINE_KIND_UTF
                                                            : NEWLINE_KIND_ASCII;
        assert_int_equal(newline_scan_kind(body, n), want);
    }
}

/* The ASCII compile: refused where it could differ, and where it is made, the same answer
 * and the same offsets for every group as the UTF / NEWLINE_ANY compile on ASCII bodies. */
static void test_regex_ascii(void **state)
{
    (void)state;
    const uint32_t utf = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
    static const char *const refused[] = {"\xc3\xa9?x", "(*UTF)a", "\\x{100}", "a\rb",
                                          "[\xe2\x82\xac]"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
        pcre2_code *re = regex_ascii_compile(refused[i], strlen(refused[i]), utf);
        if (re)
            fail_msg("pattern %zu got an ASCII compile", i);
    }
    static const char *const pats[] = {
        ("(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}).*ip=\\/(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})"
         ".*tbl=([a-zA-Z0-9_]+)"),
        "(?i)k+s",
        "\\w+\\b",
        "[^a-z]+",
        "\\xe9?x",
        "[^\\xe9]{3}",
        "a.*b",
        "^a.b$",
        "(?m)^b$",
        "a\\Nb",
        "x\\R",
        "\\X{2}",
        "[[:alpha:]]+(?<d>\\d)",
        "\\p{L}+\\P{L}",
        "(?i)[k-s]+",
        ".{3}\\s",
        "(a|b)*?c"};
    static const char *const pieces[] = {
        "a",        "b",  "x",  "K", "k", "S", "s", "1", "2026-11-25 08:00", " ip=/10.1.2.3",
        " tbl=t_1", "\n", "\t", "-", ".", "c"};
    pcre2_compile_context *any = pcre2_compile_context_create(NULL);
    pcre2_set_newline(any, PCRE2_NEWLINE_ANY);
    pcre2_match_data *mu = pcre2_match_data_create(8, NULL);
    pcre2_match_data *ma = pcre2_match_data_create(8, NULL);
    for (size_t p = 0; p < sizeof(pats) / sizeof(*pats); p++) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *ru =
            pcre2_compile((PCRE2_SPTR)pats[p], PCRE2_ZERO_TERMINATED, utf, &code, &off, any);
        pcre2_code *ra = regex_ascii_compile(pats[p], strlen(pats[p]), utf);
        assert_non_null(ru);
        if (!ra)
            fail_msg("pattern %s: no ASCII compile", pats[p]);
        uint32_t groups;
        pcre2_pattern_info(ru, PCRE2_INFO_CAPTURECOUNT, &groups);
        uint8_t body[160];
        for (int round = 0; round < 3000; round++) {
            size_t n = join_pieces(body, sizeof(body), pieces, sizeof(pieces) / sizeof(*pieces), 0,
                                   next(14));
            assert_int_equal(newline_scan_kind(body, n), NEWLINE_KIND_ASCII);
            int u = pcre2_match(ru, body, n, 0, 0, mu, NULL);
            int a = pcre2_jit_match(ra, body, n, 0, 0, ma, NULL);
            if (u != a)
                fail_msg("pattern %s on \"%.*s\": UTF %d, ASCII %d", pats[p], (int)n, body, u, a);
            if (u < 0)
                continue;
            PCRE2_SIZE *ou = pcre2_get_ovector_pointer(mu), *oa = pcre2_get_ovector_pointer(ma);
            for (uint32_t g = 0; g <= groups && g < 8; g++)
                if (ou[2 * g] != oa[2 * g] || ou[2 * g + 1] != oa[2 * g + 1])
                    fail_msg("pattern %s on \"%.*s\": group %u at %zu-%zu (UTF), %zu-%zu (ASCII)",
                             pats[p], (int)n, body, g, (size_t)ou[2 * g], (size_t)ou[2 * g + 1],
                             (size_t)oa[2 * g], (size_t)oa[2 * g + 1]);
        }
        pcre2_code_free(ru);
        pcre2_code_free(ra);
    }
    pcre2_match_data_free(mu);
    pcre2_match_data_free(ma);
    pcre2_compile_context_free(any);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_read),
        cmocka_unit_test(test_patterns_refused),
        cmocka_unit_test(test_matches_contain_the_strings),
        cmocka_unit_test(test_literal_find),
        cmocka_unit_test(test_newline_scan),
        cmocka_unit_test(test_newline_scan_kind),
        cmocka_unit_test(test_regex_ascii),
    };
    return cmocka_run_group_tests_name("regex_literals", tests, NULL, NULL);
}
