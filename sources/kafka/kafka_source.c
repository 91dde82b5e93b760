/*
 * The kafka source (Flume's org.apache.flume.source.kafka.KafkaSource) on librdkafka's
 * high-level consumer. Pollable: one process() call reads one batch (up to batchSize records,
 * for at most batchDurationMillis after its first record, ending early once the topic goes
 * quiet), hands it to host->emit() - which returns only when every required channel committed
 * it - and only then commits the batch's offsets synchronously. A refused batch is rewound and
 * read again; a crash re-reads what was not committed. Options and descriptor at the end.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_source.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Errors the consumer reports in place of a record (unknown topic, broker trouble, ...): the
 * same error is logged at most every KSRC_WARN_INTERVAL_MS. */
static void poll_error(struct kafka_source *s, const rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return;
    int64_t now = mono_ms();
    enum sluice_level l = m->err == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN;
    if ((int)m->err == s->last_poll_err && now - s->last_poll_warn_ms < KSRC_WARN_INTERVAL_MS)
        l = SLUICE_LOG_DEBUG;
    else
        s->last_poll_warn_ms = now;
    s->last_poll_err = (int)m->err;
    if (s->host->log_enabled(s->ctx, l))
        s->host->log(s->ctx, l, "Kafka consumer: %s%s%s%s", rd_kafka_message_errstr(m),
                     m->rkt ? " (topic " : "", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                     m->rkt ? ")" : "");
}

static int add_record(struct kafka_source *s, rd_kafka_message_t *m, struct sluice_err *err)
{
    size_t tp = ksrc_tp_get(&s->batch_tps, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    struct sluice_event *ev = tp == (size_t)-1 ? NULL : ksrc_record_event(s, m);
    if (!ev)
        return s->host->err_set(err, SLUICE_ENOMEM,
                                "out of memory for the record at %s [%d] offset %" PRId64,
                                rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset);
    s->batch[s->n_batch++] = (struct ksrc_pending){ev, tp};
    s->batch_tps.v[tp].next = m->offset + 1;
    return SLUICE_OK;
}

/* Read one batch into s->batch. Sets *empty when a poll came back with nothing. */
static int read_batch(struct kafka_source *s, int *empty, struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    size_t max = (size_t)s->conf->batch_size;
    int64_t deadline = mono_ms() + s->conf->batch_duration_ms;
    *empty = 0;
    s->rebalanced = 0;
    while (s->n_batch < max && !h->stopping(s->ctx)) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(
            s->rk, (int)(left < KSRC_POLL_SLICE_MS ? left : KSRC_POLL_SLICE_MS));
        if (!m) {
            if (s->rebalanced)
                break; /* as Flume: a rebalance ends the batch */
            if (s->n_batch > 0) {
                *empty = 1; /* the topic went quiet: hand over what we have */
                break;
            }
            continue;
        }
        if (m->err) {
            poll_error(s, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        int rc = add_record(s, m, err);
        rd_kafka_message_destroy(m);
        if (rc != SLUICE_OK)
            return rc;
        if (s->n_batch == 1) /* batchDurationMillis counts from the batch's first record */
            deadline = mono_ms() + s->conf->batch_duration_ms;
        if (s->rebalanced)
            break;
    }
    if (s->n_batch == 0 && !s->rebalanced && !h->stopping(s->ctx))
        *empty = 1;
    return SLUICE_OK;
}

/*
 * An earlier commit is still refused (typically while the group rebalances): emitting more
 * would only widen what another member reads again, so nothing new is read until the commit
 * goes through. Polling goes on, because the rebalance callback that settles the group only
 * runs inside the poll; a record that arrives meanwhile is put back (its partition rewound to
 * it) for later.
 */
static int hold(struct kafka_source *s)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, KSRC_POLL_SLICE_MS);
    if (!m)
        return SLUICE_READY;
    if (m->err) {
        poll_error(s, m);
    } else {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        if (l) {
            rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)
                ->offset = m->offset;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, l, KSRC_SEEK_TIMEOUT_MS);
            if (e) {
                s->host->log(s->ctx, SLUICE_LOG_WARN, "rewinding %s [%d] to offset %" PRId64 ": %s",
                             rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset,
                             rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
            rd_kafka_topic_partition_list_destroy(l);
        }
        s->host->sleep_ms(s->ctx, KSRC_POLL_SLICE_MS); /* at most ~10 re-fetches a second */
    }
    rd_kafka_message_destroy(m);
    return SLUICE_READY;
}

static void warn_commit(struct kafka_source *s, const char *msg)
{
    int64_t now = mono_ms();
    if (now - s->last_commit_warn_ms >= KSRC_WARN_INTERVAL_MS) {
        s->last_commit_warn_ms = now;
        s->host->log(s->ctx, SLUICE_LOG_WARN, "%s", msg);
    }
}

static int ksrc_process(void *self, struct sluice_err *err)
{
    struct kafka_source *s = self;
    const struct sluice_host *h = s->host;
    if (h->stopping(s->ctx))
        return SLUICE_READY;
    if (!s->rk)
        return h->err_set(err, SLUICE_ESTATE, "the Kafka consumer is not running");
    if (s->uncommitted.n) { /* an earlier commit failed: it goes through before reading more */
        struct sluice_err e = {0};
        if (ksrc_commit(s, &e) != SLUICE_OK) {
            warn_commit(s, e.msg);
            return hold(s);
        }
    }

    int64_t t0 = mono_ms();
    int empty;
    int rc = read_batch(s, &empty, err);
    if (empty)
        h->counter_add(s->ctx, SLUICE_CTR_KAFKA_EMPTY, 1);
    if (rc != SLUICE_OK) {
        ksrc_rewind_batch(s);
        ksrc_drop_batch(s);
        return rc;
    }
    if (s->n_batch == 0) {
        ksrc_tp_clear(&s->batch_tps);
        return empty ? SLUICE_BACKOFF : SLUICE_READY;
    }
    h->counter_add(s->ctx, SLUICE_CTR_KAFKA_EVENT_GET_TIMER, (uint64_t)(mono_ms() - t0));

    size_t n = s->n_batch;
    for (size_t i = 0; i < n; i++)
        s->evs[i] = s->batch[i].ev;
    s->n_batch = 0; /* the agent owns the events now, whatever emit returns */
    rc = h->emit(s->ctx, s->evs, n, err);
    if (rc != SLUICE_OK) {
        /* nothing is committed, and the records are read again from the batch's start */
        ksrc_rewind_batch(s);
        ksrc_tp_clear(&s->batch_tps);
        if (rc == SLUICE_ESTOPPED)
            return SLUICE_READY;
        char why[SLUICE_ERR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err->msg);
        return h->err_set(err, rc,
                          "KafkaSource: the channel did not take a batch of %zu events (%.400s); "
                          "their offsets are not committed and the records are read again",
                          n, why);
    }
    rc = ksrc_tp_merge_uncommitted(s);
    ksrc_tp_clear(&s->batch_tps);
    if (rc != SLUICE_OK)
        return h->err_set(err, rc,
                          "out of memory recording offsets; the batch of %zu events is "
                          "in the channel but will be read again after a restart",
                          n);
    /* a refused commit (say, during a rebalance) is retried by the next call (which reads
     * nothing new until it succeeds) and by the rebalance callback */
    struct sluice_err e = {0};
    if (ksrc_commit(s, &e) != SLUICE_OK)
        warn_commit(s, e.msg);
    return SLUICE_READY;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void ksrc_destroy(void *self);

static int ksrc_create(void **self, const void *confp, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct kafka_source_conf *c = confp;
    *self = NULL;
    struct kafka_source *s = calloc(1, sizeof(*s));
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "out of memory");
    s->host = host;
    s->ctx = ctx;
    s->conf = c;
    size_t n = c->batch_size > 0 ? (size_t)c->batch_size : 1;
    s->batch = calloc(n, sizeof(*s->batch));
    s->evs = calloc(n, sizeof(*s->evs));
    int rc = SLUICE_OK;
    if (!s->batch || !s->evs)
        rc = host->err_set(err, SLUICE_ENOMEM, "out of memory for a batch of %zu events", n);
    if (rc == SLUICE_OK)
        rc = ksrc_conf_build(s, err);
    if (rc != SLUICE_OK) {
        ksrc_destroy(s);
        return rc;
    }
    *self = s;
    return SLUICE_OK;
}

static int ksrc_start(void *self, struct sluice_err *err)
{
    struct kafka_source *s = self;
    const struct sluice_host *h = s->host;
    if (s->rk)
        return SLUICE_OK;
    char errstr[512];
    rd_kafka_conf_t *rc = rd_kafka_conf_dup(s->rkconf);
    if (!rc)
        return h->err_set(err, SLUICE_ENOMEM, "out of memory for the Kafka consumer");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(rc);
        return h->err_set(err, SLUICE_ECONFIG, "cannot create the Kafka consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, s->subscription);
    if (e) {
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return h->err_set(err, SLUICE_ECONFIG, "cannot subscribe to %s: %s",
                          s->regex ? s->conf->topics_regex : s->conf->topics, rd_kafka_err2str(e));
    }
    s->rk = rk;
    h->log(s->ctx, SLUICE_LOG_INFO, "Kafka source %s started: %s %s, group %s, brokers %s",
           h->component_name(s->ctx), s->regex ? "topics matching" : "topics",
           s->regex ? s->regex : s->conf->topics, s->conf->group_id, s->conf->bootstrap_servers);
    return SLUICE_OK;
}

/*
 * Leave the group within KSRC_CLOSE_TIMEOUT_MS. Every emitted batch was committed right after
 * its emit, so nothing is committed here except a commit that failed before (retried by the
 * revoke callback that closing runs); a consumer that cannot close in time is destroyed anyway
 * and the group notices through its session timeout.
 */
static void ksrc_stop(void *self)
{
    struct kafka_source *s = self;
    if (!s || !s->rk)
        return;
    const struct sluice_host *h = s->host;
    rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
    int closed = 0;
    if (q) {
        rd_kafka_error_t *e = rd_kafka_consumer_close_queue(s->rk, q);
        if (e) {
            h->log(s->ctx, SLUICE_LOG_WARN, "closing the Kafka consumer: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else {
            int64_t deadline = mono_ms() + KSRC_CLOSE_TIMEOUT_MS;
            while (!(closed = rd_kafka_consumer_closed(s->rk)) && mono_ms() < deadline) {
                /* the event API: records still arriving here are dropped (not committed) */
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
                if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                    ksrc_rebalance_cb(s->rk, rd_kafka_event_error(ev),
                                      rd_kafka_event_topic_partition_list(ev), s);
                if (ev)
                    rd_kafka_event_destroy(ev);
            }
        }
        rd_kafka_queue_destroy(q);
    }
    if (!closed)
        h->log(s->ctx, SLUICE_LOG_WARN,
               "the Kafka consumer did not leave its group within %d ms; the group reassigns its "
               "partitions after session.timeout.ms",
               KSRC_CLOSE_TIMEOUT_MS);
    rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    s->rk = NULL;
    ksrc_drop_batch(s);
    if (s->uncommitted.n)
        h->log(s->ctx, SLUICE_LOG_WARN,
               "offsets of %zu partition(s) could not be committed: records already in the "
               "channel will be read again",
               s->uncommitted.n);
    ksrc_tp_clear(&s->uncommitted);
    h->log(s->ctx, SLUICE_LOG_INFO, "Kafka source %s stopped", h->component_name(s->ctx));
}

static void ksrc_destroy(void *self)
{
    struct kafka_source *s = self;
    if (!s)
        return;
    if (s->rk)
        ksrc_stop(s);
    if (s->batch)
        ksrc_drop_batch(s);
    free(s->batch);
    free(s->evs);
    ksrc_tp_clear(&s->batch_tps);
    ksrc_tp_clear(&s->uncommitted);
    free(s->batch_tps.v);
    free(s->uncommitted.v);
    if (s->subscription)
        rd_kafka_topic_partition_list_destroy(s->subscription);
    if (s->rkconf)
        rd_kafka_conf_destroy(s->rkconf);
    free(s->regex);
    free(s);
}

/* ---- Options and descriptor ------------------------------------------------------------- */

#define KSRC_OFF(f) offsetof(struct kafka_source_conf, f)

static const struct sluice_option kafka_source_options[] = {
    {.name = "kafka.bootstrap.servers",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .desc = "Kafka brokers, host:port[,host:port...].",
     .offset = KSRC_OFF(bootstrap_servers)},
    {.name = "kafka.topics",
     .type = SLUICE_OPT_STRING,
     .deprecated = "topic",
     .desc = "Comma-separated topics to read (this or kafka.topics.regex is required).",
     .offset = KSRC_OFF(topics)},
    {.name = "kafka.topics.regex",
     .type = SLUICE_OPT_STRING,
     .desc = "Read every topic whose whole name matches this regex (POSIX extended syntax); "
             "takes precedence over kafka.topics.",
     .offset = KSRC_OFF(topics_regex)},
    {.name = "kafka.consumer.group.id",
     .type = SLUICE_OPT_STRING,
     .def = "flume",
     .deprecated = "groupId",
     .desc = "Consumer group; the members of a group share the partitions.",
     .offset = KSRC_OFF(group_id)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "1000",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .desc = "Records per batch, i.e. per channel transaction and offset commit.",
     .offset = KSRC_OFF(batch_size)},
    {.name = "batchDurationMillis",
     .type = SLUICE_OPT_INT,
     .def = "1000",
     .min = 1,
     .max = INT64_C(86400000),
     .desc = "Longest time a batch is filled, from its first record; a batch is also handed "
             "over once the topic is quiet for 100 ms.",
     .offset = KSRC_OFF(batch_duration_ms)},
    {.name = "useFlumeEventFormat",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Values are Avro AvroFlumeEvent records (headers and body), as the kafka sink "
             "writes them with useFlumeEventFormat.",
     .offset = KSRC_OFF(use_flume_event_format)},
    {.name = "setTopicHeader",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Put the record's topic in the topicHeader header.",
     .offset = KSRC_OFF(set_topic_header)},
    {.name = "topicHeader",
     .type = SLUICE_OPT_STRING,
     .def = "topic",
     .desc = "Header that receives the topic when setTopicHeader is true.",
     .offset = KSRC_OFF(topic_header)},
    {.name = "header.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "header.<flumeHeader> = <kafkaHeader>: copy a Kafka record header into an event "
             "header.",
     .offset = KSRC_OFF(headers)},
    {.name = "kafka.consumer.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "librdkafka consumer properties; Java names with a librdkafka equivalent are "
             "translated (fetch.max.wait.ms, partition.assignment.strategy, ...), others are "
             "refused; enable.auto.commit is always false.",
     .offset = KSRC_OFF(consumer)},
    {.name = "backoffSleepIncrement",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "The agent's source runner backs off 1000 ms more per empty batch, up to 5000 ms "
             "(Flume's defaults)."},
    {.name = "maxBackoffSleep",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "The agent's source runner backs off 1000 ms more per empty batch, up to 5000 ms "
             "(Flume's defaults)."},
    {.name = "migrateZookeeperOffsets",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Offsets are only read from Kafka's group coordinator; migrate old ZooKeeper "
             "offsets once with Kafka's own tools."},
    {.name = "zookeeperConnect",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Brokers cannot be found through ZooKeeper: set kafka.bootstrap.servers."},
    {.name = NULL},
};

static const struct sluice_source_ops kafka_source_ops = {
    .create = ksrc_create,
    .start = ksrc_start,
    .process = ksrc_process,
    .stop = ksrc_stop,
    .destroy = ksrc_destroy,
};

static const char *const kafka_source_aliases[] = {"org.apache.flume.source.kafka.KafkaSource",
                                                   NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "kafka"),
    .aliases = kafka_source_aliases,
    .summary = "Reads Kafka topics (librdkafka consumer group); commits offsets only after the "
               "channel took the batch",
    .options = kafka_source_options,
    .conf_size = sizeof(struct kafka_source_conf),
    .ops = &kafka_source_ops,
};
