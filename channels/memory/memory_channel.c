/*
 * The `memory` channel: Flume's MemoryChannel (capacity, per-transaction limits, keep-alive
 * waits, byte-slot accounting, rollback to the head of the queue) on a bounded ring of event
 * pointers behind one mutex. Batches move with memcpy, so each put, take or commit costs at
 * most one lock round whatever its size. Unlike Flume, a take hands over a partial batch at
 * once instead of waiting keep-alive for every missing event.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/plugin.h"

/*
 * Flume defaults byteCapacity to 80% of Runtime.maxMemory(), and bin/flume-ng starts the JVM
 * with -Xmx20m: 0.8 * 20 MiB = 16 MiB (the JVM reports a little less than -Xmx, so Flume's
 * real default is slightly lower). With the 20% buffer that is 134217 slots of 100 bytes.
 */
#define MEM_DEFAULT_BYTE_CAPACITY "16777216"
#define MEM_SLOT_SIZE             100
#define MEM_RING_INITIAL          1024 /* ring slots allocated up front; grows up to capacity */

struct mem_conf {
    int64_t capacity;
    int64_t tx_capacity;
    int64_t keep_alive;
    int64_t byte_capacity;
    int64_t byte_buffer_pct;
};

struct mem_channel {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    size_t capacity;
    size_t tx_capacity;
    int64_t keep_alive_s;
    int64_t slot_budget; /* usable byte budget in 100-byte slots */
    int64_t byte_capacity;
    int64_t byte_pct;

    pthread_mutex_t mu;
    pthread_cond_t nonempty; /* takers wait here for events */
    pthread_cond_t room;     /* committers wait here for queue room and byte slots */
    int sync_ready;          /* mu and the condvars exist (destroy of a half-built object) */

    /* Everything below is guarded by mu. Taken events leave the ring at once but stay
     * counted in in_flight and slots_used until their transaction commits, so a rollback
     * always finds room (Flume's queueRemaining = capacity - size - uncommitted takes). The
     * ring is grown on commit to hold count + in_flight, never beyond capacity. */
    struct sluice_event **ring;
    size_t ring_size;
    size_t head;
    size_t count;
    size_t in_flight;
    int64_t slots_used;
    unsigned take_waiters;
    unsigned commit_waiters;
    int stopping;
};

/* One transaction; only ever used by one thread at a time, so its fields need no lock. */
struct mem_tx {
    struct mem_channel *ch;
    int open;
    struct sluice_event **puts;
    size_t n_puts, cap_puts;
    int64_t put_slots;
    struct sluice_event **takes;
    size_t n_takes, cap_takes;
    int64_t take_slots;
};

/* ---- Accounting helpers -------------------------------------------------------------------- */

/* Flume's estimate: ceil(body bytes / 100), and an empty body still costs one slot. */
static int64_t mem_event_slots(const struct sluice_event *ev)
{
    size_t len = ev->body_len;
    if (len == 0)
        return 1;
    return (int64_t)(len / MEM_SLOT_SIZE + (len % MEM_SLOT_SIZE != 0));
}

/*
 * Flume: (int)((byteCapacity * (1 - pct * .01)) / 100), and below 1 means Integer.MAX_VALUE.
 * The same double arithmetic is kept on purpose (it rounds down at some boundaries, e.g.
 * 1000 bytes at 80% gives 1 slot, not 2); one operation per statement so no FMA contraction
 * can change a result.
 */
static int64_t mem_slot_budget(int64_t byte_capacity, int64_t pct)
{
    double keep = 1.0 - (double)pct * 0.01;
    double bytes = (double)byte_capacity * keep;
    double slots = bytes / MEM_SLOT_SIZE;
    if (!(slots >= 1.0) || slots >= (double)INT32_MAX)
        return INT32_MAX;
    return (int64_t)slots;
}

static void mem_deadline(struct timespec *ts, int64_t seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)seconds;
}

/* Grow a transaction list to hold need pointers (doubling, capped at limit). */
static int mem_list_reserve(struct sluice_event ***list, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return SLUICE_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap < need)
        ncap = need;
    if (ncap > limit)
        ncap = limit;
    struct sluice_event **v = realloc(*list, ncap * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    *list = v;
    *cap = ncap;
    return SLUICE_OK;
}

/* ---- The ring (caller holds mu) ------------------------------------------------------------ */

static int mem_ring_reserve(struct mem_channel *ch, size_t need)
{
    if (need <= ch->ring_size)
        return SLUICE_OK;
    size_t nsize = ch->ring_size * 2;
    if (nsize < need)
        nsize = need;
    if (nsize > ch->capacity)
        nsize = ch->capacity;
    struct sluice_event **v = malloc(nsize * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    size_t first = ch->ring_size - ch->head;
    if (first > ch->count)
        first = ch->count;
    memcpy(v, ch->ring + ch->head, first * sizeof(*v));
    memcpy(v + first, ch->ring, (ch->count - first) * sizeof(*v));
    free(ch->ring);
    ch->ring = v;
    ch->ring_size = nsize;
    ch->head = 0;
    return SLUICE_OK;
}

static void mem_ring_pop(struct mem_channel *ch, struct sluice_event **dst, size_t n)
{
    size_t first = ch->ring_size - ch->head;
    if (first > n)
        first = n;
    memcpy(dst, ch->ring + ch->head, first * sizeof(*dst));
    memcpy(dst + first, ch->ring, (n - first) * sizeof(*dst));
    ch->head = (ch->head + n) % ch->ring_size;
    ch->count -= n;
}

static void mem_ring_append(struct mem_channel *ch, struct sluice_event *const *src, size_t n)
{
    size_t tail = (ch->head + ch->count) % ch->ring_size;
    size_t first = ch->ring_size - tail;
    if (first > n)
        first = n;
    memcpy(ch->ring + tail, src, first * sizeof(*src));
    memcpy(ch->ring, src + first, (n - first) * sizeof(*src));
    ch->count += n;
}

static void mem_ring_prepend(struct mem_channel *ch, struct sluice_event *const *src, size_t n)
{
    size_t head = (ch->head + ch->ring_size - n % ch->ring_size) % ch->ring_size;
    size_t first = ch->ring_size - head;
    if (first > n)
        first = n;
    memcpy(ch->ring + head, src, first * sizeof(*src));
    memcpy(ch->ring, src + first, (n - first) * sizeof(*src));
    ch->head = head;
    ch->count += n;
}

/* ---- Lifecycle ----------------------------------------------------------------------------- */

static void mem_destroy(void *self);

static int mem_create(void **self, const void *conf_, const struct sluice_host *host,
                      struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct mem_conf *conf = conf_;
    *self = NULL;
    if (conf->tx_capacity > conf->capacity)
        return host->err_set(err, SLUICE_ECONFIG,
                             "transactionCapacity %" PRId64 " is larger than capacity %" PRId64,
                             conf->tx_capacity, conf->capacity);
    struct mem_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return host->err_set(err, SLUICE_ENOMEM, "memory channel: out of memory");
    ch->host = host;
    ch->ctx = ctx;
    ch->capacity = (size_t)conf->capacity;
    ch->tx_capacity = (size_t)conf->tx_capacity;
    ch->keep_alive_s = conf->keep_alive;
    ch->byte_capacity = conf->byte_capacity;
    ch->byte_pct = conf->byte_buffer_pct;
    ch->slot_budget = mem_slot_budget(conf->byte_capacity, conf->byte_buffer_pct);

    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_mutex_init(&ch->mu, NULL) == 0;
    if (ok && pthread_cond_init(&ch->nonempty, &ca) != 0) {
        pthread_mutex_destroy(&ch->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&ch->room, &ca) != 0) {
        pthread_cond_destroy(&ch->nonempty);
        pthread_mutex_destroy(&ch->mu);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    ch->sync_ready = ok;
    ch->ring_size = ch->capacity < MEM_RING_INITIAL ? ch->capacity : MEM_RING_INITIAL;
    ch->ring = malloc(ch->ring_size * sizeof(*ch->ring));
    if (!ok || !ch->ring) {
        mem_destroy(ch);
        return host->err_set(err, SLUICE_ENOMEM, "memory channel: cannot allocate the queue");
    }
    host->log(ctx, SLUICE_LOG_INFO,
              "memory channel: capacity=%zu transactionCapacity=%zu keep-alive=%" PRId64
              "s byteCapacity=%" PRId64 " byteCapacityBufferPercentage=%" PRId64
              " byteSlots=%" PRId64,
              ch->capacity, ch->tx_capacity, ch->keep_alive_s, ch->byte_capacity, ch->byte_pct,
              ch->slot_budget);
    *self = ch;
    return SLUICE_OK;
}

/* A channel survives a stop/start pair (Flume reuses it across reloads with its events). */
static int mem_start(void *self, struct sluice_err *err)
{
    struct mem_channel *ch = self;
    (void)err;
    pthread_mutex_lock(&ch->mu);
    ch->stopping = 0;
    pthread_mutex_unlock(&ch->mu);
    return SLUICE_OK;
}

/* Wake every waiter; until the next start() takes and commits no longer wait. */
static void mem_stop(void *self)
{
    struct mem_channel *ch = self;
    pthread_mutex_lock(&ch->mu);
    ch->stopping = 1;
    pthread_cond_broadcast(&ch->nonempty);
    pthread_cond_broadcast(&ch->room);
    pthread_mutex_unlock(&ch->mu);
}

static void mem_destroy(void *self)
{
    struct mem_channel *ch = self;
    if (!ch)
        return;
    if (ch->count > 0)
        ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                      "memory channel destroyed with %zu queued events: they are dropped",
                      ch->count);
    for (size_t i = 0; i < ch->count; i++)
        ch->host->event_free(ch->ring[(ch->head + i) % ch->ring_size]);
    free(ch->ring);
    if (ch->sync_ready) {
        pthread_cond_destroy(&ch->room);
        pthread_cond_destroy(&ch->nonempty);
        pthread_mutex_destroy(&ch->mu);
    }
    free(ch);
}

static void mem_size(void *self, uint64_t *size, uint64_t *capacity)
{
    struct mem_channel *ch = self;
    pthread_mutex_lock(&ch->mu);
    *size = ch->count;
    pthread_mutex_unlock(&ch->mu);
    *capacity = ch->capacity;
}

/* ---- Transactions -------------------------------------------------------------------------- */

static void *mem_tx_begin(void *self)
{
    struct mem_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->ch = self;
    tx->open = 1;
    return tx;
}

static int mem_put(void *tx_, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    struct mem_tx *tx = tx_;
    struct mem_channel *ch = tx->ch;
    if (!tx->open)
        return ch->host->err_set(err, SLUICE_ESTATE, "put on a finished transaction");
    if (n == 0)
        return SLUICE_OK;
    if (n > ch->tx_capacity - tx->n_puts)
        return ch->host->err_set(
            err, SLUICE_ETXCAP,
            "Put queue for MemoryTransaction of capacity %zu full (%zu queued, %zu more "
            "offered), consider committing more frequently, increasing capacity or "
            "increasing thread count",
            ch->tx_capacity, tx->n_puts, n);
    if (mem_list_reserve(&tx->puts, &tx->cap_puts, tx->n_puts + n, ch->tx_capacity) != 0)
        return ch->host->err_set(err, SLUICE_ENOMEM, "memory channel: out of memory for %zu puts",
                                 tx->n_puts + n);
    for (size_t i = 0; i < n; i++)
        tx->put_slots += mem_event_slots(evs[i]);
    memcpy(tx->puts + tx->n_puts, evs, n * sizeof(*evs));
    tx->n_puts += n;
    return SLUICE_OK;
}

/*
 * Returns ETXCAP (no events) once this transaction already took transactionCapacity events,
 * as Flume throws; otherwise at most the remaining allowance. The taken events stay owned by
 * the transaction: commit frees them (the sink is done with them by then) and rollback gives
 * them back to the queue, so a sink never frees what it took.
 */
static int mem_take_impl(void *tx_, struct sluice_event **evs, size_t max, size_t *n_out, int wait)
{
    struct mem_tx *tx = tx_;
    struct mem_channel *ch = tx->ch;
    *n_out = 0;
    if (!tx->open)
        return SLUICE_ESTATE;
    size_t allowance = ch->tx_capacity - tx->n_takes;
    if (max == 0)
        return SLUICE_OK;
    if (allowance == 0)
        return SLUICE_ETXCAP;
    if (max > allowance)
        max = allowance;
    if (mem_list_reserve(&tx->takes, &tx->cap_takes, tx->n_takes + max, ch->tx_capacity) != 0)
        return SLUICE_ENOMEM;

    pthread_mutex_lock(&ch->mu);
    if (wait && ch->count == 0 && ch->keep_alive_s > 0 && !ch->stopping) {
        struct timespec deadline;
        mem_deadline(&deadline, ch->keep_alive_s);
        ch->take_waiters++;
        while (ch->count == 0 && !ch->stopping) {
            if (pthread_cond_timedwait(&ch->nonempty, &ch->mu, &deadline) == ETIMEDOUT)
                break;
        }
        ch->take_waiters--;
    }
    size_t n = ch->count < max ? ch->count : max;
    mem_ring_pop(ch, tx->takes + tx->n_takes, n);
    ch->in_flight += n;
    pthread_mutex_unlock(&ch->mu);

    memcpy(evs, tx->takes + tx->n_takes, n * sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        tx->take_slots += mem_event_slots(evs[i]);
    tx->n_takes += n;
    *n_out = n;
    return SLUICE_OK;
}

static int mem_take(void *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    return mem_take_impl(tx, evs, max, n_out, 1);
}

static int mem_take_nowait(void *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    return mem_take_impl(tx, evs, max, n_out, 0);
}

static void mem_tx_reset(struct mem_tx *tx)
{
    tx->n_puts = tx->n_takes = 0;
    tx->put_slots = tx->take_slots = 0;
    tx->open = 0;
}

/* Fill err for a commit that found no room within keep-alive (Flume's two messages). */
static int mem_commit_full(struct mem_tx *tx, int64_t slots_after, struct sluice_err *err)
{
    struct mem_channel *ch = tx->ch;
    const char *why = ch->stopping ? " (channel is stopping)" : "";
    if (slots_after > ch->slot_budget)
        return ch->host->err_set(
            err, SLUICE_EFULL,
            "Cannot commit transaction. Byte capacity allocated to store event body (%" PRId64
            " bytes, byteCapacity=%" PRId64 " less %" PRId64 "%%) reached: %" PRId64 " of %" PRId64
            " slots used, this commit adds %" PRId64
            "%s. Increase byteCapacity, or the sinks may not be keeping up with the sources",
            ch->slot_budget * MEM_SLOT_SIZE, ch->byte_capacity, ch->byte_pct, ch->slots_used,
            ch->slot_budget, tx->put_slots, why);
    return ch->host->err_set(err, SLUICE_EFULL,
                             "Space for commit to queue couldn't be acquired (capacity %zu, %zu "
                             "queued, %zu taken uncommitted, %zu to add)%s. Sinks are likely "
                             "not keeping up with sources, or the buffer size is too tight",
                             ch->capacity, ch->count, ch->in_flight, tx->n_puts - tx->n_takes, why);
}

static int mem_commit(void *tx_, struct sluice_err *err)
{
    struct mem_tx *tx = tx_;
    struct mem_channel *ch = tx->ch;
    if (!tx->open)
        return ch->host->err_set(err, SLUICE_ESTATE, "commit on a finished transaction");
    if (tx->n_puts == 0 && tx->n_takes == 0) {
        mem_tx_reset(tx);
        return SLUICE_OK;
    }
    /* Slots held by the channel never drop below this transaction's takes, so its puts alone
     * must fit the whole budget. */
    if (tx->put_slots > ch->slot_budget || tx->n_puts > ch->capacity)
        return ch->host->err_set(
            err, SLUICE_ETOOBIG,
            "memory channel can never hold this transaction: %zu events needing %" PRId64
            " byte slots of 100 bytes, but capacity is %zu events and the byte budget %" PRId64
            " slots (byteCapacity=%" PRId64 ", byteCapacityBufferPercentage=%" PRId64 ")",
            tx->n_puts, tx->put_slots, ch->capacity, ch->slot_budget, ch->byte_capacity,
            ch->byte_pct);

    pthread_mutex_lock(&ch->mu);
    /* n_takes of the in-flight events are ours, so these never underflow. */
    size_t occupancy = ch->count + ch->in_flight - tx->n_takes + tx->n_puts;
    int64_t slots_after = ch->slots_used - tx->take_slots + tx->put_slots;
    if (occupancy > ch->capacity || slots_after > ch->slot_budget) {
        int timed_out = ch->keep_alive_s == 0;
        struct timespec deadline;
        mem_deadline(&deadline, ch->keep_alive_s);
        ch->commit_waiters++;
        for (;;) {
            occupancy = ch->count + ch->in_flight - tx->n_takes + tx->n_puts;
            slots_after = ch->slots_used - tx->take_slots + tx->put_slots;
            if (occupancy <= ch->capacity && slots_after <= ch->slot_budget)
                break;
            if (timed_out || ch->stopping) {
                ch->commit_waiters--;
                int rc = mem_commit_full(tx, slots_after, err);
                pthread_mutex_unlock(&ch->mu);
                return rc;
            }
            timed_out = pthread_cond_timedwait(&ch->room, &ch->mu, &deadline) == ETIMEDOUT;
        }
        ch->commit_waiters--;
    }
    if (mem_ring_reserve(ch, occupancy) != SLUICE_OK) {
        pthread_mutex_unlock(&ch->mu);
        return ch->host->err_set(err, SLUICE_ENOMEM,
                                 "memory channel: cannot grow the queue to %zu events", occupancy);
    }
    if (tx->n_puts > 0)
        mem_ring_append(ch, tx->puts, tx->n_puts);
    ch->in_flight -= tx->n_takes;
    ch->slots_used = slots_after;
    if (tx->n_puts > 0 && ch->take_waiters > 0)
        pthread_cond_broadcast(&ch->nonempty);
    if (tx->n_takes > 0 && ch->commit_waiters > 0)
        pthread_cond_broadcast(&ch->room);
    pthread_mutex_unlock(&ch->mu);

    for (size_t i = 0; i < tx->n_takes; i++)
        ch->host->event_free(tx->takes[i]);
    mem_tx_reset(tx);
    return SLUICE_OK;
}

static void mem_rollback(void *tx_)
{
    struct mem_tx *tx = tx_;
    struct mem_channel *ch = tx->ch;
    if (!tx->open)
        return;
    if (tx->n_takes > 0) {
        pthread_mutex_lock(&ch->mu);
        /* room is guaranteed: the ring holds count + in_flight and these are in flight */
        mem_ring_prepend(ch, tx->takes, tx->n_takes);
        ch->in_flight -= tx->n_takes;
        if (ch->take_waiters > 0)
            pthread_cond_broadcast(&ch->nonempty);
        pthread_mutex_unlock(&ch->mu);
    }
    for (size_t i = 0; i < tx->n_puts; i++)
        ch->host->event_free(tx->puts[i]);
    mem_tx_reset(tx);
}

static void mem_tx_free(void *tx_)
{
    struct mem_tx *tx = tx_;
    if (!tx)
        return;
    mem_rollback(tx);
    free(tx->puts);
    free(tx->takes);
    free(tx);
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_channel_ops mem_ops = {
    .create = mem_create,
    .start = mem_start,
    .stop = mem_stop,
    .destroy = mem_destroy,
    .tx_begin = mem_tx_begin,
    .put = mem_put,
    .take = mem_take,
    .commit = mem_commit,
    .rollback = mem_rollback,
    .tx_free = mem_tx_free,
    .size = mem_size,
    .take_nowait = mem_take_nowait,
};

static const struct sluice_option mem_options[] = {
    {.name = "capacity",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Maximum number of events held by the channel.",
     .min = 1,
     .max = INT32_MAX,
     .offset = offsetof(struct mem_conf, capacity)},
    {.name = "transactionCapacity",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Maximum puts, and separately maximum takes, in one transaction; at most capacity.",
     .flags = SLUICE_OPT_TX_CAPACITY,
     .min = 1,
     .max = INT32_MAX,
     .offset = offsetof(struct mem_conf, tx_capacity)},
    {.name = "keep-alive",
     .type = SLUICE_OPT_INT,
     .def = "3",
     .desc = "Seconds a take waits for an event and a commit waits for room.",
     .min = 0,
     .max = INT32_MAX,
     .offset = offsetof(struct mem_conf, keep_alive)},
    {.name = "byteCapacity",
     .type = SLUICE_OPT_INT,
     .def = MEM_DEFAULT_BYTE_CAPACITY,
     .desc = "Bytes of event bodies the channel may hold (headers are not counted); a value "
             "leaving less than one 100-byte slot, such as 0, means no limit. The default is 80% "
             "of the 20 MiB heap Flume's launcher gives the JVM.",
     .min = 0,
     .max = INT64_MAX,
     .offset = offsetof(struct mem_conf, byte_capacity)},
    {.name = "byteCapacityBufferPercentage",
     .type = SLUICE_OPT_INT,
     .def = "20",
     .desc = "Percentage of byteCapacity set aside for header overhead.",
     .min = 0,
     .max = 100,
     .offset = offsetof(struct mem_conf, byte_buffer_pct)},
    {.name = NULL},
};

static const char *const mem_aliases[] = {"org.apache.flume.channel.MemoryChannel", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_CHANNEL, "memory"),
    .aliases = mem_aliases,
    .summary = "Bounded in-memory event queue with Flume's MemoryChannel semantics",
    .options = mem_options,
    .conf_size = sizeof(struct mem_conf),
    .ops = &mem_ops,
};
