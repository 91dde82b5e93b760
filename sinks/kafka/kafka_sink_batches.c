/*
 * The kafka sink's process(): channel batches in flight. Each batch is one channel
 * transaction: take up to flumeBatchSize events, produce them, and commit the transaction only
 * when every record of it has a successful delivery report. Instead of waiting for those
 * reports before taking the next batch (Flume's way, inflightBatches = 1), up to
 * inflightBatches batches are produced back to back, so librdkafka fills its requests across
 * them and the broker's round trip is paid once for several batches. Batches are committed
 * oldest first. A failure rolls back every batch that was not confirmed whole (newest first,
 * so the channel keeps their order); confirmed ones are committed: nothing is lost, and only
 * what Kafka did not confirm is sent again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka_sink.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ks_batch *slot(struct kafka_sink *ks, size_t i)
{
    return &ks->slots[(ks->head + i) % ks->ring_size];
}

/* Delivery reports arrive inside rd_kafka_poll/flush, on the runner thread (or in stop()). A
 * report for no batch in flight belongs to one already rolled back: counted, nothing more. */
void ks_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_sink *ks = opaque;
    struct ks_batch *b = NULL;
    for (size_t i = 0; i < ks->count && !b; i++)
        if (slot(ks, i)->id == (uintptr_t)m->_private)
            b = slot(ks, i);
    if (!b) {
        ks->stale_reports++;
        ks->stale_delivered += !m->err;
        return;
    }
    b->outstanding--;
    /* the oldest batch settled (or failed): make the waiting flush() return now instead of
     * when every batch in flight has its reports, so the next batch is taken at once */
    if (b == slot(ks, 0) && (b->outstanding == 0 || (m->err && !b->failed)))
        rd_kafka_yield(rk);
    if (!m->err) {
        b->ok++;
        return;
    }
    b->failed++;
    if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
        b->possibly_persisted++;
    if (!b->first_err) {
        b->first_err = m->err;
        snprintf(b->first_errstr, sizeof(b->first_errstr), "%s [%d]: %s",
                 rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err));
    }
}

/* Produce one record, polling while librdkafka's queue is full. */
static int produce_one(struct kafka_sink *ks, struct ks_batch *b, struct ks_record *r,
                       struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    for (;;) {
        b->outstanding++;
        /* F_COPY: librdkafka puts the copy in the same allocation as its message, and the
         * event may go back to the channel (rollback) while a message is still in flight. */
        rd_kafka_resp_err_t e = rd_kafka_producev(
            ks->rk, RD_KAFKA_V_TOPIC(r->topic), RD_KAFKA_V_PARTITION(r->partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
            RD_KAFKA_V_KEY(r->key, r->key ? strlen(r->key) : 0),
            RD_KAFKA_V_TIMESTAMP(r->timestamp_ms), RD_KAFKA_V_HEADERS(r->headers),
            RD_KAFKA_V_OPAQUE((void *)b->id), RD_KAFKA_V_END);
        if (!e) {
            r->headers = NULL; /* librdkafka owns them now */
            return SLUICE_OK;
        }
        b->outstanding--;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(ks->rk, 50);
            if (h->stopping(ks->ctx) || mono_ms() >= b->deadline)
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

static int batch_failed(const struct ks_batch *b)
{
    return b->failed > 0 || b->produce_rc != SLUICE_OK;
}

static int batch_good(const struct ks_batch *b)
{
    return b->outstanding == 0 && !batch_failed(b);
}

/* Commit the oldest batch (wholly confirmed) and free its slot. */
static int commit_oldest(struct kafka_sink *ks, struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    struct ks_batch *b = slot(ks, 0);
    /* the channel frees the taken events on commit and keeps them on rollback */
    int rc = h->tx_commit(b->tx, err);
    if (rc == SLUICE_OK)
        h->counter_add(ks->ctx, SLUICE_CTR_KAFKA_EVENT_SEND_TIMER, (uint64_t)(mono_ms() - b->t0));
    else
        h->tx_rollback(b->tx);
    h->tx_end(b->tx);
    b->tx = NULL;
    ks->head = (ks->head + 1) % ks->ring_size;
    ks->count--;
    return rc;
}

/* The error process() reports for batch b ("Failed to publish events: ...", Flume's words). */
static int batch_error(struct kafka_sink *ks, const struct ks_batch *b, size_t abandoned,
                       struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    char why[SLUICE_ERR_MSG_MAX];
    if (b->produce_rc != SLUICE_OK) {
        snprintf(why, sizeof(why), "%s", b->produce_err);
    } else if (b->failed) {
        char extra[96] = "";
        if (b->possibly_persisted)
            snprintf(extra, sizeof(extra), "; %zu may have been written and will be sent again",
                     b->possibly_persisted);
        snprintf(why, sizeof(why), "%zu of %zu events not delivered (%s)%s", b->failed, b->n,
                 b->first_errstr, extra);
    } else {
        snprintf(why, sizeof(why), "%zu of %zu events unconfirmed when %s", abandoned, b->n,
                 h->stopping(ks->ctx) ? "the agent stopped" : "the wait timed out");
    }
    return h->err_set(err, b->produce_rc != SLUICE_OK ? b->produce_rc : SLUICE_EDELIVERY,
                      "Failed to publish events: %.480s", why);
}

/*
 * Settle what is in flight after a failure: drop what has not left, wait for the reports of
 * what has (until the batches' deadline, or the stop grace; not at all when giving up after a
 * timeout or at stop), commit the batches confirmed whole and roll back the others, newest
 * first. Returns the error of the oldest failed batch (or SLUICE_OK
 * when every batch turned out confirmed).
 */
static int settle_all(struct kafka_sink *ks, int give_up, struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    if (ks->rk)
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
    int64_t stop_deadline = 0;
    /* giving up (timeout, stop): what is unconfirmed now stays so; later reports are stale */
    while (!give_up) {
        size_t pending = 0;
        int64_t deadline = INT64_MAX;
        for (size_t i = 0; i < ks->count; i++) {
            pending += slot(ks, i)->outstanding;
            if (slot(ks, i)->outstanding && slot(ks, i)->deadline < deadline)
                deadline = slot(ks, i)->deadline;
        }
        int64_t now = mono_ms();
        if (!stop_deadline && h->stopping(ks->ctx))
            stop_deadline = now + KS_STOP_GRACE_MS;
        if (pending == 0 || !ks->rk || now >= deadline || (stop_deadline && now >= stop_deadline))
            break;
        rd_kafka_flush(ks->rk, 100); /* serves the reports; ignores linger.ms */
    }
    int rc = SLUICE_OK;
    size_t abandoned = 0;
    struct sluice_tx *back[KS_INFLIGHT_MAX];
    size_t n_back = 0;
    while (ks->count > 0) {
        struct ks_batch *b = slot(ks, 0);
        if (batch_good(b)) {
            struct sluice_err ce = {0};
            int crc = commit_oldest(ks, &ce);
            if (crc != SLUICE_OK && rc == SLUICE_OK)
                rc = h->err_set(err, crc, "%s", ce.msg);
            continue;
        }
        abandoned += b->outstanding;
        if (rc == SLUICE_OK)
            rc = batch_error(ks, b, b->outstanding, err);
        back[n_back++] = b->tx; /* rolled back below, newest first */
        b->tx = NULL;
        ks->head = (ks->head + 1) % ks->ring_size;
        ks->count--;
    }
    /* Runs of plain records were produced without a copy (produce_run): librdkafka points
     * into the events until their reports. Before abandoned events go back to the channel,
     * where they may be taken again, committed and freed, the producer that still holds them
     * is torn down (purged and destroyed; ks_ensure_producer makes a new one). This also means
     * they are not delivered behind the rollback's back, only once more with the retry. */
    if (abandoned && ks->rk) {
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        ks_producer_destroy(ks);
    }
    while (n_back > 0) {
        struct sluice_tx *tx = back[--n_back];
        h->tx_rollback(tx);
        h->tx_end(tx);
    }
    if (abandoned)
        h->log(ks->ctx, SLUICE_LOG_WARN,
               "gave up waiting for %zu delivery report(s)%s; the producer holding them was "
               "discarded (what it had already sent may be in Kafka) and the batch is rolled "
               "back to be sent again",
               abandoned, h->stopping(ks->ctx) ? " because the agent is stopping" : "");
    return rc;
}

/* Commit what is confirmed, oldest first; settle everything on a failure or a timeout. */
static int reap(struct kafka_sink *ks, struct sluice_err *err)
{
    for (size_t i = 0; i < ks->count; i++)
        if (batch_failed(slot(ks, i)))
            return settle_all(ks, 0, err);
    while (ks->count > 0) {
        struct ks_batch *b = slot(ks, 0);
        if (b->outstanding) {
            if (mono_ms() >= b->deadline)
                return settle_all(ks, 1, err);
            break;
        }
        if (batch_failed(b))
            return settle_all(ks, 0, err);
        int rc = commit_oldest(ks, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    return SLUICE_OK;
}

/* Wait until the oldest batch has all its reports (or failed, timed out, or the agent has been
 * stopping for the grace time), then reap. */
static int wait_oldest(struct kafka_sink *ks, struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    int64_t stop_deadline = 0;
    while (ks->count > 0 && slot(ks, 0)->outstanding > 0) {
        int64_t now = mono_ms();
        if (!stop_deadline && h->stopping(ks->ctx))
            stop_deadline = now + KS_STOP_GRACE_MS;
        if (now >= slot(ks, 0)->deadline || (stop_deadline && now >= stop_deadline))
            return settle_all(ks, 1, err);
        int failed = 0;
        for (size_t i = 0; i < ks->count; i++)
            failed |= batch_failed(slot(ks, i));
        if (failed)
            break;
        rd_kafka_flush(ks->rk, 100); /* serves the reports; ignores linger.ms */
    }
    return reap(ks, err);
}

/* Produce one event through rd_kafka_producev; SLUICE_OK or the error (kept in the batch). */
static int produce_event(struct kafka_sink *ks, struct ks_batch *b, size_t i)
{
    struct ks_record r;
    struct sluice_err e = {0};
    int rc = ks_record_build(ks, b->evs[i], &r, &e);
    if (rc == SLUICE_OK)
        rc = produce_one(ks, b, &r, &e);
    if (r.headers)
        rd_kafka_headers_destroy(r.headers);
    if (rc != SLUICE_OK) {
        b->produce_rc = rc;
        snprintf(b->produce_err, sizeof(b->produce_err), "%s", e.msg);
    }
    return rc;
}

/* A record rd_kafka_produce_batch can carry as it is: the static topic, no headers, no
 * timestamp of its own (librdkafka stamps the call), a value that stays put until the call,
 * and the partitioner's choice of partition. An explicit partition goes through producev:
 * librdkafka 2.0.2's produce_batch leaks the message when that partition does not exist. */
static int plain_record(const struct kafka_sink *ks, const struct ks_record *r)
{
    return ks->rkt && r->topic == ks->topic && !r->headers && r->timestamp_ms == 0 &&
           r->partition == RD_KAFKA_PARTITION_UA && !ks->conf->use_flume_event_format;
}

/* Produce the collected run of plain records in one call (one clock read and topic lock for
 * all, not one per record). Records librdkafka refused (a full queue, an unknown partition)
 * go again one by one, in order, through produce_event, which waits or falls back as needed.
 * No copy: the values are the events' bodies, which stay put until the batch's transaction
 * ends, and it ends only after every report (commit) or after the producer is gone
 * (settle_all's rollback of abandoned records). Copying them was a quarter of the sink. */
static int produce_run(struct kafka_sink *ks, struct ks_batch *b, size_t n)
{
    if (n == 0)
        return SLUICE_OK;
    int good = rd_kafka_produce_batch(ks->rkt, RD_KAFKA_PARTITION_UA, 0, ks->run, (int)n);
    b->outstanding += good > 0 ? (size_t)good : 0;
    if (good == (int)n)
        return SLUICE_OK;
    for (size_t j = 0; j < n; j++) {
        if (!ks->run[j].err)
            continue;
        int rc = produce_event(ks, b, ks->run_ev[j]);
        if (rc != SLUICE_OK)
            return rc;
    }
    return SLUICE_OK;
}

/* Produce batch b (its n events); a failure is kept in the batch and settled by reap. Plain
 * records are gathered into runs for rd_kafka_produce_batch; the others (headers, their own
 * topic or timestamp, Avro) go through rd_kafka_producev between runs, so order is kept. */
static void produce_batch(struct kafka_sink *ks, struct ks_batch *b)
{
    size_t run = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct ks_record r;
        struct sluice_err e = {0};
        int rc = ks_record_build(ks, b->evs[i], &r, &e);
        if (rc == SLUICE_OK && plain_record(ks, &r)) {
            ks->run[run] = (rd_kafka_message_t){
                .payload = (void *)r.value,
                .len = r.value_len,
                .key = (void *)r.key,
                .key_len = r.key ? strlen(r.key) : 0,
                ._private = (void *)b->id,
            };
            ks->run_ev[run++] = i;
            continue;
        }
        if (r.headers)
            rd_kafka_headers_destroy(r.headers);
        if (rc == SLUICE_OK)
            rc = produce_run(ks, b, run);
        run = 0;
        if (rc == SLUICE_OK)
            rc = produce_event(ks, b, i);
        else if (!b->produce_rc) {
            b->produce_rc = rc;
            snprintf(b->produce_err, sizeof(b->produce_err), "%s", e.msg);
        }
        if (rc != SLUICE_OK)
            return; /* the rest is not produced; the batch is rolled back whole */
    }
    (void)produce_run(ks, b, run);
}

/* process()'s result after reaping or waiting: READY, or the error. */
static int ready_or(int rc)
{
    return rc == SLUICE_OK ? SLUICE_READY : rc;
}

int ks_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct kafka_sink *ks = self;
    const struct sluice_host *h = ks->host;
    /* a producer in a fatal state is replaced (ensure_producer): settle its batches first */
    if (ks->count && ks->rk && rd_kafka_fatal_error(ks->rk, NULL, 0))
        return settle_all(ks, 0, err);
    int rc = ks_ensure_producer(ks, err);
    if (rc != SLUICE_OK)
        return rc;
    if (ks->count) {
        rd_kafka_poll(ks->rk, 0);
        rc = reap(ks, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    if (ks->count >= ks->inflight_max || (ks->count && h->stopping(ks->ctx)))
        return ready_or(wait_oldest(ks, err));

    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx) {
        if (ks->count) /* the agent's limit on open transactions: wait for one */
            return ready_or(wait_oldest(ks, err));
        return h->err_set(err, SLUICE_ENOMEM, "cannot begin a channel transaction");
    }
    struct ks_batch *b = slot(ks, ks->count);
    size_t n = 0, max = (size_t)ks->conf->batch_size;
    if (ks->count == 0) {
        rc = h->tx_take(tx, b->evs, max, &n);
    } else {
        rc = ks->host->tx_take_nowait(tx, b->evs, max, &n);
        if (rc == SLUICE_ENOTSUP) {
            h->log(ks->ctx, SLUICE_LOG_INFO,
                   "this channel cannot be read without waiting: one batch in flight at a time");
            ks->inflight_max = 1;
            rc = SLUICE_OK;
        }
    }
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return h->err_set(err, rc, "taking events from the channel failed (%d)", rc);
    }
    /* The agent counts the batch (Empty/Underflow/Complete), EventDrainAttempt/Success and
     * Rollback from each transaction itself; the sink adds only what it alone knows. */
    if (n == 0) {
        if (h->tx_commit(tx, err) != SLUICE_OK)
            h->tx_rollback(tx);
        h->tx_end(tx);
        if (ks->count == 0)
            return SLUICE_BACKOFF;
        return ready_or(wait_oldest(ks, err));
    }

    memset(&b->outstanding, 0,
           sizeof(*b) - offsetof(struct ks_batch, outstanding)); /* the counters onwards */
    b->tx = tx;
    b->n = n;
    b->id = ++ks->next_id;
    b->t0 = mono_ms();
    b->deadline =
        ks->msg_timeout_ms > 0 ? b->t0 + ks->msg_timeout_ms + KS_WAIT_MARGIN_MS : INT64_MAX;
    ks->count++;
    produce_batch(ks, b);

    /* a full batch: the channel likely holds more, take it while this one travels */
    if (n == max && ks->count < ks->inflight_max && !batch_failed(b)) {
        rd_kafka_poll(ks->rk, 0);
        return ready_or(reap(ks, err));
    }
    return ready_or(wait_oldest(ks, err));
}

/* stop(): after the runner ended. Settle what is still in flight within the stop grace. */
void ks_settle_on_stop(struct kafka_sink *ks)
{
    if (!ks->count)
        return;
    int64_t until = mono_ms() + KS_STOP_GRACE_MS;
    while (ks->rk && ks->count && mono_ms() < until) {
        rd_kafka_flush(ks->rk, 100);
        struct sluice_err e = {0};
        if (reap(ks, &e) != SLUICE_OK)
            ks->host->log(ks->ctx, SLUICE_LOG_WARN, "%s", e.msg);
        if (ks->count && slot(ks, 0)->outstanding == 0)
            continue;
    }
    if (ks->count) {
        struct sluice_err e = {0};
        if (settle_all(ks, 1, &e) != SLUICE_OK)
            ks->host->log(ks->ctx, SLUICE_LOG_WARN, "%s", e.msg);
    }
}
