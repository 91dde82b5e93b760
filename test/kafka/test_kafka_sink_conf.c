/*
 * The Kafka sink's configuration as users write it, through the real loader and the agent's
 * option parser: Flume's legacy names (brokerList, topic, batchSize, requiredAcks) translated
 * with a warning, serializer.class accepted with a note, kafka.flumeBatchSize flagged, the
 * kafka.producer.* pass-through collected, and bad values rejected naming file:line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "config_model.h"
#include "config_properties.h"
#include "kafka_sink.h"
#include "plugin_registry.h"

static struct registry reg;

static int setup(void **state)
{
    (void)state;
    registry_init(&reg);
    static const char *const files[] = {"sinks/kafka/kafka_sink.so",
                                        "channels/memory/memory_channel.so",
                                        "sources/exec/exec_source.so"};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", BUILD_ROOT, files[i]);
        struct sluice_err err = {0};
        if (registry_load_file(&reg, path, &err) != SLUICE_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    registry_free(&reg);
    return 0;
}

static const char *const base = "a1.sources = r1\n"
                                "a1.channels = c1\n"
                                "a1.sinks = k1\n"
                                "a1.sources.r1.type = exec\n"
                                "a1.sources.r1.command = true\n"
                                "a1.sources.r1.channels = c1\n"
                                "a1.channels.c1.type = memory\n"
                                "a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
                                "a1.sinks.k1.channel = c1\n";

struct built {
    struct conf_set cs;
    struct agent_model m;
};

static void build(struct built *b, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", base, extra);
    struct sluice_err err = {0};
    conf_set_init(&b->cs);
    assert_int_equal(props_parse_buffer(text, strlen(text), "k.conf", &b->cs, &err), SLUICE_OK);
    memset(&b->m, 0, sizeof(b->m));
    b->m.diags.quiet = 1;
    assert_int_equal(model_build(&b->m, &b->cs, "a1", &reg, "k.conf"), SLUICE_OK);
}

static void done(struct built *b)
{
    model_free(&b->m);
    conf_set_free(&b->cs);
}

static const struct kafka_sink_conf *sink_conf(struct built *b)
{
    struct comp *c[2];
    if (model_list(&b->m, COMP_SINK, c, 2) != 1)
        return NULL;
    return c[0]->conf;
}

#define ASSERT_DIAG(b, needle)                                                                     \
    do {                                                                                           \
        if (!diag_contains(&(b)->m.diags, needle)) {                                               \
            for (size_t i_ = 0; i_ < (b)->m.diags.n; i_++)                                         \
                fprintf(stderr, "  diag: %s\n", (b)->m.diags.v[i_].msg);                           \
            fail_msg("no diagnostic contains: %s", needle);                                        \
        }                                                                                          \
    } while (0)

static void test_seed_legacy_names(void **state)
{
    (void)state;
    struct built b;
    build(&b, "a1.sinks.k1.topic = mytopic\n"
              "a1.sinks.k1.brokerList = 10.10.10.230:9092\n"
              "a1.sinks.k1.requiredAcks = 1\n"
              "a1.sinks.k1.batchSize = 20\n"
              "a1.sinks.k1.serializer.class=kafka.serializer.StringEncoder\n");
    assert_int_equal(model_status(&b.m), 0);
    const struct kafka_sink_conf *c = sink_conf(&b);
    assert_non_null(c);
    assert_string_equal(c->topic, "mytopic");
    assert_string_equal(c->bootstrap_servers, "10.10.10.230:9092");
    assert_string_equal(c->acks, "1");
    assert_int_equal(c->batch_size, 20);
    ASSERT_DIAG(&b, "k.conf:10: a1.sinks.k1.topic is deprecated. Please use the parameter "
                    "kafka.topic");
    ASSERT_DIAG(&b, "k.conf:11: a1.sinks.k1.brokerList is deprecated. Please use the parameter "
                    "kafka.bootstrap.servers");
    ASSERT_DIAG(&b, "k.conf:12: a1.sinks.k1.requiredAcks is deprecated. Please use the "
                    "parameter kafka.producer.acks");
    ASSERT_DIAG(&b, "k.conf:13: a1.sinks.k1.batchSize is deprecated. Please use the parameter "
                    "flumeBatchSize");
    ASSERT_DIAG(&b, "k.conf:14: a1.sinks.k1.serializer.class is accepted and ignored");
    done(&b);
}

static void test_new_names_and_passthrough(void **state)
{
    (void)state;
    struct built b;
    build(&b, "a1.sinks.k1.kafka.topic = t\n"
              "a1.sinks.k1.kafka.bootstrap.servers = h:1\n"
              "a1.sinks.k1.flumeBatchSize = 50\n"
              "a1.sinks.k1.kafka.producer.acks = all\n"
              "a1.sinks.k1.kafka.producer.linger.ms = 7\n"
              "a1.sinks.k1.kafka.producer.compression.type = lz4\n"
              "a1.sinks.k1.batchSize = 10\n");
    assert_int_equal(model_status(&b.m), 0);
    const struct kafka_sink_conf *c = sink_conf(&b);
    assert_string_equal(c->acks, "all");
    assert_int_equal(c->batch_size, 50); /* the new name wins over the legacy one */
    ASSERT_DIAG(&b, "a1.sinks.k1.batchSize is deprecated and ignored because flumeBatchSize is "
                    "also set");
    assert_int_equal(c->producer.n, 2);
    assert_string_equal(c->producer.items[0].key, "linger.ms");
    assert_string_equal(c->producer.items[0].value, "7");
    assert_string_equal(c->producer.items[0].origin, "k.conf:14");
    assert_string_equal(c->producer.items[1].key, "compression.type");
    done(&b);
}

static void test_prefixed_batch_size_flagged(void **state)
{
    (void)state;
    struct built b;
    build(&b, "a1.sinks.k1.kafka.bootstrap.servers = h:1\n"
              "a1.sinks.k1.kafka.flumeBatchSize = 500\n");
    assert_int_equal(model_status(&b.m), 0);
    ASSERT_DIAG(&b, "k.conf:11: a1.sinks.k1.kafka.flumeBatchSize is accepted and ignored");
    assert_int_equal(sink_conf(&b)->batch_size, 100);
    done(&b);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct built b;
    build(&b, "a1.sinks.k1.kafka.bootstrap.servers = h:1\n"
              "a1.sinks.k1.flumeBatchSize = twenty\n");
    ASSERT_DIAG(&b, "k.conf:11: a1.sinks.k1.flumeBatchSize: 'twenty' is not a whole number");
    assert_null(sink_conf(&b));
    done(&b);

    build(&b, "a1.sinks.k1.kafka.bootstrap.servers = h:1\n"
              "a1.sinks.k1.allowTopicOverride = maybe\n");
    ASSERT_DIAG(&b, "k.conf:11: a1.sinks.k1.allowTopicOverride: must be true or false");
    done(&b);

    /* a batch larger than the channel's transactionCapacity (100 by default) */
    build(&b, "a1.sinks.k1.kafka.bootstrap.servers = h:1\n"
              "a1.sinks.k1.batchSize = 1000\n");
    ASSERT_DIAG(&b, "k.conf:11: a1.sinks.k1.batchSize: batch size 1000 is larger than the "
                    "transactionCapacity 100 of channel 'c1'");
    assert_null(sink_conf(&b));
    done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_legacy_names),
        cmocka_unit_test(test_new_names_and_passthrough),
        cmocka_unit_test(test_prefixed_batch_size_flagged),
        cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests_name("kafka_sink_conf", tests, setup, teardown);
}
