/*
 * The reload diff: for pairs of configurations, which components a reload keeps, adds,
 * restarts and removes, including the restarts that spread along the wiring (channel ->
 * its sources and sinks, sink <-> its group), built on the fixture plugins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config_model.h"
#include "config_properties.h"
#include "plugin_registry.h"
#include "reload_plan.h"

static struct registry reg;

static int setup_registry(void **state)
{
    (void)state;
    registry_init(&reg);
    static const char *const names[] = {"fsource", "fchannel", "fsink", "finterceptor"};
    for (size_t i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.so", FIXTURE_DIR, names[i]);
        struct sluice_err err = {0};
        if (registry_load_file(&reg, path, &err) != SLUICE_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown_registry(void **state)
{
    (void)state;
    registry_free(&reg);
    return 0;
}

struct built {
    struct conf_set cs;
    struct agent_model m;
};

static void build(struct built *b, const char *text)
{
    struct sluice_err err = {0};
    conf_set_init(&b->cs);
    assert_int_equal(props_parse_buffer(text, strlen(text), "t.conf", &b->cs, &err), SLUICE_OK);
    memset(&b->m, 0, sizeof(b->m));
    b->m.diags.quiet = 1;
    assert_int_equal(model_build(&b->m, &b->cs, "a1", &reg, "t.conf"), SLUICE_OK);
    for (size_t i = 0; i < b->m.diags.n; i++)
        fprintf(stderr, "  diag: %s\n", b->m.diags.v[i].msg);
    assert_false(b->m.fatal);
}

static void done(struct built *b)
{
    model_free(&b->m);
    conf_set_free(&b->cs);
}

/* Everything of `old` runs, except the components named in `not_running` ("k2 c1"). */
static void plan_of(struct reload_plan *p, const char *old_text, const char *new_text,
                    const char *not_running)
{
    struct built o, n;
    build(&o, old_text);
    build(&n, new_text);
    struct comp *running[64];
    size_t k = 0;
    static const enum comp_kind kinds[] = {COMP_SOURCE, COMP_CHANNEL, COMP_SINK, COMP_SINKGROUP};
    for (size_t i = 0; i < 4; i++) {
        struct comp *v[16];
        size_t c = model_list(&o.m, kinds[i], v, 16);
        for (size_t j = 0; j < c; j++) {
            char word[64];
            snprintf(word, sizeof(word), " %s ", v[j]->name);
            char list[256];
            snprintf(list, sizeof(list), " %s ", not_running ? not_running : "");
            if (!strstr(list, word))
                running[k++] = v[j];
        }
    }
    assert_int_equal(reload_plan_build(p, running, k, &n.m), SLUICE_OK);
    /* the plan points into both models: keep the names and reasons, drop the comps */
    static char names[64][64];
    for (size_t i = 0; i < p->n; i++) {
        snprintf(names[i], sizeof(names[i]), "%s", p->v[i].name);
        p->v[i].name = names[i];
        p->v[i].old = p->v[i].next = NULL;
    }
    done(&o);
    done(&n);
}

static enum plan_act act_of(const struct reload_plan *p, enum comp_kind kind, const char *name)
{
    const struct plan_item *it = reload_plan_find(p, kind, name);
    if (!it)
        fail_msg("no plan item for %s", name);
    return it->act;
}

static const char *why_of(const struct reload_plan *p, enum comp_kind kind, const char *name)
{
    const struct plan_item *it = reload_plan_find(p, kind, name);
    return it ? it->why : "";
}

#define ASSERT_WHY(p, kind, name, needle)                                                          \
    do {                                                                                           \
        const char *w_ = why_of(p, kind, name);                                                    \
        if (!strstr(w_, needle))                                                                   \
            fail_msg("%s: reason '%s' lacks '%s'", name, w_, needle);                              \
    } while (0)

#define BASE                                                                                       \
    "a1.sources = r1\n"                                                                            \
    "a1.channels = c1\n"                                                                           \
    "a1.sources.r1.type = fsource\n"                                                               \
    "a1.sources.r1.command = tail -F /x\n"                                                         \
    "a1.sources.r1.channels = c1\n"                                                                \
    "a1.sources.r1.interceptors = i1\n"                                                            \
    "a1.sources.r1.interceptors.i1.type = finterceptor\n"                                          \
    "a1.channels.c1.type = fchannel\n"                                                             \
    "a1.channels.c1.capacity = 1000\n"                                                             \
    "a1.sinks.k1.type = fsink\n"                                                                   \
    "a1.sinks.k1.channel = c1\n"

static const char *const one_sink = BASE "a1.sinks = k1\n";

static void test_identical_keeps_all(void **state)
{
    (void)state;
    struct reload_plan p;
    plan_of(&p, one_sink, one_sink, NULL);
    assert_int_equal(p.n, 3);
    for (size_t i = 0; i < p.n; i++)
        assert_int_equal(p.v[i].act, PLAN_KEEP);
    reload_plan_free(&p);
}

static void test_reordered_lines_and_alias_keep_all(void **state)
{
    (void)state;
    static const char *const shuffled =
        "a1.sinks.k1.channel = c1\n"
        "a1.sinks = k1\n"
        "a1.sinks.k1.type = com.example.FixtureSink\n" /* the same plugin, by its Flume name */
        "a1.channels.c1.capacity = 1000\n"
        "a1.channels = c1\n"
        "a1.channels.c1.type = fchannel\n"
        "a1.sources.r1.interceptors.i1.type = finterceptor\n"
        "a1.sources.r1.channels = c1\n"
        "a1.sources.r1.interceptors = i1\n"
        "a1.sources.r1.command = tail -F /x\n"
        "a1.sources = r1\n"
        "a1.sources.r1.type = fsource\n";
    struct reload_plan p;
    plan_of(&p, one_sink, shuffled, NULL);
    for (size_t i = 0; i < p.n; i++)
        assert_int_equal(p.v[i].act, PLAN_KEEP);
    reload_plan_free(&p);
}

static void test_sink_batch_and_new_sink(void **state)
{
    (void)state;
    static const char *const next = BASE "a1.sinks = k1 k2\n"
                                         "a1.sinks.k1.batchSize = 7\n"
                                         "a1.sinks.k2.type = fsink\n"
                                         "a1.sinks.k2.channel = c1\n";
    struct reload_plan p;
    plan_of(&p, one_sink, next, NULL);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SINK, "k1", "batchSize added ('7')");
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_ADD);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_KEEP);
    reload_plan_free(&p);

    /* and back: k2 goes, k1 restarts, the rest stays */
    plan_of(&p, next, one_sink, NULL);
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_REMOVE);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SINK, "k1", "batchSize removed (was '7')");
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_KEEP);
    reload_plan_free(&p);
}

static void test_channel_change_restarts_its_users(void **state)
{
    (void)state;
    static const char *const old = BASE "a1.sinks = k1 k2\n"
                                        "a1.channels = c1 c2\n"
                                        "a1.channels.c2.type = fchannel\n"
                                        "a1.sinks.k2.type = fsink\n"
                                        "a1.sinks.k2.channel = c2\n"
                                        "a1.sources.r2.type = fsource\n"
                                        "a1.sources.r2.command = x\n"
                                        "a1.sources.r2.channels = c2\n"
                                        "a1.sources = r1 r2\n";
    char next[4096];
    snprintf(next, sizeof(next), "%sa1.channels.c1.capacity = 500\n", old);
    struct reload_plan p;
    plan_of(&p, old, next, NULL);
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_CHANNEL, "c1", "capacity: '1000' -> '500'");
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SOURCE, "r1", "channel c1 is restarted");
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    /* the other pipeline is untouched */
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c2"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r2"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_KEEP);
    reload_plan_free(&p);

    /* a channel whose type changes is replaced too */
    snprintf(next, sizeof(next),
             "%sa1.channels.c2.type = com.example.FixtureChannel\n"
             "a1.channels.c1.type = fchannel\n",
             old);
    plan_of(&p, old, next, NULL);
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c2"), PLAN_KEEP); /* alias: same plugin */
    reload_plan_free(&p);
}

static void test_interceptor_and_selector_restart_the_source_only(void **state)
{
    (void)state;
    char next[4096];
    snprintf(next, sizeof(next), "%sa1.sources.r1.interceptors.i1.pass.x = 1\n", one_sink);
    struct reload_plan p;
    plan_of(&p, one_sink, next, NULL);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SOURCE, "r1", "interceptors.i1.pass.x added ('1')");
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_KEEP);
    reload_plan_free(&p);

    snprintf(next, sizeof(next), "%sa1.sources.r1.selector.type = replicating\n", one_sink);
    plan_of(&p, one_sink, next, NULL);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_KEEP);
    reload_plan_free(&p);
}

#define GROUPED                                                                                    \
    BASE "a1.sinks = k1 k2 k3\n"                                                                   \
         "a1.sinks.k2.type = fsink\n"                                                              \
         "a1.sinks.k2.channel = c1\n"                                                              \
         "a1.sinks.k3.type = fsink\n"                                                              \
         "a1.sinks.k3.channel = c1\n"                                                              \
         "a1.sinkgroups = g1\n"                                                                    \
         "a1.sinkgroups.g1.sinks = k1 k2\n"                                                        \
         "a1.sinkgroups.g1.processor.type = failover\n"                                            \
         "a1.sinkgroups.g1.processor.priority.k1 = 10\n"                                           \
         "a1.sinkgroups.g1.processor.priority.k2 = 5\n"

static void test_groups_and_their_sinks(void **state)
{
    (void)state;
    static const char *const old = GROUPED;
    struct reload_plan p;
    char next[4096];

    /* the processor changes: the group and its sinks restart, k3 (not a member) does not */
    snprintf(next, sizeof(next), "%sa1.sinkgroups.g1.processor.maxpenalty = 1000\n", old);
    plan_of(&p, old, next, NULL);
    assert_int_equal(act_of(&p, COMP_SINKGROUP, "g1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SINK, "k2", "its sink group g1 is restarted");
    assert_int_equal(act_of(&p, COMP_SINK, "k3"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_KEEP);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_KEEP);
    reload_plan_free(&p);

    /* one member changes: its group, and through it the other member, restart */
    snprintf(next, sizeof(next), "%sa1.sinks.k2.batchSize = 50\n", old);
    plan_of(&p, old, next, NULL);
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINKGROUP, "g1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SINKGROUP, "g1", "its sink k2 is restarted");
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k3"), PLAN_KEEP);
    reload_plan_free(&p);

    /* k3 joins the group */
    snprintf(next, sizeof(next), "%sa1.sinkgroups.g1.sinks = k1 k2 k3\n", old);
    plan_of(&p, old, next, NULL);
    assert_int_equal(act_of(&p, COMP_SINK, "k3"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SINK, "k3", "sink group: '' -> 'g1'");
    assert_int_equal(act_of(&p, COMP_SINKGROUP, "g1"), PLAN_RESTART);
    reload_plan_free(&p);

    /* the group goes: its sinks run on their own */
    plan_of(&p, old,
            BASE "a1.sinks = k1 k2 k3\n"
                 "a1.sinks.k2.type = fsink\n"
                 "a1.sinks.k2.channel = c1\n"
                 "a1.sinks.k3.type = fsink\n"
                 "a1.sinks.k3.channel = c1\n",
            NULL);
    assert_int_equal(act_of(&p, COMP_SINKGROUP, "g1"), PLAN_REMOVE);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k2"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k3"), PLAN_KEEP);
    reload_plan_free(&p);
}

static void test_not_running_is_added_again(void **state)
{
    (void)state;
    struct reload_plan p;
    /* k1 could not be built at the previous reload: an unchanged configuration retries it */
    plan_of(&p, one_sink, one_sink, "k1");
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_ADD);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_KEEP);
    reload_plan_free(&p);
    /* the channel was missing: its source and sink restart against the new one */
    plan_of(&p, one_sink, one_sink, "c1");
    assert_int_equal(act_of(&p, COMP_CHANNEL, "c1"), PLAN_ADD);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_RESTART);
    assert_int_equal(act_of(&p, COMP_SINK, "k1"), PLAN_RESTART);
    reload_plan_free(&p);
}

static void test_secret_values_not_shown(void **state)
{
    (void)state;
    char a[4096], b[4096];
    snprintf(a, sizeof(a), "%sa1.sources.r1.pass.password = hunter2\n", one_sink);
    snprintf(b, sizeof(b), "%sa1.sources.r1.pass.password = swordfish\n", one_sink);
    struct reload_plan p;
    plan_of(&p, a, b, NULL);
    assert_int_equal(act_of(&p, COMP_SOURCE, "r1"), PLAN_RESTART);
    ASSERT_WHY(&p, COMP_SOURCE, "r1", "pass.password: (secret) -> (secret)");
    assert_null(strstr(why_of(&p, COMP_SOURCE, "r1"), "hunter2"));
    assert_null(strstr(why_of(&p, COMP_SOURCE, "r1"), "swordfish"));
    reload_plan_free(&p);
}

static void test_reason_is_bounded(void **state)
{
    (void)state;
    char a[8192], b[8192];
    size_t off = (size_t)snprintf(a, sizeof(a), "%s", one_sink);
    size_t offb = (size_t)snprintf(b, sizeof(b), "%s", one_sink);
    for (int i = 0; i < 40; i++) {
        off +=
            (size_t)snprintf(a + off, sizeof(a) - off, "a1.sources.r1.pass.k%02d = old%d\n", i, i);
        offb += (size_t)snprintf(b + offb, sizeof(b) - offb, "a1.sources.r1.pass.k%02d = new%d\n",
                                 i, i);
    }
    struct reload_plan p;
    plan_of(&p, a, b, NULL);
    const char *w = why_of(&p, COMP_SOURCE, "r1");
    assert_true(strlen(w) < sizeof(p.v[0].why));
    size_t n = strlen(w);
    assert_true(n >= 3 && strcmp(w + n - 3, "...") == 0); /* cut, and says so */
    reload_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_keeps_all),
        cmocka_unit_test(test_reordered_lines_and_alias_keep_all),
        cmocka_unit_test(test_sink_batch_and_new_sink),
        cmocka_unit_test(test_channel_change_restarts_its_users),
        cmocka_unit_test(test_interceptor_and_selector_restart_the_source_only),
        cmocka_unit_test(test_groups_and_their_sinks),
        cmocka_unit_test(test_not_running_is_added_again),
        cmocka_unit_test(test_secret_values_not_shown),
        cmocka_unit_test(test_reason_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup_registry, teardown_registry);
}
