/*
 * The memory channel driven in-process through its ops: capacity and transactionCapacity
 * limits, Flume's byte-slot accounting, ETOOBIG, rollback order, keep-alive waits, stop(),
 * and a million events moved by concurrent threads with nothing lost, duplicated or reordered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "test_host.h"

extern const struct sluice_plugin sluice_plugin; /* memory_channel.c, compiled in */

static const struct sluice_channel_ops *ops(void)
{
    return sluice_plugin.ops;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Build the conf struct from the option table (defaults, then "key", "value" pairs), so the
 * table's names, defaults and bounds are what the tests exercise. INT options only here. */
static void *conf_build(const char *const *kv)
{
    void *conf = calloc(1, sluice_plugin.conf_size);
    assert_non_null(conf);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        const struct sluice_option *o = sluice_plugin.options;
        while (o->name && strcmp(o->name, kv[i]) != 0)
            o++;
        assert_non_null(o->name); /* a typo in a test key */
    }
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        const char *v = o->def;
        for (size_t i = 0; kv && kv[i]; i += 2)
            if (strcmp(kv[i], o->name) == 0)
                v = kv[i + 1];
        assert_non_null(v);
        assert_int_equal(o->type, SLUICE_OPT_INT);
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        assert_true(errno == 0 && *end == '\0');
        assert_true(o->min < o->max);
        assert_true(x >= o->min && x <= o->max);
        int64_t x64 = x;
        memcpy((char *)conf + o->offset, &x64, sizeof(x64));
    }
    return conf;
}

struct fixture {
    struct sluice_ctx ctx;
    void *ch;
};

static int ch_create(struct fixture *f, const char *const *kv, struct sluice_err *err)
{
    void *conf = conf_build(kv);
    int rc = ops()->create(&f->ch, conf, &test_host, &f->ctx, err);
    free(conf);
    return rc;
}

static void ch_open(struct fixture *f, const char *const *kv)
{
    struct sluice_err err = {0};
    int rc = ch_create(f, kv, &err);
    if (rc != SLUICE_OK)
        fail_msg("create: %d %s", rc, err.msg);
    assert_int_equal(ops()->start(f->ch, &err), SLUICE_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    test_ctx_init(&f->ctx, "c1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->ch) {
        ops()->stop(f->ch);
        ops()->destroy(f->ch);
    }
    test_ctx_destroy(&f->ctx);
    free(f);
    return 0;
}

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

/* An event whose body is len bytes; the first 8 carry id when there is room. */
static struct sluice_event *ev_make(uint64_t id, size_t len)
{
    uint8_t *body = malloc(len ? len : 1);
    assert_non_null(body);
    memset(body, 'x', len);
    if (len >= sizeof(id))
        memcpy(body, &id, sizeof(id));
    struct sluice_event *ev = test_host.event_new(body, len);
    free(body);
    assert_non_null(ev);
    return ev;
}

static uint64_t ev_id(const struct sluice_event *ev)
{
    uint64_t id;
    assert_true(ev->body_len >= sizeof(id));
    memcpy(&id, ev->body, sizeof(id));
    return id;
}

/* One transaction putting n events of len bytes with ids first..; returns the commit result
 * (the transaction is rolled back on failure, which frees the events). */
static int put_batch(void *ch, uint64_t first, size_t n, size_t len, struct sluice_err *err)
{
    struct sluice_event *evs[256];
    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++)
        evs[i] = ev_make(first + i, len);
    void *tx = ops()->tx_begin(ch);
    assert_non_null(tx);
    int rc = ops()->put(tx, evs, n, err);
    assert_int_equal(rc, SLUICE_OK);
    rc = ops()->commit(tx, err);
    if (rc != SLUICE_OK)
        ops()->rollback(tx);
    ops()->tx_free(tx);
    return rc;
}

static void put_ok(void *ch, uint64_t first, size_t n, size_t len)
{
    struct sluice_err err = {0};
    int rc = put_batch(ch, first, n, len, &err);
    if (rc != SLUICE_OK)
        fail_msg("put_batch: %d %s", rc, err.msg);
}

/* Take up to max in one transaction, check the ids are first.., commit. Returns the count. */
static size_t take_commit(void *ch, size_t max, int64_t first)
{
    struct sluice_event *evs[256];
    assert_true(max <= 256);
    size_t n = 0;
    void *tx = ops()->tx_begin(ch);
    assert_int_equal(ops()->take(tx, evs, max, &n), SLUICE_OK);
    for (size_t i = 0; first >= 0 && i < n; i++)
        assert_int_equal(ev_id(evs[i]), (uint64_t)first + i);
    struct sluice_err err = {0};
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    return n;
}

static uint64_t ch_size(void *ch)
{
    uint64_t size, cap;
    ops()->size(ch, &size, &cap);
    return size;
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- Descriptor and create() --------------------------------------------------------------- */

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_CHANNEL);
    assert_string_equal(sluice_plugin.name, "memory");
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.channel.MemoryChannel");
    assert_null(sluice_plugin.aliases[1]);
    int seen = 0;
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        if (strcmp(o->name, "transactionCapacity") == 0) {
            assert_true(o->flags & SLUICE_OPT_TX_CAPACITY);
            seen++;
        } else {
            assert_false(o->flags & SLUICE_OPT_TX_CAPACITY);
        }
        if (strcmp(o->name, "byteCapacity") == 0)
            assert_string_equal(o->def, "16777216");
        if (strcmp(o->name, "byteCapacityBufferPercentage") == 0)
            assert_true(o->min == 0 && o->max == 100);
    }
    assert_int_equal(seen, 1);
}

static void test_create_defaults(void **state)
{
    struct fixture *f = *state;
    ch_open(f, NULL);
    uint64_t size, cap;
    ops()->size(f->ch, &size, &cap);
    assert_int_equal(size, 0);
    assert_int_equal(cap, 100);
}

static void test_create_txcap_larger_than_capacity(void **state)
{
    struct fixture *f = *state;
    struct sluice_err err = {0};
    void *conf = conf_build(KV("capacity", "10", "transactionCapacity", "11"));
    void *ch = &err; /* must be reset to NULL */
    int rc = ops()->create(&ch, conf, &test_host, &f->ctx, &err);
    free(conf);
    assert_int_equal(rc, SLUICE_ECONFIG);
    assert_int_equal(err.code, SLUICE_ECONFIG);
    assert_string_equal(err.msg, "transactionCapacity 11 is larger than capacity 10");
    assert_null(ch);
    /* equal is fine */
    ch_open(f, KV("capacity", "10", "transactionCapacity", "10"));
}

/* ---- Capacity and transactionCapacity ------------------------------------------------------ */

static void test_capacity_full(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "5", "transactionCapacity", "5", "keep-alive", "0"));
    put_ok(f->ch, 0, 5, 10);
    assert_int_equal(ch_size(f->ch), 5);

    struct sluice_err err = {0};
    assert_int_equal(put_batch(f->ch, 100, 1, 10, &err), SLUICE_EFULL);
    assert_int_equal(err.code, SLUICE_EFULL);
    assert_non_null(strstr(err.msg, "Space for commit to queue couldn't be acquired"));
    assert_non_null(strstr(err.msg, "capacity 5"));
    assert_int_equal(ch_size(f->ch), 5);

    /* events taken by an open transaction still hold their room (a rollback needs it) */
    struct sluice_event *evs[5];
    size_t n;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 2, &n), SLUICE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ch_size(f->ch), 3);
    assert_int_equal(put_batch(f->ch, 100, 1, 10, &err), SLUICE_EFULL);

    /* once the take commits, the room is there */
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    put_ok(f->ch, 5, 2, 10);
    assert_int_equal(ch_size(f->ch), 5);
    assert_int_equal(put_batch(f->ch, 100, 1, 10, &err), SLUICE_EFULL);
    assert_int_equal(take_commit(f->ch, 5, 2), 5);
    assert_int_equal(ch_size(f->ch), 0);
}

static void test_put_transaction_capacity(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "10", "transactionCapacity", "3", "keep-alive", "0"));
    struct sluice_err err = {0};
    struct sluice_event *evs[4];
    for (int i = 0; i < 4; i++)
        evs[i] = ev_make((uint64_t)i, 10);
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, evs, 2, &err), SLUICE_OK);
    /* 2 + 2 > 3: refused whole, and the channel owns neither of those two */
    assert_int_equal(ops()->put(tx, evs + 2, 2, &err), SLUICE_ETXCAP);
    assert_int_equal(err.code, SLUICE_ETXCAP);
    assert_non_null(strstr(err.msg, "Put queue for MemoryTransaction of capacity 3 full"));
    assert_int_equal(ops()->put(tx, evs + 2, 1, &err), SLUICE_OK);
    assert_int_equal(ops()->put(tx, evs + 3, 1, &err), SLUICE_ETXCAP);
    test_host.event_free(evs[3]);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 3);
    assert_int_equal(take_commit(f->ch, 10, 0), 3);
}

static void test_take_transaction_capacity(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "10", "transactionCapacity", "3", "keep-alive", "0"));
    for (int i = 0; i < 3; i++)
        put_ok(f->ch, (uint64_t)i * 3, 3, 10);
    assert_int_equal(ch_size(f->ch), 9);

    struct sluice_event *evs[10];
    size_t n = 99;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 10, &n), SLUICE_OK);
    assert_int_equal(n, 3); /* at most the allowance */
    assert_int_equal(ops()->take(tx, evs, 10, &n), SLUICE_ETXCAP);
    assert_int_equal(n, 0);
    struct sluice_err err = {0};
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 6);

    /* the allowance is per transaction and spans several take calls */
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 2, &n), SLUICE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev_id(evs[0]), 3);
    assert_int_equal(ops()->take(tx, evs, 5, &n), SLUICE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ev_id(evs[0]), 5);
    assert_int_equal(ops()->take(tx, evs, 0, &n), SLUICE_OK); /* max 0 is not an error */
    assert_int_equal(n, 0);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 3);
}

/* A transaction may take and put; only the net change needs room. */
static void test_mixed_transaction_at_capacity(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "4", "transactionCapacity", "4", "keep-alive", "0"));
    put_ok(f->ch, 0, 4, 10);
    struct sluice_event *evs[4];
    size_t n;
    struct sluice_err err = {0};
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 2, &n), SLUICE_OK);
    assert_int_equal(n, 2);
    struct sluice_event *in[2] = {ev_make(10, 10), ev_make(11, 10)};
    assert_int_equal(ops()->put(tx, in, 2, &err), SLUICE_OK);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 4);
    struct sluice_event *out[4];
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, out, 4, &n), SLUICE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(ev_id(out[0]), 2);
    assert_int_equal(ev_id(out[1]), 3);
    assert_int_equal(ev_id(out[2]), 10);
    assert_int_equal(ev_id(out[3]), 11);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
}

static void test_finished_transaction(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "0"));
    struct sluice_err err = {0};
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    struct sluice_event *ev = ev_make(1, 10);
    assert_int_equal(ops()->put(tx, &ev, 1, &err), SLUICE_ESTATE);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_ESTATE);
    size_t n;
    assert_int_equal(ops()->take(tx, &ev, 1, &n), SLUICE_ESTATE);
    ops()->rollback(tx); /* harmless */
    ops()->tx_free(tx);
    test_host.event_free(ev);
    assert_int_equal(ch_size(f->ch), 0);
}

/* ---- Byte capacity ------------------------------------------------------------------------- */

/* How many empty-bodied events (1 slot each) fit; keep-alive must be 0. */
static size_t slots_available(void *ch, size_t limit)
{
    size_t n = 0;
    struct sluice_err err = {0};
    while (n < limit && put_batch(ch, n, 1, 0, &err) == SLUICE_OK)
        n++;
    if (n < limit)
        assert_int_equal(err.code, SLUICE_EFULL);
    return n;
}

static void test_byte_slot_math(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "1000", "keep-alive", "0", "byteCapacity", "1000",
                  "byteCapacityBufferPercentage", "0"));
    /* budget 10 slots: 5 x 100 B (1 slot) + 2 x 101 B (2 slots) = 9, + empty body (1) = 10 */
    put_ok(f->ch, 0, 5, 100);
    put_ok(f->ch, 5, 2, 101);
    put_ok(f->ch, 7, 1, 0);
    struct sluice_err err = {0};
    assert_int_equal(put_batch(f->ch, 8, 1, 1, &err), SLUICE_EFULL);
    assert_non_null(strstr(err.msg, "Byte capacity allocated to store event body"));
    assert_non_null(strstr(err.msg, "10 of 10 slots used"));
    assert_int_equal(ch_size(f->ch), 8);
    /* a taken event keeps its slot until its transaction commits */
    struct sluice_event *evs[1];
    size_t n;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 1, &n), SLUICE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(put_batch(f->ch, 8, 1, 1, &err), SLUICE_EFULL);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    put_ok(f->ch, 8, 1, 1);
    assert_int_equal(put_batch(f->ch, 9, 1, 0, &err), SLUICE_EFULL);
    /* releasing a 2-slot event makes room for two 1-slot events */
    assert_int_equal(take_commit(f->ch, 4, 1), 4);
    assert_int_equal(take_commit(f->ch, 1, 5), 1);
    assert_int_equal(slots_available(f->ch, 100), 6);
}

static void test_byte_capacity_percentage(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "1000", "keep-alive", "0", "byteCapacity", "1000",
                  "byteCapacityBufferPercentage", "50"));
    assert_int_equal(slots_available(f->ch, 100), 5);
}

/* Flume computes (int)((1000 * (1 - 80 * .01)) / 100) in doubles: 1.9999... -> 1 slot. */
static void test_byte_capacity_flume_rounding(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "1000", "keep-alive", "0", "byteCapacity", "1000",
                  "byteCapacityBufferPercentage", "80"));
    assert_int_equal(slots_available(f->ch, 100), 1);
    ops()->destroy(f->ch);
    f->ch = NULL;
    ch_open(f, KV("capacity", "1000", "keep-alive", "0", "byteCapacity", "10000",
                  "byteCapacityBufferPercentage", "31"));
    assert_int_equal(slots_available(f->ch, 100), 68); /* exact math would say 69 */
}

/* A budget below one slot means Integer.MAX_VALUE slots, i.e. no byte limit. */
static void test_byte_capacity_unlimited(void **state)
{
    struct fixture *f = *state;
    const char *caps[] = {"0", "99"};
    for (size_t c = 0; c < 2; c++) {
        ch_open(f, KV("capacity", "1000", "transactionCapacity", "100", "keep-alive", "0",
                      "byteCapacity", caps[c], "byteCapacityBufferPercentage", "0"));
        for (int i = 0; i < 10; i++)
            put_ok(f->ch, (uint64_t)i * 100, 100, 100000); /* 1000 slots each */
        assert_int_equal(ch_size(f->ch), 1000);
        ops()->destroy(f->ch);
        f->ch = NULL;
    }
}

/* The default: 16777216 bytes less 20% = 134217 slots of 100 bytes. */
static void test_byte_capacity_default(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "0"));
    struct sluice_err err = {0};
    assert_int_equal(put_batch(f->ch, 0, 1, 13421701, &err), SLUICE_ETOOBIG);
    assert_non_null(strstr(err.msg, "134218 byte slots"));
    assert_non_null(strstr(err.msg, "134217 slots"));
    put_ok(f->ch, 0, 1, 13421700);
    assert_int_equal(put_batch(f->ch, 1, 1, 0, &err), SLUICE_EFULL);
}

static void test_too_big(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "100", "keep-alive", "3", "byteCapacity", "1000",
                  "byteCapacityBufferPercentage", "0"));
    struct sluice_err err = {0};
    int64_t t0 = now_ms();
    /* 11 slots in one event, then in 11 events: can never fit a 10-slot budget */
    assert_int_equal(put_batch(f->ch, 0, 1, 1001, &err), SLUICE_ETOOBIG);
    assert_int_equal(err.code, SLUICE_ETOOBIG);
    assert_non_null(strstr(err.msg, "1 events needing 11 byte slots"));
    assert_int_equal(put_batch(f->ch, 0, 11, 0, &err), SLUICE_ETOOBIG);
    assert_true(now_ms() - t0 < 1000); /* no keep-alive wait */
    put_ok(f->ch, 0, 10, 0);           /* exactly the budget */
    assert_int_equal(ch_size(f->ch), 10);
}

/* ---- Rollback ------------------------------------------------------------------------------ */

static void test_rollback_restores_head_order(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "10", "transactionCapacity", "10", "keep-alive", "0"));
    put_ok(f->ch, 0, 6, 16);
    struct sluice_event *taken[5];
    size_t n, m;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, taken, 3, &n), SLUICE_OK);
    assert_int_equal(ops()->take(tx, taken + 3, 2, &m), SLUICE_OK);
    assert_int_equal(n + m, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ev_id(taken[i]), i);
    /* another transaction adds at the tail meanwhile */
    put_ok(f->ch, 6, 1, 16);
    assert_int_equal(ch_size(f->ch), 2);
    ops()->rollback(tx);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 7);

    struct sluice_event *evs[10];
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 10, &n), SLUICE_OK);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(ev_id(evs[i]), i);
    for (size_t i = 0; i < 5; i++)
        assert_ptr_equal(evs[i], taken[i]); /* the very same events */
    struct sluice_err err = {0};
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
}

/* Rollback when the ring has wrapped, and tx_free of an open transaction rolling back. */
static void test_rollback_wrapped_ring_and_tx_free(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "4", "transactionCapacity", "4", "keep-alive", "0"));
    put_ok(f->ch, 0, 3, 16);
    assert_int_equal(take_commit(f->ch, 3, 0), 3); /* head now at the ring's last slot */
    put_ok(f->ch, 10, 4, 16);                      /* wraps */
    for (int round = 0; round < 2; round++) {
        struct sluice_event *evs[4];
        size_t n;
        void *tx = ops()->tx_begin(f->ch);
        assert_int_equal(ops()->take(tx, evs, 3, &n), SLUICE_OK);
        assert_int_equal(n, 3);
        assert_int_equal(ev_id(evs[2]), 12);
        if (round == 0)
            ops()->rollback(tx);
        ops()->tx_free(tx); /* round 1: still open, so this rolls back */
        assert_int_equal(ch_size(f->ch), 4);
    }
    assert_int_equal(take_commit(f->ch, 4, 10), 4);
}

static void test_rollback_frees_puts(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "0"));
    struct sluice_event *evs[3] = {ev_make(1, 10), ev_make(2, 0), ev_make(3, 300)};
    struct sluice_err err = {0};
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, evs, 3, &err), SLUICE_OK);
    ops()->rollback(tx);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 0);
    /* and an open transaction with puts, freed without commit (ASan checks both) */
    struct sluice_event *ev = ev_make(4, 10);
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, &ev, 1, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 0);
}

/* ---- Waiting ------------------------------------------------------------------------------- */

struct delayed {
    void *ch;
    int delay_ms;
    int take; /* 0: put one event, 1: take and commit one */
    int rc;
};

static void *delayed_main(void *arg)
{
    struct delayed *d = arg;
    sleep_ms(d->delay_ms); /* the scenario: the other side shows up late */
    struct sluice_err err = {0};
    if (d->take) {
        struct sluice_event *ev;
        size_t n;
        void *tx = ops()->tx_begin(d->ch);
        d->rc = ops()->take(tx, &ev, 1, &n);
        if (d->rc == SLUICE_OK && n != 1)
            d->rc = -100;
        if (d->rc == SLUICE_OK)
            d->rc = ops()->commit(tx, &err);
        ops()->tx_free(tx);
    } else {
        struct sluice_event *ev = test_host.event_new("late", 4);
        void *tx = ops()->tx_begin(d->ch);
        d->rc = ops()->put(tx, &ev, 1, &err);
        if (d->rc == SLUICE_OK)
            d->rc = ops()->commit(tx, &err);
        ops()->tx_free(tx);
    }
    return NULL;
}

static void test_take_waits_for_first_event(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "3"));
    struct delayed d = {.ch = f->ch, .delay_ms = 100};
    pthread_t th;
    int64_t t0 = now_ms();
    assert_int_equal(pthread_create(&th, NULL, delayed_main, &d), 0);
    struct sluice_event *evs[10];
    size_t n;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, evs, 10, &n), SLUICE_OK);
    int64_t waited = now_ms() - t0;
    assert_int_equal(n, 1);
    assert_memory_equal(evs[0]->body, "late", 4);
    assert_true(waited >= 80);
    assert_true(waited < 1500); /* woken by the put, long before keep-alive */
    struct sluice_err err = {0};
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    pthread_join(th, NULL);
    assert_int_equal(d.rc, SLUICE_OK);
}

static void test_take_partial_batch_at_once(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "3"));
    put_ok(f->ch, 0, 3, 16);
    int64_t t0 = now_ms();
    assert_int_equal(take_commit(f->ch, 100, 0), 3);
    assert_true(now_ms() - t0 < 500);
}

static void test_take_keep_alive_timeout(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "1"));
    int64_t t0 = now_ms();
    assert_int_equal(take_commit(f->ch, 10, -1), 0);
    int64_t waited = now_ms() - t0;
    assert_true(waited >= 900);
    assert_true(waited < 2500);
    ops()->destroy(f->ch);
    ch_open(f, KV("keep-alive", "0"));
    t0 = now_ms();
    assert_int_equal(take_commit(f->ch, 10, -1), 0);
    assert_true(now_ms() - t0 < 200);
}

static void test_commit_waits_for_room(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "2", "transactionCapacity", "2", "keep-alive", "3"));
    put_ok(f->ch, 0, 2, 16);
    struct delayed d = {.ch = f->ch, .delay_ms = 100, .take = 1};
    pthread_t th;
    int64_t t0 = now_ms();
    assert_int_equal(pthread_create(&th, NULL, delayed_main, &d), 0);
    put_ok(f->ch, 2, 1, 16);
    int64_t waited = now_ms() - t0;
    pthread_join(th, NULL);
    assert_int_equal(d.rc, SLUICE_OK);
    assert_true(waited >= 80);
    assert_true(waited < 2000);
    assert_int_equal(take_commit(f->ch, 2, 1), 2);
}

static void test_commit_full_after_keep_alive(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "1", "transactionCapacity", "1", "keep-alive", "1"));
    put_ok(f->ch, 0, 1, 16);
    struct sluice_err err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(put_batch(f->ch, 1, 1, 16, &err), SLUICE_EFULL);
    int64_t waited = now_ms() - t0;
    assert_true(waited >= 900 && waited < 2500);
}

struct blocked_take {
    void *ch;
    int64_t waited_ms;
    size_t n;
    int rc;
};

static void *blocked_take_main(void *arg)
{
    struct blocked_take *b = arg;
    struct sluice_event *ev;
    int64_t t0 = now_ms();
    void *tx = ops()->tx_begin(b->ch);
    b->rc = ops()->take(tx, &ev, 1, &b->n);
    b->waited_ms = now_ms() - t0;
    ops()->tx_free(tx);
    return NULL;
}

static void test_stop_wakes_waiters(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("keep-alive", "3"));
    struct blocked_take b = {.ch = f->ch};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocked_take_main, &b), 0);
    sleep_ms(100); /* let it block in take() */
    ops()->stop(f->ch);
    pthread_join(th, NULL);
    assert_int_equal(b.rc, SLUICE_OK);
    assert_int_equal(b.n, 0);
    assert_true(b.waited_ms < 1500);
    /* a stopped channel does not wait, and start() makes it whole again */
    int64_t t0 = now_ms();
    assert_int_equal(take_commit(f->ch, 1, -1), 0);
    assert_true(now_ms() - t0 < 500);
    struct sluice_err err = {0};
    assert_int_equal(ops()->start(f->ch, &err), SLUICE_OK);
    put_ok(f->ch, 7, 1, 16);
    assert_int_equal(take_commit(f->ch, 1, 7), 1);
}

/* ---- Concurrency --------------------------------------------------------------------------- */

#define MOVE_TOTAL       1000000u
#define MOVE_BATCH       100u
#define MOVE_DEADLINE_MS 60000 /* a broken channel fails the test instead of hanging it */

struct mover {
    void *ch;
    uint64_t total;
    atomic_uint_fast64_t *next_take; /* shared: events committed by consumers */
    /* consumer results */
    uint64_t expected;  /* next id for an in-order consumer */
    uint64_t bad_order; /* ids out of order */
    int rollback_every; /* 0: never */
    atomic_uchar *seen; /* commits per id */
    int rc;
};

static void *producer_main(void *arg)
{
    struct mover *m = arg;
    struct sluice_err err = {0};
    struct sluice_event *evs[MOVE_BATCH];
    int64_t deadline = now_ms() + MOVE_DEADLINE_MS;
    for (uint64_t id = 0; id < m->total; id += MOVE_BATCH) {
        size_t n = m->total - id < MOVE_BATCH ? (size_t)(m->total - id) : MOVE_BATCH;
        for (size_t i = 0; i < n; i++) {
            uint64_t v = id + i;
            evs[i] = test_host.event_new(&v, sizeof(v));
        }
        void *tx = ops()->tx_begin(m->ch);
        int rc = ops()->put(tx, evs, n, &err);
        /* EFULL leaves the transaction open: retry the commit (bounded by the deadline) */
        while (rc == SLUICE_OK && (rc = ops()->commit(tx, &err)) == SLUICE_EFULL &&
               now_ms() < deadline)
            ;
        ops()->tx_free(tx);
        if (rc != SLUICE_OK) {
            m->rc = rc;
            return NULL;
        }
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct mover *m = arg;
    struct sluice_err err = {0};
    struct sluice_event *evs[MOVE_BATCH];
    uint64_t ids[MOVE_BATCH];
    int64_t deadline = now_ms() + MOVE_DEADLINE_MS;
    unsigned txs = 0;
    while (atomic_load(m->next_take) < m->total && now_ms() < deadline) {
        size_t n = 0;
        void *tx = ops()->tx_begin(m->ch);
        int rc = ops()->take(tx, evs, MOVE_BATCH, &n);
        if (rc != SLUICE_OK) {
            m->rc = rc;
            ops()->tx_free(tx);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            memcpy(&ids[i], evs[i]->body, sizeof(ids[i]));
        if (m->rollback_every && ++txs % (unsigned)m->rollback_every == 0) {
            ops()->rollback(tx);
            ops()->tx_free(tx);
            continue;
        }
        rc = ops()->commit(tx, &err);
        ops()->tx_free(tx);
        if (rc != SLUICE_OK) {
            m->rc = rc;
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            if (m->seen)
                atomic_fetch_add(&m->seen[ids[i]], 1);
            if (ids[i] != m->expected)
                m->bad_order++;
            m->expected = ids[i] + 1;
        }
        atomic_fetch_add(m->next_take, n);
    }
    return NULL;
}

static void test_concurrent_million_in_order(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "1000", "transactionCapacity", "100", "keep-alive", "1"));
    atomic_uint_fast64_t taken = 0;
    struct mover prod = {.ch = f->ch, .total = MOVE_TOTAL};
    struct mover cons = {.ch = f->ch, .total = MOVE_TOTAL, .next_take = &taken};
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tc, NULL, consumer_main, &cons), 0);
    assert_int_equal(pthread_create(&tp, NULL, producer_main, &prod), 0);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(prod.rc, SLUICE_OK);
    assert_int_equal(cons.rc, SLUICE_OK);
    assert_int_equal(atomic_load(&taken), MOVE_TOTAL);
    assert_int_equal(cons.expected, MOVE_TOTAL); /* last id + 1 */
    assert_int_equal(cons.bad_order, 0);         /* so none lost, duplicated or reordered */
    assert_int_equal(ch_size(f->ch), 0);
}

/* Two consumers that also roll back now and then: every event committed exactly once. */
static void test_concurrent_consumers_with_rollbacks(void **state)
{
    struct fixture *f = *state;
    enum { TOTAL = 200000 };
    ch_open(f, KV("capacity", "500", "transactionCapacity", "100", "keep-alive", "1"));
    atomic_uchar *seen = calloc(TOTAL, sizeof(*seen));
    assert_non_null(seen);
    atomic_uint_fast64_t taken = 0;
    struct mover prod = {.ch = f->ch, .total = TOTAL};
    struct mover cons[2];
    pthread_t tp, tc[2];
    for (int i = 0; i < 2; i++) {
        cons[i] = (struct mover){.ch = f->ch,
                                 .total = TOTAL,
                                 .next_take = &taken,
                                 .rollback_every = 3 + i * 2,
                                 .seen = seen};
        assert_int_equal(pthread_create(&tc[i], NULL, consumer_main, &cons[i]), 0);
    }
    assert_int_equal(pthread_create(&tp, NULL, producer_main, &prod), 0);
    pthread_join(tp, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(tc[i], NULL);
        assert_int_equal(cons[i].rc, SLUICE_OK);
    }
    assert_int_equal(prod.rc, SLUICE_OK);
    assert_int_equal(atomic_load(&taken), TOTAL);
    size_t wrong = 0;
    for (size_t i = 0; i < TOTAL; i++)
        wrong += atomic_load(&seen[i]) != 1;
    assert_int_equal(wrong, 0);
    assert_int_equal(ch_size(f->ch), 0);
    free(seen);
}

/* ---- Teardown ------------------------------------------------------------------------------ */

/* Queued events are freed by destroy(); ASan's leak check fails this test otherwise. */
static void test_destroy_with_queued_events(void **state)
{
    struct fixture *f = *state;
    ch_open(f, KV("capacity", "3000", "transactionCapacity", "100", "keep-alive", "0"));
    for (int i = 0; i < 25; i++) /* more than the initial ring, so it grew */
        put_ok(f->ch, (uint64_t)i * 100, 100, 40);
    assert_int_equal(take_commit(f->ch, 100, 0), 100);
    assert_int_equal(ch_size(f->ch), 2400);
    ops()->stop(f->ch);
    ops()->destroy(f->ch);
    f->ch = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_descriptor),
        T(test_create_defaults),
        T(test_create_txcap_larger_than_capacity),
        T(test_capacity_full),
        T(test_put_transaction_capacity),
        T(test_take_transaction_capacity),
        T(test_mixed_transaction_at_capacity),
        T(test_finished_transaction),
        T(test_byte_slot_math),
        T(test_byte_capacity_percentage),
        T(test_byte_capacity_flume_rounding),
        T(test_byte_capacity_unlimited),
        T(test_byte_capacity_default),
        T(test_too_big),
        T(test_rollback_restores_head_order),
        T(test_rollback_wrapped_ring_and_tx_free),
        T(test_rollback_frees_puts),
        T(test_take_waits_for_first_event),
        T(test_take_partial_batch_at_once),
        T(test_take_keep_alive_timeout),
        T(test_commit_waits_for_room),
        T(test_commit_full_after_keep_alive),
        T(test_stop_wakes_waiters),
        T(test_concurrent_million_in_order),
        T(test_concurrent_consumers_with_rollbacks),
        T(test_destroy_with_queued_events),
#undef T
    };
    return cmocka_run_group_tests_name("memory_channel", tests, NULL, NULL);
}
