/*
 * The plugin loader: good plugins load and resolve by short name (any case) and by Flume class
 * name; each broken .so gets an error that names the file and the exact problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_registry.h"

static void fixture_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s.so", FIXTURE_DIR, name);
}

static void expect_load_error(const char *name, const char *needle)
{
    struct registry r;
    registry_init(&r);
    char path[1024];
    fixture_path(path, sizeof(path), name);
    struct sluice_err err = {0};
    assert_int_equal(registry_load_file(&r, path, &err), SLUICE_EABI);
    if (!strstr(err.msg, needle) || !strstr(err.msg, path))
        fail_msg("error for %s was: %s (expected it to contain '%s' and the path)", name, err.msg,
                 needle);
    assert_int_equal(r.n, 0);
    registry_free(&r);
}

static void test_bad_major(void **state)
{
    (void)state;
    expect_load_error("bad_major", "built for plugin ABI 2, this agent speaks 1");
}

static void test_bad_minor(void **state)
{
    (void)state;
    char want[96];
    snprintf(want, sizeof(want), "newer than this agent's %d.%d; upgrade sluice", SLUICE_ABI_MAJOR,
             SLUICE_ABI_MINOR);
    expect_load_error("bad_minor", want);
}

static void test_no_symbol(void **state)
{
    (void)state;
    expect_load_error("bad_nosym", "not a sluice plugin (no 'sluice_plugin' symbol)");
}

static void test_missing_callback(void **state)
{
    (void)state;
    expect_load_error("bad_callback", "channel plugin 'fchannel' lacks the required callback size");
}

static void test_unresolved_symbol(void **state)
{
    (void)state;
    expect_load_error("bad_unresolved", "sluice_symbol_that_does_not_exist");
}

static void test_missing_file(void **state)
{
    (void)state;
    struct registry r;
    registry_init(&r);
    struct sluice_err err = {0};
    assert_int_equal(registry_load_file(&r, "/nonexistent/x.so", &err), SLUICE_EABI);
    assert_non_null(strstr(err.msg, "/nonexistent/x.so: cannot load"));
    registry_free(&r);
}

static void test_scan_and_find(void **state)
{
    (void)state;
    struct registry r;
    registry_init(&r);
    registry_scan_dir(&r, FIXTURE_DIR);
    /* the 4 good fixtures load; the 5 broken ones are recorded as problems */
    assert_int_equal(r.n, 4);
    assert_int_equal(r.n_problems, 5);
    const struct plugin_entry *e = registry_find(&r, SLUICE_KIND_SOURCE, "FSource");
    assert_non_null(e);
    assert_string_equal(e->desc->name, "fsource");
    assert_non_null(registry_find(&r, SLUICE_KIND_SOURCE, "com.example.fixturesource"));
    assert_null(registry_find(&r, SLUICE_KIND_SINK, "fsource")); /* kinds are separate */
    assert_non_null(
        registry_find(&r, SLUICE_KIND_INTERCEPTOR, "com.example.FixtureInterceptor$Builder"));
    char names[256];
    registry_names(&r, SLUICE_KIND_CHANNEL, names, sizeof(names));
    assert_string_equal(names, "fchannel");
    assert_string_equal(registry_suggest(&r, SLUICE_KIND_SINK, "fsnk"), "fsink");
    assert_null(registry_suggest(&r, SLUICE_KIND_SINK, "kafka"));
    registry_free(&r);
}

static void test_first_found_wins(void **state)
{
    (void)state;
    struct registry r;
    registry_init(&r);
    char path[1024];
    fixture_path(path, sizeof(path), "fsink");
    struct sluice_err err = {0};
    assert_int_equal(registry_load_file(&r, path, &err), SLUICE_OK);
    assert_int_equal(registry_load_file(&r, path, &err), SLUICE_OK);
    assert_int_equal(r.n, 1);
    registry_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_major),         cmocka_unit_test(test_bad_minor),
        cmocka_unit_test(test_no_symbol),         cmocka_unit_test(test_missing_callback),
        cmocka_unit_test(test_unresolved_symbol), cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_scan_and_find),     cmocka_unit_test(test_first_found_wins),
    };
    return cmocka_run_group_tests_name("plugin_registry", tests, NULL, NULL);
}
