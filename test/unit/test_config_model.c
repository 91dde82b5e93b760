/*
 * Validation as Flume does it: every drop and fatal case of config_model.c, checked on small
 * agent files against purpose-built fixture plugins (test/unit/fixtures).
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

static void build(struct built *b, const char *text, const char *agent)
{
    struct sluice_err err = {0};
    conf_set_init(&b->cs);
    assert_int_equal(props_parse_buffer(text, strlen(text), "t.conf", &b->cs, &err), SLUICE_OK);
    memset(&b->m, 0, sizeof(b->m));
    b->m.diags.quiet = 1;
    assert_int_equal(model_build(&b->m, &b->cs, agent, &reg, "t.conf"), SLUICE_OK);
}

static void done(struct built *b)
{
    model_free(&b->m);
    conf_set_free(&b->cs);
}

static void dump(const struct built *b)
{
    for (size_t i = 0; i < b->m.diags.n; i++)
        fprintf(stderr, "  diag: %s\n", b->m.diags.v[i].msg);
}

#define ASSERT_DIAG(b, needle)                                                                     \
    do {                                                                                           \
        if (!diag_contains(&(b)->m.diags, needle)) {                                               \
            dump(b);                                                                               \
            fail_msg("no diagnostic contains: %s", needle);                                        \
        }                                                                                          \
    } while (0)

static const char *const good = "a1.sources = r1\n"
                                "a1.channels = c1\n"
                                "a1.sinks = k1\n"
                                "a1.sources.r1.type = fsource\n"
                                "a1.sources.r1.command = tail -F /x\n"
                                "a1.sources.r1.channels = c1\n"
                                "a1.sources.r1.interceptors = i1\n"
                                "a1.sources.r1.interceptors.i1.type = finterceptor\n"
                                "a1.channels.c1.type = fchannel\n"
                                "a1.sinks.k1.type = fsink\n"
                                "a1.sinks.k1.channel = c1\n";

static void test_good_config(void **state)
{
    (void)state;
    struct built b;
    build(&b, good, "a1");
    if (b.m.diags.n)
        dump(&b);
    assert_int_equal(model_status(&b.m), 0);
    struct comp *c[4];
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 4), 1);
    assert_string_equal(c[0]->name, "r1");
    assert_int_equal(c[0]->n_interceptors, 1);
    assert_int_equal(c[0]->batch_size, 20);
    assert_int_equal(model_list(&b.m, COMP_CHANNEL, c, 4), 1);
    assert_int_equal(c[0]->tx_capacity, 100);
    assert_int_equal(model_list(&b.m, COMP_SINK, c, 4), 1);
    assert_int_equal(b.m.diags.n, 0);
    done(&b);
}

static void test_other_agents_ignored(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text),
             "%s"
             "a2.sources = x\n"
             "a2.sources.x.type = nosuchtype\n"
             "HELPER_VAR = 5\n",
             good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    assert_int_equal(b.m.diags.n, 0);
    done(&b);
}

static void test_agent_not_found(void **state)
{
    (void)state;
    struct built b;
    build(&b, good, "agentX");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "No configuration found for agent 'agentX' in t.conf");
    ASSERT_DIAG(&b, "agents defined there: a1");
    done(&b);
}

static void test_empty_value_ignored(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sources.r1.flag =   \n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    ASSERT_DIAG(&b, "t.conf:12: Configuration property ignored: a1.sources.r1.flag = ");
    done(&b);
}

static void test_no_type_dropped(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1 k2\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.command = x\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.channels.c1.type = fchannel\n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n"
                       "a1.sinks.k2.channel = c1\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "sink 'k2' has no type and has been removed");
    struct comp *c[4];
    assert_int_equal(model_list(&b.m, COMP_SINK, c, 4), 1);
    done(&b);
}

static void test_source_without_channels(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1 r2\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.command = x\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.sources.r2.type = fsource\n"
                       "a1.sources.r2.command = x\n"
                       "a1.sources.r2.channel = c1\n"
                       "a1.channels.c1.type = fchannel\n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "source 'r2' has no channels");
    ASSERT_DIAG(&b, "sources take `channels` (plural)");
    done(&b);
}

static void test_sink_without_channel(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1 k2\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.command = x\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.channels.c1.type = fchannel\n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n"
                       "a1.sinks.k2.type = fsink\n"
                       "a1.sinks.k2.channels = c1\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "t.conf:11: a1.sinks.k2.channels: sinks take `channel` (singular)");
    done(&b);
}

static void test_sink_channel_not_active(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1 k2\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.command = x\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.channels.c1.type = fchannel\n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n"
                       "a1.sinks.k2.type = fsink\n"
                       "a1.sinks.k2.channel = c9\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "t.conf:11: a1.sinks.k2.channel: channel 'c9' is not in the active set");
    done(&b);
}

static void test_unused_channel_removed(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.channels = c1 c2\na1.channels.c2.type = fchannel\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "Channel c2 has no components connected and has been removed.");
    struct comp *c[4];
    assert_int_equal(model_list(&b.m, COMP_CHANNEL, c, 4), 1);
    done(&b);
}

static void test_batch_larger_than_txcap(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text),
             "%sa1.channels.c1.transactionCapacity = 10\na1.sources.r1.batchSize = 50\n"
             "a1.sinks.k1.batchSize = 10\n",
             good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "t.conf:13: a1.sources.r1.batchSize: batch size 50 is larger than the "
                    "transactionCapacity 10 of channel 'c1'");
    struct comp *c[4];
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 4), 0);
    assert_int_equal(model_list(&b.m, COMP_SINK, c, 4), 1);
    done(&b);

    /* the sink's default batchSize (100) is larger than 10 too: nothing is left to run */
    snprintf(text, sizeof(text), "%sa1.channels.c1.transactionCapacity = 10\n", good);
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "sink 'k1' (default batchSize)");
    ASSERT_DIAG(&b, "agent 'a1' has nothing to run after validation");
    done(&b);
}

static void test_unknown_type_fatal(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sources.r1.type = fsourse\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "t.conf:12: a1.sources.r1.type: unknown source type 'fsourse'; did you mean "
                    "'fsource'? (known types: fsource)");
    done(&b);
}

static void test_not_offered_type(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sinks.k1.type = hdfs\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "the Flume sink type 'hdfs' (org.apache.flume.sink.hdfs.HDFSEventSink) is "
                    "not offered by sluice");
    done(&b);
}

static void test_nothing_to_run(void **state)
{
    (void)state;
    const char *text = "a1.channels = c1\n"
                       "a1.channels.c1.type = fchannel\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "agent 'a1' has nothing to run");
    done(&b);

    build(&b, "a1.sources = r1\na1.sources.r1.type = fsource\n", "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "agent 'a1' has no channels");
    done(&b);
}

static void test_bad_number(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.channels.c1.capacity = 10k\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2); /* nothing left to run */
    ASSERT_DIAG(&b, "t.conf:12: a1.channels.c1.capacity: '10k' is not a whole number");
    /* the channel is gone, and with it the source and sink that used it */
    struct comp *c[4];
    assert_int_equal(model_list(&b.m, COMP_CHANNEL, c, 4), 0);
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 4), 0);
    done(&b);

    snprintf(text, sizeof(text), "%sa1.channels.c1.capacity = 0\n", good);
    build(&b, text, "a1");
    ASSERT_DIAG(&b, "a1.channels.c1.capacity: must be between 1 and 1000000000 (got 0)");
    done(&b);
}

static void test_bool_and_enum(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sources.r1.flag = yes\n", good);
    struct built b;
    build(&b, text, "a1");
    ASSERT_DIAG(&b, "a1.sources.r1.flag: must be true or false (got 'yes')");
    done(&b);
    snprintf(text, sizeof(text), "%sa1.sources.r1.mode = turbo\n", good);
    build(&b, text, "a1");
    ASSERT_DIAG(&b, "a1.sources.r1.mode: 'turbo' is not one of: fast, safe");
    done(&b);
    snprintf(text, sizeof(text), "%sa1.sources.r1.mode = SAFE\na1.sources.r1.flag = TRUE\n", good);
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    done(&b);
}

static void test_unknown_key_warns(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sources.r1.batchsize = 5\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    ASSERT_DIAG(&b, "t.conf:12: a1.sources.r1.batchsize: unknown key for fsource source 'r1'");
    done(&b);
}

static void test_types_any_case_and_class_names(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1\n"
                       "a1.sources.r1.type = FSOURCE\n"
                       "a1.sources.r1.command = x\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.sources.r1.interceptors = i1\n"
                       "a1.sources.r1.interceptors.i1.type = "
                       "com.example.FixtureInterceptor$Builder\n"
                       "a1.channels.c1.type = com.example.FixtureChannel\n"
                       "a1.sinks.k1.type = FSink\n"
                       "a1.sinks.k1.channel = c1\n";
    struct built b;
    build(&b, text, "a1");
    if (model_status(&b.m))
        dump(&b);
    assert_int_equal(model_status(&b.m), 0);
    done(&b);
}

static void test_deprecated_unsupported_prefix(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text),
             "%sa1.sources.r1.oldName = 7\na1.sources.r1.legacy.thing = x\n"
             "a1.sources.r1.pass.a = 1\na1.sources.r1.pass.b.c = two\n",
             good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    ASSERT_DIAG(&b, "t.conf:12: a1.sources.r1.oldName is deprecated. Please use the parameter "
                    "newName");
    ASSERT_DIAG(&b, "t.conf:13: a1.sources.r1.legacy.thing is accepted and ignored: it does "
                    "nothing here");
    struct comp *c[2];
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 2), 1);
    struct {
        int64_t batch, capacity, txcap;
        char *command;
        int flag, mode;
        struct sluice_kvlist pass;
    } *conf = c[0]->conf;
    assert_int_equal(conf->capacity, 7);
    assert_string_equal(conf->command, "tail -F /x");
    assert_int_equal(conf->pass.n, 2);
    assert_string_equal(conf->pass.items[0].key, "a");
    assert_string_equal(conf->pass.items[1].key, "b.c");
    assert_string_equal(conf->pass.items[1].value, "two");
    assert_string_equal(conf->pass.items[1].origin, "t.conf:15");
    done(&b);
}

static void test_required_missing(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.channels = c1\n"
                       "a1.channels.c1.type = fchannel\n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "source r1: required key 'command' is missing");
    done(&b);
}

static void test_trim_keys_values(void **state)
{
    (void)state;
    const char *text = "a1.sources = r1\n"
                       "a1.channels = c1\n"
                       "a1.sinks = k1\n"
                       "a1.sources.r1.type = fsource\n"
                       "a1.sources.r1.command = tail -F /x   \n"
                       "a1.sources.r1.channels = c1\t\n"
                       "a1.channels.c1.type = fchannel \n"
                       "a1.sinks.k1.type = fsink\n"
                       "a1.sinks.k1.channel = c1\n";
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    struct comp *c[2];
    model_list(&b.m, COMP_SOURCE, c, 2);
    assert_string_equal(props_get(&c[0]->props, "command"), "tail -F /x");
    done(&b);
}

static void test_interceptor_without_type_drops_source(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), "%sa1.sources.r1.interceptors = i1 i2\n", good);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 1);
    ASSERT_DIAG(&b, "interceptor 'i2' of source 'r1' has no type");
    done(&b);
}

static const char *const two_channels = "a1.sources = r1\n"
                                        "a1.channels = c1 c2\n"
                                        "a1.sinks = k1 k2\n"
                                        "a1.sources.r1.type = fsource\n"
                                        "a1.sources.r1.command = x\n"
                                        "a1.sources.r1.channels = c1 c2\n"
                                        "a1.channels.c1.type = fchannel\n"
                                        "a1.channels.c2.type = fchannel\n"
                                        "a1.sinks.k1.type = fsink\n"
                                        "a1.sinks.k1.channel = c1\n"
                                        "a1.sinks.k2.type = fsink\n"
                                        "a1.sinks.k2.channel = c2\n";

static void test_multiplexing_selector(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text),
             "%sa1.sources.r1.selector.type = multiplexing\n"
             "a1.sources.r1.selector.header = state\n"
             "a1.sources.r1.selector.mapping.CZ = c1\n"
             "a1.sources.r1.selector.mapping.US = c1 c2\n"
             "a1.sources.r1.selector.optional.CZ = c1 c2\n"
             "a1.sources.r1.selector.default = c2\n",
             two_channels);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    struct comp *c[2];
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 2), 1);
    const struct selector_conf *sel = &c[0]->sel;
    assert_int_equal(sel->kind, SEL_MULTIPLEXING);
    assert_string_equal(sel->header, "state");
    assert_int_equal(sel->n_routes, 2);
    assert_string_equal(sel->routes[0].value, "CZ");
    assert_int_equal(sel->routes[0].req, 1);
    assert_int_equal(sel->routes[0].opt, 2); /* c1 is required for CZ, so only c2 is optional */
    assert_int_equal(sel->routes[1].req, 3);
    assert_int_equal(sel->def_req, 2);
    done(&b);

    snprintf(text, sizeof(text),
             "%sa1.sources.r1.selector.type = multiplexing\n"
             "a1.sources.r1.selector.mapping.CZ = c9\n",
             two_channels);
    build(&b, text, "a1");
    ASSERT_DIAG(&b, "a1.sources.r1.selector.mapping.CZ: Selector channel not found: c9");
    assert_int_equal(model_list(&b.m, COMP_SOURCE, c, 2), 0);
    done(&b);

    snprintf(text, sizeof(text), "%sa1.sources.r1.selector.type = com.acme.MySelector\n",
             two_channels);
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "unknown channel selector 'com.acme.MySelector'");
    done(&b);
}

static void test_sink_groups(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text),
             "%sa1.sinkgroups = g1\n"
             "a1.sinkgroups.g1.sinks = k1 k2 k9\n"
             "a1.sinkgroups.g1.processor.type = failover\n"
             "a1.sinkgroups.g1.processor.priority.k1 = 5\n"
             "a1.sinkgroups.g1.processor.priority.k2 = 10\n"
             "a1.sinkgroups.g1.processor.maxpenalty = 2000\n",
             two_channels);
    struct built b;
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 0);
    ASSERT_DIAG(&b, "a1.sinkgroups.g1.sinks: sink 'k9' not found (or removed); left out of "
                    "group g1");
    struct comp *g[2];
    assert_int_equal(model_list(&b.m, COMP_SINKGROUP, g, 2), 1);
    assert_int_equal(g[0]->group.kind, PROC_FAILOVER);
    assert_int_equal(g[0]->group.n_sinks, 2);
    assert_int_equal(g[0]->group.priority[1], 10);
    assert_int_equal(g[0]->group.maxpenalty, 2000);
    done(&b);

    /* duplicate priority: the second sink is not added */
    snprintf(text, sizeof(text),
             "%sa1.sinkgroups = g1\n"
             "a1.sinkgroups.g1.sinks = k1 k2\n"
             "a1.sinkgroups.g1.processor.type = failover\n"
             "a1.sinkgroups.g1.processor.priority.k1 = 5\n"
             "a1.sinkgroups.g1.processor.priority.k2 = 5\n",
             two_channels);
    build(&b, text, "a1");
    ASSERT_DIAG(&b, "Sink k2 not added to the failover group g1 as its priority duplicates "
                    "that of sink k1");
    done(&b);

    /* a sink in two groups, a group without sinks key, a load_balance group of one */
    snprintf(text, sizeof(text),
             "%sa1.sinkgroups = g1 g2 g3\n"
             "a1.sinkgroups.g1.sinks = k1\n"
             "a1.sinkgroups.g2.sinks = k1 k2\n"
             "a1.sinkgroups.g2.processor.type = load_balance\n"
             "a1.sinkgroups.g3.processor.type = failover\n",
             two_channels);
    build(&b, text, "a1");
    assert_int_equal(model_status(&b.m), 2);
    ASSERT_DIAG(&b, "sink 'k1' is in use by another group (g1); left out of g2");
    ASSERT_DIAG(&b, "sink group g2 is a load_balance group with fewer than 2 sinks");
    ASSERT_DIAG(&b, "sink group 'g3' has no `sinks` key");
    done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_other_agents_ignored),
        cmocka_unit_test(test_agent_not_found),
        cmocka_unit_test(test_empty_value_ignored),
        cmocka_unit_test(test_no_type_dropped),
        cmocka_unit_test(test_source_without_channels),
        cmocka_unit_test(test_sink_without_channel),
        cmocka_unit_test(test_sink_channel_not_active),
        cmocka_unit_test(test_unused_channel_removed),
        cmocka_unit_test(test_batch_larger_than_txcap),
        cmocka_unit_test(test_unknown_type_fatal),
        cmocka_unit_test(test_not_offered_type),
        cmocka_unit_test(test_nothing_to_run),
        cmocka_unit_test(test_bad_number),
        cmocka_unit_test(test_bool_and_enum),
        cmocka_unit_test(test_unknown_key_warns),
        cmocka_unit_test(test_types_any_case_and_class_names),
        cmocka_unit_test(test_deprecated_unsupported_prefix),
        cmocka_unit_test(test_required_missing),
        cmocka_unit_test(test_trim_keys_values),
        cmocka_unit_test(test_interceptor_without_type_drops_source),
        cmocka_unit_test(test_multiplexing_selector),
        cmocka_unit_test(test_sink_groups),
    };
    return cmocka_run_group_tests_name("config_model", tests, setup_registry, teardown_registry);
}
