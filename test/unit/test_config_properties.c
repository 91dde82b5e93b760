/*
 * The .properties reader must mean exactly what java.util.Properties.load() means (see
 * agent/config_properties.c): every rule, its edge cases, line numbers and error texts. Also
 * covers the conf_set it fills (order, last-wins, index at 100k keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_properties.h"
#include "config_set.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static struct conf_set cs;
static struct sluice_err err;

static int setup(void **state)
{
    (void)state;
    conf_set_init(&cs);
    memset(&err, 0, sizeof(err));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    conf_set_free(&cs);
    return 0;
}

/* Parse len bytes (text may hold NUL) as file "t.properties". */
static int parse_n(const char *text, size_t len)
{
    return props_parse_buffer(text, len, "t.properties", &cs, &err);
}

static int parse(const char *text)
{
    return parse_n(text, strlen(text));
}

static void parse_ok(const char *text)
{
    int rc = parse(text);
    if (rc != SLUICE_OK)
        fail_msg("parse failed (%d): %s", rc, err.msg);
}

/* Value of key, failing the test when the key is missing. */
static const char *val(const char *key)
{
    const struct conf_entry *e = conf_set_get(&cs, key);
    if (!e)
        fail_msg("key \"%s\" missing", key);
    return e->value;
}

static int line_of(const char *key)
{
    const struct conf_entry *e = conf_set_get(&cs, key);
    if (!e)
        fail_msg("key \"%s\" missing", key);
    return e->line;
}

static char tmp_path[64];

static const char *write_tmp(const char *data, size_t len)
{
    strcpy(tmp_path, "/tmp/sluice_props_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

/* ---- conf_set ------------------------------------------------------------------------------ */

static void set_order_and_last_wins(void **state)
{
    (void)state;
    assert_int_equal(conf_set_put(&cs, "a", 1, "1", 1, "f1", 1), SLUICE_OK);
    assert_int_equal(conf_set_put(&cs, "b", 1, "2", 1, "f1", 2), SLUICE_OK);
    assert_int_equal(conf_set_put(&cs, "a", 1, "3xx", 1, "f2", 9), SLUICE_OK);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.v[0].key, "a");
    assert_string_equal(cs.v[0].value, "3");
    assert_string_equal(cs.v[0].file, "f2");
    assert_int_equal(cs.v[0].line, 9);
    assert_string_equal(cs.v[1].key, "b");
    assert_null(conf_set_get(&cs, "c"));
    assert_null(conf_set_get(&cs, ""));
    /* key_len counts: "abc" with length 2 is "ab" */
    assert_int_equal(conf_set_put(&cs, "abc", 2, "", 0, NULL, 0), SLUICE_OK);
    assert_string_equal(val("ab"), "");
    assert_int_equal(conf_set_put(&cs, "x\0y", 3, "v", 1, "f", 1), SLUICE_EINVAL);
    assert_int_equal(conf_set_put(&cs, "x", 1, "v\0w", 3, "f", 1), SLUICE_EINVAL);
    assert_int_equal(cs.n, 3);
}

static void set_replace_with_own_strings(void **state)
{
    (void)state;
    assert_int_equal(conf_set_put(&cs, "k", 1, "value", 5, "file", 1), SLUICE_OK);
    const struct conf_entry *e = conf_set_get(&cs, "k");
    /* value and file point into the entry being replaced */
    assert_int_equal(conf_set_put(&cs, e->key, 1, e->value + 1, 3, e->file, 2), SLUICE_OK);
    assert_string_equal(val("k"), "alu");
    assert_string_equal(conf_set_get(&cs, "k")->file, "file");
}

static void set_merge(void **state)
{
    (void)state;
    struct conf_set b;
    conf_set_init(&b);
    parse_ok("a=1\nb=2\n");
    assert_int_equal(props_parse_buffer("c=3\na=4\n", 8, "two", &b, &err), SLUICE_OK);
    assert_int_equal(conf_set_merge(&cs, &b), SLUICE_OK);
    conf_set_free(&b);
    assert_int_equal(cs.n, 3);
    assert_string_equal(cs.v[0].key, "a");
    assert_string_equal(cs.v[0].value, "4");
    assert_string_equal(cs.v[0].file, "two");
    assert_int_equal(cs.v[0].line, 2);
    assert_string_equal(cs.v[2].key, "c");
}

static void set_100k_keys(void **state)
{
    (void)state;
    enum { N = 100000 };
    size_t cap = (size_t)N * 48;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t o = 0;
    for (int i = 0; i < N; i++)
        o += (size_t)snprintf(text + o, cap - o, "a1.sources.r%d.type = exec%d\n", i, i);
    /* then every key again: last wins, positions stay */
    for (int i = 0; i < N; i += 1000)
        o += (size_t)snprintf(text + o, cap - o, "a1.sources.r%d.type = again\n", i);
    parse_ok(text);
    free(text);
    assert_int_equal(cs.n, N);
    assert_string_equal(val("a1.sources.r99999.type"), "exec99999");
    assert_string_equal(val("a1.sources.r5000.type"), "again");
    assert_int_equal(line_of("a1.sources.r5000.type"), N + 6);
    assert_string_equal(cs.v[5000].key, "a1.sources.r5000.type");
    assert_string_equal(cs.v[77777].value, "exec77777");
    char key[64];
    for (int i = 0; i < N; i += 7) {
        snprintf(key, sizeof(key), "a1.sources.r%d.type", i);
        assert_non_null(conf_set_get(&cs, key));
    }
    assert_null(conf_set_get(&cs, "a1.sources.r100000.type"));
}

/* ---- line structure ------------------------------------------------------------------------- */

static void terminators(void **state)
{
    (void)state;
    parse_ok("a=1\nb=2\rc=3\r\nd=4\n\re=5");
    assert_int_equal(cs.n, 5);
    assert_string_equal(val("a"), "1");
    assert_string_equal(val("b"), "2");
    assert_string_equal(val("c"), "3");
    assert_string_equal(val("d"), "4");
    assert_string_equal(val("e"), "5");
    assert_int_equal(line_of("a"), 1);
    assert_int_equal(line_of("b"), 2);
    assert_int_equal(line_of("c"), 3);
    assert_int_equal(line_of("d"), 4);
    assert_int_equal(line_of("e"), 6); /* "\n\r" is two line ends */
}

static void crlf_file(void **state)
{
    (void)state;
    const char text[] = "# Flume agent\r\n"
                        "a1.sources = r1\r\n"
                        "\r\n"
                        "a1.sources.r1.command = tail \\\r\n"
                        "    -F /var/log/x.log\r\n"
                        "a1.sources.r1.type = exec\r\n";
    const char *path = write_tmp(text, sizeof(text) - 1);
    int rc = props_parse_file(path, &cs, &err);
    unlink(path);
    assert_int_equal(rc, SLUICE_OK);
    assert_int_equal(cs.n, 3);
    assert_string_equal(val("a1.sources"), "r1");
    assert_string_equal(val("a1.sources.r1.command"), "tail -F /var/log/x.log");
    assert_string_equal(val("a1.sources.r1.type"), "exec");
    assert_int_equal(line_of("a1.sources"), 2);
    assert_int_equal(line_of("a1.sources.r1.command"), 4);
    assert_int_equal(line_of("a1.sources.r1.type"), 6);
    assert_string_equal(conf_set_get(&cs, "a1.sources")->file, path);
}

static void lone_cr(void **state)
{
    (void)state;
    parse_ok("a=1\r\rb=2\r# c\\\rc=x\\\r  y\r");
    assert_int_equal(cs.n, 3);
    assert_string_equal(val("a"), "1");
    assert_string_equal(val("b"), "2");
    assert_int_equal(line_of("b"), 3);
    assert_string_equal(val("c"), "xy");
    assert_int_equal(line_of("c"), 5);
}

static void leading_whitespace_and_blank_lines(void **state)
{
    (void)state;
    parse_ok("\n   \n\t\f \n  \t\fa = 1\n\vb=2\n");
    assert_int_equal(cs.n, 2);
    assert_string_equal(val("a"), "1");
    assert_int_equal(line_of("a"), 4);
    /* vertical tab is not Properties whitespace: it is part of the key */
    assert_string_equal(val("\vb"), "2");
}

static void comments(void **state)
{
    (void)state;
    parse_ok("# one\n! two\n   # three = 3\n\t!four\na = v # not a comment\nb = x ! y\n#=c\n");
    assert_int_equal(cs.n, 2);
    assert_string_equal(val("a"), "v # not a comment");
    assert_string_equal(val("b"), "x ! y");
}

static void comment_trailing_backslash(void **state)
{
    (void)state;
    parse_ok("# comment \\\na=1\n! also \\\\\\\nb=2\n");
    assert_int_equal(cs.n, 2);
    assert_string_equal(val("a"), "1");
    assert_int_equal(line_of("a"), 2);
    assert_string_equal(val("b"), "2");
}

static void continuation_odd_even(void **state)
{
    (void)state;
    parse_ok("one = a\\\n    b\n"         /* 1 backslash: continues */
             "two = a\\\\\nthree = x\n"   /* 2: literal backslash, no continuation */
             "four = a\\\\\\\n   b\n"     /* 3: one literal backslash, continues */
             "five = a\\\\\\\\\n"         /* 4: two literal backslashes */
             "six = p\\\n  # q\\\n\t r\n" /* a continuation line is never a comment */
             "seven = s\\\n"              /* an empty continuation line ends it */
             "\n"
             "eight = e\\"); /* end of file inside a continuation */
    assert_string_equal(val("one"), "ab");
    assert_int_equal(line_of("one"), 1);
    assert_string_equal(val("two"), "a\\");
    assert_string_equal(val("three"), "x");
    assert_int_equal(line_of("three"), 4);
    assert_string_equal(val("four"), "a\\b");
    assert_int_equal(line_of("four"), 5);
    assert_string_equal(val("five"), "a\\\\");
    assert_string_equal(val("six"), "p# qr");
    assert_int_equal(line_of("six"), 8);
    assert_string_equal(val("seven"), "s");
    assert_string_equal(val("eight"), "e");
    assert_int_equal(line_of("eight"), 13);
    assert_int_equal(cs.n, 8);
}

static void continuation_splits_key(void **state)
{
    (void)state;
    /* the key/value split runs on the joined line */
    parse_ok("\\\n  key\\\n  part = v\\\n  alue\nz=\\u00\\\n   41\n");
    assert_string_equal(val("keypart"), "value");
    assert_int_equal(line_of("keypart"), 1);
    assert_string_equal(val("z"), "A");
    assert_int_equal(cs.n, 2);
}

static void no_final_newline(void **state)
{
    (void)state;
    parse_ok("a=1\nb=2");
    assert_int_equal(cs.n, 2);
    assert_string_equal(val("b"), "2");
    assert_int_equal(line_of("b"), 2);
}

static void empty_input(void **state)
{
    (void)state;
    parse_ok("");
    assert_int_equal(props_parse_buffer(NULL, 0, "t", &cs, &err), SLUICE_OK);
    assert_int_equal(cs.n, 0);
    const char *path = write_tmp("", 0);
    int rc = props_parse_file(path, &cs, &err);
    unlink(path);
    assert_int_equal(rc, SLUICE_OK);
    assert_int_equal(cs.n, 0);
}

/* ---- key / value split ------------------------------------------------------------------------
 */

static void separators(void **state)
{
    (void)state;
    parse_ok("k1 v\n"
             "k2:v\n"
             "k3 = a=b\n"
             "k4 : v\n"
             "k5=v\n"
             "k6\t=\tv\n"
             "k7  ==v\n"
             "k8 = :v\n"
             "k9 v w\n"
             "k10=\n"
             "k11\n"
             "k12   \n"
             "k13:=x\n");
    assert_string_equal(val("k1"), "v");
    assert_string_equal(val("k2"), "v");
    assert_string_equal(val("k3"), "a=b");
    assert_string_equal(val("k4"), "v");
    assert_string_equal(val("k5"), "v");
    assert_string_equal(val("k6"), "v");
    assert_string_equal(val("k7"), "=v"); /* at most one separator is skipped */
    assert_string_equal(val("k8"), ":v");
    assert_string_equal(val("k9"), "v w");
    assert_string_equal(val("k10"), "");
    assert_string_equal(val("k11"), "");
    assert_string_equal(val("k12"), "");
    assert_string_equal(val("k13"), "=x");
    assert_int_equal(cs.n, 13);
}

static void escaped_separator_in_key(void **state)
{
    (void)state;
    parse_ok("a\\=b = c\n"
             "d\\:e:f\n"
             "g\\ h i\n"
             "j\\\\=k\n"
             "\\#l = m\n");
    assert_string_equal(val("a=b"), "c");
    assert_string_equal(val("d:e"), "f");
    assert_string_equal(val("g h"), "i");
    assert_string_equal(val("j\\"), "k"); /* escaped backslash: the = is a separator */
    assert_string_equal(val("#l"), "m");
    assert_int_equal(cs.n, 5);
}

static void trailing_whitespace_kept(void **state)
{
    (void)state;
    parse_ok("k = v  \t\f\nk2 = \\ x \\ \n");
    assert_string_equal(val("k"), "v  \t\f");
    assert_string_equal(val("k2"), " x  ");
}

static void duplicates_last_wins(void **state)
{
    (void)state;
    parse_ok("a = 1\nb = 2\n# x\na = 3\n");
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.v[0].key, "a");
    assert_string_equal(val("a"), "3");
    assert_int_equal(line_of("a"), 4);
    /* a later load into the same set overrides key by key */
    assert_int_equal(props_parse_buffer("b=9", 3, "second", &cs, &err), SLUICE_OK);
    assert_string_equal(val("b"), "9");
    assert_string_equal(conf_set_get(&cs, "b")->file, "second");
    assert_int_equal(line_of("b"), 1);
}

/* ---- escapes -------------------------------------------------------------------------------- */

static void simple_escapes(void **state)
{
    (void)state;
    parse_ok("k = \\t\\n\\r\\f\\\\\\b\\.\\=\\:\\ \\\"\n"
             "tab\\tkey = 1\n");
    assert_string_equal(val("k"), "\t\n\r\f\\b.=: \"");
    assert_string_equal(val("tab\tkey"), "1");
}

static void seed_regex_line(void **state)
{
    (void)state;
    parse_ok("a1.sources.r1.interceptors.i1.regex= .*HiveMetaStore\\\\.audit.*\n"
             "single = a\\.b\n");
    assert_string_equal(val("a1.sources.r1.interceptors.i1.regex"), ".*HiveMetaStore\\.audit.*");
    assert_string_equal(val("single"), "a.b");
}

static void unicode_escapes(void **state)
{
    (void)state;
    parse_ok("k = \\u0041\\u00e9\\u20AC\\u00E9\n"
             "pair = \\uD83D\\uDE00!\n"
             "lone_hi = \\uD800x\n"
             "lone_lo = \\uDC00\n"
             "hi_hi = \\uD800\\uD83D\\uDE00\n"
             "\\u006Bey = v\n"
             "upper = \\U0041\n");
    assert_string_equal(val("k"), "A\xC3\xA9\xE2\x82\xAC\xC3\xA9");
    assert_string_equal(val("pair"), "\xF0\x9F\x98\x80!");
    assert_string_equal(val("lone_hi"), "\xEF\xBF\xBDx");
    assert_string_equal(val("lone_lo"), "\xEF\xBF\xBD");
    assert_string_equal(val("hi_hi"), "\xEF\xBF\xBD\xF0\x9F\x98\x80");
    assert_string_equal(val("key"), "v");
    assert_string_equal(val("upper"), "U0041");
}

static void malformed_unicode(void **state)
{
    (void)state;
    parse_ok("keep = 1\n");
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a=1\nk = \\u12G4\n", "t.properties:2: malformed \\uxxxx encoding in value: \"\\u12G4\""},
        {"k = ab\\u12", "t.properties:1: malformed \\uxxxx encoding in value: \"\\u12\""},
        {"k = \\u", "t.properties:1: malformed \\uxxxx encoding in value: \"\\u\""},
        {"\\uZZ = 1\n", "t.properties:1: malformed \\uxxxx encoding in key: \"\\uZZ\""},
        {"a=1\nb=2\\\n  3\\u 4\n",
         "t.properties:2: malformed \\uxxxx encoding in value: \"\\u 4\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(parse(cases[i].text), SLUICE_ECONFIG);
        assert_string_equal(err.msg, cases[i].msg);
        /* fatal for the whole load: nothing of it reached the set */
        assert_int_equal(cs.n, 1);
        assert_string_equal(val("keep"), "1");
    }
    /* a malformed escape inside a comment is not an error */
    parse_ok("# \\uZZZZ\n");
}

/* ---- bytes ---------------------------------------------------------------------------------- */

static void nul_bytes(void **state)
{
    (void)state;
    parse_ok("keep = 1\n");
    static const char in_value[] = "a=1\nb=x\0y\nc=3\n";
    assert_int_equal(parse_n(in_value, sizeof(in_value) - 1), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "t.properties:2: NUL character in the value of \"b\""));
    static const char in_key[] = "k\0ey=1\n";
    assert_int_equal(parse_n(in_key, sizeof(in_key) - 1), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "t.properties:1: NUL character in the key of \"k\\x00ey\""));
    assert_int_equal(parse("u = a\\u0000b\n"), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "t.properties:1: NUL character in the value of \"u\""));
    assert_int_equal(cs.n, 1);
    /* in a comment or a blank line a NUL is harmless */
    static const char in_comment[] = "# \0 x\n  \n z=1\n";
    assert_int_equal(parse_n(in_comment, sizeof(in_comment) - 1), SLUICE_OK);
    assert_string_equal(val("z"), "1");
}

static void control_and_high_bytes_kept(void **state)
{
    (void)state;
    parse_ok("k = \x01\x1b[0m\x7f\n"
             "utf8 = \xC3\xA9t\xC3\xA9\n"
             "latin1 = \xE9\xFF\n"
             "\xC3\xA9 = key\n");
    assert_string_equal(val("k"), "\x01\x1b[0m\x7f");
    assert_string_equal(val("utf8"), "\xC3\xA9t\xC3\xA9");
    assert_string_equal(val("latin1"), "\xE9\xFF");
    assert_string_equal(val("\xC3\xA9"), "key");
}

/* ---- files ---------------------------------------------------------------------------------- */

static void missing_file(void **state)
{
    (void)state;
    assert_int_equal(props_parse_file("/nonexistent/dir/agent.properties", &cs, &err), SLUICE_EIO);
    assert_string_equal(err.msg, "/nonexistent/dir/agent.properties: No such file or directory");
    assert_int_equal(props_parse_file("/tmp", &cs, &err), SLUICE_EIO);
    assert_string_equal(err.msg, "/tmp: Is a directory");
    assert_int_equal(cs.n, 0);
}

static void file_too_large(void **state)
{
    (void)state;
    const char *path = write_tmp("a=1\n", 4);
    /* a sparse file: no real disk use */
    assert_int_equal(truncate(path, (off_t)CONF_FILE_MAX + 1), 0);
    int rc = props_parse_file(path, &cs, &err);
    unlink(path);
    assert_int_equal(rc, SLUICE_EIO);
    assert_non_null(strstr(err.msg, "larger than 64 MiB"));
    assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
}

static void flume_user_guide_file(void **state)
{
    (void)state;
    const char text[] = "# example.conf: A single-node Flume configuration\n"
                        "\n"
                        "# Name the components on this agent\n"
                        "a1.sources = r1\n"
                        "a1.sinks = k1\n"
                        "a1.channels = c1\n"
                        "\n"
                        "# Describe/configure the source\n"
                        "a1.sources.r1.type = netcat\n"
                        "a1.sources.r1.bind = localhost\n"
                        "a1.sources.r1.port = 44444\n"
                        "\n"
                        "a1.channels.c1.type = memory\n"
                        "a1.channels.c1.capacity = 1000\n"
                        "a1.sources.r1.channels = c1\n"
                        "a1.sinks.k1.channel = c1\n";
    const char *path = write_tmp(text, sizeof(text) - 1);
    int rc = props_parse_file(path, &cs, &err);
    unlink(path);
    assert_int_equal(rc, SLUICE_OK);
    assert_int_equal(cs.n, 10);
    assert_string_equal(cs.v[0].key, "a1.sources");
    assert_string_equal(cs.v[9].key, "a1.sinks.k1.channel");
    assert_int_equal(cs.v[9].line, 16);
    assert_string_equal(val("a1.sources.r1.port"), "44444");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(set_order_and_last_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(set_replace_with_own_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(set_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(set_100k_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(terminators, setup, teardown),
        cmocka_unit_test_setup_teardown(crlf_file, setup, teardown),
        cmocka_unit_test_setup_teardown(lone_cr, setup, teardown),
        cmocka_unit_test_setup_teardown(leading_whitespace_and_blank_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(comments, setup, teardown),
        cmocka_unit_test_setup_teardown(comment_trailing_backslash, setup, teardown),
        cmocka_unit_test_setup_teardown(continuation_odd_even, setup, teardown),
        cmocka_unit_test_setup_teardown(continuation_splits_key, setup, teardown),
        cmocka_unit_test_setup_teardown(no_final_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_input, setup, teardown),
        cmocka_unit_test_setup_teardown(separators, setup, teardown),
        cmocka_unit_test_setup_teardown(escaped_separator_in_key, setup, teardown),
        cmocka_unit_test_setup_teardown(trailing_whitespace_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicates_last_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(simple_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(seed_regex_line, setup, teardown),
        cmocka_unit_test_setup_teardown(unicode_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_unicode, setup, teardown),
        cmocka_unit_test_setup_teardown(nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(control_and_high_bytes_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(file_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(flume_user_guide_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
