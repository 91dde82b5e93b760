/*
 * The kafka sink driven in-process (test/support's host) against a real Kafka protocol broker:
 * librdkafka's mock cluster, created per test on loopback. What reached Kafka is checked with an
 * independent rd_kafka consumer and the watermarks, never by asking the sink. The channel is a
 * small transactional FIFO defined here (the memory channel plugin cannot be linked into the
 * same executable: both export `sluice_plugin`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "event.h"
#include "kafka_sink.h"
#include "test_host.h"

extern const struct sluice_plugin sluice_plugin;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- A transactional FIFO channel (take moves events out; rollback puts them back first) -- */

#define FIFO_CAP 4096

struct fifo {
    struct sluice_event *q[FIFO_CAP];
    size_t head, count;
    /* transaction outcomes as the channel saw them (those that had taken events) */
    size_t commits, rollbacks, committed_events;
};

struct fifo_tx {
    struct fifo *f;
    struct sluice_event *taken[FIFO_CAP];
    size_t n_taken;
};

static void *fifo_tx_begin(void *self)
{
    struct fifo_tx *tx = calloc(1, sizeof(*tx));
    tx->f = self;
    return tx;
}

static int fifo_put(void *tx_, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    struct fifo *f = ((struct fifo_tx *)tx_)->f;
    if (f->count + n > FIFO_CAP)
        return test_host.err_set(err, SLUICE_EFULL, "test fifo full");
    for (size_t i = 0; i < n; i++)
        f->q[(f->head + f->count++) % FIFO_CAP] = evs[i];
    return SLUICE_OK;
}

static int fifo_take(void *tx_, struct sluice_event **evs, size_t max, size_t *n_out)
{
    struct fifo_tx *tx = tx_;
    struct fifo *f = tx->f;
    size_t n = 0;
    while (n < max && f->count > 0) {
        evs[n] = f->q[f->head];
        tx->taken[tx->n_taken++] = evs[n++];
        f->head = (f->head + 1) % FIFO_CAP;
        f->count--;
    }
    *n_out = n;
    return SLUICE_OK;
}

static int fifo_commit(void *tx_, struct sluice_err *err)
{
    (void)err;
    struct fifo_tx *tx = tx_;
    for (size_t i = 0; i < tx->n_taken; i++)
        event_free(tx->taken[i]);
    tx->f->commits += tx->n_taken > 0;
    tx->f->committed_events += tx->n_taken;
    tx->n_taken = 0;
    return SLUICE_OK;
}

static void fifo_rollback(void *tx_)
{
    struct fifo_tx *tx = tx_;
    struct fifo *f = tx->f;
    f->rollbacks += tx->n_taken > 0;
    for (size_t i = tx->n_taken; i-- > 0;) {
        f->head = (f->head + FIFO_CAP - 1) % FIFO_CAP;
        f->q[f->head] = tx->taken[i];
        f->count++;
    }
    tx->n_taken = 0;
}

static void fifo_tx_free(void *tx)
{
    free(tx);
}

static const struct sluice_channel_ops fifo_ops = {
    .tx_begin = fifo_tx_begin,
    .put = fifo_put,
    .take = fifo_take,
    .take_nowait = fifo_take, /* never waits anyway */
    .commit = fifo_commit,
    .rollback = fifo_rollback,
    .tx_free = fifo_tx_free,
};

static struct sluice_event *fifo_at(struct fifo *f, size_t i)
{
    return f->q[(f->head + i) % FIFO_CAP];
}

/* Push an event; headers as "k", "v" pairs ending with NULL. */
static struct sluice_event *push(struct fifo *f, const char *body, ...)
{
    struct sluice_event *ev = event_new(body, strlen(body));
    va_list ap;
    va_start(ap, body);
    for (const char *k; (k = va_arg(ap, const char *));)
        assert_int_equal(event_header_set(ev, k, va_arg(ap, const char *)), SLUICE_OK);
    va_end(ap);
    struct fifo_tx tx = {.f = f};
    assert_int_equal(fifo_put(&tx, &ev, 1, NULL), SLUICE_OK);
    return ev;
}

/* ---- Fixture: a mock cluster, a host context, the FIFO and a sink conf -------------------- */

struct fx {
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    struct sluice_ctx ctx;
    struct fifo fifo;
    struct sluice_channel ch;
    struct kafka_sink_conf conf;
    struct sluice_kv prod[8];
    struct sluice_kv hdrs[4];
    void *sink;
    struct sluice_err err;
};

static int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char errstr[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "test.mock.num.brokers", "1", errstr, sizeof(errstr)))
        fail_msg("%s", errstr);
    if (getenv("MDEBUG") && rd_kafka_conf_set(c, "debug", getenv("MDEBUG"), errstr, sizeof(errstr)))
        fail_msg("%s", errstr);
    fx->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
    assert_non_null(fx->mrk);
    fx->mc = rd_kafka_handle_mock_cluster(fx->mrk);
    assert_non_null(fx->mc);
    fx->bootstrap = rd_kafka_mock_cluster_bootstraps(fx->mc);
    const struct {
        const char *name;
        int parts;
    } topics[] = {{"t3", 3}, {"t1", 1}, {"route", 4}, {"route2", 2}, {"logs-eu", 1}};
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        assert_int_equal(rd_kafka_mock_topic_create(fx->mc, topics[i].name, topics[i].parts, 1), 0);
    test_ctx_init(&fx->ctx, "k1");
    fx->ch.ops = &fifo_ops;
    fx->ch.self = &fx->fifo;
    fx->conf.bootstrap_servers = (char *)fx->bootstrap;
    fx->conf.topic = (char *)"t3";
    fx->conf.batch_size = 100;
    fx->conf.default_partition_id = -1;
    fx->conf.allow_topic_override = 1;
    fx->conf.topic_header = (char *)"topic";
    fx->conf.producer.items = fx->prod;
    fx->conf.headers.items = fx->hdrs;
    *state = fx;
    return 0;
}

static const struct sluice_sink_ops *ops(void)
{
    return sluice_plugin.ops;
}

static void add_prod(struct fx *fx, const char *key, const char *value, const char *origin)
{
    assert_true(fx->conf.producer.n < sizeof(fx->prod) / sizeof(fx->prod[0]));
    fx->prod[fx->conf.producer.n++] = (struct sluice_kv){key, value, origin};
}

static int sink_create(struct fx *fx)
{
    memset(&fx->err, 0, sizeof(fx->err));
    return ops()->create(&fx->sink, &fx->conf, &test_host, &fx->ctx, &fx->err);
}

static void sink_start(struct fx *fx)
{
    int rc = sink_create(fx);
    if (rc != SLUICE_OK)
        fail_msg("create: %s", fx->err.msg);
    rc = ops()->start(fx->sink, &fx->err);
    if (rc != SLUICE_OK)
        fail_msg("start: %s", fx->err.msg);
}

static int process(struct fx *fx)
{
    memset(&fx->err, 0, sizeof(fx->err));
    return ops()->process(fx->sink, &fx->ch, &fx->err);
}

/* process() until it returns READY, as the agent's sink runner would (it backs off between
 * failures); fails the test after deadline_ms. */
static void process_until_ready(struct fx *fx, int deadline_ms)
{
    int64_t end = now_ms() + deadline_ms;
    int rc;
    while ((rc = process(fx)) != SLUICE_READY) {
        assert_true(rc < 0);
        if (now_ms() > end)
            fail_msg("process() still failing: %s", fx->err.msg);
    }
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->sink) {
        ops()->stop(fx->sink);
        ops()->destroy(fx->sink);
    }
    struct fifo_tx tx = {.f = &fx->fifo};
    size_t n;
    struct sluice_event *ev;
    while (fifo_take(&tx, &ev, 1, &n), n == 1)
        event_free(ev);
    test_ctx_destroy(&fx->ctx);
    rd_kafka_destroy(fx->mrk);
    free(fx);
    return 0;
}

/* ---- An independent consumer ------------------------------------------------------------- */

/* Messages pin their rd_kafka_t: consumed_free() destroys them, then the consumer. */
struct consumed {
    rd_kafka_message_t *m[FIFO_CAP];
    size_t n;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *q;
    int parts;
};

/* Read every partition of topic from the beginning until want messages arrived (the simple
 * consumer API: no group, no coordinator). */
static void consume(struct fx *fx, const char *topic, int parts, size_t want, struct consumed *out)
{
    char errstr[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", fx->bootstrap, errstr, sizeof(errstr)))
        fail_msg("%s", errstr);
    if (getenv("KDEBUG") && rd_kafka_conf_set(c, "debug", getenv("KDEBUG"), errstr, sizeof(errstr)))
        fail_msg("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    out->rk = rk;
    out->rkt = rkt;
    out->q = q;
    out->parts = parts;
    for (int p = 0; p < parts; p++)
        assert_int_equal(rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q), 0);
    out->n = 0;
    int64_t end = now_ms() + 20000;
    while (out->n < want && now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        out->m[out->n++] = m;
    }
    assert_int_equal(out->n, want);
    /* exactly want: the high watermarks add up to it (nothing extra, no duplicate) */
    int64_t total = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000), 0);
        total += hi;
    }
    assert_int_equal(total, (int64_t)want);
}

static void consumed_free(struct consumed *c)
{
    for (size_t i = 0; i < c->n; i++)
        rd_kafka_message_destroy(c->m[i]);
    c->n = 0;
    for (int p = 0; p < c->parts; p++)
        rd_kafka_consume_stop(c->rkt, p);
    rd_kafka_queue_destroy(c->q);
    rd_kafka_topic_destroy(c->rkt);
    rd_kafka_destroy(c->rk);
}

static int value_is(const rd_kafka_message_t *m, const char *s)
{
    return m->len == strlen(s) && memcmp(m->payload, s, m->len) == 0;
}

static const rd_kafka_message_t *find_value(struct consumed *c, const char *s)
{
    for (size_t i = 0; i < c->n; i++)
        if (value_is(c->m[i], s))
            return c->m[i];
    return NULL;
}

static const char *header_of(const rd_kafka_message_t *m, const char *name, char *buf, size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &len) ||
        len >= cap)
        return NULL;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return buf;
}

static const char *conf_get(struct fx *fx, const char *name, char *buf, size_t cap)
{
    struct kafka_sink *ks = fx->sink;
    size_t sz = cap;
    if (rd_kafka_conf_get(ks->rkconf, name, buf, &sz) != RD_KAFKA_CONF_OK)
        return "?";
    return buf;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

/* AvroFlumeEvent{headers: {"a": "b"}, body: "hi"}, encoded by hand: map block of 1 (zig-zag 2),
 * "a" (length 1 -> 2), "b", end of map 0, body length 2 -> 4, "hi". */
static const uint8_t avro_ab_hi[] = {0x02, 0x02, 'a', 0x02, 'b', 0x00, 0x04, 'h', 'i'};

static void test_avro_encoding(void **state)
{
    (void)state;
    uint8_t out[512];
    struct sluice_event *ev = event_new("hi", 2);
    event_header_set(ev, "a", "b");
    assert_int_equal(ks_avro_size(ev), sizeof(avro_ab_hi));
    assert_int_equal(ks_avro_encode(ev, out), sizeof(avro_ab_hi));
    assert_memory_equal(out, avro_ab_hi, sizeof(avro_ab_hi));
    event_free(ev);

    /* no headers: an empty map is a single 0; a 200-byte body has a two-byte length:
     * zig-zag(200) = 400 = 0x190 -> 0x90 0x03 */
    char body[200];
    memset(body, 'x', sizeof(body));
    ev = event_new(body, sizeof(body));
    assert_int_equal(ks_avro_size(ev), 1 + 2 + 200);
    assert_int_equal(ks_avro_encode(ev, out), 203);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0x90);
    assert_int_equal(out[2], 0x03);
    assert_memory_equal(out + 3, body, 200);
    event_free(ev);
}

static const struct sluice_option *opt(const char *name)
{
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

/* The legacy names the seed uses are declared as deprecated aliases, which the agent turns
 * into the new keys with a warning; Flume's ignored keys are accepted with a note. */
static void test_options_table(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "kafka");
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_SINK);
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.sink.kafka.KafkaSink");
    const char *legacy[][2] = {{"kafka.bootstrap.servers", "brokerList"},
                               {"kafka.topic", "topic"},
                               {"flumeBatchSize", "batchSize"},
                               {"kafka.producer.acks", "requiredAcks"}};
    for (size_t i = 0; i < 4; i++) {
        const struct sluice_option *o = opt(legacy[i][0]);
        assert_non_null(o);
        assert_string_equal(o->deprecated, legacy[i][1]);
    }
    assert_true(opt("flumeBatchSize")->flags & SLUICE_OPT_BATCH_SIZE);
    assert_string_equal(opt("flumeBatchSize")->def, "100");
    assert_string_equal(opt("allowTopicOverride")->def, "true");
    assert_string_equal(opt("topicHeader")->def, "topic");
    const char *unsupported[] = {"kafka.flumeBatchSize", "serializer.class",
                                 "key.serializer.class"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(opt(unsupported[i])->type, SLUICE_OPT_UNSUPPORTED);
    assert_int_equal(opt("kafka.producer.")->type, SLUICE_OPT_PREFIX);
    assert_int_equal(opt("header.")->type, SLUICE_OPT_PREFIX);
}

static void test_missing_bootstrap(void **state)
{
    struct fx *fx = *state;
    fx->conf.bootstrap_servers = NULL;
    assert_int_equal(sink_create(fx), SLUICE_ECONFIG);
    assert_null(fx->sink);
    assert_non_null(strstr(fx->err.msg, "Bootstrap Servers must be specified"));
}

static void test_default_topic(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = NULL;
    assert_int_equal(sink_create(fx), SLUICE_OK);
    assert_string_equal(((struct kafka_sink *)fx->sink)->topic, "default-flume-topic");
}

/* librdkafka's own names pass through; Java names with an equivalent are translated. */
static void test_passthrough_valid(void **state)
{
    struct fx *fx = *state;
    char b[64];
    add_prod(fx, "linger.ms", "7", "a.conf:10");
    add_prod(fx, "compression.type", "lz4", "a.conf:11");
    add_prod(fx, "buffer.memory", "33554432", "a.conf:12");
    add_prod(fx, "max.request.size", "2000000", "a.conf:13");
    add_prod(fx, "max.block.ms", "1000", "a.conf:14");
    add_prod(fx, "value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer",
             "a.conf:15");
    add_prod(fx, "delivery.timeout.ms", "45000", "a.conf:16");
    sink_start(fx);
    assert_string_equal(conf_get(fx, "linger.ms", b, sizeof(b)), "7");
    assert_string_equal(conf_get(fx, "compression.codec", b, sizeof(b)), "lz4");
    assert_string_equal(conf_get(fx, "queue.buffering.max.kbytes", b, sizeof(b)), "32768");
    assert_string_equal(conf_get(fx, "message.max.bytes", b, sizeof(b)), "2000000");
    assert_string_equal(conf_get(fx, "message.timeout.ms", b, sizeof(b)), "45000");
    assert_int_equal(((struct kafka_sink *)fx->sink)->msg_timeout_ms, 45000);
    /* and the producer built from it delivers */
    push(&fx->fifo, "one", NULL);
    assert_int_equal(process(fx), SLUICE_READY);
    struct consumed c;
    consume(fx, "t3", 3, 1, &c);
    assert_true(value_is(c.m[0], "one"));
    consumed_free(&c);
}

static void expect_config_error(struct fx *fx, const char *key, const char *value,
                                const char *origin, const char *needle)
{
    fx->conf.producer.n = 0;
    add_prod(fx, key, value, origin);
    assert_int_equal(sink_create(fx), SLUICE_ECONFIG);
    assert_null(fx->sink);
    char full[128];
    snprintf(full, sizeof(full), "kafka.producer.%s", key);
    if (!strstr(fx->err.msg, full) || !strstr(fx->err.msg, origin) || !strstr(fx->err.msg, needle))
        fail_msg("error for %s = %s lacks '%s', '%s' or '%s': %s", key, value, full, origin, needle,
                 fx->err.msg);
}

static void test_passthrough_invalid(void **state)
{
    struct fx *fx = *state;
    /* librdkafka's own messages are included */
    expect_config_error(fx, "no.such.property", "1", "s.conf:7", "No such configuration property");
    expect_config_error(fx, "linger.ms", "soon", "s.conf:8", "Invalid value");
    expect_config_error(fx, "compression.type", "brotli", "s.conf:9", "Invalid value");
    /* Java-only keys name what to use instead */
    expect_config_error(fx, "partitioner.class", "com.example.P", "s.conf:10",
                        "kafka.producer.partitioner");
    expect_config_error(fx, "sasl.jaas.config", "x", "s.conf:11", "sasl.username");
    expect_config_error(fx, "ssl.truststore.location", "/x.jks", "s.conf:12", "ssl.ca.location");
    expect_config_error(fx, "value.serializer", "com.example.AvroSerializer", "s.conf:13",
                        "Java serializers");
    expect_config_error(fx, "buffer.memory", "lots", "s.conf:14", "number of bytes");
    expect_config_error(fx, "transactional.id", "t", "s.conf:15", "transactions");
    expect_config_error(fx, "enable.idempotence", "maybe", "s.conf:16", "true or false");
}

/* acks and idempotence: on by default (acks=all), 1 raised to all, 0 or an explicit
 * enable.idempotence=false honoured, contradictions refused. */
static void test_acks_idempotence(void **state)
{
    struct fx *fx = *state;
    const struct {
        const char *acks, *idem, *want_acks, *want_idem;
    } cases[] = {
        {NULL, NULL, "-1", "true"},   {"1", NULL, "-1", "true"},
        {"all", NULL, "-1", "true"},  {"-1", NULL, "-1", "true"},
        {"0", NULL, "0", "false"},    {NULL, "false", "1", "false"},
        {"1", "false", "1", "false"}, {"all", "false", "-1", "false"},
        {NULL, "true", "-1", "true"}, {"ALL", "true", "-1", "true"},
    };
    char b1[16], b2[16];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx->conf.acks = (char *)cases[i].acks;
        fx->conf.producer.n = 0;
        if (cases[i].idem)
            add_prod(fx, "enable.idempotence", cases[i].idem, "i.conf:1");
        assert_int_equal(sink_create(fx), SLUICE_OK);
        if (strcmp(conf_get(fx, "acks", b1, sizeof(b1)), cases[i].want_acks) ||
            strcmp(conf_get(fx, "enable.idempotence", b2, sizeof(b2)), cases[i].want_idem))
            fail_msg("acks=%s idempotence=%s: got acks=%s idempotence=%s", cases[i].acks,
                     cases[i].idem, b1, b2);
        ops()->destroy(fx->sink);
        fx->sink = NULL;
    }
    /* acks given only under kafka.producer. (when the agent leaves it in the prefix list) */
    fx->conf.acks = NULL;
    fx->conf.producer.n = 0;
    add_prod(fx, "acks", "0", "i.conf:2");
    assert_int_equal(sink_create(fx), SLUICE_OK);
    assert_string_equal(conf_get(fx, "acks", b1, sizeof(b1)), "0");
    ops()->destroy(fx->sink);
    fx->sink = NULL;

    fx->conf.producer.n = 0;
    fx->conf.acks = (char *)"2";
    assert_int_equal(sink_create(fx), SLUICE_ECONFIG);
    assert_non_null(strstr(fx->err.msg, "kafka.producer.acks"));
    fx->conf.acks = (char *)"1";
    add_prod(fx, "enable.idempotence", "true", "i.conf:3");
    assert_int_equal(sink_create(fx), SLUICE_ECONFIG);
    assert_non_null(strstr(fx->err.msg, "enable.idempotence"));
}

/* 250 events, batches of 100: three committed transactions, the channel empty, every event in
 * Kafka once, in channel order within each partition. */
static void test_batch_delivered(void **state)
{
    struct fx *fx = *state;
    char body[32];
    for (int i = 0; i < 250; i++) {
        snprintf(body, sizeof(body), "line-%04d", i);
        push(&fx->fifo, body, NULL);
    }
    sink_start(fx);
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(fx->fifo.count, 150);
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(fx->fifo.count, 0);
    assert_int_equal(process(fx), SLUICE_BACKOFF);
    /* batch counters are the agent's (from the transaction); the channel saw three commits */
    assert_int_equal(fx->fifo.commits, 3);
    assert_int_equal(fx->fifo.committed_events, 250);
    assert_int_equal(fx->fifo.rollbacks, 0);

    struct consumed c;
    consume(fx, "t3", 3, 250, &c);
    int seen[250] = {0};
    int last[3] = {-1, -1, -1};
    for (size_t i = 0; i < c.n; i++) {
        int v;
        assert_int_equal(sscanf(c.m[i]->payload, "line-%4d", &v), 1);
        assert_in_range(v, 0, 249);
        seen[v]++;
        int p = c.m[i]->partition;
        assert_true(v > last[p]); /* consumer order is offset order within a partition */
        last[p] = v;
    }
    for (int i = 0; i < 250; i++)
        assert_int_equal(seen[i], 1);
    consumed_free(&c);
}

/* Broker down: the batch fails within message.timeout.ms, is rolled back and the events stay
 * in the channel in order; once the broker is back the same events are delivered once. */
static void test_broker_down_rollback(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    add_prod(fx, "message.timeout.ms", "1500", "d.conf:1");
    sink_start(fx);
    char body[32];
    struct sluice_event *evs[20];
    for (int i = 0; i < 20; i++) {
        snprintf(body, sizeof(body), "ev-%02d", i);
        evs[i] = push(&fx->fifo, body, NULL);
    }
    assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, 1), 0);
    int64_t t0 = now_ms();
    int rc = process(fx);
    assert_int_equal(rc, SLUICE_EDELIVERY);
    assert_true(now_ms() - t0 < 1500 + KS_WAIT_MARGIN_MS);
    assert_non_null(strstr(fx->err.msg, "20 of 20 events not delivered"));
    assert_non_null(strstr(fx->err.msg, "timed out"));
    assert_int_equal(fx->fifo.count, 20);
    for (int i = 0; i < 20; i++)
        assert_ptr_equal(fifo_at(&fx->fifo, (size_t)i), evs[i]); /* same events, same order */
    assert_int_equal(fx->fifo.rollbacks, 1);
    assert_int_equal(fx->fifo.commits, 0);

    assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, 1), 0);
    process_until_ready(fx, 30000);
    assert_int_equal(fx->fifo.count, 0);
    assert_int_equal(fx->fifo.committed_events, 20);
    struct consumed c;
    consume(fx, "t1", 1, 20, &c);
    for (int i = 0; i < 20; i++) {
        snprintf(body, sizeof(body), "ev-%02d", i);
        assert_true(value_is(c.m[i], body));
    }
    consumed_free(&c);
}

/* Several batches in flight (inflightBatches = 4): the first process() produces a full batch
 * and returns without waiting for it; in the end every batch is committed once, oldest first,
 * and every event is in Kafka once, in channel order within each partition. */
static void test_inflight_batches_delivered(void **state)
{
    struct fx *fx = *state;
    fx->conf.inflight_batches = 4;
    char body[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(body, sizeof(body), "line-%04d", i);
        push(&fx->fifo, body, NULL);
    }
    sink_start(fx);
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(fx->fifo.count, 900);
    assert_int_equal(fx->fifo.commits, 0); /* in flight, not waited for */
    int64_t end = now_ms() + 30000;
    int rc;
    while ((rc = process(fx)) != SLUICE_BACKOFF) {
        if (rc != SLUICE_READY)
            fail_msg("process: %d %s", rc, fx->err.msg);
        assert_true(now_ms() < end);
    }
    assert_int_equal(fx->fifo.count, 0);
    assert_int_equal(fx->fifo.commits, 10);
    assert_int_equal(fx->fifo.committed_events, 1000);
    assert_int_equal(fx->fifo.rollbacks, 0);

    struct consumed c;
    consume(fx, "t3", 3, 1000, &c);
    int seen[1000] = {0};
    int last[3] = {-1, -1, -1};
    for (size_t i = 0; i < c.n; i++) {
        int v;
        assert_int_equal(sscanf(c.m[i]->payload, "line-%4d", &v), 1);
        assert_in_range(v, 0, 999);
        seen[v]++;
        int p = c.m[i]->partition;
        assert_true(v > last[p]);
        last[p] = v;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seen[i], 1);
    consumed_free(&c);
}

/* Broker down with batches in flight: every batch is rolled back, newest first, so the channel
 * holds the same events in the same order; after the broker is back each is delivered once. */
static void test_inflight_broker_down_rollback(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    fx->conf.inflight_batches = 4;
    fx->conf.batch_size = 10;
    add_prod(fx, "message.timeout.ms", "1500", "d.conf:1");
    sink_start(fx);
    char body[32];
    struct sluice_event *evs[35];
    for (int i = 0; i < 35; i++) {
        snprintf(body, sizeof(body), "ev-%02d", i);
        evs[i] = push(&fx->fifo, body, NULL);
    }
    assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, 1), 0);
    int64_t end = now_ms() + 1500 + KS_WAIT_MARGIN_MS + 5000;
    int rc;
    while ((rc = process(fx)) == SLUICE_READY)
        assert_true(now_ms() < end);
    assert_int_equal(rc, SLUICE_EDELIVERY);
    assert_non_null(strstr(fx->err.msg, "not delivered"));
    assert_int_equal(fx->fifo.count, 35);
    for (int i = 0; i < 35; i++)
        assert_ptr_equal(fifo_at(&fx->fifo, (size_t)i), evs[i]); /* same events, same order */
    assert_int_equal(fx->fifo.commits, 0);
    assert_true(fx->fifo.rollbacks >= 2); /* more than one batch was in flight */

    assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, 1), 0);
    end = now_ms() + 30000;
    while (fx->fifo.count > 0 || fx->fifo.committed_events < 35) {
        process(fx);
        assert_true(now_ms() < end);
    }
    struct consumed c;
    consume(fx, "t1", 1, 35, &c);
    for (int i = 0; i < 35; i++) {
        snprintf(body, sizeof(body), "ev-%02d", i);
        assert_true(value_is(c.m[i], body));
    }
    consumed_free(&c);
}

struct outage {
    rd_kafka_mock_cluster_t *mc;
    int down_ms;
};

static void *bring_up_later(void *arg)
{
    struct outage *o = arg;
    struct timespec ts = {o->down_ms / 1000, (o->down_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* the outage itself, not a wait for a result */
    rd_kafka_mock_broker_set_up(o->mc, 1);
    return NULL;
}

/* An outage shorter than message.timeout.ms: the batch simply waits, nothing is rolled back,
 * and nothing is duplicated. */
static void test_outage_shorter_than_timeout(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    sink_start(fx);
    push(&fx->fifo, "warm-up", NULL);
    assert_int_equal(process(fx), SLUICE_READY); /* connected, metadata known */
    for (int i = 0; i < 50; i++)
        push(&fx->fifo, "during-outage", NULL);
    assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, 1), 0);
    struct outage o = {fx->mc, 1500};
    pthread_t th;
    pthread_create(&th, NULL, bring_up_later, &o);
    int rc = process(fx);
    pthread_join(th, NULL);
    if (rc != SLUICE_READY)
        fail_msg("process across a short outage: %d %s", rc, fx->err.msg);
    assert_int_equal(fx->fifo.rollbacks, 0);
    /* the sink's own counter: the batch waited through the outage */
    assert_true(test_ctx_counter(&fx->ctx, SLUICE_CTR_KAFKA_EVENT_SEND_TIMER) >= 1000);
    struct consumed c;
    consume(fx, "t1", 1, 51, &c);
    consumed_free(&c);
}

/* The agent stopping while Kafka is unreachable: process() gives up within the grace period
 * instead of message.timeout.ms, and the events stay in the channel. */
static void test_stopping_during_outage(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    sink_start(fx);
    assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, 1), 0);
    push(&fx->fifo, "a", NULL);
    push(&fx->fifo, "b", NULL);
    fx->ctx.stopping = 1;
    int64_t t0 = now_ms();
    assert_int_equal(process(fx), SLUICE_EDELIVERY);
    assert_true(now_ms() - t0 < KS_STOP_GRACE_MS + 2000);
    assert_non_null(strstr(fx->err.msg, "the agent stopped"));
    assert_int_equal(fx->fifo.count, 2);
    t0 = now_ms();
    ops()->stop(fx->sink);
    assert_true(now_ms() - t0 < KS_STOP_GRACE_MS + 2000);
}

/* Records given up while in flight are not kept by the producer. The broker answers the
 * batch's produce request with a retriable error, but only after 3 s; the agent stops first,
 * process() gives up after the grace time and rolls back, and the events are then freed (as
 * a channel does once they are taken again and committed). librdkafka refers to the events'
 * bodies without a copy: had the old producer lived on, its retry would read freed memory
 * (ASan) and deliver the records behind the rollback's back. The topic ends up with only
 * what was committed. Bodies of 100 KB: librdkafka also points to them from the request. */
static void test_given_up_in_flight_not_retried(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    add_prod(fx, "retry.backoff.ms", "10", "d.conf:1");
    add_prod(fx, "enable.idempotence", "false", "d.conf:2");
    sink_start(fx);
    push(&fx->fifo, "warm-up", NULL);
    assert_int_equal(process(fx), SLUICE_READY); /* connected, metadata known */
    assert_int_equal(
        rd_kafka_mock_broker_push_request_error_rtts(fx->mc, 1, 0 /* Produce */, 1,
                                                     RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 3000),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    static char big[100 * 1024];
    for (int i = 0; i < 3; i++) {
        memset(big, 'a' + i, sizeof(big) - 1);
        push(&fx->fifo, big, NULL);
    }
    fx->ctx.stopping = 1;
    int64_t t0 = now_ms();
    assert_int_equal(process(fx), SLUICE_EDELIVERY);
    assert_true(now_ms() - t0 < KS_STOP_GRACE_MS + 2000);
    assert_non_null(strstr(fx->err.msg, "the agent stopped"));
    assert_int_equal(fx->fifo.count, 3);
    struct fifo_tx tx = {.f = &fx->fifo};
    size_t n;
    struct sluice_event *ev;
    while (fifo_take(&tx, &ev, 1, &n), n == 1)
        event_free(ev);

    fx->ctx.stopping = 0;
    push(&fx->fifo, "after", NULL);
    process_until_ready(fx, 30000);
    assert_int_equal(fx->fifo.committed_events, 2);
    /* past the delayed answer and a retry; stop() flushes what the producer still holds */
    for (int64_t end = now_ms() + 4000; now_ms() < end;)
        assert_int_equal(process(fx), SLUICE_BACKOFF);
    ops()->stop(fx->sink);
    struct consumed c;
    consume(fx, "t1", 1, 2, &c);
    assert_true(value_is(c.m[0], "warm-up"));
    assert_true(value_is(c.m[1], "after"));
    consumed_free(&c);
}

/* Topic header, key header, partitionIdHeader, timestampHeader and header.* mapping. */
static void test_routing(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"route";
    fx->conf.partition_id_header = (char *)"part";
    fx->conf.timestamp_header = (char *)"ts";
    fx->hdrs[0] = (struct sluice_kv){"trace", "X-Trace", "r.conf:5"};
    fx->conf.headers.n = 1;
    sink_start(fx);
    push(&fx->fifo, "e0", "topic", "route2", "key", "k0", "part", "1", "ts", "1600000000000",
         "trace", "abc", NULL);
    push(&fx->fifo, "e1", "part", "3", NULL);
    push(&fx->fifo, "e2", "part", "x7", NULL);      /* not an integer: logged, still sent */
    push(&fx->fifo, "e3", "ts", "yesterday", NULL); /* bad timestamp: logged, now is used */
    int64_t before = (int64_t)time(NULL) * 1000 - 1000;
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(fx->fifo.count, 0);

    struct consumed c2, c;
    char buf[32];
    consume(fx, "route2", 2, 1, &c2);
    const rd_kafka_message_t *m = c2.m[0];
    assert_true(value_is(m, "e0"));
    assert_int_equal(m->partition, 1);
    assert_int_equal(m->key_len, 2);
    assert_memory_equal(m->key, "k0", 2);
    rd_kafka_timestamp_type_t tstype;
    assert_int_equal(rd_kafka_message_timestamp(m, &tstype), 1600000000000LL);
    assert_string_equal(header_of(m, "X-Trace", buf, sizeof(buf)), "abc");
    consumed_free(&c2);

    consume(fx, "route", 4, 3, &c);
    m = find_value(&c, "e1");
    assert_non_null(m);
    assert_int_equal(m->partition, 3);
    assert_null(m->key);
    assert_null(header_of(m, "X-Trace", buf, sizeof(buf)));
    assert_non_null(find_value(&c, "e2"));
    m = find_value(&c, "e3");
    assert_non_null(m);
    assert_true(rd_kafka_message_timestamp(m, &tstype) >= before);
    consumed_free(&c);
}

/* allowTopicOverride=false ignores the topic header; with it on, %{header} in kafka.topic is
 * substituted. */
static void test_topic_override_switch(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    fx->conf.allow_topic_override = 0;
    sink_start(fx);
    push(&fx->fifo, "stays", "topic", "route2", NULL);
    assert_int_equal(process(fx), SLUICE_READY);
    struct consumed c;
    consume(fx, "t1", 1, 1, &c);
    assert_true(value_is(c.m[0], "stays"));
    consumed_free(&c);
    ops()->stop(fx->sink);
    ops()->destroy(fx->sink);

    fx->conf.topic = (char *)"logs-%{dc}";
    fx->conf.allow_topic_override = 1;
    sink_start(fx);
    push(&fx->fifo, "to-eu", "dc", "eu", NULL);
    assert_int_equal(process(fx), SLUICE_READY);
    consume(fx, "logs-eu", 1, 1, &c);
    assert_true(value_is(c.m[0], "to-eu"));
    consumed_free(&c);
}

static void test_flume_event_format(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    fx->conf.use_flume_event_format = 1;
    sink_start(fx);
    push(&fx->fifo, "hi", "a", "b", NULL);
    assert_int_equal(process(fx), SLUICE_READY);
    struct consumed c;
    consume(fx, "t1", 1, 1, &c);
    assert_int_equal(c.m[0]->len, sizeof(avro_ab_hi));
    assert_memory_equal(c.m[0]->payload, avro_ab_hi, sizeof(avro_ab_hi));
    consumed_free(&c);
}

/* A producer queue smaller than the batch: process() polls and retries, nothing is lost. */
static void test_queue_full(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    add_prod(fx, "queue.buffering.max.messages", "5", "q.conf:1");
    sink_start(fx);
    char body[16];
    for (int i = 0; i < 60; i++) {
        snprintf(body, sizeof(body), "q%02d", i);
        push(&fx->fifo, body, NULL);
    }
    assert_int_equal(process(fx), SLUICE_READY);
    struct consumed c;
    consume(fx, "t1", 1, 60, &c);
    for (int i = 0; i < 60; i++) {
        snprintf(body, sizeof(body), "q%02d", i);
        assert_true(value_is(c.m[i], body));
    }
    consumed_free(&c);
}

/* Plain records go to Kafka in runs (rd_kafka_produce_batch), records with mapped headers or a
 * timestamp one by one in between: a partition still holds them in the channel's order. */
static void test_mixed_records_keep_order(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    fx->conf.timestamp_header = (char *)"ts";
    fx->hdrs[0] = (struct sluice_kv){"trace", "X-Trace", "m.conf:3"};
    fx->conf.headers.n = 1;
    sink_start(fx);
    char body[16];
    for (int i = 0; i < 90; i++) {
        snprintf(body, sizeof(body), "m%02d", i);
        if (i % 7 == 3)
            push(&fx->fifo, body, "trace", "t", NULL);
        else if (i % 11 == 5)
            push(&fx->fifo, body, "ts", "1600000000000", NULL);
        else
            push(&fx->fifo, body, "key", i % 2 ? "odd" : "even", NULL);
    }
    assert_int_equal(process(fx), SLUICE_READY);
    assert_int_equal(fx->fifo.count, 0);
    struct consumed c;
    char buf[8];
    rd_kafka_timestamp_type_t tstype;
    consume(fx, "t1", 1, 90, &c);
    for (int i = 0; i < 90; i++) {
        snprintf(body, sizeof(body), "m%02d", i);
        assert_true(value_is(c.m[i], body));
        assert_int_equal(header_of(c.m[i], "X-Trace", buf, sizeof(buf)) != NULL, i % 7 == 3);
        if (i % 7 != 3 && i % 11 == 5)
            assert_int_equal(rd_kafka_message_timestamp(c.m[i], &tstype), 1600000000000LL);
        else if (i % 7 != 3)
            assert_int_equal(c.m[i]->key_len, i % 2 ? 3 : 4);
    }
    consumed_free(&c);
}

/* A partition header naming a partition the topic lacks: the event is delivered through the
 * partitioner instead of failing its batch for ever. */
static void test_unknown_partition_header(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    fx->conf.partition_id_header = (char *)"part";
    sink_start(fx);
    push(&fx->fifo, "p99", "part", "99", NULL);
    process_until_ready(fx, 20000);
    struct consumed c;
    consume(fx, "t1", 1, 1, &c);
    assert_true(value_is(c.m[0], "p99"));
    consumed_free(&c);
}

/* Brokers without idempotent producing (InitProducerId disabled): the producer fails fatally,
 * and the sink carries on with a non-idempotent producer instead of stopping for good. */
static void test_idempotence_unsupported(void **state)
{
    struct fx *fx = *state;
    fx->conf.topic = (char *)"t1";
    add_prod(fx, "message.timeout.ms", "3000", "f.conf:1");
    assert_int_equal(rd_kafka_mock_set_apiversion(fx->mc, 22 /* InitProducerId */, -1, -1), 0);
    sink_start(fx);
    assert_int_equal(((struct kafka_sink *)fx->sink)->idempotent, 1);
    push(&fx->fifo, "no-idem", NULL);
    process_until_ready(fx, 30000);
    assert_int_equal(((struct kafka_sink *)fx->sink)->idempotent, 0);
    struct consumed c;
    consume(fx, "t1", 1, 1, &c);
    assert_true(value_is(c.m[0], "no-idem"));
    consumed_free(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avro_encoding),
        cmocka_unit_test(test_options_table),
        T(test_missing_bootstrap),
        T(test_default_topic),
        T(test_passthrough_valid),
        T(test_passthrough_invalid),
        T(test_acks_idempotence),
        T(test_batch_delivered),
        T(test_broker_down_rollback),
        T(test_outage_shorter_than_timeout),
        T(test_stopping_during_outage),
        T(test_given_up_in_flight_not_retried),
        T(test_routing),
        T(test_topic_override_switch),
        T(test_flume_event_format),
        T(test_queue_full),
        T(test_mixed_records_keep_order),
        T(test_unknown_partition_header),
        T(test_idempotence_unsupported),
        T(test_inflight_batches_delivered),
        T(test_inflight_broker_down_rollback),
    };
#undef T
    if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER=test_routing */
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
