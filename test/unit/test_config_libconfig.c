/*
 * The libconfig (.cfg) form of an agent: loading flattens to the same dotted keys as
 * .properties (name lists, arrays, scalars, line numbers, errors), and cfg_convert() writes a
 * .cfg that reads back to the same key/value set Flume would see.
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

#include "config_libconfig.h"
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

static void cfg_ok(const char *text)
{
    int rc = cfg_parse_buffer(text, "t.cfg", &cs, &err);
    if (rc != SLUICE_OK)
        fail_msg("cfg parse failed (%d): %s", rc, err.msg);
}

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
    strcpy(tmp_path, "/tmp/sluice_cfg_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

/* cfg_convert into a malloc'd string; returns the result code. */
static int convert(const struct conf_set *set, char **text)
{
    size_t len;
    FILE *f = open_memstream(text, &len);
    assert_non_null(f);
    int rc = cfg_convert(set, f, &err);
    fclose(f);
    return rc;
}

/* What Flume sees: keys and values trimmed (bytes <= ' '), empty values dropped. */
static void flume_view(const struct conf_set *in, struct conf_set *view)
{
    conf_set_init(view);
    for (size_t i = 0; i < in->n; i++) {
        const char *k = in->v[i].key, *v = in->v[i].value;
        size_t kl = strlen(k), vl = strlen(v);
        while (kl && (unsigned char)*k <= ' ')
            k++, kl--;
        while (kl && (unsigned char)k[kl - 1] <= ' ')
            kl--;
        while (vl && (unsigned char)*v <= ' ')
            v++, vl--;
        while (vl && (unsigned char)v[vl - 1] <= ' ')
            vl--;
        if (vl)
            assert_int_equal(conf_set_put(view, k, kl, v, vl, "", 0), SLUICE_OK);
    }
}

static void assert_same_view(const struct conf_set *a, const struct conf_set *b)
{
    struct conf_set va, vb;
    flume_view(a, &va);
    flume_view(b, &vb);
    for (size_t i = 0; i < va.n; i++) {
        const struct conf_entry *e = conf_set_get(&vb, va.v[i].key);
        if (!e)
            fail_msg("round trip lost key \"%s\"", va.v[i].key);
        if (strcmp(e->value, va.v[i].value) != 0)
            fail_msg("round trip changed \"%s\": \"%s\" -> \"%s\"", va.v[i].key, va.v[i].value,
                     e->value);
    }
    assert_int_equal(va.n, vb.n);
    conf_set_free(&va);
    conf_set_free(&vb);
}

/* properties text -> conf_set -> .cfg -> conf_set; both sets must look the same to Flume.
 * Returns the .cfg text (caller frees). */
static char *round_trip(const char *props)
{
    struct conf_set from, back;
    conf_set_init(&from);
    conf_set_init(&back);
    assert_int_equal(props_parse_buffer(props, strlen(props), "rt.properties", &from, &err),
                     SLUICE_OK);
    char *text = NULL;
    int rc = convert(&from, &text);
    if (rc != SLUICE_OK)
        fail_msg("convert failed: %s", err.msg);
    rc = cfg_parse_buffer(text, "rt.cfg", &back, &err);
    if (rc != SLUICE_OK)
        fail_msg("converted text does not parse: %s\n%s", err.msg, text);
    assert_same_view(&from, &back);
    /* and converting the result again gives the same text */
    char *again = NULL;
    assert_int_equal(convert(&back, &again), SLUICE_OK);
    assert_string_equal(again, text);
    free(again);
    conf_set_free(&from);
    conf_set_free(&back);
    return text;
}

/* ---- loading -------------------------------------------------------------------------------- */

static void load_basic_agent(void **state)
{
    (void)state;
    cfg_ok("# an exec source\n"
           "a1 = {\n"
           "  sources = {\n"
           "    r1 = {\n"
           "      type = \"exec\";\n"
           "      command = \"tail -F /x // not a comment # nor this\";\n"
           "      channels = \"c1\";\n"
           "    };\n"
           "  };\n"
           "  channels = { c1 = { type = \"memory\"; capacity = 10000; }; };\n"
           "};\n");
    assert_string_equal(val("a1.sources"), "r1");
    assert_string_equal(val("a1.sources.r1.type"), "exec");
    assert_string_equal(val("a1.sources.r1.command"), "tail -F /x // not a comment # nor this");
    assert_string_equal(val("a1.sources.r1.channels"), "c1");
    assert_string_equal(val("a1.channels"), "c1");
    assert_string_equal(val("a1.channels.c1.capacity"), "10000");
    assert_int_equal(cs.n, 7);
    /* order: a name list comes before its members' keys */
    assert_string_equal(cs.v[0].key, "a1.sources");
    assert_string_equal(cs.v[1].key, "a1.sources.r1.type");
    /* lines: a scalar's own line, a name list its group's line */
    assert_int_equal(line_of("a1.sources"), 3);
    assert_int_equal(line_of("a1.sources.r1.type"), 5);
    assert_int_equal(line_of("a1.sources.r1.channels"), 7);
    assert_int_equal(line_of("a1.channels"), 10);
    assert_string_equal(conf_set_get(&cs, "a1.sources.r1.type")->file, "t.cfg");
    assert_null(conf_set_get(&cs, "a1"));
    assert_null(conf_set_get(&cs, "a1.sources.r1"));
}

static void load_name_lists(void **state)
{
    (void)state;
    cfg_ok(
        "a1 = {\n"
        "  sources = {\n"
        "    r1 = {\n"
        "      interceptors = {\n"
        "        i1 = { type = \"regex_filter\"; regex = \".*HiveMetaStore\\\\.audit.*\"; };\n"
        "        i2 = {\n"
        "          type = \"regex_extractor\";\n"
        "          serializers = { s1 = { name = \"one\"; }; s2 = { name = \"two\"; }; };\n"
        "        };\n"
        "      };\n"
        "      filegroups = { f1 = \"/var/log/a.log\"; f2 = \"/var/log/.*gz\"; };\n"
        "      selector = { mapping = { CZ = \"c1\"; }; };\n"
        "    };\n"
        "    r2 = { };\n"
        "  };\n"
        "  sinkgroups = { g1 = { sinks = \"k1 k2\"; processor = { type = \"failover\"; }; }; };\n"
        "  configfilters = { f = { type = \"env\"; }; };\n"
        "};\n");
    assert_string_equal(val("a1.sources"), "r1 r2");
    assert_string_equal(val("a1.sources.r1.interceptors"), "i1 i2");
    assert_string_equal(val("a1.sources.r1.interceptors.i1.type"), "regex_filter");
    assert_string_equal(val("a1.sources.r1.interceptors.i1.regex"), ".*HiveMetaStore\\.audit.*");
    assert_string_equal(val("a1.sources.r1.interceptors.i2.serializers"), "s1 s2");
    assert_string_equal(val("a1.sources.r1.interceptors.i2.serializers.s2.name"), "two");
    assert_int_equal(line_of("a1.sources.r1.interceptors.i2.serializers"), 8);
    assert_string_equal(val("a1.sources.r1.filegroups"), "f1 f2");
    assert_string_equal(val("a1.sources.r1.filegroups.f2"), "/var/log/.*gz");
    assert_string_equal(val("a1.sources.r1.selector.mapping.CZ"), "c1");
    assert_null(conf_set_get(&cs, "a1.sources.r1.selector"));
    assert_null(conf_set_get(&cs, "a1.sources.r1.selector.mapping"));
    assert_string_equal(val("a1.sinkgroups"), "g1");
    assert_string_equal(val("a1.sinkgroups.g1.sinks"), "k1 k2");
    assert_string_equal(val("a1.sinkgroups.g1.processor.type"), "failover");
    assert_null(conf_set_get(&cs, "a1.sinkgroups.g1.processor"));
    assert_string_equal(val("a1.configfilters"), "f");
    assert_int_equal(cs.n, 17);
}

static void load_name_list_positions(void **state)
{
    (void)state;
    /* only at agent level / inside components do these names make lists */
    cfg_ok("sources = { x = { y = 1; }; };\n"
           "a1 = { sources = { r1 = { channels = { c1 = { z = 2; }; }; }; };\n"
           "       interceptors = { i = { t = 3; }; };\n"
           "       channels = { }; };\n");
    assert_null(conf_set_get(&cs, "sources"));
    assert_string_equal(val("sources.x.y"), "1");
    assert_null(conf_set_get(&cs, "a1.sources.r1.channels"));
    assert_string_equal(val("a1.sources.r1.channels.c1.z"), "2");
    assert_null(conf_set_get(&cs, "a1.interceptors"));
    assert_string_equal(val("a1.channels"), "");
}

static void load_scalars_and_arrays(void **state)
{
    (void)state;
    cfg_ok(
        "NC_PORT = 4444;\n"
        "a1 = {\n"
        "  i = -12; big = 5000000000; bigl = 5000000000L; neg = -5000000000;\n"
        "  hex = 0x10; hexbig = 0xFFFFFFFF; hex64 = 0x1FFFFFFFFL; lim = 2147483647;\n"
        "  lim2 = -2147483648; lim3 = 2147483648; max = 9223372036854775807;\n"
        "  f1 = 1.5e3; f2 = 0.25; f3 = -2.0; b1 = true; b2 = FALSE;\n"
        "  oct = 0123; z = 00; nz = -007; zbig = 000005000000000; hz = 0x00000000000000000001F;\n"
        "  zlong = 000000000000000000000000000000000000000000000000000000000000000000042;\n"
        "  s = \"a\\\\b\\\"c\\n\\t\\x41\\f\\r\" \" joined\";\n"
        "  channels = [\"c1\", \"c2\"]; lst = (1, \"x\", true, 2.5); e = []; one = [7];\n"
        "};\n");
    assert_string_equal(val("NC_PORT"), "4444");
    assert_string_equal(val("a1.i"), "-12");
    assert_string_equal(val("a1.big"), "5000000000");
    assert_string_equal(val("a1.bigl"), "5000000000");
    assert_string_equal(val("a1.neg"), "-5000000000");
    assert_string_equal(val("a1.hex"), "16");
    assert_string_equal(val("a1.hexbig"), "4294967295");
    assert_string_equal(val("a1.hex64"), "8589934591");
    assert_string_equal(val("a1.lim"), "2147483647");
    assert_string_equal(val("a1.lim2"), "-2147483648");
    assert_string_equal(val("a1.lim3"), "2147483648");
    assert_string_equal(val("a1.max"), "9223372036854775807");
    assert_string_equal(val("a1.f1"), "1500.0");
    assert_string_equal(val("a1.f2"), "0.25");
    assert_string_equal(val("a1.f3"), "-2.0");
    assert_string_equal(val("a1.b1"), "true");
    assert_string_equal(val("a1.b2"), "false");
    assert_string_equal(val("a1.oct"), "123");
    assert_string_equal(val("a1.z"), "0");
    assert_string_equal(val("a1.nz"), "-7");
    assert_string_equal(val("a1.zbig"), "5000000000");
    assert_string_equal(val("a1.hz"), "31");
    assert_string_equal(val("a1.zlong"), "42");
    assert_string_equal(val("a1.s"), "a\\b\"c\n\tA\f\r joined");
    assert_string_equal(val("a1.channels"), "c1 c2");
    assert_string_equal(val("a1.lst"), "1 x true 2.5");
    assert_string_equal(val("a1.e"), "");
    assert_string_equal(val("a1.one"), "7");
    assert_int_equal(line_of("a1.channels"), 10);
    assert_int_equal(line_of("NC_PORT"), 1);
}

static void load_own_value(void **state)
{
    (void)state;
    cfg_ok("a1 = {\n"
           "  sinks = {\n"
           "    k1 = {\n"
           "      sink = { serializer = {\n"
           "        appendNewline = false;\n"
           "        * = \"TEXT\";\n"
           "      }; };\n"
           "      kafka = { topics = { * = [\"a\", \"b\"]; regex = \"t.*\"; }; };\n"
           "      one = { * = 5000000000; };\n"
           "      *star* = { * = true; x = 1.5; };\n"
           "    };\n"
           "  };\n"
           "};\n"
           "NC_PORT = { * = 4444; note = \"top\"; };\n");
    assert_string_equal(val("a1.sinks"), "k1");
    assert_string_equal(val("a1.sinks.k1.sink.serializer"), "TEXT");
    assert_string_equal(val("a1.sinks.k1.sink.serializer.appendNewline"), "false");
    assert_int_equal(line_of("a1.sinks.k1.sink.serializer"), 6);
    assert_int_equal(line_of("a1.sinks.k1.sink.serializer.appendNewline"), 5);
    assert_string_equal(val("a1.sinks.k1.kafka.topics"), "a b");
    assert_string_equal(val("a1.sinks.k1.kafka.topics.regex"), "t.*");
    assert_string_equal(val("a1.sinks.k1.one"), "5000000000");
    assert_string_equal(val("a1.sinks.k1.*star*"), "true");
    assert_string_equal(val("a1.sinks.k1.*star*.x"), "1.5");
    assert_string_equal(val("NC_PORT"), "4444");
    assert_string_equal(val("NC_PORT.note"), "top");
    assert_null(conf_set_get(&cs, "a1.sinks.k1.sink.serializer.*"));
    assert_null(conf_set_get(&cs, "a1.sinks.k1.sink"));
    assert_int_equal(cs.n, 10);
    /* the value of a listed member */
    cfg_ok("a2 = { sources = { r1 = { filegroups = { f1 = { * = \"/var/log/x\"; y = 1; }; }; };"
           " }; };\n");
    assert_string_equal(val("a2.sources.r1.filegroups"), "f1");
    assert_string_equal(val("a2.sources.r1.filegroups.f1"), "/var/log/x");
    assert_string_equal(val("a2.sources.r1.filegroups.f1.y"), "1");
}

static void load_own_value_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a = 1;\n* = 2;\n",
         "t.cfg:2: \"*\" sets the value of its group's own key, so it cannot stand at the top "
         "level"},
        {"a1 = {\n  sources = { * = \"r1\"; r1 = { }; };\n};\n",
         "t.cfg:2: a1.sources: \"*\" cannot set a name list; its value is the names of the "
         "group's members"},
        {"a1 = {\n  x = {\n    * = { y = 1; };\n  };\n};\n",
         "t.cfg:3: a1.x: \"*\" is the group's own value, so it must be a string, number, "
         "boolean or list of them, not a group"},
        {"a1 = {\n  x = {\n    * = 1;\n    * = 2;\n  };\n};\n", "t.cfg:4: duplicate setting name"},
        {"a1 = { x = { * = (1, { y = 1; }); }; };\n",
         "t.cfg:1: a1.x: a list may hold only strings, numbers and booleans"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfg_parse_buffer(cases[i].text, "t.cfg", &cs, &err), SLUICE_ECONFIG);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(cs.n, 0);
    }
}

#define CFG_MISPLACED                                                                              \
    "syntax error: a string cannot stand here (only after = or :, or in a [...] or (...) list)"

static void load_errors(void **state)
{
    (void)state;
    cfg_ok("keep = 1;\n");
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a1 = {\n  x = 1;\n  y = ;\n};\n", "t.cfg:3: syntax error"},
        {"a1 = {\n  x = 1;\n  x = 2;\n};\n", "t.cfg:3: duplicate setting name"},
        {"a1 = {\n x = [1, \"s\"];\n};\n", "t.cfg:2: mismatched element type in array"},
        {"a1 = {\n  l = (1,\n    { g = 1; });\n};\n",
         "t.cfg:3: a1.l: a list may hold only strings, numbers and booleans"},
        {"a1 = { l = (1, (2)); };\n",
         "t.cfg:1: a1.l: a list may hold only strings, numbers and booleans"},
        {"a = 1;\nb = 99999999999999999999;\n",
         "t.cfg:2: integer 99999999999999999999 does not fit in a signed 64-bit integer"},
        {"a = 1;\n  @include \"other.cfg\"\n",
         "t.cfg:2: @include is not supported; load each file on its own instead"},
        {"a = \"unterminated;\n", "t.cfg:2: syntax error"},
        /* a misplaced string is refused before libconfig 1.5 could leak it */
        {"\"\"\n", "t.cfg:1: " CFG_MISPLACED},
        {"a = (\"p\",\n \"q\" \"r\"), \"x\";\n", "t.cfg:2: " CFG_MISPLACED},
        {"a = { b = [\"x\"];\n c = 1; }\n\"z\";\n", "t.cfg:3: " CFG_MISPLACED},
        {"a = 1 2;\n\"z\";\n", "t.cfg:1: syntax error"}, /* the earlier error is named */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(cfg_parse_buffer(cases[i].text, "t.cfg", &cs, &err), SLUICE_ECONFIG);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(cs.n, 1); /* out unchanged */
    }
    assert_int_equal(cfg_parse_buffer(NULL, "t.cfg", &cs, &err), SLUICE_EINVAL);
}

static void load_deep_nesting_refused(void **state)
{
    (void)state;
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 120; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "g%d = {\n", i);
    o += (size_t)snprintf(text + o, sizeof(text) - o, "x = 1;\n");
    for (int i = 0; i < 120; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "};\n");
    assert_int_equal(cfg_parse_buffer(text, "t.cfg", &cs, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "t.cfg:101: "));
    assert_non_null(strstr(err.msg, "nested deeper than 100 levels"));
    assert_int_equal(cs.n, 0);
}

static void load_file(void **state)
{
    (void)state;
    const char text[] = "a1 = {\n  sinks = {\n    k1 = { type = \"logger\"; };\n  };\n};\n";
    const char *path = write_tmp(text, sizeof(text) - 1);
    int rc = cfg_parse_file(path, &cs, &err);
    assert_int_equal(rc, SLUICE_OK);
    assert_string_equal(conf_set_get(&cs, "a1.sinks.k1.type")->file, path);
    assert_int_equal(line_of("a1.sinks.k1.type"), 3);
    assert_int_equal(line_of("a1.sinks"), 2);
    unlink(path);

    assert_int_equal(cfg_parse_file("/nonexistent/agent.cfg", &cs, &err), SLUICE_EIO);
    assert_string_equal(err.msg, "/nonexistent/agent.cfg: No such file or directory");

    const char bad[] = "a = 1;\nb = 2;\n";
    path = write_tmp(bad, 6);
    rc = cfg_parse_file(path, &cs, &err); /* "a = 1;" without its newline: fine */
    assert_int_equal(rc, SLUICE_OK);
    unlink(path);
    const char nul[] = "a = 1;\nb = \"x\0y\";\n";
    path = write_tmp(nul, sizeof(nul) - 1);
    rc = cfg_parse_file(path, &cs, &err);
    assert_int_equal(rc, SLUICE_ECONFIG);
    char expect[128];
    snprintf(expect, sizeof(expect), "%s:2: NUL byte in the file", path);
    assert_string_equal(err.msg, expect);
    unlink(path);

    const char syntax[] = "a1 = {\n  x = 1\n  y = 2;\n  z = ;\n};\n";
    path = write_tmp(syntax, sizeof(syntax) - 1);
    rc = cfg_parse_file(path, &cs, &err);
    assert_int_equal(rc, SLUICE_ECONFIG);
    snprintf(expect, sizeof(expect), "%s:4: syntax error", path);
    assert_string_equal(err.msg, expect);
    unlink(path);
}

/* ---- converting -------------------------------------------------------------------------------
 */

static void convert_exact_text(void **state)
{
    (void)state;
    const char *props = "a1.sources = r1\n"
                        "a1.channels = c1\n"
                        "a1.sources.r1.type = exec\n"
                        "a1.sources.r1.command = tail -F \"/x\"  \n"
                        "a1.sources.r1.channels = c1\n"
                        "a1.sources.r1.interceptors = i1\n"
                        "a1.sources.r1.interceptors.i1.type = regex_filter\n"
                        "a1.sources.r1.interceptors.i1.regex= .*HiveMetaStore\\\\.audit.*\n"
                        "a1.channels.c1.capacity = 10000\n"
                        "a1.channels.c1.big = 5000000000\n"
                        "a1.channels.c1.keep = 007\n"
                        "a1.channels.c1.flag = true\n"
                        "a1.channels.c1.ratio = 0.5\n";
    char *text = round_trip(props);
    assert_string_equal(text,
                        "# sluice agent configuration in libconfig syntax. Group paths join with "
                        "'.' into\n"
                        "# the Flume keys of the .properties form (see the README, \"libconfig "
                        "files\").\n"
                        "a1 = {\n"
                        "    sources = {\n"
                        "        r1 = {\n"
                        "            type = \"exec\";\n"
                        "            command = \"tail -F \\\"/x\\\"\";\n"
                        "            channels = \"c1\";\n"
                        "            interceptors = {\n"
                        "                i1 = {\n"
                        "                    type = \"regex_filter\";\n"
                        "                    regex = \".*HiveMetaStore\\\\.audit.*\";\n"
                        "                };\n"
                        "            };\n"
                        "        };\n"
                        "    };\n"
                        "    channels = {\n"
                        "        c1 = {\n"
                        "            capacity = 10000;\n"
                        "            big = 5000000000L;\n"
                        "            keep = \"007\";\n"
                        "            flag = true;\n"
                        "            ratio = \"0.5\";\n"
                        "        };\n"
                        "    };\n"
                        "};\n");
    free(text);
}

static void convert_round_trips(void **state)
{
    (void)state;
    static const char *const files[] = {
        /* Flume user guide example */
        "# example.conf: A single-node Flume configuration\n"
        "a1.sources = r1\na1.sinks = k1\na1.channels = c1\n"
        "a1.sources.r1.type = netcat\na1.sources.r1.bind = localhost\n"
        "a1.sources.r1.port = 44444\na1.sinks.k1.type = logger\n"
        "a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n"
        "a1.channels.c1.transactionCapacity = 100\n"
        "a1.sources.r1.channels = c1\na1.sinks.k1.channel = c1\n",
        /* multi-agent file, lists in any order, a sink group, a selector, kafka passthrough */
        "agent1.sources = src1 src2\nagent2.sources = s\n"
        "agent1.channels = ch1 ch2\nagent1.sinks = k1 k2\nagent1.sinkgroups = g1\n"
        "agent1.sources.src2.type = seq\nagent1.sources.src1.type = exec\n"
        "agent1.sources.src1.command = cat /etc/hosts\n"
        "agent1.sources.src1.channels = ch1 ch2\n"
        "agent1.sources.src1.selector.type = multiplexing\n"
        "agent1.sources.src1.selector.header = state\n"
        "agent1.sources.src1.selector.mapping.CZ = ch1\n"
        "agent1.sources.src1.selector.default = ch2\n"
        "agent1.sinkgroups.g1.sinks = k1 k2\n"
        "agent1.sinkgroups.g1.processor.type = failover\n"
        "agent1.sinkgroups.g1.processor.priority.k1 = 5\n"
        "agent1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
        "agent1.sinks.k1.kafka.bootstrap.servers = localhost:9092\n"
        "agent1.sinks.k1.kafka.producer.acks = all\n"
        "agent1.sinks.k1.kafka.producer.linger_ms = 1\n"
        "agent1.sinks.k2.type = null\n"
        "agent1.channels.ch1.type = memory\nagent1.channels.ch2.type = file\n"
        "agent1.channels.ch2.checkpointDir = /var/flume/cp\n"
        "agent2.sources.s.type = netcat\nagent2.sources.s.port = 4444\n"
        "agent2.channels = c\nagent2.channels.c.type = memory\n",
        /* taildir with file groups and headers; interceptor serializers */
        "a1.sources = r1\n"
        "a1.sources.r1.type = TAILDIR\n"
        "a1.sources.r1.positionFile = /var/log/flume/taildir_position.json\n"
        "a1.sources.r1.filegroups = f1 f2\n"
        "a1.sources.r1.filegroups.f1 = /var/log/test1/example.log\n"
        "a1.sources.r1.headers.f1.headerKey1 = value1\n"
        "a1.sources.r1.filegroups.f2 = /var/log/test2/.*log.*\n"
        "a1.sources.r1.headers.f2.headerKey1 = value2\n"
        "a1.sources.r1.fileHeader = true\n"
        "a1.sources.r1.interceptors = e\n"
        "a1.sources.r1.interceptors.e.type = regex_extractor\n"
        "a1.sources.r1.interceptors.e.regex = (\\\\d):(\\\\d):(\\\\d)\n"
        "a1.sources.r1.interceptors.e.serializers = s1 s2 s3\n"
        "a1.sources.r1.interceptors.e.serializers.s1.name = one\n"
        "a1.sources.r1.interceptors.e.serializers.s2.name = two\n"
        "a1.sources.r1.interceptors.e.serializers.s3.name = three\n",
        /* awkward values: escapes, unicode, control bytes, quotes, numbers, blanks */
        "a1.sources = r1\n"
        "a1.sources.r1.nl = line1\\nline2\\ttab\\r\\f\n"
        "a1.sources.r1.quote = say \"hi\" \\\\ back\\\\slash\n"
        "a1.sources.r1.uni = \\u00e9\\uD83D\\uDE00 \xC3\xA9 \xFF\n"
        "a1.sources.r1.ctl = a\x01z\x7f\n"
        "a1.sources.r1.spaces =    padded   \n"
        "a1.sources.r1.hash = # not a comment // nor this /* */\n"
        "a1.sources.r1.n1 = -42\na1.sources.r1.n2 = +5\na1.sources.r1.n3 = -0\n"
        "a1.sources.r1.n4 = 9223372036854775807\na1.sources.r1.n5 = 9223372036854775808\n"
        "a1.sources.r1.n6 = -2147483649\na1.sources.r1.n7 = 1e5\na1.sources.r1.n8 = 0x10\n"
        "a1.sources.r1.b1 = TRUE\na1.sources.r1.b2 = false\n"
        "a1.sources.r1.multi = a \\\n   b\n"
        "NC_PORT = 4444\n"
        "*star* = x\n",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        free(round_trip(files[i]));
}

/* Keys with a value and sub-keys become groups with a "*" member, and read back exactly. */
static void convert_own_value(void **state)
{
    (void)state;
    const char *props = "a1.sinks = k1 k2\n"
                        "a1.sinks.k1.type = file_roll\n"
                        "a1.sinks.k1.sink.serializer.appendNewline = false\n" /* before the key */
                        "a1.sinks.k1.sink.serializer = TEXT\n"
                        "a1.sinks.k2.type = org.apache.flume.sink.kafka.KafkaSink\n"
                        "a1.sinks.k2.kafka.topics = t1 t2\n"
                        "a1.sinks.k2.kafka.topics.regex = audit.*\n"
                        "a1.sinks.k2.kafka.topics.regex.x = 12\n"
                        "a1.sources = r1\n"
                        "a1.sources.r1.filegroups = f1\n"
                        "a1.sources.r1.filegroups.f1 = /var/log/.*\n"
                        "a1.sources.r1.filegroups.f1.extra = 5000000000\n"
                        "NC_PORT = 4444\n"
                        "NC_PORT.x = y\n";
    char *text = round_trip(props);
    assert_non_null(strstr(text, "        k1 = {\n"
                                 "            type = \"file_roll\";\n"
                                 "            sink = {\n"
                                 "                serializer = {\n"
                                 "                    * = \"TEXT\";\n"
                                 "                    appendNewline = false;\n"
                                 "                };\n"
                                 "            };\n"
                                 "        };\n"));
    assert_non_null(strstr(text, "            kafka = {\n"
                                 "                topics = {\n"
                                 "                    * = \"t1 t2\";\n"
                                 "                    regex = {\n"
                                 "                        * = \"audit.*\";\n"
                                 "                        x = 12;\n"
                                 "                    };\n"
                                 "                };\n"
                                 "            };\n"));
    assert_non_null(strstr(text, "            filegroups = {\n"
                                 "                f1 = {\n"
                                 "                    * = \"/var/log/.*\";\n"
                                 "                    extra = 5000000000L;\n"
                                 "                };\n"
                                 "            };\n"));
    assert_non_null(strstr(text, "NC_PORT = {\n    * = 4444;\n    x = \"y\";\n};\n"));
    free(text);
}

/* The agent file the project ships (conf/hive_log.conf) converts and reads back unchanged. */
static void convert_seed_config(void **state)
{
    (void)state;
    const char *root = getenv("SLUICE_SOURCE_ROOT");
    if (!root)
        skip();
    char path[1024], *data;
    size_t len;
    snprintf(path, sizeof(path), "%s/conf/hive_log.conf", root);
    assert_int_equal(conf_read_file(path, &data, &len, &err), SLUICE_OK);
    char *text = round_trip(data);
    assert_non_null(strstr(text, "                    regex = \".*HiveMetaStore\\\\.audit.*\";\n"));
    assert_non_null(strstr(text, "            serializer = {\n"
                                 "                class = \"kafka.serializer.StringEncoder\";\n"));
    free(text);
    free(data);
}

static void convert_name_list_cases(void **state)
{
    (void)state;
    struct conf_set back;
    const char *props = "a1.sources = r1 r2 r1\n" /* duplicate; r2 has no keys */
                        "a1.sources.r1.type = exec\n"
                        "a1.sources.r9.type = seq\n" /* not listed */
                        "a1.sources.r9.x.y = \"z\"\n"
                        "a1.sinks.k1.type = logger\n" /* a1.sinks missing */
                        "a1.channels = c1\n"          /* listed, no keys at all */
                        "a1.sources.r1.spare =  \n";  /* empty value */
    assert_int_equal(props_parse_buffer(props, strlen(props), "n.properties", &cs, &err),
                     SLUICE_OK);
    char *text = NULL;
    assert_int_equal(convert(&cs, &text), SLUICE_OK);
    assert_non_null(strstr(text, "# Left out, because Flume ignores keys with an empty value:\n"
                                 "#   a1.sources.r1.spare (n.properties:7)\n"));
    assert_non_null(strstr(text, "    sources = {\n"
                                 "        r1 = {\n"
                                 "            type = \"exec\";\n"
                                 "        };\n"
                                 "        r2 = { };\n"
                                 "        # not listed in a1.sources, ignored by Flume:\n"
                                 "        #   a1.sources.r9.type = \"seq\"\n"
                                 "        #   a1.sources.r9.x.y = \"\\\"z\\\"\"\n"
                                 "    };\n"));
    assert_non_null(strstr(text, "    # not listed in a1.sinks (no value), ignored by Flume:\n"
                                 "    #   a1.sinks.k1.type = \"logger\"\n"));
    assert_non_null(strstr(text, "    channels = {\n        c1 = { };\n    };\n"));
    conf_set_init(&back);
    assert_int_equal(cfg_parse_buffer(text, "n.cfg", &back, &err), SLUICE_OK);
    assert_string_equal(conf_set_get(&back, "a1.sources")->value, "r1 r2");
    assert_string_equal(conf_set_get(&back, "a1.channels")->value, "c1");
    assert_null(conf_set_get(&back, "a1.sources.r9.type"));
    assert_null(conf_set_get(&back, "a1.sinks.k1.type"));
    assert_null(conf_set_get(&back, "a1.sinks"));
    assert_int_equal(back.n, 3);
    conf_set_free(&back);
    free(text);
}

static void convert_errors(void **state)
{
    (void)state;
    static const struct {
        const char *props, *msg;
    } cases[] = {
        {"a1.sources = r1\na1.sources.r1.1bad = x\n",
         "e.properties:2: key \"a1.sources.r1.1bad\": \"1bad\" is not a libconfig setting name "
         "([A-Za-z*][-A-Za-z0-9_*]*), so the key cannot be written as .cfg"},
        {"a1..x = 1\n", "e.properties:1: key \"a1..x\": \"\" is not a libconfig setting name "
                        "([A-Za-z*][-A-Za-z0-9_*]*), so the key cannot be written as .cfg"},
        {"a1.sinks = k1\na1.sinks.k1.serializer = text\n"
         "a1.sinks.k1.serializer.* = x\n",
         "e.properties:3: key \"a1.sinks.k1.serializer.*\": \"*\" is reserved in .cfg for a "
         "group's own value, so the key cannot be written as .cfg"},
        {"a1.sources = r1 *\n",
         "e.properties:1: key \"a1.sources\": listed name \"*\" is reserved in .cfg for a "
         "group's own value, so the key cannot be written as .cfg"},
        {"a1.channels = c1 1c\n",
         "e.properties:1: key \"a1.channels\": listed name \"1c\" is not a libconfig setting "
         "name ([A-Za-z*][-A-Za-z0-9_*]*), so the key cannot be written as .cfg"},
        {"a1.sinks = k1\na1.sinks.k1.my\\ key = v\n",
         "e.properties:2: key \"a1.sinks.k1.my key\": \"my key\" is not a libconfig setting "
         "name ([A-Za-z*][-A-Za-z0-9_*]*), so the key cannot be written as .cfg"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf_set set;
        conf_set_init(&set);
        assert_int_equal(
            props_parse_buffer(cases[i].props, strlen(cases[i].props), "e.properties", &set, &err),
            SLUICE_OK);
        char *text = NULL;
        memset(&err, 0, sizeof(err));
        assert_int_equal(convert(&set, &text), SLUICE_ECONFIG);
        assert_string_equal(err.msg, cases[i].msg);
        assert_string_equal(text, ""); /* nothing written */
        free(text);
        conf_set_free(&set);
    }
    /* an unlisted component is not written, so its bad keys do not matter */
    struct conf_set set;
    conf_set_init(&set);
    const char *ok = "a1.sources = r1\na1.sources.r1.type = exec\na1.sources.r2.1bad = x\n";
    assert_int_equal(props_parse_buffer(ok, strlen(ok), "e", &set, &err), SLUICE_OK);
    char *text = NULL;
    assert_int_equal(convert(&set, &text), SLUICE_OK);
    assert_non_null(strstr(text, "#   a1.sources.r2.1bad = \"x\"\n"));
    free(text);
    conf_set_free(&set);
}

static void convert_empty_set(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(convert(&cs, &text), SLUICE_OK);
    assert_int_equal(cfg_parse_buffer(text, "e.cfg", &cs, &err), SLUICE_OK);
    assert_int_equal(cs.n, 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(load_basic_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(load_name_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(load_name_list_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(load_scalars_and_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(load_own_value, setup, teardown),
        cmocka_unit_test_setup_teardown(load_own_value_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(load_deep_nesting_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(load_file, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_exact_text, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_own_value, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_seed_config, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_name_list_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(convert_empty_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
