/*
 * The redis sink in-process (test/support's host, a FIFO channel) against a real redis-server
 * started per test on a free loopback port: exact hincrby counts, the seed format after a
 * window closes (event and processing time), a lost reply (a proxy that drops it) and a failed
 * channel commit not double counting, Kafka offset re-delivery and overlaps counted once,
 * Redis stopped/killed and restarted mid-run, AUTH/db errors and bad configurations.
 * What is in Redis is read with a separate client, never asked from the sink.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "event.h"
#include "redis_server.h"
#include "redis_sink.h"
#include "test_host.h"

extern const struct sluice_plugin sluice_plugin;

#define SEED_RE                                                                                    \
    "(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/"                                   \
    "(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)"

/* 2026-11-25 08:00:00 UTC = 09:00:00 in Europe/Berlin (the zone these tests run in) */
#define BASE_MS INT64_C(1795593600000)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const struct sluice_sink_ops *ops(void)
{
    return sluice_plugin.ops;
}

/* An audit line at epoch t_ms (local time) from ip. */
static const char *line(char *buf, size_t len, int64_t t_ms, const char *ip)
{
    time_t s = (time_t)(t_ms / 1000);
    struct tm tm;
    localtime_r(&s, &tm);
    snprintf(buf, len,
             "%04d-%02d-%02d %02d:%02d:%02d,%03d INFO  "
             "org.apache.hadoop.hive.metastore.HiveMetaStore.audit: [pool-5-thread-1]: ugi=hive\t"
             "ip=/%s\tcmd=get_table : db=default tbl=orders\t",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(t_ms % 1000), ip);
    return buf;
}

static void local_text(int64_t ms, char *buf, size_t len)
{
    rs_format_local(ms, buf, len);
}

/* ---- fixture --------------------------------------------------------------------------- */

struct fx {
    struct rserver srv;
    struct sluice_ctx ctx;
    struct fifo fifo;
    struct redis_sink_conf conf;
    void *sink;
    struct sluice_err err;
    redisContext *rc; /* the checker's own connection */
};

static void conf_defaults(struct redis_sink_conf *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->host = (char *)"127.0.0.1";
    c->port = port;
    c->timeout_ms = 2000;
    c->regex = (char *)SEED_RE;
    c->group_by = (char *)"2";
    c->window = (char *)"15s";
    c->time_mode = RS_TIME_EVENT;
    c->time_group = (char *)"1";
    c->time_format = (char *)"yyyy-MM-dd HH:mm:ss,SSS";
    c->allowed_lateness = (char *)"0";
    c->late_policy = RS_LATE_DROP;
    c->mode = RS_MODE_HINCRBY;
    c->key = (char *)"hsip";
    c->batch_size = 100;
    c->match_threads = 1;
}

static int fx_setup_with(void **state, const char *password, int persist)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (password)
        snprintf(fx->srv.password, sizeof(fx->srv.password), "%s", password);
    fx->srv.persist = persist;
    if (rserver_start(&fx->srv, 0) != 0) {
        fprintf(stderr, "cannot start redis-server\n");
        free(fx);
        return -1;
    }
    fx->rc = rserver_client(&fx->srv);
    test_ctx_init(&fx->ctx, "k1");
    fifo_init(&fx->fifo);
    conf_defaults(&fx->conf, fx->srv.port);
    *state = fx;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_with(state, NULL, 0);
}

static int fx_setup_auth(void **state)
{
    return fx_setup_with(state, "s3cret-pw", 0);
}

static int fx_setup_persist(void **state)
{
    return fx_setup_with(state, NULL, 1);
}

static void sink_close(struct fx *fx)
{
    if (fx->sink) {
        ops()->stop(fx->sink);
        ops()->destroy(fx->sink);
        fx->sink = NULL;
    }
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    sink_close(fx);
    fifo_destroy(&fx->fifo);
    test_ctx_destroy(&fx->ctx);
    if (fx->rc)
        redisFree(fx->rc);
    rserver_destroy(&fx->srv);
    free(fx);
    return 0;
}

static void sink_open(struct fx *fx)
{
    memset(&fx->err, 0, sizeof(fx->err));
    int rc = ops()->create(&fx->sink, &fx->conf, &test_host, &fx->ctx, &fx->err);
    if (rc != SLUICE_OK)
        fail_msg("create: %s", fx->err.msg);
    assert_int_equal(ops()->start(fx->sink, &fx->err), SLUICE_OK);
}

/* process() until the channel is empty; returns how many calls failed. */
static int drain(struct fx *fx, int max_ms)
{
    int64_t deadline = now_ms() + max_ms;
    int errors = 0;
    while (fx->fifo.count > 0 || fx->fifo.out > 0) { /* out: a batch the sink took ahead */
        if (now_ms() > deadline)
            fail_msg("channel still holds %zu events after %d ms", fx->fifo.count, max_ms);
        struct sluice_err e = {0};
        int rc = ops()->process(fx->sink, &fx->fifo.ch, &e);
        if (rc < 0) {
            errors++;
            sleep_ms(20);
        }
    }
    return errors;
}

static long long hget(struct fx *fx, const char *key, const char *field)
{
    return rcmd_int(fx->rc, "HGET %s %s", key, field);
}

/* ---- hincrby ------------------------------------------------------------------------- */

static void test_hincrby_exact(void **state)
{
    struct fx *fx = *state;
    fx->conf.ttl = 3600;
    sink_open(fx);
    char b[512], ip[32];
    long long want[8][7] = {{0}};
    for (int i = 0; i < 1000; i++) {
        int64_t t = BASE_MS + i * 100; /* 100 s: windows 0..6 */
        snprintf(ip, sizeof(ip), "10.0.0.%d", i % 7);
        fifo_push(&fx->fifo, line(b, sizeof(b), t, ip), NULL);
        want[(t - BASE_MS) / 15000][i % 7]++;
        if (i % 100 == 0)
            fifo_push(&fx->fifo, "garbage line without an ip", NULL);
    }
    assert_int_equal(drain(fx, 20000), 0);
    long long total = 0;
    for (int w = 0; w < 7; w++) {
        char key[64];
        snprintf(key, sizeof(key), "hsip:%lld", (long long)(BASE_MS / 1000 + w * 15));
        long long fields = 0;
        for (int k = 0; k < 7; k++) {
            snprintf(ip, sizeof(ip), "10.0.0.%d", k);
            assert_int_equal(hget(fx, key, ip), want[w][k]);
            total += want[w][k];
            fields += want[w][k] > 0;
        }
        assert_int_equal(rcmd_int(fx->rc, "HLEN %s", key), fields);
        long long ttl = rcmd_int(fx->rc, "TTL %s", key);
        assert_true(ttl > 3500 && ttl <= 3600);
    }
    assert_int_equal(total, 1000);
    assert_int_equal(test_ctx_counter(&fx->ctx, SLUICE_CTR_EVENT_UNMATCHED), 10);
    assert_int_equal(fx->fifo.committed_events, 1010);
    assert_int_equal(fx->fifo.rollbacks, 0);
    assert_int_equal(rcmd_int(fx->rc, "HLEN hsip:sluice:flushes"), 1);
    assert_int_equal(rcmd_int(fx->rc, "EXISTS hsip"), 0); /* hincrby writes only hsip:<start> */
}

/* matchThreads = 3: full batches (and the batches taken ahead) are matched in three parts on
 * three threads; every event is counted once, in its own window, and unmatched ones are
 * counted as unmatched wherever in the batch they fall. A short last batch stays on one. */
static void test_hincrby_match_threads(void **state)
{
    struct fx *fx = *state;
    fx->conf.match_threads = 3;
    fx->conf.batch_size = 1000;
    sink_open(fx);
    char b[512], ip[32];
    long long want[8][13] = {{0}};
    long long unmatched = 0;
    for (int i = 0; i < 5300; i++) {
        int64_t t = BASE_MS + i * 19; /* about 100 s: windows 0..6 */
        snprintf(ip, sizeof(ip), "10.1.%d.%d", i % 13, i % 13);
        if (i % 97 == 5) {
            fifo_push(&fx->fifo, "2026-11-25 08:00:00,000 no address in this one", NULL);
            unmatched++;
            continue;
        }
        fifo_push(&fx->fifo, line(b, sizeof(b), t, ip), NULL);
        want[(t - BASE_MS) / 15000][i % 13]++;
    }
    assert_int_equal(drain(fx, 30000), 0);
    long long total = 0;
    for (int w = 0; w < 8; w++) {
        char key[64];
        snprintf(key, sizeof(key), "hsip:%lld", (long long)(BASE_MS / 1000 + w * 15));
        for (int k = 0; k < 13; k++) {
            snprintf(ip, sizeof(ip), "10.1.%d.%d", k, k);
            assert_int_equal(hget(fx, key, ip), want[w][k]);
            total += want[w][k];
        }
    }
    assert_int_equal(total, 5300 - unmatched);
    assert_int_equal(test_ctx_counter(&fx->ctx, SLUICE_CTR_EVENT_UNMATCHED), unmatched);
    assert_int_equal(fx->fifo.committed_events, 5300);
    assert_int_equal(fx->fifo.rollbacks, 0);
}

/* ---- seed format ---------------------------------------------------------------------- */

static void test_seed_event_time_windows_close(void **state)
{
    struct fx *fx = *state;
    fx->conf.mode = RS_MODE_SEED;
    sink_open(fx);
    char b[512];
    /* window 0: 10.0.0.10 x3, 10.0.0.2 x1, 9.9.9.9 x2 (sorted as bytes: 10.0.0.10 < 10.0.0.2) */
    const char *w0[] = {"9.9.9.9", "10.0.0.2", "10.0.0.10", "10.0.0.10", "9.9.9.9", "10.0.0.10"};
    for (size_t i = 0; i < 6; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 1000 * (int64_t)i, w0[i]), NULL);
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 15000, "10.0.0.2"), NULL); /* window 1 */
    assert_int_equal(drain(fx, 5000), 0);
    char f0[32], f1[32], f2[32];
    local_text(BASE_MS + 15000, f0, sizeof(f0));
    local_text(BASE_MS + 30000, f1, sizeof(f1));
    local_text(BASE_MS + 45000, f2, sizeof(f2));
    assert_string_equal(f0, "2026-11-25 09:00:15"); /* the window's end, local time */
    char *v = rcmd_str(fx->rc, "HGET hsip %s", f0);
    assert_string_equal(v, "{10.0.0.10:3,10.0.0.2:1,9.9.9.9:2}");
    free(v);
    assert_int_equal(rcmd_int(fx->rc, "HEXISTS hsip %s", f1), 0); /* window 1 still open */
    assert_int_equal(rcmd_int(fx->rc, "ZCARD hsip:sluice:open"), 1);
    long long ttl = rcmd_int(fx->rc, "TTL hsip:sluice:stage:%lld", (long long)BASE_MS / 1000 + 15);
    assert_true(ttl > 86000 && ttl <= 86400);

    /* window 2 arrives: window 1 closes; a late event for window 0 is counted and dropped */
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 31000, "10.0.0.2"), NULL);
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 14000, "10.0.0.2"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    v = rcmd_str(fx->rc, "HGET hsip %s", f1);
    assert_string_equal(v, "{10.0.0.2:1}");
    free(v);
    v = rcmd_str(fx->rc, "HGET hsip %s", f0);
    assert_string_equal(v, "{10.0.0.10:3,10.0.0.2:1,9.9.9.9:2}");
    free(v);
    assert_int_equal(test_ctx_counter(&fx->ctx, SLUICE_CTR_EVENT_LATE), 1);

    /* stop with window 2 open: it stays staged; the next run closes it once due */
    sink_close(fx);
    assert_int_equal(rcmd_int(fx->rc, "HEXISTS hsip %s", f2), 0);
    assert_int_equal(rcmd_int(fx->rc, "ZCARD hsip:sluice:open"), 1);
    sink_open(fx);
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 46000, "1.2.3.4"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    v = rcmd_str(fx->rc, "HGET hsip %s", f2);
    assert_string_equal(v, "{10.0.0.2:1}");
    free(v);
    assert_int_equal(rcmd_int(fx->rc, "HLEN hsip"), 3);
    assert_int_equal(rcmd_int(fx->rc, "HLEN hsip:sluice:flushes"), 2); /* two runs */
}

/* Two agents share one seed key: a window closed by one is rewritten when the other adds to
 * it later, so the {ip:n,...} text always equals the staged counts. */
static void test_seed_two_agents_merge(void **state)
{
    struct fx *fx = *state;
    fx->conf.mode = RS_MODE_SEED;
    sink_open(fx);
    struct fx other = *fx;
    test_ctx_init(&other.ctx, "k2");
    fifo_init(&other.fifo);
    other.sink = NULL;
    sink_open(&other);
    char b[512], f0[32];
    local_text(BASE_MS + 15000, f0, sizeof(f0));
    /* agent 1 sees window 0 and window 1: window 0 closes with its count */
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 1000, "10.4.4.4"), NULL);
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 16000, "10.4.4.4"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    char *v = rcmd_str(fx->rc, "HGET hsip %s", f0);
    assert_string_equal(v, "{10.4.4.4:1}");
    free(v);
    /* agent 2 is behind: its window-0 events are not late for it */
    fifo_push(&other.fifo, line(b, sizeof(b), BASE_MS + 2000, "10.4.4.4"), NULL);
    fifo_push(&other.fifo, line(b, sizeof(b), BASE_MS + 3000, "10.4.4.5"), NULL);
    fifo_push(&other.fifo, /* month 13: does not fit timeFormat */
              "2026-13-25 09:00:04,000 INFO x: ugi=hive\tip=/10.4.4.4\tcmd=get_table : db=d "
              "tbl=t\t",
              NULL);
    assert_int_equal(drain(&other, 5000), 0);
    /* the next check (agent 1's next batch) rewrites window 0 from the merged stage */
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 17000, "10.4.4.4"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    v = rcmd_str(fx->rc, "HGET hsip %s", f0);
    assert_string_equal(v, "{10.4.4.4:2,10.4.4.5:1}");
    free(v);
    assert_int_equal(test_ctx_counter(&other.ctx, SLUICE_CTR_EVENT_UNMATCHED), 1);
    assert_int_equal(test_ctx_counter(&other.ctx, SLUICE_CTR_EVENT_LATE), 0);
    sink_close(&other);
    fifo_destroy(&other.fifo);
    test_ctx_destroy(&other.ctx);
}

/* Sum of every {ip:n,...} value of the seed hash for ip. */
static long long seed_total(struct fx *fx, const char *ip, long long *fields)
{
    redisReply *r = redisCommand(fx->rc, "HGETALL hsip");
    assert_non_null(r);
    long long sum = 0;
    *fields = (long long)r->elements / 2;
    for (size_t i = 1; i < r->elements; i += 2) {
        const char *s = r->element[i]->str;
        assert_true(s[0] == '{' && s[strlen(s) - 1] == '}');
        char pat[64];
        int n = snprintf(pat, sizeof(pat), "%s:", ip);
        for (const char *p = s + 1; (p = strstr(p, pat)) != NULL; p += n)
            if (p[-1] == '{' || p[-1] == ',')
                sum += strtoll(p + n, NULL, 10);
    }
    freeReplyObject(r);
    return sum;
}

static void test_seed_processing_time_closes_when_idle(void **state)
{
    struct fx *fx = *state;
    fx->conf.mode = RS_MODE_SEED;
    fx->conf.time_mode = RS_TIME_PROCESSING;
    fx->conf.time_group = NULL;
    fx->conf.window = (char *)"1s";
    sink_open(fx);
    char b[512];
    for (int i = 0; i < 50; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS, i % 2 ? "10.1.1.1" : "10.1.1.2"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    /* no more events: idle process() calls close the window once its end + 1 s has passed */
    int64_t deadline = now_ms() + 10000;
    while (rcmd_int(fx->rc, "HLEN hsip") == 0) {
        assert_true(now_ms() < deadline);
        struct sluice_err e = {0};
        int rc = ops()->process(fx->sink, &fx->fifo.ch, &e);
        assert_true(rc == SLUICE_BACKOFF);
        sleep_ms(50);
    }
    long long fields;
    assert_int_equal(seed_total(fx, "10.1.1.1", &fields), 25);
    assert_int_equal(seed_total(fx, "10.1.1.2", &fields), 25);
    assert_int_equal(fields, 1);
    assert_int_equal(rcmd_int(fx->rc, "ZCARD hsip:sluice:open"), 0);
}

/* ---- lost replies and failed commits ------------------------------------------------------ */

/* Through a proxy that drops the next EVALSHA reply: the sink opened, n events of ip (1 ms
 * apart) pushed, one process() that fails after Redis applied the first batch. */
static void lost_reply_process(struct fx *fx, struct rproxy *px, int n, const char *ip)
{
    assert_int_equal(rproxy_start(px, fx->srv.port), 0);
    fx->conf.port = px->port;
    sink_open(fx);
    char b[512];
    for (int i = 0; i < n; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + i, ip), NULL);
    atomic_store(&px->drop_next_eval_reply, 1);
    struct sluice_err e = {0};
    assert_true(ops()->process(fx->sink, &fx->fifo.ch, &e) < 0);
    assert_non_null(strstr(e.msg, "127.0.0.1:"));
    fprintf(stderr, "lost reply reported as: %s\n", e.msg);
    assert_int_equal(atomic_load(&px->dropped), 1);
}

static void test_lost_reply_not_double_counted(void **state)
{
    struct fx *fx = *state;
    struct rproxy px;
    lost_reply_process(fx, &px, 100, "10.2.2.2");
    assert_int_equal(fx->fifo.count, 100);                          /* rolled back */
    assert_int_equal(hget(fx, "hsip:1795593600", "10.2.2.2"), 100); /* but Redis applied it */
    /* the retry carries the same flush id: Redis answers DUP and nothing is added */
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.2.2.2"), 100);
    char b[512];
    for (int i = 0; i < 50; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 200 + i, "10.2.2.2"), NULL);
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.2.2.2"), 150);
    sink_close(fx);
    rproxy_stop(&px);
}

/* After a lost reply the channel holds other events than the unconfirmed flush (another sink
 * took those): the fingerprint, computed when that flush failed, tells them apart, so they get a
 * new flush id and are counted instead of being answered DUP. */
static void test_lost_reply_then_other_events_counted(void **state)
{
    struct fx *fx = *state;
    struct rproxy px;
    lost_reply_process(fx, &px, 100, "10.2.2.3");
    assert_int_equal(hget(fx, "hsip:1795593600", "10.2.2.3"), 100); /* Redis applied it */
    fifo_destroy(&fx->fifo); /* another sink took the 100 events */
    fifo_init(&fx->fifo);
    char b[512];
    for (int i = 0; i < 100; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 300 + i, "10.2.2.3"), NULL);
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.2.2.3"), 200);
    sink_close(fx);
    rproxy_stop(&px);
}

/* ---- the batch taken ahead (while Redis applies the previous one) -------------------------- */

/* 300 events of one IP, each with its own millisecond, so the channel's order can be read back */
static void push_numbered(struct fx *fx, int n, const char *ip)
{
    char b[512];
    for (int i = 0; i < n; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + i, ip), NULL);
}

static void assert_channel_in_order(struct fx *fx, int n)
{
    char b[512];
    assert_int_equal(fx->fifo.count, (size_t)n);
    for (int i = 0; i < n; i++) {
        const struct sluice_event *ev = fx->fifo.q[(fx->fifo.head + i) % FIFO_CAP];
        const char *want = line(b, sizeof(b), BASE_MS + i, "10.4.4.4");
        assert_int_equal(ev->body_len, strlen(want));
        assert_memory_equal(ev->body, want, ev->body_len);
    }
}

/* A full batch is flushed and the next one is taken while Redis runs the script; the stop
 * puts the held batch back. */
static void test_take_ahead_and_stop(void **state)
{
    struct fx *fx = *state;
    sink_open(fx);
    push_numbered(fx, 300, "10.4.4.4");
    struct sluice_err e = {0};
    assert_int_equal(ops()->process(fx->sink, &fx->fifo.ch, &e), SLUICE_READY);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.4.4.4"), 100);
    assert_int_equal(fx->fifo.out, 100); /* taken ahead, not counted yet */
    assert_int_equal(fx->fifo.count, 100);
    ops()->stop(fx->sink);
    assert_int_equal(fx->fifo.out, 0);
    assert_int_equal(fx->fifo.count, 200);
    ops()->destroy(fx->sink);
    fx->sink = NULL;
    sink_open(fx);
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.4.4.4"), 300);
    assert_int_equal(fx->fifo.committed_events, 300);
}

/* The reply to a flush is lost while the next batch is held: both go back, the held one first,
 * so the channel keeps its order; the retry is answered DUP and every event counts once. */
static void test_take_ahead_lost_reply(void **state)
{
    struct fx *fx = *state;
    struct rproxy px;
    lost_reply_process(fx, &px, 300, "10.4.4.4");
    assert_int_equal(fx->fifo.out, 0);
    assert_channel_in_order(fx, 300);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.4.4.4"), 100); /* applied, unconfirmed */
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.4.4.4"), 300);
    assert_int_equal(fx->fifo.committed_events, 300);
    sink_close(fx);
    rproxy_stop(&px);
}

/* The channel refuses the commit of a flush Redis applied while the next batch is held: the
 * same, through the failed-commit path. */
static void test_take_ahead_failed_commit(void **state)
{
    struct fx *fx = *state;
    sink_open(fx);
    push_numbered(fx, 300, "10.4.4.4");
    fx->fifo.fail_commit = 1;
    struct sluice_err e = {0};
    assert_true(ops()->process(fx->sink, &fx->fifo.ch, &e) < 0);
    assert_int_equal(fx->fifo.out, 0);
    assert_channel_in_order(fx, 300);
    fx->fifo.fail_commit = 0;
    assert_int_equal(drain(fx, 10000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.4.4.4"), 300);
    assert_int_equal(fx->fifo.committed_events, 300);
}

static void test_failed_commit_retry_applies_once(void **state)
{
    struct fx *fx = *state;
    sink_open(fx);
    char b[512];
    for (int i = 0; i < 30; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + i, "10.3.3.3"), NULL);
    fx->fifo.fail_commit = 1;
    struct sluice_err e = {0};
    assert_true(ops()->process(fx->sink, &fx->fifo.ch, &e) < 0);
    assert_int_equal(fx->fifo.count, 30);
    /* more events arrive meanwhile: the retry still takes exactly the 30 of the flush */
    for (int i = 0; i < 20; i++)
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 100 + i, "10.3.3.3"), NULL);
    fx->fifo.fail_commit = 0;
    assert_int_equal(drain(fx, 5000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.3.3.3"), 50);
    assert_int_equal(fx->fifo.committed_events, 50);
}

/* The script itself, called twice with one flush id (as a retry after a lost reply would). */
static void test_script_same_flush_twice(void **state)
{
    struct fx *fx = *state;
    const char *argv[] = {
        "EVAL", rs_lua_script, "0",  "hincrby", "k", "inst-a",     "7",
        "0",    "1795593600",  "",   "1",       "1", "1795593600", "1795593615000",
        "",     "t/0",         "10", "19",      "1", "1",          "10.9.9.9",
        "10"};
    size_t n = sizeof(argv) / sizeof(argv[0]);
    redisReply *r = redisCommandArgv(fx->rc, (int)n, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "OK");
    assert_int_equal(r->element[1]->integer, 10);
    freeReplyObject(r);
    r = redisCommandArgv(fx->rc, (int)n, argv, NULL);
    assert_string_equal(r->element[0]->str, "DUP");
    freeReplyObject(r);
    assert_int_equal(hget(fx, "k:1795593600", "10.9.9.9"), 10);
    /* another instance, same offsets: the slice is skipped (reported as skipped slice 0) */
    argv[5] = "inst-b";
    r = redisCommandArgv(fx->rc, (int)n, argv, NULL);
    assert_string_equal(r->element[0]->str, "OK");
    assert_int_equal(r->element[1]->integer, 0);
    assert_int_equal(r->elements, 5);
    assert_int_equal(r->element[4]->integer, 0);
    freeReplyObject(r);
    /* a slice straddling the recorded offset 19: PARTIAL, nothing written */
    argv[5] = "inst-c";
    argv[16] = "15";
    argv[17] = "25";
    r = redisCommandArgv(fx->rc, (int)n, argv, NULL);
    assert_string_equal(r->element[0]->str, "PARTIAL");
    assert_string_equal(r->element[1]->str, "t/0");
    assert_string_equal(r->element[2]->str, "19");
    freeReplyObject(r);
    assert_int_equal(hget(fx, "k:1795593600", "10.9.9.9"), 10);
    assert_int_equal(rcmd_int(fx->rc, "HEXISTS k:sluice:flushes inst-c"), 0);
    /* a key of the wrong type is refused before anything is written */
    rcmd_int(fx->rc, "SET k:1795593600 x");
    argv[5] = "inst-d";
    argv[16] = "20";
    r = redisCommandArgv(fx->rc, (int)n, argv, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "WRONGTYPE sluice: key k:1795593600 holds a string"));
    freeReplyObject(r);
    assert_int_equal(rcmd_int(fx->rc, "HEXISTS k:sluice:flushes inst-d"), 0);
    assert_int_equal(rcmd_int(fx->rc, "HGET k:sluice:offsets t/0"), 19);
}

/* ---- Kafka offsets --------------------------------------------------------------------- */

static void push_kafka(struct fx *fx, int part, int from, int to)
{
    char b[512], ip[32], ps[16], os[24];
    for (int o = from; o <= to; o++) {
        snprintf(ip, sizeof(ip), "10.5.%d.%d", part, o % 5);
        snprintf(ps, sizeof(ps), "%d", part);
        snprintf(os, sizeof(os), "%d", o);
        fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + o, ip), "topic", "mytopic", "partition",
                  ps, "offset", os, NULL);
    }
}

static void check_kafka_counts(struct fx *fx, int part, int max_offset)
{
    for (int k = 0; k < 5; k++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.5.%d.%d", part, k);
        long long want = 0;
        for (int o = 0; o <= max_offset; o++)
            want += o % 5 == k;
        if (hget(fx, "hsip:1795593600", ip) != want)
            fail_msg("%s: %lld, want %lld", ip, hget(fx, "hsip:1795593600", ip), want);
    }
}

static void test_kafka_redelivery_counted_once(void **state)
{
    struct fx *fx = *state;
    fx->conf.batch_size = 200;
    sink_open(fx);
    push_kafka(fx, 0, 0, 99);
    push_kafka(fx, 1, 0, 49);
    assert_int_equal(drain(fx, 5000), 0);
    check_kafka_counts(fx, 0, 99);
    check_kafka_counts(fx, 1, 49);
    /* the same records again (a consumer that re-read them) */
    push_kafka(fx, 0, 0, 99);
    push_kafka(fx, 1, 0, 49);
    assert_int_equal(drain(fx, 5000), 0);
    check_kafka_counts(fx, 0, 99);
    check_kafka_counts(fx, 1, 49);
    /* an overlap: 50..149 of which 50..99 are applied */
    push_kafka(fx, 0, 50, 149);
    assert_int_equal(drain(fx, 5000), 0);
    check_kafka_counts(fx, 0, 149);
    /* duplicates inside one batch */
    push_kafka(fx, 0, 150, 159);
    push_kafka(fx, 0, 150, 159);
    assert_int_equal(drain(fx, 5000), 0);
    check_kafka_counts(fx, 0, 159);
    assert_int_equal(rcmd_int(fx->rc, "HGET hsip:sluice:offsets mytopic/0"), 159);
    assert_int_equal(rcmd_int(fx->rc, "HGET hsip:sluice:offsets mytopic/1"), 49);

    /* a second agent of the consumer group gets partition 1 and re-reads from 25 */
    struct fx other = *fx;
    test_ctx_init(&other.ctx, "k2");
    fifo_init(&other.fifo);
    other.sink = NULL;
    memset(&other.err, 0, sizeof(other.err));
    sink_open(&other);
    push_kafka(&other, 1, 25, 74);
    assert_int_equal(drain(&other, 5000), 0);
    sink_close(&other);
    fifo_destroy(&other.fifo);
    test_ctx_destroy(&other.ctx);
    check_kafka_counts(fx, 1, 74);
    /* and this agent, behind, still delivers 40..80 of partition 1 */
    push_kafka(fx, 1, 40, 80);
    assert_int_equal(drain(fx, 5000), 0);
    check_kafka_counts(fx, 1, 80);
    check_kafka_counts(fx, 0, 159);
    assert_int_equal(test_ctx_counter(&fx->ctx, SLUICE_CTR_EVENT_UNMATCHED), 0);
}

/* ---- Redis stopped, killed, restarted ---------------------------------------------------- */

static void push_stream(struct fx *fx, int from, int to, long long want[][4])
{
    char b[512], ip[32];
    for (int i = from; i < to; i++) {
        int64_t t = BASE_MS + (int64_t)i * 20; /* 20 ms apart */
        snprintf(ip, sizeof(ip), "10.6.0.%d", i % 4);
        fifo_push(&fx->fifo, line(b, sizeof(b), t, ip), NULL);
        want[(t - BASE_MS) / 15000][i % 4]++;
    }
}

static void check_stream(struct fx *fx, long long want[][4], int windows)
{
    for (int w = 0; w < windows; w++) {
        char key[64], ip[32];
        snprintf(key, sizeof(key), "hsip:%lld", (long long)(BASE_MS / 1000 + w * 15));
        for (int k = 0; k < 4; k++) {
            snprintf(ip, sizeof(ip), "10.6.0.%d", k);
            if (hget(fx, key, ip) != want[w][k])
                fail_msg("%s %s: %lld, want %lld", key, ip, hget(fx, key, ip), want[w][k]);
        }
    }
}

/* process() n times (or until the channel is empty); returns the number of failures. */
static int steps(struct fx *fx, int n, char *last_err, size_t len)
{
    int errors = 0;
    for (int i = 0; i < n && fx->fifo.count + fx->fifo.out > 0; i++) {
        struct sluice_err e = {0};
        if (ops()->process(fx->sink, &fx->fifo.ch, &e) < 0) {
            errors++;
            snprintf(last_err, len, "%s", e.msg);
        }
    }
    return errors;
}

static void test_redis_stopped_and_killed_mid_run(void **state)
{
    struct fx *fx = *state;
    fx->conf.timeout_ms = 300;
    sink_open(fx);
    static long long want[8][4];
    memset(want, 0, sizeof(want));
    push_stream(fx, 0, 5000, want); /* 100 s of events: 7 windows */
    char msg[SLUICE_ERR_MSG_MAX] = "";
    assert_int_equal(steps(fx, 10, msg, sizeof(msg)), 0);
    /* 1000 counted; the next 100 taken while Redis applied the tenth batch */
    assert_int_equal(fx->fifo.count, 3900);
    assert_int_equal(fx->fifo.out, 100);

    /* frozen: replies stop coming */
    kill(fx->srv.pid, SIGSTOP);
    assert_true(steps(fx, 2, msg, sizeof(msg)) >= 1);
    fprintf(stderr, "while stopped: %s\n", msg);
    assert_non_null(strstr(msg, "redis 127.0.0.1:"));
    assert_true(fx->fifo.count >= 3900);
    assert_int_equal(fx->fifo.out, 0); /* both batches back, in order */
    kill(fx->srv.pid, SIGCONT);
    int64_t deadline = now_ms() + 10000; /* reconnects after its pause, then moves on */
    while (fx->fifo.count > 3000) {
        assert_true(now_ms() < deadline);
        if (steps(fx, 1, msg, sizeof(msg)))
            sleep_ms(50);
    }

    /* killed (append-only file, fsync always) and restarted on the same port */
    push_stream(fx, 5000, 5000, want);
    size_t before = fx->fifo.count + fx->fifo.out; /* out: a batch held from before */
    rserver_kill(&fx->srv);
    assert_true(steps(fx, 3, msg, sizeof(msg)) >= 1);
    fprintf(stderr, "while down: %s\n", msg);
    assert_non_null(strstr(msg, "cannot connect"));
    assert_int_equal(fx->fifo.count, before);
    assert_int_equal(fx->fifo.out, 0);
    assert_int_equal(rserver_start(&fx->srv, fx->srv.port), 0);
    redisFree(fx->rc);
    fx->rc = rserver_client(&fx->srv);
    rcmd_int(fx->rc, "SCRIPT FLUSH"); /* make the sink meet NOSCRIPT too */
    drain(fx, 30000);
    check_stream(fx, want, 8);
    long long total = 0;
    for (int w = 0; w < 8; w++)
        for (int k = 0; k < 4; k++)
            total += want[w][k];
    assert_int_equal(total, 5000);
    assert_true(fx->fifo.rollbacks >= 2);
}

/* ---- errors ------------------------------------------------------------------------- */

static void expect_process_error(struct fx *fx, const char *a, const char *b)
{
    struct sluice_err e = {0};
    int rc = ops()->process(fx->sink, &fx->fifo.ch, &e);
    fprintf(stderr, "process: %s\n", e.msg);
    assert_true(rc < 0);
    char where[64];
    snprintf(where, sizeof(where), "redis 127.0.0.1:%d", fx->srv.port);
    assert_non_null(strstr(e.msg, where));
    assert_non_null(strstr(e.msg, a));
    if (b)
        assert_non_null(strstr(e.msg, b));
}

/* wait out the reconnect pause */
static void retry_pause(void)
{
    sleep_ms(RS_BACKOFF_MAX_MS / 10);
}

static void test_auth_and_db_errors(void **state)
{
    struct fx *fx = *state;
    char b[512];
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS, "10.7.7.7"), NULL);

    sink_open(fx); /* no password */
    expect_process_error(fx, "NOAUTH", "set redis.password");
    sink_close(fx);

    fx->conf.password = (char *)"wrong";
    sink_open(fx);
    expect_process_error(fx, "refused AUTH", "WRONGPASS");
    sink_close(fx);

    fx->conf.password = (char *)"s3cret-pw";
    fx->conf.db = 99;
    sink_open(fx);
    expect_process_error(fx, "SELECT 99 (redis.db) failed", "DB index is out of range");
    sink_close(fx);
    assert_int_equal(fx->fifo.count, 1); /* nothing was taken */

    fx->conf.db = 3;
    sink_open(fx);
    assert_int_equal(drain(fx, 5000), 0);
    rcmd_int(fx->rc, "SELECT 3");
    assert_int_equal(hget(fx, "hsip:1795593600", "10.7.7.7"), 1);
}

static void test_redis_down_then_up(void **state)
{
    struct fx *fx = *state;
    int port = fx->srv.port;
    rserver_kill(&fx->srv);
    char b[512];
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS, "10.8.8.8"), NULL);
    sink_open(fx); /* start() does not fail: Redis may come later */
    expect_process_error(fx, "cannot connect", "refused");
    assert_int_equal(fx->fifo.count, 1);
    assert_int_equal(rserver_start(&fx->srv, port), 0);
    redisFree(fx->rc);
    fx->rc = rserver_client(&fx->srv);
    retry_pause();
    assert_true(drain(fx, 10000) <= 3);
    assert_int_equal(hget(fx, "hsip:1795593600", "10.8.8.8"), 1);
    assert_true(test_ctx_counter(&fx->ctx, SLUICE_CTR_CONNECTION_FAILED) >= 1);
}

static void expect_create_error(struct fx *fx, const char *a, const char *b)
{
    struct sluice_err e = {0};
    void *s = NULL;
    int rc = ops()->create(&s, &fx->conf, &test_host, &fx->ctx, &e);
    fprintf(stderr, "create: %s\n", e.msg);
    assert_int_equal(rc, SLUICE_ECONFIG);
    assert_null(s);
    assert_non_null(strstr(e.msg, a));
    if (b)
        assert_non_null(strstr(e.msg, b));
    conf_defaults(&fx->conf, fx->srv.port);
}

static void test_config_errors(void **state)
{
    struct fx *fx = *state;
    fx->conf.group_by = (char *)"4";
    expect_create_error(fx, "groupBy = 4", "tbl=([a-zA-Z0-9_]+)");
    fx->conf.group_by = (char *)"client";
    expect_create_error(fx, "no group named 'client'", "ip=\\/");
    fx->conf.time_group = (char *)"when";
    expect_create_error(fx, "timeGroup = when", NULL);
    fx->conf.time_group = NULL;
    expect_create_error(fx, "time = event needs timeGroup", NULL);
    fx->conf.regex = (char *)"ip=(";
    expect_create_error(fx, "regex \"ip=(\" does not compile", NULL);
    fx->conf.window = (char *)"0s";
    expect_create_error(fx, "window", NULL);
    fx->conf.window = (char *)"15";
    expect_create_error(fx, "window: '15' has no unit", NULL);
    fx->conf.mode = RS_MODE_SEED;
    fx->conf.window = (char *)"1500ms";
    expect_create_error(fx, "whole seconds", NULL);
    fx->conf.mode = RS_MODE_SEED;
    fx->conf.ttl = 30;
    expect_create_error(fx, "ttl = 30", NULL);
    fx->conf.time_format = (char *)"dd MMM yyyy";
    expect_create_error(fx, "timeFormat", "MMM");
    fx->conf.allowed_lateness = (char *)"soon";
    expect_create_error(fx, "allowedLateness", NULL);
    /* a sub-second window is fine for hincrby */
    fx->conf.window = (char *)"500ms";
    sink_open(fx);
    char b[512];
    fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + 700, "10.9.0.1"), NULL);
    assert_int_equal(drain(fx, 5000), 0);
    assert_int_equal(hget(fx, "hsip:1795593600.500", "10.9.0.1"), 1);
}

/* ---- throughput (SLUICE_REDIS_BENCH=N events) ---------------------------------------------- */

static void test_bench(void **state)
{
    struct fx *fx = *state;
    const char *env = getenv("SLUICE_REDIS_BENCH");
    long total = env ? atol(env) : 20000;
    const char *threads = getenv("SLUICE_REDIS_BENCH_THREADS");
    const char *batch = getenv("SLUICE_REDIS_BENCH_BATCH");
    const char *mode = getenv("SLUICE_REDIS_BENCH_MODE");
    fx->conf.mode = mode && strcmp(mode, "hincrby") == 0 ? RS_MODE_HINCRBY : RS_MODE_SEED;
    fx->conf.batch_size = batch ? atol(batch) : 1000;
    fx->conf.match_threads = threads ? atol(threads) : 1;
    sink_open(fx);
    char b[512], ip[32];
    long pushed = 0;
    int64_t spent = 0;
    while (pushed < total) {
        long chunk = total - pushed < 60000 ? total - pushed : 60000;
        for (long i = 0; i < chunk; i++, pushed++) {
            snprintf(ip, sizeof(ip), "10.%ld.%ld.%ld", pushed % 3, pushed % 7, pushed % 11);
            fifo_push(&fx->fifo, line(b, sizeof(b), BASE_MS + pushed * 9, ip), NULL);
        }
        int64_t t0 = now_ms();
        assert_int_equal(drain(fx, 600000), 0);
        spent += now_ms() - t0;
    }
    fprintf(stderr,
            "bench: %ld events in %lld ms: %.0f events/s (batchSize %lld, mode %s, "
            "event time, matchThreads %lld)\n",
            total, (long long)spent, spent ? (double)total * 1000.0 / (double)spent : 0.0,
            (long long)fx->conf.batch_size, fx->conf.mode == RS_MODE_SEED ? "seed" : "hincrby",
            (long long)fx->conf.match_threads);
}

int main(void)
{
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hincrby_exact, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hincrby_match_threads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_event_time_windows_close, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_two_agents_merge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_processing_time_closes_when_idle, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_lost_reply_not_double_counted, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lost_reply_then_other_events_counted, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_take_ahead_and_stop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_take_ahead_lost_reply, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_take_ahead_failed_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_retry_applies_once, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_script_same_flush_twice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kafka_redelivery_counted_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_redis_stopped_and_killed_mid_run, fx_setup_persist,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_auth_and_db_errors, fx_setup_auth, fx_teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_then_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bench, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
