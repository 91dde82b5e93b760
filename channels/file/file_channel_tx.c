/*
 * File channel transactions. Nothing is written before commit: a put transaction keeps its
 * events in memory, a take transaction keeps the positions it took (and the events read back
 * for the sink). Commit appends the transaction's records and a commit record in one write,
 * waits for the shared fdatasync, then changes the in-memory queue, so every transaction in
 * the log is either whole and committed or a torn tail. Rollback writes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file_channel.h"

#define FC_SPACE_POLL_MS 100

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Grow *list (elements of size elem) to hold need, doubling, capped at limit. */
static int reserve(void **list, size_t elem, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return SLUICE_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap < need)
        ncap = need;
    if (ncap > limit)
        ncap = limit;
    void *v = realloc(*list, ncap * elem);
    if (!v)
        return SLUICE_ENOMEM;
    *list = v;
    *cap = ncap;
    return SLUICE_OK;
}

/* q_mu held */
static void takers_unlink(struct fc_channel *ch, struct fc_tx *tx)
{
    if (!tx->listed)
        return;
    if (tx->prev)
        tx->prev->next = tx->next;
    else
        ch->takers = tx->next;
    if (tx->next)
        tx->next->prev = tx->prev;
    tx->prev = tx->next = NULL;
    tx->listed = 0;
}

static void tx_reset(struct fc_tx *tx)
{
    tx->n_puts = 0;
    tx->n_takes = 0;
    free(tx->buf);
    tx->buf = NULL;
    tx->buf_len = 0;
    free(tx->put_rel);
    tx->put_rel = NULL;
    tx->txid = 0;
    tx->open = 0;
}

void *fc_tx_begin(void *self)
{
    struct fc_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->ch = self;
    tx->open = 1;
    return tx;
}

int fc_put(void *tx_, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    struct fc_tx *tx = tx_;
    struct fc_channel *ch = tx->ch;
    if (!tx->open)
        return ch->host->err_set(err, SLUICE_ESTATE, "put on a finished transaction");
    if (n == 0)
        return SLUICE_OK;
    if (tx->n_takes > 0)
        return ch->host->err_set(err, SLUICE_ESTATE,
                                 "file channel: a transaction may not mix puts and takes (this "
                                 "one already took %zu events); commit or roll it back first",
                                 tx->n_takes);
    if (n > ch->tx_capacity - tx->n_puts)
        return ch->host->err_set(
            err, SLUICE_ETXCAP,
            "Put queue for FileBackedTransaction of capacity %zu full (%zu queued, %zu more "
            "offered), consider committing more frequently, increasing capacity or increasing "
            "thread count",
            ch->tx_capacity, tx->n_puts, n);
    for (size_t i = 0; i < n; i++)
        if (fc_put_payload_size(evs[i]) == 0)
            return ch->host->err_set(err, SLUICE_ETOOBIG,
                                     "file channel: an event of %zu body bytes and %" PRIu32
                                     " headers is larger than the 1 GiB a log record can hold",
                                     evs[i]->body_len, evs[i]->n_headers);
    if (reserve((void **)&tx->puts, sizeof(*tx->puts), &tx->cap_puts, tx->n_puts + n,
                ch->tx_capacity) != SLUICE_OK)
        return ch->host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory for %zu puts",
                                 tx->n_puts + n);
    memcpy(tx->puts + tx->n_puts, evs, n * sizeof(*evs));
    tx->n_puts += n;
    return SLUICE_OK;
}

/* Put a failed tail of this call's takes back at the head (they were taken from there). The
 * transaction's count changes in the same critical section, so a checkpoint never sees them
 * twice or not at all. */
static void takes_requeue(struct fc_tx *tx, size_t from, size_t to)
{
    struct fc_channel *ch = tx->ch;
    pthread_mutex_lock(&ch->q_mu);
    fc_queue_push_front(&ch->q, tx->take_pos + from, to - from);
    ch->in_flight -= to - from;
    tx->n_takes = from;
    if (ch->take_waiters)
        pthread_cond_broadcast(&ch->nonempty);
    pthread_mutex_unlock(&ch->q_mu);
}

static int fc_take_impl(void *tx_, struct sluice_event **evs, size_t max, size_t *n_out, int wait)
{
    struct fc_tx *tx = tx_;
    struct fc_channel *ch = tx->ch;
    *n_out = 0;
    if (!tx->open)
        return SLUICE_ESTATE;
    if (tx->n_puts > 0) {
        ch->host->log(ch->ctx, SLUICE_LOG_ERROR,
                      "file channel: a transaction may not mix puts and takes (this one holds "
                      "%zu puts); take refused",
                      tx->n_puts);
        return SLUICE_ESTATE;
    }
    if (max == 0)
        return SLUICE_OK;
    size_t allowance = ch->tx_capacity - tx->n_takes;
    if (allowance == 0)
        return SLUICE_ETXCAP;
    if (max > allowance)
        max = allowance;

    pthread_mutex_lock(&ch->q_mu);
    size_t need = tx->n_takes + max;
    size_t cap_pos = tx->cap_takes, cap_evs = tx->cap_takes;
    if (reserve((void **)&tx->take_pos, sizeof(*tx->take_pos), &cap_pos, need, ch->tx_capacity) !=
            SLUICE_OK ||
        reserve((void **)&tx->take_evs, sizeof(*tx->take_evs), &cap_evs, need, ch->tx_capacity) !=
            SLUICE_OK) {
        tx->cap_takes = cap_pos < cap_evs ? cap_pos : cap_evs;
        pthread_mutex_unlock(&ch->q_mu);
        return SLUICE_ENOMEM;
    }
    tx->cap_takes = cap_pos;
    if (wait && ch->q.count == 0 && ch->keep_alive_s > 0 && !ch->stopping) {
        struct timespec deadline;
        deadline_in(&deadline, ch->keep_alive_s * 1000);
        ch->take_waiters++;
        while (ch->q.count == 0 && !ch->stopping)
            if (pthread_cond_timedwait(&ch->nonempty, &ch->q_mu, &deadline) == ETIMEDOUT)
                break;
        ch->take_waiters--;
    }
    size_t n = ch->q.count < max ? ch->q.count : max;
    size_t base = tx->n_takes;
    fc_queue_pop_front(&ch->q, tx->take_pos + base, n);
    ch->in_flight += n;
    tx->n_takes += n; /* visible to checkpoints from now on */
    if (n > 0 && !tx->listed) {
        tx->next = ch->takers;
        tx->prev = NULL;
        if (ch->takers)
            ch->takers->prev = tx;
        ch->takers = tx;
        tx->listed = 1;
    }
    pthread_mutex_unlock(&ch->q_mu);

    size_t out = 0;
    int rc = SLUICE_OK;
    for (size_t i = base; i < base + n; i++) {
        struct sluice_err e = {0};
        struct sluice_event *ev = NULL;
        int r = fc_wal_read_event(&ch->wal, tx->take_pos[i], &ev, &e);
        if (r == SLUICE_EINVAL) {
            /* damaged on disk: it cannot be delivered; committing this take drops it */
            atomic_fetch_add(&ch->n_corrupt_takes, 1);
            ch->host->log(ch->ctx, SLUICE_LOG_ERROR,
                          "%s; the event cannot be recovered and is skipped", e.msg);
            tx->take_evs[i] = NULL;
            continue;
        }
        if (r != SLUICE_OK) {
            atomic_fetch_add(&ch->n_take_errors, 1);
            ch->host->log(ch->ctx, SLUICE_LOG_ERROR, "%s; the event stays in the channel", e.msg);
            takes_requeue(tx, i, base + n);
            rc = out == 0 ? r : SLUICE_OK;
            break;
        }
        tx->take_evs[i] = ev;
        evs[out++] = ev;
    }
    *n_out = out;
    return rc;
}

int fc_take(void *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    return fc_take_impl(tx, evs, max, n_out, 1);
}

int fc_take_nowait(void *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    return fc_take_impl(tx, evs, max, n_out, 0);
}

/* ---- Commit -----------------------------------------------------------------------------------
 */

static void commit_record(uint8_t *p, uint64_t txid, uint8_t kind, uint32_t count)
{
    uint8_t pay[FC_COMMIT_PAYLOAD] = {kind, 0, 0, 0};
    fc_put_le32(pay + 4, count);
    struct fc_rec_hdr h = {.type = FC_REC_COMMIT,
                           .len = FC_COMMIT_PAYLOAD,
                           .crc = fc_crc32c(0, pay, sizeof(pay)),
                           .txid = txid};
    fc_rec_hdr_encode(p, &h);
    memcpy(p + FC_REC_HDR_SIZE, pay, sizeof(pay));
}

/* The records of a put transaction, built once (a commit retried after EFULL reuses them). */
static int build_puts(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    if (tx->buf)
        return SLUICE_OK;
    uint64_t total = FC_REC_HDR_SIZE + FC_COMMIT_PAYLOAD;
    for (size_t i = 0; i < tx->n_puts; i++)
        total += FC_REC_HDR_SIZE + fc_put_payload_size(tx->puts[i]);
    if (total > FC_GROUP_MAX)
        return ch->host->err_set(err, SLUICE_ETOOBIG,
                                 "file channel: a transaction of %zu events needs %" PRIu64
                                 " bytes of log, more than the 2 GiB one commit may write",
                                 tx->n_puts, total);
    tx->buf = malloc((size_t)total);
    tx->put_rel = malloc(tx->n_puts * sizeof(*tx->put_rel));
    if (!tx->buf || !tx->put_rel) {
        free(tx->buf);
        free(tx->put_rel);
        tx->buf = NULL;
        tx->put_rel = NULL;
        return ch->host->err_set(err, SLUICE_ENOMEM,
                                 "file channel: out of memory for a commit of %" PRIu64 " bytes",
                                 total);
    }
    tx->txid = atomic_fetch_add(&ch->next_txid, 1);
    size_t off = 0;
    for (size_t i = 0; i < tx->n_puts; i++) {
        size_t len = fc_put_payload_size(tx->puts[i]);
        uint8_t *pay = tx->buf + off + FC_REC_HDR_SIZE;
        fc_put_payload_encode(pay, tx->puts[i]);
        struct fc_rec_hdr h = {.type = FC_REC_PUT,
                               .len = (uint32_t)len,
                               .crc = fc_crc32c(0, pay, len),
                               .txid = tx->txid};
        fc_rec_hdr_encode(tx->buf + off, &h);
        tx->put_rel[i] = (uint32_t)off;
        off += FC_REC_HDR_SIZE + len;
    }
    commit_record(tx->buf + off, tx->txid, FC_COMMIT_KIND_PUT, (uint32_t)tx->n_puts);
    tx->buf_len = (size_t)total;
    return SLUICE_OK;
}

static int build_takes(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    if (tx->buf)
        return SLUICE_OK;
    size_t total = (tx->n_takes + 1) * (size_t)(FC_REC_HDR_SIZE + 8);
    tx->buf = malloc(total);
    if (!tx->buf)
        return ch->host->err_set(err, SLUICE_ENOMEM,
                                 "file channel: out of memory for a commit of %zu bytes", total);
    tx->txid = atomic_fetch_add(&ch->next_txid, 1);
    size_t off = 0;
    for (size_t i = 0; i < tx->n_takes; i++) {
        uint8_t *pay = tx->buf + off + FC_REC_HDR_SIZE;
        fc_put_le64(pay, tx->take_pos[i]);
        struct fc_rec_hdr h = {.type = FC_REC_TAKE,
                               .len = FC_TAKE_PAYLOAD,
                               .crc = fc_crc32c(0, pay, FC_TAKE_PAYLOAD),
                               .txid = tx->txid};
        fc_rec_hdr_encode(tx->buf + off, &h);
        off += FC_REC_HDR_SIZE + FC_TAKE_PAYLOAD;
    }
    commit_record(tx->buf + off, tx->txid, FC_COMMIT_KIND_TAKE, (uint32_t)tx->n_takes);
    tx->buf_len = total;
    return SLUICE_OK;
}

/* Wait up to keep-alive for minimumRequiredSpace (plus what taking every event will need) on
 * every directory. */
static int wait_space(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    int64_t deadline = fc_now_ms() + ch->keep_alive_s * 1000;
    for (;;) {
        pthread_mutex_lock(&ch->q_mu);
        uint64_t events = ch->q.count + ch->in_flight + ch->reserved + tx->n_puts;
        pthread_mutex_unlock(&ch->q_mu);
        int rc = fc_space_check(ch, tx->buf_len, events, err);
        if (rc == SLUICE_OK)
            return rc;
        int64_t left = deadline - fc_now_ms();
        pthread_mutex_lock(&ch->q_mu);
        int stopping = ch->stopping;
        if (left > 0 && !stopping) {
            struct timespec ts;
            deadline_in(&ts, left < FC_SPACE_POLL_MS ? left : FC_SPACE_POLL_MS);
            pthread_cond_timedwait(&ch->room, &ch->q_mu, &ts);
        }
        pthread_mutex_unlock(&ch->q_mu);
        if (left <= 0 || stopping)
            return rc;
    }
}

/* Reserve queue room for n puts, waiting up to keep-alive (q_mu held). */
static int wait_room(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    size_t n = tx->n_puts;
    if (ch->q.count + ch->in_flight + ch->reserved + n > ch->capacity) {
        int timed_out = ch->keep_alive_s == 0;
        struct timespec deadline;
        deadline_in(&deadline, ch->keep_alive_s * 1000);
        ch->commit_waiters++;
        while (ch->q.count + ch->in_flight + ch->reserved + n > ch->capacity) {
            if (timed_out || ch->stopping) {
                ch->commit_waiters--;
                return ch->host->err_set(
                    err, SLUICE_EFULL,
                    "Cannot commit transaction: the file channel is full (capacity %zu: %zu "
                    "queued, %zu taken uncommitted, %zu being committed, %zu to add)%s. Sinks "
                    "are likely not keeping up with sources, or the buffer size is too tight",
                    ch->capacity, ch->q.count, ch->in_flight, ch->reserved, n,
                    ch->stopping ? " (channel is stopping)" : "");
            }
            timed_out = pthread_cond_timedwait(&ch->room, &ch->q_mu, &deadline) == ETIMEDOUT;
        }
        ch->commit_waiters--;
    }
    /* the ring always has room for everything queued, taken or promised */
    if (fc_queue_reserve(&ch->q, ch->q.count + ch->in_flight + ch->reserved + n) != SLUICE_OK)
        return ch->host->err_set(err, SLUICE_ENOMEM,
                                 "file channel: out of memory growing the queue");
    ch->reserved += n;
    return SLUICE_OK;
}

static int commit_puts(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    size_t n = tx->n_puts;
    if (n > ch->capacity)
        return ch->host->err_set(err, SLUICE_ETOOBIG,
                                 "file channel can never hold a transaction of %zu events "
                                 "(capacity %zu)",
                                 n, ch->capacity);
    int rc = build_puts(tx, err);
    if (rc == SLUICE_OK)
        rc = wait_space(tx, err);
    if (rc != SLUICE_OK)
        return rc;
    pthread_mutex_lock(&ch->q_mu);
    rc = wait_room(tx, err);
    pthread_mutex_unlock(&ch->q_mu);
    if (rc != SLUICE_OK)
        return rc;

    fc_pos start = 0;
    uint64_t seq = 0;
    rc = fc_wal_append(&ch->wal, tx->buf, tx->buf_len, &start, &seq, err);
    if (rc == SLUICE_OK && ch->fsync_per_tx) /* a failed sync marks the channel failed */
        rc = fc_wal_sync(&ch->wal, seq, err);
    pthread_mutex_lock(&ch->q_mu);
    ch->reserved -= n;
    if (rc == SLUICE_OK) {
        for (size_t i = 0; i < n; i++) {
            fc_pos p = start + tx->put_rel[i];
            fc_queue_push_back(&ch->q, &p, 1);
        }
        if (ch->take_waiters)
            pthread_cond_broadcast(&ch->nonempty);
    } else if (ch->commit_waiters) {
        pthread_cond_broadcast(&ch->room);
    }
    if (seq) { /* appended: settle it for checkpoints */
        fc_wal_applied(&ch->wal);
        pthread_cond_broadcast(&ch->applied);
    }
    pthread_mutex_unlock(&ch->q_mu);
    if (rc != SLUICE_OK) {
        if (rc != SLUICE_EFULL)
            atomic_fetch_add(&ch->n_put_errors, 1);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        ch->host->event_free(tx->puts[i]);
    tx_reset(tx);
    return SLUICE_OK;
}

static int commit_takes(struct fc_tx *tx, struct sluice_err *err)
{
    struct fc_channel *ch = tx->ch;
    int rc = build_takes(tx, err);
    if (rc != SLUICE_OK)
        return rc;
    fc_pos start = 0;
    uint64_t seq = 0;
    rc = fc_wal_append(&ch->wal, tx->buf, tx->buf_len, &start, &seq, err);
    if (rc == SLUICE_OK && ch->fsync_per_tx)
        rc = fc_wal_sync(&ch->wal, seq, err);
    pthread_mutex_lock(&ch->q_mu);
    if (rc == SLUICE_OK) {
        ch->in_flight -= tx->n_takes;
        takers_unlink(ch, tx);
        if (ch->commit_waiters)
            pthread_cond_broadcast(&ch->room);
    }
    if (seq) {
        fc_wal_applied(&ch->wal);
        pthread_cond_broadcast(&ch->applied);
    }
    pthread_mutex_unlock(&ch->q_mu);
    if (rc != SLUICE_OK) {
        if (rc != SLUICE_EFULL)
            atomic_fetch_add(&ch->n_take_errors, 1);
        return rc;
    }
    for (size_t i = 0; i < tx->n_takes; i++)
        if (tx->take_evs[i])
            ch->host->event_free(tx->take_evs[i]);
    tx_reset(tx);
    return SLUICE_OK;
}

int fc_commit(void *tx_, struct sluice_err *err)
{
    struct fc_tx *tx = tx_;
    struct fc_channel *ch = tx->ch;
    if (!tx->open)
        return ch->host->err_set(err, SLUICE_ESTATE, "commit on a finished transaction");
    if (tx->n_puts == 0 && tx->n_takes == 0) {
        pthread_mutex_lock(&ch->q_mu);
        takers_unlink(ch, tx);
        pthread_mutex_unlock(&ch->q_mu);
        tx_reset(tx);
        return SLUICE_OK;
    }
    int rc = fc_wal_failed(&ch->wal, err);
    if (rc != SLUICE_OK)
        return rc;
    return tx->n_puts ? commit_puts(tx, err) : commit_takes(tx, err);
}

void fc_rollback(void *tx_)
{
    struct fc_tx *tx = tx_;
    struct fc_channel *ch = tx->ch;
    if (!tx->open)
        return;
    pthread_mutex_lock(&ch->q_mu);
    if (tx->n_takes > 0) {
        /* room is there: the ring holds everything queued or taken */
        fc_queue_push_front(&ch->q, tx->take_pos, tx->n_takes);
        ch->in_flight -= tx->n_takes;
        if (ch->take_waiters)
            pthread_cond_broadcast(&ch->nonempty);
    }
    takers_unlink(ch, tx);
    pthread_mutex_unlock(&ch->q_mu);
    for (size_t i = 0; i < tx->n_takes; i++)
        if (tx->take_evs[i])
            ch->host->event_free(tx->take_evs[i]);
    for (size_t i = 0; i < tx->n_puts; i++)
        ch->host->event_free(tx->puts[i]);
    tx_reset(tx);
}

void fc_tx_free(void *tx_)
{
    struct fc_tx *tx = tx_;
    if (!tx)
        return;
    fc_rollback(tx);
    free(tx->puts);
    free(tx->take_pos);
    free(tx->take_evs);
    free(tx->buf);
    free(tx->put_rel);
    free(tx);
}
