/*
 * The kafka source's offsets: which partitions the current batch read (first and next offset
 * each), which emitted offsets still wait for a commit, committing them synchronously, rewinding
 * a batch the channel refused, and the rebalance callback. Everything here runs on the source
 * thread: the callback only runs inside rd_kafka_consumer_poll (or the close in stop()).
 */
#include <inttypes.h>
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

/* ---- partition sets ------------------------------------------------------------------------ */

struct ksrc_tp *ksrc_tp_find(struct ksrc_tp_set *set, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].partition == partition && !strcmp(set->v[i].topic, topic))
            return &set->v[i];
    return NULL;
}

size_t ksrc_tp_get(struct ksrc_tp_set *set, const char *topic, int32_t partition, int64_t offset)
{
    struct ksrc_tp *tp = ksrc_tp_find(set, topic, partition);
    if (tp) {
        if (tp->gone) /* assigned again after a revoke in the same batch: start afresh */
            *tp = (struct ksrc_tp){tp->topic, partition, offset, offset, 0};
        return (size_t)(tp - set->v);
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        struct ksrc_tp *v = realloc(set->v, cap * sizeof(*v));
        if (!v)
            return (size_t)-1;
        set->v = v;
        set->cap = cap;
    }
    char *t = strdup(topic);
    if (!t)
        return (size_t)-1;
    set->v[set->n] = (struct ksrc_tp){t, partition, offset, offset, 0};
    return set->n++;
}

static void tp_remove(struct ksrc_tp_set *set, size_t i)
{
    free(set->v[i].topic);
    set->v[i] = set->v[--set->n];
}

void ksrc_tp_clear(struct ksrc_tp_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i].topic);
    set->n = 0;
}

int ksrc_tp_merge_uncommitted(struct kafka_source *s)
{
    for (size_t i = 0; i < s->batch_tps.n; i++) {
        const struct ksrc_tp *b = &s->batch_tps.v[i];
        if (b->gone)
            continue;
        size_t u = ksrc_tp_get(&s->uncommitted, b->topic, b->partition, b->next);
        if (u == (size_t)-1)
            return SLUICE_ENOMEM;
        if (s->uncommitted.v[u].next < b->next)
            s->uncommitted.v[u].next = b->next;
    }
    return SLUICE_OK;
}

/* ---- committing ---------------------------------------------------------------------------- */

int ksrc_commit(struct kafka_source *s, struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    if (s->uncommitted.n == 0)
        return SLUICE_OK;
    rd_kafka_topic_partition_list_t *assigned = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(s->rk, &assigned);
    if (e)
        return h->err_set(err, SLUICE_EIO, "cannot read the consumer's assignment: %s",
                          rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_t *offsets =
        rd_kafka_topic_partition_list_new((int)s->uncommitted.n);
    if (!offsets) {
        rd_kafka_topic_partition_list_destroy(assigned);
        return h->err_set(err, SLUICE_ENOMEM, "out of memory for an offset commit");
    }
    /* partitions not assigned right now (between an eager revoke and the next assignment)
     * wait: the assignment decides whether they are resumed or given up */
    for (size_t i = 0; i < s->uncommitted.n; i++) {
        struct ksrc_tp *u = &s->uncommitted.v[i];
        if (rd_kafka_topic_partition_list_find(assigned, u->topic, u->partition))
            rd_kafka_topic_partition_list_add(offsets, u->topic, u->partition)->offset = u->next;
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    int rc = SLUICE_OK;
    if (offsets->cnt > 0) {
        int64_t t0 = mono_ms();
        e = rd_kafka_commit(s->rk, offsets, 0 /* synchronous */);
        h->counter_add(s->ctx, SLUICE_CTR_KAFKA_COMMIT_TIMER, (uint64_t)(mono_ms() - t0));
        if (e)
            rc = h->err_set(err, SLUICE_EIO,
                            "committing the offsets of %d partition(s) failed: %s; nothing new "
                            "is read until a retry succeeds (the records are in the channel)",
                            offsets->cnt, rd_kafka_err2str(e));
        else
            for (int i = 0; i < offsets->cnt; i++) {
                struct ksrc_tp *u = ksrc_tp_find(&s->uncommitted, offsets->elems[i].topic,
                                                 offsets->elems[i].partition);
                if (u)
                    tp_remove(&s->uncommitted, (size_t)(u - s->uncommitted.v));
            }
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    return rc;
}

void ksrc_rewind_batch(struct kafka_source *s)
{
    const struct sluice_host *h = s->host;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->batch_tps.n);
    if (!l)
        return;
    for (size_t i = 0; i < s->batch_tps.n; i++) {
        const struct ksrc_tp *b = &s->batch_tps.v[i];
        if (!b->gone)
            rd_kafka_topic_partition_list_add(l, b->topic, b->partition)->offset = b->first;
    }
    if (l->cnt > 0) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, l, KSRC_SEEK_TIMEOUT_MS);
        if (e) {
            h->log(s->ctx, SLUICE_LOG_WARN, "rewinding after a refused batch failed: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].err)
                h->log(s->ctx, SLUICE_LOG_WARN,
                       "rewinding %s [%d] to offset %" PRId64 " failed: %s", l->elems[i].topic,
                       (int)l->elems[i].partition, l->elems[i].offset,
                       rd_kafka_err2str(l->elems[i].err));
            else
                h->log(s->ctx, SLUICE_LOG_DEBUG, "rewound %s [%d] to offset %" PRId64,
                       l->elems[i].topic, (int)l->elems[i].partition, l->elems[i].offset);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void ksrc_drop_batch(struct kafka_source *s)
{
    for (size_t i = 0; i < s->n_batch; i++)
        s->host->event_free(s->batch[i].ev);
    s->n_batch = 0;
    ksrc_tp_clear(&s->batch_tps);
}

/* ---- rebalancing --------------------------------------------------------------------------- */

/* "t [0], t [1], ..." with the number left out when it does not fit. */
static void describe(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t cap)
{
    /* cap is at least 64 (callers pass 512) */
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt; i++) {
        int n = snprintf(buf + off, cap - off, "%s%s [%d]", i ? ", " : "", parts->elems[i].topic,
                         (int)parts->elems[i].partition);
        if (n < 0 || off + (size_t)n + 32 > cap) { /* keeps 32 bytes for the remark */
            snprintf(buf + off, cap - off, "%s%d more", i ? " and " : "", parts->cnt - i);
            return;
        }
        off += (size_t)n;
    }
    if (parts->cnt == 0)
        snprintf(buf, cap, "none");
}

/* Records read from revoked partitions but not emitted yet are dropped: their offsets were
 * never committed, so whoever owns the partition next reads them again. */
static size_t drop_revoked(struct kafka_source *s, const rd_kafka_topic_partition_list_t *parts,
                           int all)
{
    if (all) {
        size_t n = s->n_batch;
        ksrc_drop_batch(s);
        return n;
    }
    for (size_t i = 0; i < s->batch_tps.n; i++) {
        struct ksrc_tp *b = &s->batch_tps.v[i];
        if (rd_kafka_topic_partition_list_find(parts, b->topic, b->partition))
            b->gone = 1;
    }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->n_batch; i++) {
        if (s->batch_tps.v[s->batch[i].tp].gone) {
            s->host->event_free(s->batch[i].ev);
            dropped++;
        } else {
            s->batch[kept++] = s->batch[i];
        }
    }
    s->n_batch = kept;
    return dropped;
}

static void forget_uncommitted(struct kafka_source *s, const rd_kafka_topic_partition_list_t *parts,
                               int all)
{
    for (size_t i = 0; i < s->uncommitted.n;) {
        struct ksrc_tp *u = &s->uncommitted.v[i];
        if (all || rd_kafka_topic_partition_list_find(parts, u->topic, u->partition))
            tp_remove(&s->uncommitted, i);
        else
            i++;
    }
}

static void on_revoke(struct kafka_source *s, rd_kafka_t *rk,
                      rd_kafka_topic_partition_list_t *parts, int coop, const char *desc)
{
    const struct sluice_host *h = s->host;
    int lost = rd_kafka_assignment_lost(rk);
    h->log(s->ctx, lost ? SLUICE_LOG_WARN : SLUICE_LOG_INFO, "partitions %s: %s",
           lost ? "lost (this consumer was out of the group)" : "revoked", desc);
    size_t dropped = drop_revoked(s, parts, !coop);
    if (dropped)
        h->log(s->ctx, SLUICE_LOG_INFO,
               "%zu record(s) read from them but not yet handed to the channel are dropped; "
               "their next owner reads them again",
               dropped);
    /* emitted batches are committed right after emit; this retries a commit that failed */
    if (s->uncommitted.n) {
        struct sluice_err e = {0};
        if (lost) {
            h->log(s->ctx, SLUICE_LOG_WARN,
                   "offsets of records already in the channel cannot be committed: their new "
                   "owner reads them again");
            forget_uncommitted(s, parts, !coop);
        } else if (ksrc_commit(s, &e) != SLUICE_OK) {
            /* Kafka accepts commits while a rebalance is being prepared, so this is rare.
             * Eager: whatever comes back to this consumer resumes after what was emitted (see
             * on_assign); cooperative: the partitions go to another member. */
            h->log(s->ctx, SLUICE_LOG_WARN, "before giving the partitions up: %s", e.msg);
            if (coop)
                forget_uncommitted(s, parts, 0);
        }
    }
    if (coop) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e) {
            h->log(s->ctx, SLUICE_LOG_ERROR, "incremental unassign failed: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

/* Offsets emitted but not committed (a commit refused during the rebalance): a partition that
 * comes back to this consumer starts after them (they are in the channel), and the commit is
 * retried by the next process(); one that went elsewhere is given up (read again there). */
static void on_assign(struct kafka_source *s, rd_kafka_topic_partition_list_t *parts, int coop)
{
    const struct sluice_host *h = s->host;
    for (size_t i = 0; i < s->uncommitted.n;) {
        struct ksrc_tp *u = &s->uncommitted.v[i];
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(parts, u->topic, u->partition);
        if (p) {
            p->offset = u->next;
            h->log(s->ctx, SLUICE_LOG_INFO,
                   "%s [%d] resumes at offset %" PRId64 ", after the records already in the "
                   "channel; committing that offset is retried",
                   u->topic, (int)u->partition, u->next);
            i++;
        } else if (!coop) {
            h->log(s->ctx, SLUICE_LOG_WARN,
                   "%s [%d] went to another consumer before offset %" PRId64 " could be "
                   "committed: the records before it are read again there",
                   u->topic, (int)u->partition, u->next);
            tp_remove(&s->uncommitted, i);
        } else {
            i++;
        }
    }
}

void ksrc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_source *s = opaque;
    const struct sluice_host *h = s->host;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && !strcmp(proto, "COOPERATIVE");
    char desc[512];
    describe(parts, desc, sizeof(desc));
    s->rebalanced = 1;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        h->log(s->ctx, SLUICE_LOG_INFO, "partitions assigned (%s): %s", proto ? proto : "?", desc);
        on_assign(s, parts, coop);
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e) {
                h->log(s->ctx, SLUICE_LOG_ERROR, "incremental assign failed: %s",
                       rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
            if (e)
                h->log(s->ctx, SLUICE_LOG_ERROR, "assign failed: %s", rd_kafka_err2str(e));
        }
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        on_revoke(s, rk, parts, coop, desc);
        break;
    default:
        h->log(s->ctx, SLUICE_LOG_ERROR, "rebalance failed (%s): dropping the assignment %s",
               rd_kafka_err2str(err), desc);
        ksrc_drop_batch(s);
        forget_uncommitted(s, parts, 1);
        rd_kafka_assign(rk, NULL);
        break;
    }
}
