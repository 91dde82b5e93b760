/*
 * ${...} substitution and config filters: env/sys lookups, keys of the merged configuration
 * (recursively, nested names), the $${x} escape, unresolved names left as written, loops
 * reported, and ${f1['KEY']} config-filter references resolved only in component values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_filters.h"
#include "config_properties.h"
#include "config_substitute.h"

static const char *sys_get(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "env") == 0)
        return "DEV";
    if (strcmp(name, "my.prop") == 0)
        return "P";
    return NULL;
}

static void load(struct conf_set *cs, const char *text)
{
    struct sluice_err err = {0};
    conf_set_init(cs);
    assert_int_equal(props_parse_buffer(text, strlen(text), "s.conf", cs, &err), SLUICE_OK);
}

static const char *val(const struct conf_set *cs, const char *key)
{
    const struct conf_entry *e = conf_set_get(cs, key);
    return e ? e->value : NULL;
}

static void test_lookups(void **state)
{
    (void)state;
    setenv("SLUICE_T_HOME", "/h", 1);
    setenv("SLUICE_T_ONLY_ENV", "e", 1);
    struct conf_set cs;
    load(&cs, "PORT = 4444\n"
              "DEV_BIND = 127.0.0.1\n"
              "BASE = /data\n"
              "DIR = ${BASE}/logs\n"
              "a1.k1 = ${PORT}\n"
              "a1.k2 = ${env:SLUICE_T_HOME}/x\n"
              "a1.k3 = ${sys:my.prop}\n"
              "a1.k4 = ${${sys:env}_BIND}\n"
              "a1.k5 = ${DIR}/app.log\n"
              "a1.k6 = ${SLUICE_T_ONLY_ENV}\n"
              "a1.k7 = $${PORT} stays\n"
              "a1.k8 = ${NOPE_NOT_DEFINED} and ${PORT}\n"
              "a1.k9 = ${f1['SECRET']}\n");
    struct diag_list dl = {.quiet = 1};
    struct sluice_err err = {0};
    assert_int_equal(conf_substitute(&cs, sys_get, NULL, &dl, &err), SLUICE_OK);
    assert_string_equal(val(&cs, "a1.k1"), "4444");
    assert_string_equal(val(&cs, "a1.k2"), "/h/x");
    assert_string_equal(val(&cs, "a1.k3"), "P");
    assert_string_equal(val(&cs, "a1.k4"), "127.0.0.1");
    assert_string_equal(val(&cs, "a1.k5"), "/data/logs/app.log");
    assert_string_equal(val(&cs, "a1.k6"), "e");
    assert_string_equal(val(&cs, "a1.k7"), "${PORT} stays");
    assert_string_equal(val(&cs, "a1.k8"), "${NOPE_NOT_DEFINED} and 4444");
    assert_string_equal(val(&cs, "a1.k9"), "${f1['SECRET']}"); /* left for the filter */
    assert_true(diag_contains(&dl, "s.conf:12: a1.k8: ${NOPE_NOT_DEFINED} is not defined"));
    assert_false(diag_contains(&dl, "SECRET"));
    diag_free(&dl);
    conf_set_free(&cs);
}

static void test_loop(void **state)
{
    (void)state;
    struct conf_set cs;
    load(&cs, "A = ${B}\nB = ${A}\na1.k = ${A}\n");
    struct diag_list dl = {.quiet = 1};
    struct sluice_err err = {0};
    assert_int_equal(conf_substitute(&cs, NULL, NULL, &dl, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "s.conf:1: A: ${...} substitution does not end"));
    diag_free(&dl);
    conf_set_free(&cs);
}

static void test_filters(void **state)
{
    (void)state;
    setenv("SLUICE_T_SECRET", "hunter2", 1);
    struct props keys = {0};
    props_add(&keys, "f1.type", "env", "a1.configfilters.f1.type", "s.conf:2");
    props_add(&keys, "f2.type", "external", "a1.configfilters.f2.type", "s.conf:3");
    props_add(&keys, "f2.command", "echo got", "a1.configfilters.f2.command", "s.conf:4");
    struct config_filters cf;
    struct diag_list dl = {.quiet = 1};
    assert_int_equal(config_filters_build(&cf, "f1 f2", "s.conf:1", &keys, &dl), 0);
    char *v = config_filters_apply(&cf,
                                   "pw=${f1['SLUICE_T_SECRET']} ${f1[SLUICE_T_SECRET]} "
                                   "${f1[\"SLUICE_T_SECRET\"]}",
                                   "s.conf:9", "a1.sinks.k1.pw", &dl);
    assert_non_null(v);
    assert_string_equal(v, "pw=hunter2 hunter2 hunter2");
    free(v);
    v = config_filters_apply(&cf, "${f2['abc']}", "s.conf:9", "k", &dl);
    assert_non_null(v);
    assert_string_equal(v, "got abc");
    free(v);
    /* unknown variable: left as written, with a warning; mismatched quotes are not references */
    assert_null(config_filters_apply(&cf, "${f1['SLUICE_T_UNSET_X']}", "s.conf:9", "k", &dl));
    assert_true(diag_contains(&dl, "config filter f1 has no value for 'SLUICE_T_UNSET_X'"));
    assert_null(config_filters_apply(&cf, "${f1['SLUICE_T_SECRET\"]}", "s.conf:9", "k", &dl));
    assert_null(config_filters_apply(&cf, "plain", "s.conf:9", "k", &dl));
    config_filters_free(&cf);
    props_free(&keys);

    struct props bad = {0};
    props_add(&bad, "h.type", "hadoop", "a1.configfilters.h.type", "s.conf:2");
    assert_int_equal(config_filters_build(&cf, "h", "s.conf:1", &bad, &dl), -1);
    assert_true(diag_contains(&dl, "config filter type 'hadoop' is not offered by sluice"));
    config_filters_free(&cf);
    props_free(&bad);
    diag_free(&dl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_filters),
    };
    return cmocka_run_group_tests_name("config_substitute", tests, NULL, NULL);
}
