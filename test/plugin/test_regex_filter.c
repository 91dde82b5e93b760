/*
 * The regex_filter interceptor driven in-process: Java find() (unanchored) semantics, exclude
 * mode, the seed config's escaped dot, line terminators, invalid UTF-8 and NUL bytes decoded
 * the way Java's new String(body) does, compile errors, and order of the kept events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "test_host.h"

extern const struct sluice_plugin sluice_plugin; /* regex_filter_interceptor.c, compiled in */

static const struct sluice_interceptor_ops *ops(void)
{
    return sluice_plugin.ops;
}

/* Build the conf struct from the option table: defaults, then "key", "value" pairs. STRING
 * fields point at the given text (the test keeps it alive). */
static void *conf_build(const char *const *kv)
{
    void *conf = calloc(1, sluice_plugin.conf_size);
    assert_non_null(conf);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        const struct sluice_option *o = sluice_plugin.options;
        while (o->name && strcmp(o->name, kv[i]) != 0)
            o++;
        assert_non_null(o->name);
    }
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        const char *v = o->def;
        for (size_t i = 0; kv && kv[i]; i += 2)
            if (strcmp(kv[i], o->name) == 0)
                v = kv[i + 1];
        assert_non_null(v);
        char *field = (char *)conf + o->offset;
        if (o->type == SLUICE_OPT_STRING) {
            char *s = (char *)v;
            memcpy(field, &s, sizeof(s));
        } else if (o->type == SLUICE_OPT_BOOL) {
            int b = strcasecmp(v, "true") == 0;
            assert_true(b || strcasecmp(v, "false") == 0);
            memcpy(field, &b, sizeof(b));
        } else {
            fail_msg("unexpected option type for %s", o->name);
        }
    }
    return conf;
}

struct fixture {
    struct sluice_ctx ctx;
    void *rf;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    test_ctx_init(&f->ctx, "i1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->rf)
        ops()->destroy(f->rf);
    test_ctx_destroy(&f->ctx);
    free(f);
    return 0;
}

static int rf_create(struct fixture *f, const char *const *kv, struct sluice_err *err)
{
    if (f->rf) {
        ops()->destroy(f->rf);
        f->rf = NULL;
    }
    void *conf = conf_build(kv);
    int rc = ops()->create(&f->rf, conf, &test_host, &f->ctx, err);
    free(conf);
    return rc;
}

static void rf_open(struct fixture *f, const char *regex, const char *exclude)
{
    struct sluice_err err = {0};
    const char *kv[5] = {NULL};
    size_t k = 0;
    if (regex) {
        kv[k++] = "regex";
        kv[k++] = regex;
    }
    if (exclude) {
        kv[k++] = "excludeEvents";
        kv[k++] = exclude;
    }
    int rc = rf_create(f, kv, &err);
    if (rc != SLUICE_OK)
        fail_msg("create regex=%s: %d %s", regex ? regex : "(default)", rc, err.msg);
}

/* Does the current filter keep this one body? (len -1: strlen) */
static int keeps_len(struct fixture *f, const char *body, size_t len)
{
    struct sluice_event *ev = test_host.event_new(body, len);
    assert_non_null(ev);
    size_t kept = ops()->intercept(f->rf, &ev, 1);
    assert_true(kept <= 1);
    if (kept)
        test_host.event_free(ev);
    return kept == 1;
}

static int keeps(struct fixture *f, const char *body)
{
    return keeps_len(f, body, strlen(body));
}

/* regex keeps body, as Flume's find() would (and exclude mode the opposite) */
static void expect(struct fixture *f, const char *regex, const char *body, size_t len, int found)
{
    rf_open(f, regex, "false");
    if (keeps_len(f, body, len) != found)
        fail_msg("regex %s on body of %zu bytes: expected %s", regex, len,
                 found ? "a match" : "no match");
    rf_open(f, regex, "true");
    if (keeps_len(f, body, len) == found)
        fail_msg("regex %s with excludeEvents=true on body of %zu bytes: expected it %s", regex,
                 len, found ? "dropped" : "kept");
}

#define EXPECT(f, re, lit, found) expect(f, re, lit, sizeof(lit) - 1, found)

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_INTERCEPTOR);
    assert_string_equal(sluice_plugin.name, "regex_filter");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder");
    assert_string_equal(sluice_plugin.aliases[1],
                        "org.apache.flume.interceptor.RegexFilteringInterceptor");
    assert_null(sluice_plugin.aliases[2]);
}

static void test_find_not_full_match(void **state)
{
    struct fixture *f = *state;
    const char line[] = "2024-05-01 12:00:00,123 INFO  org.apache.hadoop.hive.metastore."
                        "HiveMetaStore.audit: ugi=hive ip=10.1.2.3 cmd=get_table : db=default "
                        "tbl=t1";
    rf_open(f, "HiveMetaStore\\.audit", NULL);
    assert_true(keeps(f, line));
    assert_false(keeps(f, "2024-05-01 12:00:00,123 INFO  org.apache.hadoop.hive.ql.Driver"));
    assert_true(keeps(f, "HiveMetaStore.audit"));

    /* ^ and $ anchor at the ends of the whole body (no MULTILINE) */
    EXPECT(f, "^audit$", "audit", 1);
    EXPECT(f, "^audit$", "audit trail", 0);
    EXPECT(f, "^audit$", "my audit", 0);
    EXPECT(f, "^audit$", "audit\n", 1);   /* $ before a final line terminator */
    EXPECT(f, "^audit$", "audit\r\n", 1); /* ... which may be \r\n */
    EXPECT(f, "^audit$", "audit\n\n", 0);
    EXPECT(f, "^audit$", "x\naudit", 0);
    EXPECT(f, "(?m)^audit$", "x\naudit\ny", 1);
    EXPECT(f, "audit\\z", "audit\n", 0);
}

static void test_exclude_events(void **state)
{
    struct fixture *f = *state;
    rf_open(f, "DEBUG|TRACE", "true");
    assert_false(keeps(f, "12:00 DEBUG noisy"));
    assert_false(keeps(f, "TRACE"));
    assert_true(keeps(f, "12:00 ERROR disk full"));
    assert_true(keeps(f, ""));
    rf_open(f, "DEBUG|TRACE", "false");
    assert_true(keeps(f, "12:00 DEBUG noisy"));
    assert_false(keeps(f, "12:00 ERROR disk full"));
    assert_false(keeps(f, ""));
}

static void test_negated_classes_on_non_ascii(void **state)
{
    /* \S, \D and \W must match non-ASCII characters, as Java's do (a PCRE2 10.42 JIT issue
     * with MATCH_INVALID_UTF once dropped such lines) */
    struct fixture *f = *state;
    rf_open(f, "user=\\S+ x", "false");
    assert_true(keeps(f, "user=J\xc3\xb6rg x"));
    rf_open(f, "id=\\D\\W\\D end", "false");
    assert_true(keeps(f, "id=\xc3\xa9\xe2\x82\xac\xc3\xa9 end"));
    rf_open(f, "user=\\S+ x", "false");
    assert_true(keeps(f, "user=J\xf6rg x")); /* Latin-1 byte: decoded to U+FFFD first */
}

static void test_seed_regex_escaped_dot(void **state)
{
    struct fixture *f = *state;
    /* the reference config's value after Properties unescaping */
    rf_open(f, ".*HiveMetaStore\\.audit.*", NULL);
    assert_true(keeps(f, "... metastore.HiveMetaStore.audit: ugi=hive"));
    assert_true(keeps(f, "HiveMetaStore.audit"));
    assert_false(keeps(f, "... metastore.HiveMetaStoreXaudit: ugi=hive"));
    assert_false(keeps(f, "HiveMetaStore audit"));
    assert_false(keeps(f, "HiveMetaStore\n.audit"));
    /* the unescaped dot is any character */
    rf_open(f, ".*HiveMetaStore.audit.*", NULL);
    assert_true(keeps(f, "... metastore.HiveMetaStoreXaudit: ugi=hive"));
    assert_true(keeps(f, "HiveMetaStore.audit"));
}

static void test_default_keeps_everything(void **state)
{
    struct fixture *f = *state;
    rf_open(f, NULL, NULL); /* regex=.*, excludeEvents=false */
    assert_true(keeps(f, "anything"));
    assert_true(keeps_len(f, "", 0));
    assert_true(keeps(f, "\n"));
    assert_true(keeps(f, "\r\n\r\n"));
    assert_true(keeps_len(f, "\xff\xfe\x00\x80", 4));
    assert_true(keeps_len(f, "\0\0\0", 3));
    /* and with exclude, .* matches (the empty string) everywhere: everything goes */
    rf_open(f, NULL, "true");
    assert_false(keeps_len(f, "", 0));
    assert_false(keeps(f, "anything"));
}

static void test_dot_and_line_terminators(void **state)
{
    struct fixture *f = *state;
    EXPECT(f, "a.b", "a b", 1);
    EXPECT(f, "a.b", "a\tb", 1);
    EXPECT(f, "a.b", "a\nb", 0);
    EXPECT(f, "a.b", "a\rb", 0);
    EXPECT(f, "a.z", "a\xc2\x85z", 0);     /* U+0085 NEL */
    EXPECT(f, "a.z", "a\xe2\x80\xa8z", 0); /* U+2028 */
    EXPECT(f, "a.z", "a\xe2\x80\xa9z", 0); /* U+2029 */
    EXPECT(f, "a.*b", "a\r\nb", 0);
    EXPECT(f, "a.*b", "xx a yy b", 1);
    EXPECT(f, "(?s)a.b", "a\nb", 1); /* DOTALL when asked for */
    EXPECT(f, "a\\Rb", "a\r\nb", 1);
    /* one code point per dot, as Java's String */
    EXPECT(f, "^a.z$", "a\xc3\xa9z", 1);     /* é, 2 bytes */
    EXPECT(f, "^.$", "\xf0\x9f\x98\x80", 1); /* U+1F600, 4 bytes */
    EXPECT(f, "^caf[\xc3\xa9]$", "caf\xc3\xa9", 1);
    EXPECT(f, "^caf[\xc3\xa9]$", "caf\xc3\xa4", 0); /* ä shares é's first byte */
    /* Java's \d, \w, \s are ASCII-only by default */
    EXPECT(f, "^\\w+$", "caf\xc3\xa9", 0);
    EXPECT(f, "\\d", "\xd9\xa3", 0); /* ARABIC-INDIC DIGIT THREE */
}

static void test_invalid_utf8_bodies(void **state)
{
    struct fixture *f = *state;
    /* Java decodes each ill-formed sequence to one U+FFFD, which . and [^x] match */
    EXPECT(f, "a.z", "a\xffz", 1);
    EXPECT(f, "^a.z$", "a\xc3z", 1);     /* truncated 2-byte */
    EXPECT(f, "^a.z$", "a\xe2\x82z", 1); /* truncated 3-byte: one U+FFFD */
    EXPECT(f, "^a.z$", "a\xe0\x80z", 0); /* overlong: two */
    EXPECT(f, "^a..z$", "a\xe0\x80z", 1);
    EXPECT(f, "^a.z$", "a\xed\xa0\x80z", 1);   /* an encoded surrogate is one U+FFFD in Java */
    EXPECT(f, "^a...z$", "a\xf5\x80\x80z", 1); /* F5 never starts a sequence: three */
    EXPECT(f, "^a\\x{FFFD}z$", "a\xffz", 1);
    EXPECT(f, "[^x]", "\xff", 1);
    /* a stray Latin-1 byte in a UTF-8 line does not stop a match across it */
    EXPECT(f, "ERROR.*timeout", "ERROR caf\xe9 timeout", 1);
    EXPECT(f, "caf\xc3\xa9", "caf\xc3\xa9 \xff", 1);
    EXPECT(f, "^\\x{FFFD}+$", "\x80\x80\x80", 1);
    /* bodies that end inside a sequence */
    EXPECT(f, "ok", "ok \xe2\x82", 1);
    EXPECT(f, "ok\\x{FFFD}$", "ok\xf0\x9f\x98", 1);
}

static void test_nul_bytes(void **state)
{
    struct fixture *f = *state;
    EXPECT(f, "audit", "\0\0audit\0", 1);
    EXPECT(f, "a.b", "a\0b", 1);
    EXPECT(f, "a\\x00b", "a\0b", 1);
    EXPECT(f, "^a$", "a\0", 0); /* the body length counts, not a C string */
    EXPECT(f, "b", "a\0b", 1);
}

static void test_invalid_regex(void **state)
{
    struct fixture *f = *state;
    struct sluice_err err = {0};
    const char *kv1[] = {"regex", "HiveMetaStore(audit", NULL};
    assert_int_equal(rf_create(f, kv1, &err), SLUICE_ECONFIG);
    assert_null(f->rf);
    assert_int_equal(err.code, SLUICE_ECONFIG);
    assert_string_equal(err.msg, "regex_filter: regex \"HiveMetaStore(audit\" does not compile: "
                                 "missing closing parenthesis at offset 19");
    const char *kv2[] = {"regex", "a{2,1}", NULL};
    assert_int_equal(rf_create(f, kv2, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "\"a{2,1}\""));
    assert_non_null(strstr(err.msg, "out of order"));
    assert_non_null(strstr(err.msg, "at offset 5"));
    /* a pattern that is not valid UTF-8 is refused too */
    const char *kv3[] = {"regex", "caf\xe9", NULL};
    assert_int_equal(rf_create(f, kv3, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "UTF-8"));
    /* a very long regex is quoted shortened, never overflowing the message */
    char longre[1200];
    memset(longre, 'x', sizeof(longre));
    longre[0] = '(';
    longre[sizeof(longre) - 1] = 0;
    const char *kv4[] = {"regex", longre, NULL};
    assert_int_equal(rf_create(f, kv4, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "...\" does not compile: missing closing parenthesis"));
    assert_non_null(strstr(err.msg, "at offset 1199"));
}

static void test_order_preserved_and_drops_freed(void **state)
{
    struct fixture *f = *state;
    enum { N = 40 };
    char body[32];
    for (int exclude = 0; exclude < 2; exclude++) {
        rf_open(f, "keep", exclude ? "true" : "false");
        struct sluice_event *evs[N];
        for (int i = 0; i < N; i++) {
            int len = snprintf(body, sizeof(body), "%s %02d", i % 3 == 0 ? "keep" : "drop", i);
            evs[i] = test_host.event_new(body, (size_t)len);
        }
        size_t kept = ops()->intercept(f->rf, evs, N);
        size_t want = 0;
        for (int i = 0; i < N; i++) {
            if ((i % 3 == 0) == !exclude) {
                assert_true(want < kept);
                snprintf(body, sizeof(body), "%s %02d", exclude ? "drop" : "keep", i);
                assert_int_equal(evs[want]->body_len, strlen(body));
                assert_memory_equal(evs[want]->body, body, strlen(body));
                want++;
            }
        }
        assert_int_equal(kept, want);
        assert_int_equal(kept, exclude ? N - 14 : 14);
        for (size_t i = 0; i < kept; i++) /* the dropped ones were freed (ASan checks) */
            test_host.event_free(evs[i]);
    }
    /* an empty batch */
    assert_int_equal(ops()->intercept(f->rf, NULL, 0), 0);
}

/*
 * The filter drops an outer `.*` (it cannot change what find() finds). Every pattern here
 * must decide exactly as the same pattern behind `(?:)`, which is never shortened.
 */
static void test_outer_dot_star_is_only_an_optimisation(void **state)
{
    struct fixture *f = *state;
    static const char *const patterns[] = {
        ".*HiveMetaStore\\.audit.*",
        ".*",
        ".*.*",
        ".*a",
        "a.*",
        ".*+a",
        ".*?a",
        ".*a|b",
        "a|b.*",
        "x\\.*",
        "x\\\\.*",
        ".*^a",
        ".*a$",
        "\\Qa.*",
        ".*(?<=b)c.*",
        ".*\\Gx",
        ".*\\n",
        "(a).*\\1",
        ".*(?=q)",
        "a\\c.*",
    };
    static const char *const bodies[] = {
        "",
        "a",
        "b",
        "xa",
        "ab\nc",
        "x",
        "x.",
        "x\\",
        "bc",
        "\nx",
        "a\nb",
        "q\na",
        "a.*",
        "zzx",
        "ab",
        "aba",
        "x\n",
        "HiveMetaStore.audit",
        "HiveMetaStoreXaudit",
        "bq",
    };
    char ref[64];
    for (size_t p = 0; p < sizeof(patterns) / sizeof(*patterns); p++) {
        snprintf(ref, sizeof(ref), "(?:)%s", patterns[p]);
        for (size_t b = 0; b < sizeof(bodies) / sizeof(*bodies); b++) {
            rf_open(f, ref, NULL);
            int want = keeps(f, bodies[b]);
            rf_open(f, patterns[p], NULL);
            if (keeps(f, bodies[b]) != want)
                fail_msg("regex %s on \"%s\": expected %s as %s decides", patterns[p], bodies[b],
                         want ? "a match" : "no match", ref);
        }
    }
    /* and the forms that must not be shortened really are not */
    EXPECT(f, ".*+a", "a", 0);
    EXPECT(f, "\\Qa.*", "ab", 0);
    EXPECT(f, "\\Qa.*", "xa.*", 1);
    EXPECT(f, "^x\\.*", "xy", 1);
    EXPECT(f, "x\\\\.*", "x", 0);
}

/* A pattern that is a plain string is searched bytewise (literal_find), not by PCRE2: on any
 * body (invalid UTF-8, NUL, the string across 16-byte blocks, at either end) the decision must
 * be the one PCRE2 takes for the same pattern behind a no-op group. */
static void test_plain_string_fast_path(void **state)
{
    struct fixture *f = *state;
    static const char *const patterns[] = {
        "HiveMetaStore\\.audit",
        "a",
        "ab",
        "aba",
        "a\\.b\\\\c",
        "\xc3\xa9t\xc3\xa9",
        "ip=/10\\.",
        "a b#",
        "abcdefghijklmnopqrstuvwxyz",
        ".*ab.*",
    };
    static const uint8_t extra[] = {0x00, 0xc3, 0xa9, 0xff, 0xe2, 0x80, '\n', '.', '\\', 'x'};
    uint64_t seed = 42;
    char ref[80];
    uint8_t body[96];
    for (size_t p = 0; p < sizeof(patterns) / sizeof(*patterns); p++) {
        snprintf(ref, sizeof(ref), "(?:)%s", patterns[p]);
        /* the unescaped pattern's bytes, so planted copies are likely */
        char plain[64];
        size_t pl = 0;
        for (const char *c = patterns[p]; *c; c++) {
            if (*c == '\\' && c[1])
                c++;
            if (*c != '.' || c[1] != '*')
                plain[pl++] = *c;
            else
                c++;
        }
        for (int round = 0; round < 400; round++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t len = (size_t)(seed >> 33) % sizeof(body);
            for (size_t i = 0; i < len; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                unsigned r = (unsigned)(seed >> 40);
                body[i] = r % 3 ? (uint8_t)plain[r % pl] : extra[r % sizeof(extra)];
            }
            if (len >= pl && round % 2) { /* plant one copy somewhere, often near a block edge */
                size_t at = (size_t)(seed >> 20) % (len - pl + 1);
                memcpy(body + at, plain, pl);
            }
            rf_open(f, ref, NULL);
            int want = keeps_len(f, (const char *)body, len);
            rf_open(f, patterns[p], NULL);
            if (keeps_len(f, (const char *)body, len) != want)
                fail_msg("pattern %s on a %zu-byte body (round %d): expected %s", patterns[p], len,
                         round, want ? "a match" : "no match");
        }
    }
}

/* Catastrophic backtracking hits PCRE2's match limit: the event is kept, not lost. */
static void test_match_error_keeps_event(void **state)
{
    struct fixture *f = *state;
    char body[64];
    memset(body, 'a', sizeof(body) - 1);
    body[sizeof(body) - 2] = '!';
    body[sizeof(body) - 1] = 0;
    rf_open(f, "^(a|aa)+$", "false");
    assert_true(keeps(f, body));
    rf_open(f, "^(a|aa)+$", "true");
    assert_true(keeps(f, body));
    assert_true(keeps(f, "b")); /* plain no-match still works */
    rf_open(f, "^(a|aa)+$", "false");
    assert_false(keeps(f, "b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

        T(test_descriptor),
        T(test_find_not_full_match),
        T(test_exclude_events),
        T(test_negated_classes_on_non_ascii),
        T(test_seed_regex_escaped_dot),
        T(test_default_keeps_everything),
        T(test_dot_and_line_terminators),
        T(test_invalid_utf8_bodies),
        T(test_nul_bytes),
        T(test_invalid_regex),
        T(test_order_preserved_and_drops_freed),
        T(test_outer_dot_star_is_only_an_optimisation),
        T(test_match_error_keeps_event),
        T(test_plain_string_fast_path),
#undef T
    };
    return cmocka_run_group_tests_name("regex_filter", tests, NULL, NULL);
}
