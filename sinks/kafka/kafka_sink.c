/*
 * The kafka sink (Flume's org.apache.flume.sink.kafka.KafkaSink) on librdkafka: creation, the
 * producer's lifecycle, stop, options and descriptor. process() and the batches in flight are
 * in kafka_sink_batches.c; the producer configuration in kafka_sink_conf.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_sink.h"

/* A producer in a fatal state (rare with the idempotent producer, e.g. brokers that do not
 * support it) never recovers: replace it between batches. Also retries a failed creation. */
int ks_ensure_producer(struct kafka_sink *ks, struct sluice_err *err)
{
    if (ks->rk) {
        char why[256];
        rd_kafka_resp_err_t fe = rd_kafka_fatal_error(ks->rk, why, sizeof(why));
        if (!fe)
            return SLUICE_OK;
        if (ks->idempotent && ks->idem_mode == KS_IDEM_AUTO &&
            (fe == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
             fe == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED))
            ks->fallback = 1;
        ks->host->log(ks->ctx, SLUICE_LOG_ERROR, "the Kafka producer failed for good (%s): %s%s",
                      rd_kafka_err2name(fe), why,
                      ks->fallback ? "; the brokers do not allow idempotent producing, so a new "
                                     "producer continues without it (duplicates become possible)"
                                   : "; starting a new producer");
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(ks->rk, 1000);
        ks_producer_destroy(ks);
    }
    return ks_producer_new(ks, ks->fallback, err);
}

static void ks_destroy(void *self);

static int ks_create(void **self, const void *confp, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct kafka_sink_conf *c = confp;
    *self = NULL;
    if (!c->bootstrap_servers || !*c->bootstrap_servers)
        return host->err_set(err, SLUICE_ECONFIG,
                             "Bootstrap Servers must be specified (kafka.bootstrap.servers, or "
                             "the legacy brokerList)");
    const char *topic = c->topic ? c->topic : KS_DEFAULT_TOPIC;
    if (!*topic || (strlen(topic) > KS_TOPIC_MAX && !strstr(topic, "%{")))
        return host->err_set(err, SLUICE_ECONFIG,
                             "kafka.topic '%.64s...' is not a topic name (1..%d characters)", topic,
                             KS_TOPIC_MAX);

    struct kafka_sink *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return host->err_set(err, SLUICE_ENOMEM, "out of memory");
    ks->host = host;
    ks->ctx = ctx;
    ks->conf = c;
    ks->topic = topic;
    ks->topic_has_escapes = c->allow_topic_override && strstr(topic, "%{") != NULL;
    if (!c->topic)
        host->log(ctx, SLUICE_LOG_WARN, "Topic was not specified. Using %s as the topic.",
                  KS_DEFAULT_TOPIC);
    else if (c->allow_topic_override)
        host->log(ctx, SLUICE_LOG_INFO,
                  "Using the static topic %s. This may be overridden by event headers", topic);
    else
        host->log(ctx, strstr(topic, "%{") ? SLUICE_LOG_WARN : SLUICE_LOG_INFO,
                  "Using the static topic %s (allowTopicOverride = false, so %%{header} is not "
                  "substituted either)",
                  topic);

    int rc = SLUICE_OK;
    ks->inflight_max = c->inflight_batches < 1 ? 1 : (size_t)c->inflight_batches;
    if (ks->inflight_max > KS_INFLIGHT_MAX)
        ks->inflight_max = KS_INFLIGHT_MAX;
    if (host->abi_minor < 1 || host->struct_size < sizeof(struct sluice_host) ||
        !host->tx_take_nowait)
        ks->inflight_max = 1; /* an older agent: one transaction at a time */
    ks->ring_size = ks->inflight_max;
    for (size_t i = 0; i < ks->ring_size && rc == SLUICE_OK; i++) {
        ks->slots[i].evs = calloc((size_t)c->batch_size, sizeof(*ks->slots[i].evs));
        if (!ks->slots[i].evs)
            rc = host->err_set(err, SLUICE_ENOMEM, "out of memory for a batch of %lld events",
                               (long long)c->batch_size);
    }
    if (rc == SLUICE_OK) {
        ks->run = calloc((size_t)c->batch_size, sizeof(*ks->run));
        ks->run_ev = calloc((size_t)c->batch_size, sizeof(*ks->run_ev));
        if (!ks->run || !ks->run_ev)
            rc = host->err_set(err, SLUICE_ENOMEM, "out of memory for a batch of %lld events",
                               (long long)c->batch_size);
    }
    if (rc == SLUICE_OK)
        rc = ks_conf_build(ks, err);
    if (rc != SLUICE_OK) {
        ks_destroy(ks);
        return rc;
    }
    *self = ks;
    return SLUICE_OK;
}

static int ks_start(void *self, struct sluice_err *err)
{
    struct kafka_sink *ks = self;
    if (ks->rk) /* started again after stop(): keep the producer */
        return SLUICE_OK;
    return ks_producer_new(ks, ks->fallback, err);
}

/* Every committed batch was confirmed, so what is still in librdkafka belongs to batches that
 * were rolled back: drop what has not left, give in-flight records a bounded moment. */
static void ks_stop(void *self)
{
    struct kafka_sink *ks = self;
    if (!ks || !ks->rk)
        return;
    ks_settle_on_stop(ks);
    if (!ks->rk) /* settling gave up on records and discarded the producer */
        return;
    int left = rd_kafka_outq_len(ks->rk);
    if (left > 0) {
        ks->host->log(ks->ctx, SLUICE_LOG_INFO,
                      "stopping: %d message(s) or request(s) of rolled-back batches still in "
                      "the producer; dropping what has not been sent",
                      left);
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
        rd_kafka_flush(ks->rk, KS_STOP_GRACE_MS);
    }
    uint64_t stale = ks->stale_delivered;
    if (stale)
        ks->host->log(ks->ctx, SLUICE_LOG_WARN,
                      "%llu record(s) of rolled-back batches reached Kafka anyway; they were "
                      "sent again, so the topic holds them twice",
                      (unsigned long long)stale);
}

static void ks_destroy(void *self)
{
    struct kafka_sink *ks = self;
    if (!ks)
        return;
    if (ks->rk) {
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        ks_producer_destroy(ks);
    }
    if (ks->rkconf)
        rd_kafka_conf_destroy(ks->rkconf);
    for (size_t i = 0; i < KS_INFLIGHT_MAX; i++)
        free(ks->slots[i].evs);
    free(ks->avro_buf);
    free(ks->run);
    free(ks->run_ev);
    free(ks);
}

/* ---- Options and descriptor ------------------------------------------------------------- */

#define KS_OFF(f) offsetof(struct kafka_sink_conf, f)

static const struct sluice_option kafka_sink_options[] = {
    {.name = "kafka.bootstrap.servers",
     .type = SLUICE_OPT_STRING,
     .deprecated = "brokerList",
     .desc = "Kafka brokers, host:port[,host:port...]. Required.",
     .offset = KS_OFF(bootstrap_servers)},
    {.name = "kafka.topic",
     .type = SLUICE_OPT_STRING,
     .deprecated = "topic",
     .desc = "Topic to publish to (default default-flume-topic); %{header} is replaced by that "
             "header's value when allowTopicOverride is true.",
     .offset = KS_OFF(topic)},
    {.name = "flumeBatchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .deprecated = "batchSize",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .desc = "Events per channel transaction and per Kafka flush.",
     .offset = KS_OFF(batch_size)},
    {.name = "inflightBatches",
     .type = SLUICE_OPT_INT,
     .def = "4",
     .min = 1,
     .max = KS_INFLIGHT_MAX,
     .desc = "Channel batches produced before the oldest must be confirmed (sluice only). Each "
             "is its own channel transaction, committed when Kafka confirmed all of it, oldest "
             "first; 1 is Flume's produce-wait-commit per batch. Needs a channel that can be "
             "read without waiting (memory, file); others use 1.",
     .offset = KS_OFF(inflight_batches)},
    {.name = "kafka.producer.acks",
     .type = SLUICE_OPT_STRING,
     .deprecated = "requiredAcks",
     .desc = "all, -1, 0 or 1 (Flume's default 1). While idempotent producing is on (the "
             "default) 1 is raised to all; 0 turns idempotence off.",
     .offset = KS_OFF(acks)},
    {.name = "useFlumeEventFormat",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Send the Avro binary AvroFlumeEvent (headers and body) instead of the bare body.",
     .offset = KS_OFF(use_flume_event_format)},
    {.name = "defaultPartitionId",
     .type = SLUICE_OPT_INT,
     .def = "-1",
     .min = -1,
     .max = INT32_MAX,
     .desc = "Partition for every event (-1: the librdkafka partitioner decides).",
     .offset = KS_OFF(default_partition_id)},
    {.name = "partitionIdHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header whose integer value selects the partition (overrides defaultPartitionId); "
             "a bad value is logged and the event sent with the default partitioning.",
     .offset = KS_OFF(partition_id_header)},
    {.name = "allowTopicOverride",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Let the topicHeader header choose the topic of an event.",
     .offset = KS_OFF(allow_topic_override)},
    {.name = "topicHeader",
     .type = SLUICE_OPT_STRING,
     .def = "topic",
     .desc = "Header naming the topic when allowTopicOverride is true.",
     .offset = KS_OFF(topic_header)},
    {.name = "timestampHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header holding the record timestamp in epoch milliseconds.",
     .offset = KS_OFF(timestamp_header)},
    {.name = "header.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "header.<flumeHeader> = <kafkaHeader>: copy a Flume header into a Kafka record "
             "header.",
     .offset = KS_OFF(headers)},
    {.name = "kafka.producer.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "librdkafka producer properties; Java names with a librdkafka equivalent are "
             "translated (buffer.memory, max.request.size, ...), others are refused.",
     .offset = KS_OFF(producer)},
    {.name = "kafka.flumeBatchSize",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Flume ignores this key (its guide is wrong): use flumeBatchSize."},
    {.name = "serializer.class",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Java serializer classes are not used; sluice sends the event body as bytes."},
    {.name = "key.serializer.class",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Java serializer classes are not used; sluice sends the key header as bytes."},
    {.name = NULL},
};

static const struct sluice_sink_ops kafka_sink_ops = {
    .create = ks_create,
    .start = ks_start,
    .process = ks_process,
    .stop = ks_stop,
    .destroy = ks_destroy,
};

static const char *const kafka_sink_aliases[] = {"org.apache.flume.sink.kafka.KafkaSink", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "kafka"),
    .aliases = kafka_sink_aliases,
    .summary = "Publishes events to Apache Kafka (librdkafka); commits only what Kafka acked",
    .options = kafka_sink_options,
    .conf_size = sizeof(struct kafka_sink_conf),
    .ops = &kafka_sink_ops,
};
