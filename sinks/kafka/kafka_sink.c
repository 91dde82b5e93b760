/*
 * The kafka sink (Flume's org.apache.flume.sink.kafka.KafkaSink) on librdkafka. One process()
 * call is one channel transaction: take up to flumeBatchSize events, produce them, wait for
 * every delivery report of this batch, and commit only if all succeeded; otherwise roll back so
 * the channel keeps the events, in order, for the next try. Options and descriptor at the end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_sink.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Delivery reports arrive inside rd_kafka_poll/flush. A report whose opaque is not the current
 * batch id belongs to a batch that was already rolled back (it is counted, nothing more). */
void ks_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_sink *ks = opaque;
    struct ks_batch *b = &ks->batch;
    if ((uintptr_t)m->_private != b->id) {
        ks->stale_reports++;
        ks->stale_delivered += !m->err;
    } else if (!m->err) {
        b->outstanding--;
        b->ok++;
    } else {
        b->outstanding--;
        b->failed++;
        if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
            b->possibly_persisted++;
        if (!b->first_err) {
            b->first_err = m->err;
            snprintf(b->first_errstr, sizeof(b->first_errstr), "%s [%d]: %s",
                     rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err));
        }
    }
}

static struct ks_batch batch_snapshot(struct kafka_sink *ks)
{
    return ks->batch;
}

/* Produce one record, polling while librdkafka's queue is full. */
static int produce_one(struct kafka_sink *ks, struct ks_record *r, int64_t deadline,
                       struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    for (;;) {
        ks->batch.outstanding++;
        uintptr_t id = ks->batch.id;
        /* F_COPY: librdkafka puts the copy in the same allocation as its message, and the
         * event may go back to the channel (rollback) while a message is still in flight. */
        rd_kafka_resp_err_t e = rd_kafka_producev(
            ks->rk, RD_KAFKA_V_TOPIC(r->topic), RD_KAFKA_V_PARTITION(r->partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
            RD_KAFKA_V_KEY(r->key, r->key ? strlen(r->key) : 0),
            RD_KAFKA_V_TIMESTAMP(r->timestamp_ms), RD_KAFKA_V_HEADERS(r->headers),
            RD_KAFKA_V_OPAQUE((void *)id), RD_KAFKA_V_END);
        if (!e) {
            r->headers = NULL; /* librdkafka owns them now */
            return SLUICE_OK;
        }
        ks->batch.outstanding--;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(ks->rk, 50);
            if (h->stopping(ks->ctx) || mono_ms() >= deadline)
                return h->err_set(err, SLUICE_EDELIVERY,
                                  "the producer queue stayed full (queue.buffering.max.*)%s",
                                  h->stopping(ks->ctx) ? " until the agent stopped" : "");
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION && r->partition_from_header) {
            h->log(ks->ctx, SLUICE_LOG_ERROR,
                   "header %s selects partition %d, which topic %s does not have; the event "
                   "goes to the %s partition instead",
                   ks->conf->partition_id_header, (int)r->partition, r->topic,
                   ks->conf->default_partition_id >= 0 ? "defaultPartitionId" : "partitioner's");
            r->partition = ks->conf->default_partition_id >= 0
                               ? (int32_t)ks->conf->default_partition_id
                               : RD_KAFKA_PARTITION_UA;
            r->partition_from_header = 0;
            continue;
        }
        return h->err_set(err, SLUICE_EDELIVERY, "cannot produce to %s [%d]: %s", r->topic,
                          (int)r->partition, rd_kafka_err2str(e));
    }
}

/* Wait until every produced message of the batch has a report, or give up (agent stopping,
 * or far past message.timeout.ms). Returns non-zero when it gave up. */
static int wait_reports(struct kafka_sink *ks, int failing, int64_t deadline, size_t *abandoned)
{
    int64_t stop_deadline = 0;
    int purged = 0;
    for (;;) {
        struct ks_batch b = batch_snapshot(ks);
        if (b.outstanding == 0)
            return 0;
        if ((failing || b.failed) && !purged) {
            /* the batch will be rolled back: what has not left yet must not leave later */
            rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
            purged = 1;
        }
        rd_kafka_flush(ks->rk, 100); /* serves the delivery reports; ignores linger.ms */
        int64_t now = mono_ms();
        if (!stop_deadline && ks->host->stopping(ks->ctx))
            stop_deadline = now + KS_STOP_GRACE_MS;
        if ((stop_deadline && now >= stop_deadline) || now >= deadline) {
            rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
            *abandoned = ks->batch.outstanding;
            ks->batch.id++; /* later reports are stale */
            return 1;
        }
    }
}

static int send_batch(struct kafka_sink *ks, size_t n, struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    uintptr_t next_id = ks->batch.id + 1;
    memset(&ks->batch, 0, sizeof(ks->batch));
    ks->batch.id = next_id;

    int64_t deadline =
        ks->msg_timeout_ms > 0 ? mono_ms() + ks->msg_timeout_ms + KS_WAIT_MARGIN_MS : INT64_MAX;
    int rc = SLUICE_OK;
    for (size_t i = 0; i < n && rc == SLUICE_OK; i++) {
        struct ks_record r;
        rc = ks_record_build(ks, ks->evs[i], &r, err);
        if (rc == SLUICE_OK)
            rc = produce_one(ks, &r, deadline, err);
        if (r.headers)
            rd_kafka_headers_destroy(r.headers);
    }

    size_t abandoned = 0;
    if (wait_reports(ks, rc != SLUICE_OK, deadline, &abandoned)) {
        h->log(ks->ctx, SLUICE_LOG_WARN,
               "gave up waiting for %zu delivery report(s)%s; those records may still reach "
               "Kafka and will be sent again with the rolled-back batch",
               abandoned, h->stopping(ks->ctx) ? " because the agent is stopping" : "");
        if (rc == SLUICE_OK)
            rc = h->err_set(err, SLUICE_EDELIVERY, "%zu of %zu events unconfirmed when %s",
                            abandoned, n,
                            h->stopping(ks->ctx) ? "the agent stopped" : "the wait timed out");
    }
    struct ks_batch b = batch_snapshot(ks);
    if (rc == SLUICE_OK && b.failed) {
        char extra[96] = "";
        if (b.possibly_persisted)
            snprintf(extra, sizeof(extra), "; %zu may have been written and will be sent again",
                     b.possibly_persisted);
        rc = h->err_set(err, SLUICE_EDELIVERY, "%zu of %zu events not delivered (%s)%s", b.failed,
                        n, b.first_errstr, extra);
    }
    return rc;
}

/* A producer in a fatal state (rare with the idempotent producer, e.g. brokers that do not
 * support it) never recovers: replace it between batches. Also retries a failed creation. */
static int ensure_producer(struct kafka_sink *ks, struct sluice_err *err)
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
        rd_kafka_destroy(ks->rk);
        ks->rk = NULL;
    }
    return ks_producer_new(ks, ks->fallback, err);
}

static int ks_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct kafka_sink *ks = self;
    const struct sluice_host *h = ks->host;
    int rc = ensure_producer(ks, err);
    if (rc != SLUICE_OK)
        return rc;

    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return h->err_set(err, SLUICE_ENOMEM, "cannot begin a channel transaction");
    size_t n = 0;
    size_t max = (size_t)ks->conf->batch_size;
    rc = h->tx_take(tx, ks->evs, max, &n);
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return h->err_set(err, rc, "taking events from the channel failed (%d)", rc);
    }
    /* The agent counts the batch (Empty/Underflow/Complete), EventDrainAttempt/Success and
     * Rollback from this transaction itself; the sink adds only what it alone knows. */
    if (n == 0) {
        if (h->tx_commit(tx, err) != SLUICE_OK)
            h->tx_rollback(tx);
        h->tx_end(tx);
        return SLUICE_BACKOFF;
    }
    int64_t t0 = mono_ms();
    rc = send_batch(ks, n, err);
    if (rc == SLUICE_OK) {
        h->counter_add(ks->ctx, SLUICE_CTR_KAFKA_EVENT_SEND_TIMER, (uint64_t)(mono_ms() - t0));
        /* the channel frees the taken events on commit and keeps them on rollback */
        rc = h->tx_commit(tx, err);
    } else if (err) {
        /* Flume's words; the agent's sink runner logs it (rate-limited) and backs off */
        char why[SLUICE_ERR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err->msg);
        h->err_set(err, rc, "Failed to publish events: %.480s", why);
    }
    if (rc != SLUICE_OK)
        h->tx_rollback(tx);
    h->tx_end(tx);
    return rc == SLUICE_OK ? SLUICE_READY : rc;
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
    ks->evs = calloc((size_t)c->batch_size, sizeof(*ks->evs));
    if (!ks->evs)
        rc = host->err_set(err, SLUICE_ENOMEM, "out of memory for a batch of %lld events",
                           (long long)c->batch_size);
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
        rd_kafka_destroy(ks->rk);
    }
    if (ks->rkconf)
        rd_kafka_conf_destroy(ks->rkconf);
    free(ks->evs);
    free(ks->avro_buf);
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
