/*
 * The kafka source driven in-process (test/support's host, with an emit that can be told to
 * fail or block) against a real Kafka protocol broker: librdkafka's mock cluster, created per
 * test on loopback. Records come from an independent librdkafka producer; committed offsets are
 * checked with a separate consumer handle of the same group (rd_kafka_committed), never by
 * asking the source.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "event.h"
#include "kafka_sink.h" /* ks_avro_encode: the sink's encoder, for the round trip */
#include "kafka_source.h"
#include "test_host.h"

extern const struct sluice_plugin sluice_plugin;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- A host whose emit can refuse or block (as a full channel does) ------------------------ */

enum { EMIT_OK, EMIT_FAIL, EMIT_BLOCK };
static atomic_int emit_mode;
static atomic_int emit_entered; /* calls that failed or blocked */

static void free_all(struct sluice_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_free(evs[i]);
}

static int ctl_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                    struct sluice_err *err)
{
    int mode = atomic_load(&emit_mode);
    if (mode == EMIT_OK)
        return test_host.emit(ctx, evs, n, err);
    atomic_fetch_add(&emit_entered, 1);
    if (mode == EMIT_FAIL) {
        free_all(evs, n); /* ownership passed to the "agent" whatever the result */
        return test_host.err_set(err, SLUICE_EIO, "test: channel refused %zu events", n);
    }
    while (atomic_load(&emit_mode) == EMIT_BLOCK && !atomic_load(&ctx->stopping))
        sleep_ms(5);
    if (atomic_load(&ctx->stopping)) { /* what the agent does once its drain time is over */
        free_all(evs, n);
        return test_host.err_set(err, SLUICE_ESTOPPED, "test: stopping");
    }
    return test_host.emit(ctx, evs, n, err);
}

static struct sluice_host ctl_host;

/* ---- Fixture: a mock cluster and a producer ---------------------------------------------------
 */

struct fx {
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    rd_kafka_t *prod;
    atomic_int delivery_failures;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct fx *fx = opaque;
    if (m->err)
        atomic_fetch_add(&fx->delivery_failures, 1);
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char errstr[256];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        fail_msg("%s = %s: %s", k, v, errstr);
}

static int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char errstr[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    conf_set(c, "test.mock.num.brokers", "1");
    fx->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
    assert_non_null(fx->mrk);
    fx->mc = rd_kafka_handle_mock_cluster(fx->mrk);
    assert_non_null(fx->mc);
    fx->bootstrap = rd_kafka_mock_cluster_bootstraps(fx->mc);
    const struct {
        const char *name;
        int parts;
    } topics[] = {{"src1", 1}, {"src4", 4}, {"logs-a", 1}, {"logs-b", 2}, {"other", 1}};
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        assert_int_equal(rd_kafka_mock_topic_create(fx->mc, topics[i].name, topics[i].parts, 1), 0);

    c = rd_kafka_conf_new();
    conf_set(c, "bootstrap.servers", fx->bootstrap);
    conf_set(c, "linger.ms", "0");
    rd_kafka_conf_set_opaque(c, fx);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    fx->prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
    assert_non_null(fx->prod);
    atomic_store(&emit_mode, EMIT_OK);
    atomic_store(&emit_entered, 0);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    rd_kafka_flush(fx->prod, 5000);
    rd_kafka_destroy(fx->prod);
    rd_kafka_destroy(fx->mrk);
    free(fx);
    return 0;
}

/* Produce one record; key, header and timestamp optional (NULL / 0). */
static void produce(struct fx *fx, const char *topic, int32_t partition, const char *key,
                    const void *value, size_t len, int64_t ts, const char *hname,
                    const char *hvalue)
{
    rd_kafka_headers_t *h = NULL;
    if (hname) {
        h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, hname, -1, hvalue, -1);
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        fx->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_END);
    if (e) {
        if (h)
            rd_kafka_headers_destroy(h);
        fail_msg("produce to %s: %s", topic, rd_kafka_err2str(e));
    }
}

static void produce_text(struct fx *fx, const char *topic, int32_t partition, const char *value)
{
    produce(fx, topic, partition, NULL, value, strlen(value), 0, NULL, NULL);
}

static void flush_all(struct fx *fx)
{
    assert_int_equal(rd_kafka_flush(fx->prod, 10000), 0);
    assert_int_equal(atomic_load(&fx->delivery_failures), 0);
}

/* The committed offset of (group, topic, partition), asked by a separate consumer handle. */
static int64_t committed(struct fx *fx, const char *group, const char *topic, int partition)
{
    char errstr[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    conf_set(c, "bootstrap.servers", fx->bootstrap);
    conf_set(c, "group.id", group);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), 0);
    int64_t off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return off;
}

/* ---- A source instance ---------------------------------------------------------------------- */

struct src {
    struct sluice_ctx ctx;
    struct kafka_source_conf conf;
    struct sluice_kv consumer[12];
    struct sluice_kv hdrs[4];
    void *self;
    struct sluice_err err;
    pthread_t thread;
    atomic_int run;
    int thread_started;
};

static const struct sluice_source_ops *ops(void)
{
    return sluice_plugin.ops;
}

static void add_consumer(struct src *s, const char *k, const char *v, const char *origin)
{
    assert_true(s->conf.consumer.n < sizeof(s->consumer) / sizeof(s->consumer[0]));
    s->consumer[s->conf.consumer.n++] = (struct sluice_kv){k, v, origin};
}

static struct src *src_new(struct fx *fx, const char *name, const char *topics)
{
    struct src *s = calloc(1, sizeof(*s));
    test_ctx_init(&s->ctx, name);
    s->conf.bootstrap_servers = (char *)fx->bootstrap;
    s->conf.topics = (char *)topics;
    s->conf.group_id = (char *)"g1";
    s->conf.batch_size = 100;
    s->conf.batch_duration_ms = 1000;
    s->conf.set_topic_header = 1;
    s->conf.topic_header = (char *)"topic";
    s->conf.consumer.items = s->consumer;
    s->conf.headers.items = s->hdrs;
    /* a new group starts at the end by default (as Flume's consumer does) */
    add_consumer(s, "auto.offset.reset", "earliest", "t.conf:1");
    add_consumer(s, "heartbeat.interval.ms", "200", "t.conf:2");
    add_consumer(s, "session.timeout.ms", "6000", "t.conf:3");
    return s;
}

static int src_create(struct src *s)
{
    memset(&s->err, 0, sizeof(s->err));
    return ops()->create(&s->self, &s->conf, &ctl_host, &s->ctx, &s->err);
}

static void src_start(struct src *s)
{
    if (src_create(s) != SLUICE_OK)
        fail_msg("create: %s", s->err.msg);
    if (ops()->start(s->self, &s->err) != SLUICE_OK)
        fail_msg("start: %s", s->err.msg);
}

static void src_stop_thread(struct src *s)
{
    if (s->thread_started) {
        atomic_store(&s->run, 0);
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
}

static void src_free(struct src *s)
{
    src_stop_thread(s);
    if (s->self) {
        ops()->stop(s->self);
        ops()->destroy(s->self);
    }
    test_ctx_destroy(&s->ctx);
    free(s);
}

static size_t n_emitted(struct src *s)
{
    pthread_mutex_lock(&s->ctx.mu);
    size_t n = s->ctx.n_emitted;
    pthread_mutex_unlock(&s->ctx.mu);
    return n;
}

static int process(struct src *s)
{
    memset(&s->err, 0, sizeof(s->err));
    return ops()->process(s->self, &s->err);
}

/* process() until want events were emitted; fails the test after timeout_ms. */
static void run_until(struct src *s, size_t want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (n_emitted(s) < want) {
        int rc = process(s);
        if (rc < 0)
            fail_msg("process(): %s", s->err.msg);
        if (now_ms() > end)
            fail_msg("%s: %zu of %zu events after %d ms", s->ctx.name, n_emitted(s), want,
                     timeout_ms);
    }
}

/* process() until it reports an empty batch (BACKOFF): nothing more is coming. */
static void run_until_idle(struct src *s)
{
    int64_t end = now_ms() + 20000;
    while (process(s) != SLUICE_BACKOFF)
        if (now_ms() > end)
            fail_msg("%s never became idle", s->ctx.name);
}

static void *src_thread(void *arg)
{
    struct src *s = arg;
    while (atomic_load(&s->run)) {
        struct sluice_err e = {0};
        int rc = ops()->process(s->self, &e);
        if (rc < 0)
            fprintf(stderr, "%s: process: %s\n", s->ctx.name, e.msg);
        if (rc != SLUICE_READY)
            sleep_ms(20);
    }
    return NULL;
}

static void src_run_thread(struct src *s)
{
    atomic_store(&s->run, 1);
    assert_int_equal(pthread_create(&s->thread, NULL, src_thread, s), 0);
    s->thread_started = 1;
}

static const char *hdr(struct src *s, size_t i, const char *key)
{
    return event_header_get(s->ctx.emitted[i], key);
}

static int body_is(const struct sluice_event *ev, const char *text)
{
    return ev->body_len == strlen(text) && memcmp(ev->body, text, ev->body_len) == 0;
}

static int64_t hdr_int(struct src *s, size_t i, const char *key)
{
    const char *v = hdr(s, i, key);
    if (!v)
        fail_msg("event %zu has no %s header", i, key);
    return strtoll(v, NULL, 10);
}

/* ---- Tests ------------------------------------------------------------------------------------
 */

static const struct sluice_option *opt(const char *name)
{
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

static void test_options_table(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "kafka");
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_SOURCE);
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.source.kafka.KafkaSource");
    assert_null(sluice_plugin.aliases[1]);
    assert_non_null(ops()->process); /* pollable */
    assert_true(opt("kafka.bootstrap.servers")->flags & SLUICE_OPT_REQUIRED);
    assert_string_equal(opt("kafka.topics")->deprecated, "topic");
    assert_string_equal(opt("kafka.consumer.group.id")->deprecated, "groupId");
    assert_string_equal(opt("kafka.consumer.group.id")->def, "flume");
    assert_true(opt("batchSize")->flags & SLUICE_OPT_BATCH_SIZE);
    assert_string_equal(opt("batchSize")->def, "1000");
    assert_string_equal(opt("batchDurationMillis")->def, "1000");
    assert_string_equal(opt("useFlumeEventFormat")->def, "false");
    assert_string_equal(opt("setTopicHeader")->def, "true");
    assert_string_equal(opt("topicHeader")->def, "topic");
    assert_int_equal(opt("kafka.consumer.")->type, SLUICE_OPT_PREFIX);
    assert_int_equal(opt("header.")->type, SLUICE_OPT_PREFIX);
    const char *unsupported[] = {"migrateZookeeperOffsets", "zookeeperConnect",
                                 "backoffSleepIncrement", "maxBackoffSleep"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(opt(unsupported[i])->type, SLUICE_OPT_UNSUPPORTED);
}

/* AvroFlumeEvent{headers: {"a": "b"}, body: "hi"} as the sink test encodes it by hand. */
static const uint8_t avro_ab_hi[] = {0x02, 0x02, 'a', 0x02, 'b', 0x00, 0x04, 'h', 'i'};

static void expect_avro_error(const void *p, size_t n, const char *needle)
{
    struct sluice_event *ev = (struct sluice_event *)1;
    const char *why = NULL;
    assert_int_equal(ksrc_avro_decode(&test_host, p, n, &ev, &why), SLUICE_EINVAL);
    assert_null(ev);
    if (!why || !strstr(why, needle))
        fail_msg("expected '%s', got '%s'", needle, why ? why : "(null)");
}

static void test_avro_decode(void **state)
{
    (void)state;
    struct sluice_event *ev;
    const char *why = NULL;
    assert_int_equal(ksrc_avro_decode(&test_host, avro_ab_hi, sizeof(avro_ab_hi), &ev, &why), 0);
    assert_true(body_is(ev, "hi"));
    assert_int_equal(ev->n_headers, 1);
    assert_string_equal(event_header_get(ev, "a"), "b");
    event_free(ev);

    /* a block written with a negative count and its byte size, then a second block, then a
     * 200-byte body (two-byte length) and trailing bytes, which are ignored */
    uint8_t buf[300], *p = buf;
    const uint8_t head[] = {0x01, 0x08, 0x02, 'k',  0x02, 'v', 0x02,
                            0x02, 'x',  0x00, 0x00, 0x90, 0x03};
    memcpy(p, head, sizeof(head));
    p += sizeof(head);
    memset(p, 'z', 200);
    p += 200;
    *p++ = 0x55;
    assert_int_equal(ksrc_avro_decode(&test_host, buf, (size_t)(p - buf), &ev, &why), 0);
    assert_int_equal(ev->body_len, 200);
    assert_string_equal(event_header_get(ev, "k"), "v");
    assert_string_equal(event_header_get(ev, "x"), "");
    event_free(ev);

    expect_avro_error("", 0, "empty");
    expect_avro_error("\x02\x06"
                      "ab",
                      4, "header name longer");
    expect_avro_error("\x7e", 1, "larger than the record"); /* 63 entries */
    expect_avro_error("\x00\x0a"
                      "abc",
                      5, "body longer"); /* 5-byte body, 3 there */
    expect_avro_error("\x02\x02"
                      "a"
                      "\x02\x00"
                      "\x00\x00",
                      7, "NUL"); /* value "\0" */
    expect_avro_error("\x80\x80", 2, "truncated");
}

/* Bodies and Flume's headers: timestamp, topic, partition, offset, key (only when not null),
 * header.* copies; order kept within each partition. */
static void test_records_to_events(void **state)
{
    struct fx *fx = *state;
    for (int i = 0; i < 40; i++) {
        char v[32];
        snprintf(v, sizeof(v), "rec-%02d", i);
        int32_t part = i % 4;
        produce(fx, "src4", part, i % 2 ? NULL : "k-even", v, strlen(v), 1700000000000LL + i,
                i == 5 ? "X-Trace" : NULL, "abc");
    }
    produce(fx, "src4", 0, NULL, NULL, 0, 1700000000999LL, NULL, NULL); /* null value */
    flush_all(fx);

    struct src *s = src_new(fx, "r1", " src4 ");
    s->hdrs[0] = (struct sluice_kv){"trace", "X-Trace", "t.conf:9"};
    s->conf.headers.n = 1;
    src_start(s);
    run_until(s, 41, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 41);
    int64_t last[4] = {-1, -1, -1, -1};
    int seen[41] = {0};
    for (size_t i = 0; i < 41; i++) {
        struct sluice_event *ev = s->ctx.emitted[i];
        int64_t part = hdr_int(s, i, "partition"), off = hdr_int(s, i, "offset");
        assert_in_range(part, 0, 3);
        assert_true(off > last[part]); /* offsets rise within a partition */
        last[part] = off;
        assert_string_equal(hdr(s, i, "topic"), "src4");
        if (ev->body_len == 0) {
            assert_string_equal(hdr(s, i, "timestamp"), "1700000000999");
            seen[40]++;
            continue;
        }
        int n;
        char b[16] = {0};
        memcpy(b, ev->body, ev->body_len < 15 ? ev->body_len : 15);
        assert_int_equal(sscanf(b, "rec-%d", &n), 1);
        assert_in_range(n, 0, 39);
        seen[n]++;
        assert_int_equal(part, n % 4);
        assert_int_equal(hdr_int(s, i, "timestamp"), 1700000000000LL + n);
        if (n % 2)
            assert_null(hdr(s, i, "key"));
        else
            assert_string_equal(hdr(s, i, "key"), "k-even");
        if (n == 5)
            assert_string_equal(hdr(s, i, "trace"), "abc");
        else
            assert_null(hdr(s, i, "trace"));
    }
    for (int i = 0; i < 41; i++)
        assert_int_equal(seen[i], 1);
    /* the agent counts EventReceived/Accepted in emit; the source its own Kafka counters */
    assert_int_equal(test_ctx_counter(&s->ctx, SLUICE_CTR_EVENT_ACCEPTED), 41);
    assert_true(test_ctx_counter(&s->ctx, SLUICE_CTR_KAFKA_EMPTY) >= 1);
    src_free(s);
}

/* setTopicHeader = false leaves the topic out; topicHeader renames it. */
static void test_topic_header_switch(void **state)
{
    struct fx *fx = *state;
    produce_text(fx, "src1", 0, "one");
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "src1");
    s->conf.set_topic_header = 0;
    src_start(s);
    run_until(s, 1, 30000);
    assert_null(hdr(s, 0, "topic"));
    assert_string_equal(hdr(s, 0, "partition"), "0");
    assert_string_equal(hdr(s, 0, "offset"), "0");
    src_free(s);

    s = src_new(fx, "r2", "src1");
    s->conf.group_id = (char *)"g2";
    s->conf.topic_header = (char *)"kafka_topic";
    src_start(s);
    run_until(s, 1, 30000);
    assert_null(hdr(s, 0, "topic"));
    assert_string_equal(hdr(s, 0, "kafka_topic"), "src1");
    src_free(s);
}

/* Offsets are committed once emit returned OK: the group's committed offset is the last offset
 * + 1, and a new member of the group reads only what came after. */
static void test_offsets_committed_after_emit(void **state)
{
    struct fx *fx = *state;
    char v[32];
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof(v), "c%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    assert_true(committed(fx, "g1", "src1", 0) < 0); /* nothing committed yet */
    struct src *s = src_new(fx, "r1", "src1");
    src_start(s);
    run_until(s, 30, 30000);
    assert_int_equal(committed(fx, "g1", "src1", 0), 30);
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof(v), "c%02d", i);
        assert_true(body_is(s->ctx.emitted[i], v));
    }
    src_free(s);

    for (int i = 30; i < 35; i++) {
        snprintf(v, sizeof(v), "c%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    s = src_new(fx, "r1b", "src1");
    src_start(s);
    run_until(s, 5, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 5);
    assert_true(body_is(s->ctx.emitted[0], "c30"));
    assert_int_equal(hdr_int(s, 0, "offset"), 30);
    assert_int_equal(committed(fx, "g1", "src1", 0), 35);
    src_free(s);
}

/* A refused batch commits nothing; the same consumer reads it again (rewound), and so does a
 * new member of the group if the first one stops. */
static void test_emit_fails_not_committed(void **state)
{
    struct fx *fx = *state;
    char v[32];
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof(v), "f%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "src1");
    src_start(s);
    atomic_store(&emit_mode, EMIT_FAIL);
    int64_t end = now_ms() + 30000;
    int rc;
    while ((rc = process(s)) != SLUICE_EIO)
        if (now_ms() > end)
            fail_msg("emit was never called");
    assert_non_null(strstr(s->err.msg, "read again"));
    assert_int_equal(atomic_load(&emit_entered), 1);
    assert_true(committed(fx, "g1", "src1", 0) < 0);

    /* still failing: read again, still nothing committed */
    while (atomic_load(&emit_entered) < 2) {
        process(s);
        if (now_ms() > end)
            fail_msg("the records were not read again");
    }
    assert_true(committed(fx, "g1", "src1", 0) < 0);

    /* the channel takes it now: all 20, once, from offset 0 */
    atomic_store(&emit_mode, EMIT_OK);
    run_until(s, 20, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 20);
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof(v), "f%02d", i);
        assert_true(body_is(s->ctx.emitted[i], v));
        assert_int_equal(hdr_int(s, (size_t)i, "offset"), i);
    }
    assert_int_equal(committed(fx, "g1", "src1", 0), 20);
    src_free(s);

    /* a refused batch, then the consumer stops: a new member reads it again */
    for (int i = 20; i < 25; i++) {
        snprintf(v, sizeof(v), "f%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    s = src_new(fx, "r2", "src1");
    src_start(s);
    atomic_store(&emit_mode, EMIT_FAIL);
    atomic_store(&emit_entered, 0);
    while (atomic_load(&emit_entered) == 0) {
        process(s);
        if (now_ms() > end + 30000)
            fail_msg("emit was never called");
    }
    src_free(s);
    assert_int_equal(committed(fx, "g1", "src1", 0), 20);
    atomic_store(&emit_mode, EMIT_OK);
    s = src_new(fx, "r3", "src1");
    src_start(s);
    run_until(s, 5, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 5);
    assert_true(body_is(s->ctx.emitted[0], "f20"));
    assert_int_equal(committed(fx, "g1", "src1", 0), 25);
    src_free(s);
}

/* The coordinator refuses commits for a while (as during a rebalance): the batch already in
 * the channel is not read twice, nothing new is emitted until a retry succeeds, and then
 * reading resumes where it stopped. */
static void test_commit_refused_holds(void **state)
{
    struct fx *fx = *state;
    char v[32];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "h%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "src1");
    src_start(s);
    run_until(s, 1, 30000); /* the group is joined and the first batch emitted and committed */
    size_t first = n_emitted(s);
    for (int i = 10; i < 20; i++) {
        snprintf(v, sizeof(v), "h%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    /* the next commits are refused four times */
    rd_kafka_mock_push_request_errors(
        fx->mc, 8 /* OffsetCommit */, 4, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    int64_t end = now_ms() + 30000;
    while (n_emitted(s) == first && now_ms() < end)
        assert_int_equal(process(s), SLUICE_READY);
    size_t held = n_emitted(s);
    assert_true(held > first);
    for (int i = 20; i < 30; i++) {
        snprintf(v, sizeof(v), "h%02d", i);
        produce_text(fx, "src1", 0, v);
    }
    flush_all(fx);
    /* the refused commit is retried; meanwhile nothing new is emitted (three more refusals) */
    for (int i = 0; i < 3; i++)
        assert_int_equal(process(s), SLUICE_READY);
    assert_int_equal(n_emitted(s), held);
    run_until(s, 30, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 30);
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof(v), "h%02d", i);
        assert_true(body_is(s->ctx.emitted[i], v));
    }
    assert_int_equal(committed(fx, "g1", "src1", 0), 30);
    src_free(s);
}

struct blocked_run {
    struct src *s;
    int rc;
};

static void *process_once(void *arg)
{
    struct blocked_run *b = arg;
    int64_t end = now_ms() + 30000;
    do
        b->rc = ops()->process(b->s->self, &b->s->err);
    while (atomic_load(&emit_entered) == 0 && now_ms() < end);
    return NULL;
}

/* While emit blocks (a full channel) nothing is committed; when the agent gives up at stop,
 * the batch is not committed either, and the next member of the group reads it. */
static void test_emit_blocked_not_committed(void **state)
{
    struct fx *fx = *state;
    for (int i = 0; i < 10; i++)
        produce_text(fx, "src1", 0, "blocked");
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "src1");
    src_start(s);
    atomic_store(&emit_mode, EMIT_BLOCK);
    struct blocked_run b = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, process_once, &b), 0);
    int64_t end = now_ms() + 30000;
    while (atomic_load(&emit_entered) == 0 && now_ms() < end)
        sleep_ms(10);
    assert_int_equal(atomic_load(&emit_entered), 1);
    sleep_ms(300);
    assert_true(committed(fx, "g1", "src1", 0) < 0);
    atomic_store(&s->ctx.stopping, 1);
    pthread_join(t, NULL);
    assert_int_equal(b.rc, SLUICE_READY); /* stopping is not an error */
    assert_int_equal(n_emitted(s), 0);
    src_free(s);
    assert_true(committed(fx, "g1", "src1", 0) < 0);

    atomic_store(&emit_mode, EMIT_OK);
    s = src_new(fx, "r2", "src1");
    src_start(s);
    run_until(s, 10, 30000);
    assert_int_equal(committed(fx, "g1", "src1", 0), 10);
    src_free(s);
}

/* kafka.topics.regex takes precedence over kafka.topics and matches whole topic names. */
static void test_topics_regex(void **state)
{
    struct fx *fx = *state;
    produce_text(fx, "logs-a", 0, "a0");
    produce_text(fx, "logs-b", 0, "b0");
    produce_text(fx, "logs-b", 1, "b1");
    produce_text(fx, "other", 0, "o0");
    produce_text(fx, "src1", 0, "not-logs-x"); /* "logs-" inside the name: no whole match */
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "other");
    s->conf.topics_regex = (char *)"logs-[a-z]";
    add_consumer(s, "topic.metadata.refresh.interval.ms", "500", "t.conf:4");
    src_start(s);
    assert_string_equal(((struct kafka_source *)s->self)->regex, "^(logs-[a-z])$");
    run_until(s, 3, 30000);
    run_until_idle(s);
    assert_int_equal(n_emitted(s), 3);
    int a = 0, b = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *t = hdr(s, i, "topic");
        a += !strcmp(t, "logs-a");
        b += !strcmp(t, "logs-b");
    }
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    src_free(s);
}

static size_t assigned_count(struct src *s)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    struct kafka_source *ks = s->self;
    if (rd_kafka_assignment(ks->rk, &l))
        return 0;
    size_t n = (size_t)l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

#define SPLIT_ROWS 2000 /* records per partition at most (20 ms apart while the group settles) */

static void produce_row(struct fx *fx, int row)
{
    char v[32];
    for (int p = 0; p < 4; p++) {
        snprintf(v, sizeof(v), "p%d-%03d", p, row);
        produce_text(fx, "src4", p, v);
    }
}

/* (partition, offset) of every emitted event of a source, counted into seen. */
static size_t tally(struct src *s, int seen[4][SPLIT_ROWS])
{
    size_t n = n_emitted(s);
    pthread_mutex_lock(&s->ctx.mu);
    for (size_t i = 0; i < n; i++) {
        int64_t p = hdr_int(s, i, "partition"), o = hdr_int(s, i, "offset");
        assert_in_range(p, 0, 3);
        assert_in_range(o, 0, SPLIT_ROWS - 1);
        seen[p][o]++;
    }
    pthread_mutex_unlock(&s->ctx.mu);
    return n;
}

/*
 * Two members of one group split the four partitions. The second joins while the first is in
 * the middle of a batch (records keep coming faster than the 100 ms quiet gap, and the batch
 * may last 10 s): the first drops the unemitted records of the revoked partitions, which their
 * next owner reads. Together they see every record exactly once, and the group's committed
 * offsets end at the end of every partition.
 * (Records are produced until the group has settled: librdkafka's mock broker refuses offset
 * commits while a rebalance is being prepared, which Kafka accepts, so a batch emitted in that
 * window would be read again by the partition's next owner.) librdkafka's default assignors
 * are eager: every partition is revoked. cooperative-sticky is not tested: librdkafka 2.0.2's
 * mock group coordinator does not complete an incremental rebalance (the first member's
 * partitions are reported lost and the group never settles).
 */
static void test_two_consumers_split(void **state)
{
    struct fx *fx = *state;
    struct src *a = src_new(fx, "rA", "src4");
    struct src *b = src_new(fx, "rB", "src4");
    a->conf.batch_size = b->conf.batch_size = 1000;
    a->conf.batch_duration_ms = b->conf.batch_duration_ms = 10000;
    /* records reach the consumer steadily (the mock answers an empty fetch after this wait) */
    add_consumer(a, "fetch.wait.max.ms", "10", "t.conf:5");
    add_consumer(b, "fetch.wait.max.ms", "10", "t.conf:5");
    src_start(a);
    src_run_thread(a);
    int64_t end = now_ms() + 30000;
    while (assigned_count(a) != 4 && now_ms() < end)
        sleep_ms(20);
    assert_int_equal(assigned_count(a), 4);
    /* the first member reads alone for a while (its batch ends when the records stop) */
    int rows = 0;
    for (; rows < 20; rows++)
        produce_row(fx, rows);
    flush_all(fx);
    while (n_emitted(a) < 80 && now_ms() < end)
        sleep_ms(20);
    assert_int_equal(n_emitted(a), 80);
    /* records keep coming every 20 ms: the first member's next batch stays open, and the
     * second member joins meanwhile */
    for (int i = 0; i < 25; i++) {
        produce_row(fx, rows++);
        sleep_ms(20);
    }
    int64_t t_join = now_ms();
    src_start(b);
    src_run_thread(b);
    while ((assigned_count(a) == 0 || assigned_count(b) == 0 ||
            assigned_count(a) + assigned_count(b) != 4) &&
           rows < SPLIT_ROWS - 50) {
        produce_row(fx, rows++);
        sleep_ms(20);
    }
    fprintf(stderr, "the group settled after %lld ms, %d rows\n", (long long)(now_ms() - t_join),
            rows);
    assert_int_equal(assigned_count(a) + assigned_count(b), 4);
    assert_true(assigned_count(a) > 0 && assigned_count(b) > 0);
    for (int i = 0; i < 50; i++)
        produce_row(fx, rows++);
    flush_all(fx);
    size_t want = (size_t)rows * 4;
    end = now_ms() + 60000;
    while (n_emitted(a) + n_emitted(b) < want && now_ms() < end)
        sleep_ms(20);
    sleep_ms(1500); /* anything extra (a duplicate) would show up now */
    src_stop_thread(a);
    src_stop_thread(b);
    static int seen[4][SPLIT_ROWS];
    memset(seen, 0, sizeof(seen));
    size_t na = tally(a, seen), nb = tally(b, seen);
    fprintf(stderr, "rA got %zu, rB got %zu of %zu\n", na, nb, want);
    int missing = 0, dups = 0;
    for (int p = 0; p < 4; p++)
        for (int o = 0; o < rows; o++) {
            missing += seen[p][o] == 0;
            dups += seen[p][o] > 1 ? seen[p][o] - 1 : 0;
        }
    assert_int_equal(missing, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(na + nb, want);
    assert_true(nb > 0);
    for (int p = 0; p < 4; p++)
        assert_int_equal(committed(fx, "g1", "src4", p), rows);
    src_free(a);
    src_free(b);
}

/* The envelope written by the sink's encoder comes back as the original headers and body; the
 * envelope's own timestamp/topic win over the record's, partition and offset are added. A value
 * that is not an envelope is delivered as it is and counted. */
static void test_flume_event_format_roundtrip(void **state)
{
    struct fx *fx = *state;
    struct sluice_event *orig = event_new("h\0i", 3);
    event_header_set(orig, "a", "b");
    event_header_set(orig, "topic", "from-envelope");
    event_header_set(orig, "timestamp", "123");
    event_header_set(orig, "utf8", "h\xc3\xa9");
    uint8_t buf[256];
    size_t len = ks_avro_encode(orig, buf);
    assert_int_equal(len, ks_avro_size(orig));
    produce(fx, "src1", 0, "k", buf, len, 1700000000000LL, NULL, NULL);
    produce(fx, "src1", 0, NULL, "\xff\xff\xff", 3, 0, NULL, NULL);
    flush_all(fx);
    event_free(orig);

    struct src *s = src_new(fx, "r1", "src1");
    s->conf.use_flume_event_format = 1;
    src_start(s);
    run_until(s, 2, 30000);
    struct sluice_event *ev = s->ctx.emitted[0];
    assert_int_equal(ev->body_len, 3);
    assert_memory_equal(ev->body, "h\0i", 3);
    assert_string_equal(hdr(s, 0, "a"), "b");
    assert_string_equal(hdr(s, 0, "utf8"), "h\xc3\xa9");
    assert_string_equal(hdr(s, 0, "topic"), "from-envelope");
    assert_string_equal(hdr(s, 0, "timestamp"), "123");
    assert_string_equal(hdr(s, 0, "partition"), "0");
    assert_string_equal(hdr(s, 0, "offset"), "0");
    assert_string_equal(hdr(s, 0, "key"), "k");
    ev = s->ctx.emitted[1];
    assert_int_equal(ev->body_len, 3);
    assert_memory_equal(ev->body, "\xff\xff\xff", 3);
    assert_string_equal(hdr(s, 1, "topic"), "src1");
    assert_int_equal(test_ctx_counter(&s->ctx, SLUICE_CTR_EVENT_READ_FAIL), 1);
    src_free(s);
}

static void expect_create_error(struct fx *fx, const char *key, const char *value,
                                const char *origin, const char *needle)
{
    struct src *s = src_new(fx, "r1", "src1");
    add_consumer(s, key, value, origin);
    assert_int_equal(src_create(s), SLUICE_ECONFIG);
    assert_null(s->self);
    char full[160];
    snprintf(full, sizeof(full), "kafka.consumer.%s", key);
    if (!strstr(s->err.msg, full) || !strstr(s->err.msg, origin) || !strstr(s->err.msg, needle))
        fail_msg("error for %s = %s lacks '%s', '%s' or '%s': %s", key, value, full, origin, needle,
                 s->err.msg);
    src_free(s);
}

static const char *conf_get(struct src *s, const char *name, char *buf, size_t cap)
{
    size_t sz = cap;
    if (rd_kafka_conf_get(((struct kafka_source *)s->self)->rkconf, name, buf, &sz))
        return "?";
    return buf;
}

/* kafka.consumer.*: librdkafka's names pass, Java names are translated or refused by name. */
static void test_consumer_passthrough(void **state)
{
    struct fx *fx = *state;
    expect_create_error(fx, "no.such.property", "1", "s.conf:7", "No such configuration property");
    expect_create_error(fx, "fetch.min.bytes", "lots", "s.conf:8", "Invalid value");
    expect_create_error(fx, "sasl.jaas.config", "x", "s.conf:9", "sasl.username");
    expect_create_error(fx, "ssl.truststore.location", "/t.jks", "s.conf:10", "ssl.ca.location");
    expect_create_error(fx, "value.deserializer", "com.example.AvroDeserializer", "s.conf:11",
                        "Java deserializers");
    expect_create_error(fx, "partition.assignment.strategy",
                        "org.apache.kafka.clients.consumer.StickyAssignor", "s.conf:12",
                        "cooperative-sticky");
    expect_create_error(fx, "enable.auto.commit", "sometimes", "s.conf:13", "true or false");

    struct src *s = src_new(fx, "r1", "src1");
    char b[128];
    add_consumer(s, "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
                 "s.conf:20");
    add_consumer(s, "value.deserializer",
                 "org.apache.kafka.common.serialization.ByteArrayDeserializer", "s.conf:21");
    add_consumer(s, "enable.auto.commit", "true", "s.conf:22");
    add_consumer(s, "fetch.max.wait.ms", "250", "s.conf:23");
    add_consumer(s, "partition.assignment.strategy",
                 "org.apache.kafka.clients.consumer.RoundRobinAssignor, range", "s.conf:24");
    add_consumer(s, "max.poll.records", "10", "s.conf:25");
    s->consumer[0].value = "none"; /* auto.offset.reset */
    s->conf.group_id = (char *)"my-group";
    assert_int_equal(src_create(s), SLUICE_OK);
    assert_string_equal(conf_get(s, "enable.auto.commit", b, sizeof(b)), "false");
    assert_string_equal(conf_get(s, "fetch.wait.max.ms", b, sizeof(b)), "250");
    assert_string_equal(conf_get(s, "partition.assignment.strategy", b, sizeof(b)),
                        "roundrobin,range");
    assert_string_equal(conf_get(s, "auto.offset.reset", b, sizeof(b)), "error");
    assert_string_equal(conf_get(s, "group.id", b, sizeof(b)), "my-group");
    assert_string_equal(conf_get(s, "client.id", b, sizeof(b)), "sluice-a1-r1");
    src_free(s);
}

static void expect_topic_error(struct fx *fx, const char *topics, const char *regex,
                               const char *needle)
{
    struct src *s = src_new(fx, "r1", topics);
    s->conf.topics_regex = (char *)regex;
    assert_int_equal(src_create(s), SLUICE_ECONFIG);
    if (!strstr(s->err.msg, needle))
        fail_msg("expected '%s' in: %s", needle, s->err.msg);
    src_free(s);
}

static void test_topic_errors(void **state)
{
    struct fx *fx = *state;
    expect_topic_error(fx, NULL, NULL, "At least one Kafka topic must be specified");
    expect_topic_error(fx, " , ", NULL, "names no topic");
    expect_topic_error(fx, "a b", NULL, "separate topics with commas");
    expect_topic_error(fx, "ok,bad/name", NULL, "'bad/name' is not a Kafka topic name");
    expect_topic_error(fx, NULL, "logs-\\d+", "\\d (write [0-9])");
    expect_topic_error(fx, NULL, "(?i)logs", "(?...)");
    expect_topic_error(fx, NULL, "logs[", "kafka.topics.regex = logs[");

    struct src *s = src_new(fx, "r1", "a, b ,a,,c");
    assert_int_equal(src_create(s), SLUICE_OK);
    rd_kafka_topic_partition_list_t *l = ((struct kafka_source *)s->self)->subscription;
    assert_int_equal(l->cnt, 3);
    assert_string_equal(l->elems[0].topic, "a");
    assert_string_equal(l->elems[1].topic, "b");
    assert_string_equal(l->elems[2].topic, "c");
    src_free(s);
}

/* stop() leaves the group in bounded time, even with the broker gone. */
static void test_stop_bounded(void **state)
{
    struct fx *fx = *state;
    produce_text(fx, "src1", 0, "x");
    flush_all(fx);
    struct src *s = src_new(fx, "r1", "src1");
    src_start(s);
    run_until(s, 1, 30000);
    assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, 1), 0);
    int64_t t0 = now_ms();
    ops()->stop(s->self);
    assert_true(now_ms() - t0 < KSRC_CLOSE_TIMEOUT_MS + 3000);
    assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, 1), 0);
    src_free(s);
}

int main(void)
{
    ctl_host = test_host;
    ctl_host.emit = ctl_emit;
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_table),
        cmocka_unit_test(test_avro_decode),
        T(test_records_to_events),
        T(test_topic_header_switch),
        T(test_offsets_committed_after_emit),
        T(test_emit_fails_not_committed),
        T(test_emit_blocked_not_committed),
        T(test_commit_refused_holds),
        T(test_topics_regex),
        T(test_two_consumers_split),
        T(test_flume_event_format_roundtrip),
        T(test_consumer_passthrough),
        T(test_topic_errors),
        T(test_stop_bounded),
    };
#undef T
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests_name("kafka_source", tests, NULL, NULL);
}
