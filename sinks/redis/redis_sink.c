/*
 * The redis sink: counts events per group value per time window and writes the counts to
 * Redis, replacing the seed's Spark Streaming job. One process() call is one channel
 * transaction: take up to batchSize events, aggregate them, apply the aggregate with one Lua
 * script call, and commit only after Redis acknowledged it. The exactness design is below.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis_sink.h"

/*
 * Exact counts
 * ------------
 * 1. A lost reply. Every flush carries (sink instance id, sequence number). The script keeps
 *    the last applied sequence per instance in the hash <key>:sluice:flushes, written in the
 *    same atomic script run as the counts, and answers DUP for a sequence it has seen. The sink
 *    advances its sequence only after the channel commit. After a failed flush it rolls back
 *    and takes exactly the same number of events again (a rollback puts them back at the head
 *    of the channel, in order), so the retry carries the same events under the same sequence:
 *    either it is applied now, or Redis says DUP and the sink just commits. A fingerprint of
 *    the bodies checks that the retry really holds the same events; if not (another sink took
 *    them) the sink warns and moves to a new sequence. The instance id is host/agent/sink/
 *    pid/start time, stable across reconnects, new for every process.
 * 2. Re-delivery from Kafka. Events carrying the kafka source's topic/partition/offset headers
 *    are aggregated per topic-partition ("slice"). The script keeps, per topic-partition, the
 *    highest offset applied (<key>:sluice:offsets, field topic/partition). Within a batch the
 *    sink counts an event of a partition only if its offset is above every offset of that
 *    partition consumed before it in the batch (and above the known floor, see below), so each
 *    slice's counted offsets rise strictly and span [lo, hi]. The script, before writing
 *    anything, compares each slice with the recorded offset R:
 *      hi <= R      the whole slice was applied before (another agent, or an earlier run):
 *                   it is skipped, the rest of the flush is applied;
 *      lo >  R      nothing of it was applied: applied, R becomes hi;
 *      lo <= R < hi a partial overlap: the script writes nothing and answers PARTIAL with R;
 *                   the sink sets R as that partition's floor, aggregates the same events
 *                   again (events at or below R are skipped) and calls again. R only grows,
 *                   so this ends; RS_PARTIAL_MAX bounds it.
 *    Offsets are thus "applied up to R" per partition, which holds as long as each partition
 *    reaches the sink in offset order from the committed position (what a Kafka consumer
 *    gives), so two agents in one consumer group, partitions moving between them, and crashes
 *    that make Kafka deliver again, all count each record once.
 * 3. Windows of mode = seed. Counts are staged with HINCRBY in <key>:sluice:stage:<window>
 *    under the same rules, and the window is listed in the sorted set <key>:sluice:open
 *    (score: window end). A flush or an idle check closes every listed window whose end is at
 *    or before "due" (processing time: now - 1 s; event time: the watermark) by recomputing
 *    the seed's {group:count,...} text from the stage hash and HSETting it: recomputing makes
 *    it idempotent, and a late increment to a closed window lists it again, so its text is
 *    recomputed in the same script run. Any agent or a later run closes what is due, so an
 *    open window at stop or crash stays staged and is closed later.
 */

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Add n to a rate-limited message's count: 1 for the first message ever, 2 when a repeat is
 * due (at most once a minute), 0 otherwise; *count is what to report. */
static int rate_due(struct rs_rate_log *rl, uint64_t n, uint64_t *count)
{
    rl->since += n;
    if (n == 0)
        return 0;
    int64_t now = mono_ms();
    if (rl->logged_once && now - rl->last_ms < RS_LOG_EVERY_MS)
        return 0;
    int first = !rl->logged_once;
    *count = rl->since;
    rl->since = 0;
    rl->last_ms = now;
    rl->logged_once = 1;
    return first ? 1 : 2;
}

static uint64_t fingerprint(struct sluice_event **evs, size_t n)
{
    uint64_t h = n;
    for (size_t i = 0; i < n; i++)
        h = rs_hash(evs[i]->body, evs[i]->body_len, h);
    return h;
}

static int due_ms(struct redis_sink *s, int64_t now, int64_t *due)
{
    if (!s->seed)
        return 0;
    if (!s->event_time) {
        *due = now - RS_CLOSE_GRACE_MS;
        return 1;
    }
    return rs_agg_watermark(&s->agg, due);
}

/* Processing time: the next moment a window can become due. */
static void plan_close(struct redis_sink *s, int64_t now)
{
    if (s->seed && !s->event_time)
        s->next_close_ms = rs_window_start(now, s->window_ms) + s->window_ms + RS_CLOSE_GRACE_MS;
}

static void forget_pending(struct redis_sink *s)
{
    s->host->log(s->ctx, SLUICE_LOG_WARN,
                 "the %zu event(s) of unconfirmed flush #%" PRIu64
                 " were not taken again (another sink on this channel?); if Redis applied that "
                 "flush they can be counted twice",
                 s->pending_n, s->seq);
    s->seq++;
    s->pending_n = 0;
}

enum { RS_R_OK, RS_R_DUP, RS_R_PARTIAL, RS_R_BAD };

static int reply_kind(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return RS_R_BAD;
    const char *k = r->element[0]->str;
    if (strcmp(k, "OK") == 0 && r->elements >= 4)
        return RS_R_OK;
    if (strcmp(k, "DUP") == 0)
        return RS_R_DUP;
    if (strcmp(k, "PARTIAL") == 0 && r->elements == 3 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING)
        return RS_R_PARTIAL;
    return RS_R_BAD;
}

static int64_t reply_int(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer
                                                                         : 0;
}

/* Build the script call for the current aggregate (seq 0: only close windows) into s->cmd. */
static int build_call(struct redis_sink *s, uint64_t seq, int64_t now, struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    struct rs_flush_args fa = {
        .seed = s->seed,
        .key = s->conf->key,
        .inst = s->inst,
        .seq = seq,
        .ttl_s = s->ttl_s,
        .now_s = rs_floor_div(now, 1000),
        .window_ms = s->window_ms,
    };
    fa.has_due = due_ms(s, now, &fa.due_ms);
    if (rs_flush_build(&s->cmd, &fa, &s->agg.map) != 0)
        return h->err_set(err, SLUICE_ENOMEM, "out of memory building the Redis command");
    return SLUICE_OK;
}

/* One script call for the current aggregate, waiting for its reply. */
static redisReply *call_script(struct redis_sink *s, uint64_t seq, int64_t now,
                               struct sluice_err *err)
{
    if (build_call(s, seq, now, err) != SLUICE_OK)
        return NULL;
    return rs_conn_eval(&s->conn, s->host, (int)s->cmd.n, s->cmd.argv, s->cmd.lens, err);
}

/* The batch taken ahead goes back to the channel (before the current one, if that is rolled
 * back too: newest first, so the channel keeps its order). */
static void drop_ahead(struct redis_sink *s)
{
    if (!s->ahead_tx)
        return;
    s->host->tx_rollback(s->ahead_tx);
    s->host->tx_end(s->ahead_tx);
    s->ahead_tx = NULL;
    s->ahead_n = 0;
}

/* While Redis runs the script for a full batch, take the next one (without waiting: the
 * channel likely holds more) and match its events, the costly part of counting them, which
 * depends on nothing but their bodies. Counting them waits until this flush is committed. */
static void take_ahead(struct redis_sink *s, struct sluice_channel *ch)
{
    const struct sluice_host *h = s->host;
    if (s->no_ahead || s->ahead_tx || h->stopping(s->ctx))
        return;
    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return; /* the agent's limit on open transactions */
    size_t n = 0;
    int rc = h->tx_take_nowait(tx, s->ahead_evs, (size_t)s->conf->batch_size, &n);
    if (rc == SLUICE_ENOTSUP) {
        h->log(s->ctx, SLUICE_LOG_INFO,
               "this channel cannot be read without waiting: no batch is taken while Redis "
               "applies the previous one");
        s->no_ahead = 1;
    }
    if (rc != SLUICE_OK || n == 0) {
        struct sluice_err e = {0};
        if (rc != SLUICE_OK || h->tx_commit(tx, &e) != SLUICE_OK)
            h->tx_rollback(tx);
        h->tx_end(tx);
        return;
    }
    rs_matcher_run(&s->matcher, &s->agg, s->ahead_evs, s->ahead_m, n);
    s->ahead_tx = tx;
    s->ahead_n = n;
}

static int close_due(struct redis_sink *s, struct sluice_err *err)
{
    int64_t now = real_ms();
    rs_agg_begin(&s->agg); /* an empty aggregate; the committed watermark */
    int64_t due;
    if (!due_ms(s, now, &due))
        return SLUICE_OK;
    redisReply *r = call_script(s, 0, now, err);
    if (!r)
        return err->code ? err->code : SLUICE_EIO;
    int kind = reply_kind(r);
    if (kind == RS_R_OK) {
        int64_t closed = reply_int(r, 2);
        s->open_windows = (uint64_t)reply_int(r, 3);
        if (closed)
            s->host->log(s->ctx, SLUICE_LOG_DEBUG, "closed %" PRId64 " window(s) of %s", closed,
                         s->conf->key);
    }
    freeReplyObject(r);
    if (kind != RS_R_OK)
        return s->host->err_set(err, SLUICE_EIO, "redis %s: unexpected reply to a window check",
                                s->conn.where);
    plan_close(s, now);
    return SLUICE_OK;
}

/* Processing time, nothing to take: close what is due; a failure is only reported (rate
 * limited), the next idle call tries again. */
static void idle_close(struct redis_sink *s)
{
    struct sluice_err e = {0};
    int rc = rs_conn_ensure(&s->conn, s->host, s->ctx, 0, &e);
    if (rc == SLUICE_OK)
        rc = close_due(s, &e);
    uint64_t n;
    if (rc != SLUICE_OK && rate_due(&s->log_close, 1, &n))
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "cannot close due windows now (%s); retrying while idle, and with the next "
                     "batch",
                     e.msg);
}

static void log_batch(struct redis_sink *s, uint64_t unmatched, uint64_t late, uint64_t dups)
{
    const struct sluice_host *h = s->host;
    const struct rs_agg *a = &s->agg;
    uint64_t n;
    int d = rate_due(&s->log_unmatched, unmatched, &n);
    if (d && a->first_why != RS_UM_NONE)
        h->log(s->ctx, SLUICE_LOG_WARN,
               "%" PRIu64 " event(s) not counted%s (EventUnmatchedCount), e.g. %s: \"%s\"%s", n,
               d == 2 ? " in the last minute" : "", rs_unmatched_text(a->first_why),
               a->first_sample, d == 1 ? "; further ones are reported once a minute" : "");
    d = rate_due(&s->log_late, late, &n);
    if (d)
        h->log(s->ctx, SLUICE_LOG_WARN,
               "%" PRIu64 " late event(s)%s: older than the newest window start minus "
               "allowedLateness (%" PRId64 " ms); %s (EventLateCount)",
               n, d == 2 ? " in the last minute" : "", s->lateness_ms,
               s->conf->late_policy == RS_LATE_NEWEST ? "added to the newest window" : "dropped");
    d = rate_due(&s->log_dups, dups, &n);
    if (d)
        h->log(s->ctx, SLUICE_LOG_INFO,
               "%" PRIu64 " re-delivered Kafka event(s)%s skipped: their offsets were already "
               "applied",
               n, d == 2 ? " in the last minute" : "");
    d = rate_due(&s->log_headers, a->bad_headers, &n);
    if (d)
        h->log(s->ctx, SLUICE_LOG_WARN,
               "%" PRIu64 " event(s)%s with partition/offset headers that are not numbers (or no "
               "topic): counted without Kafka re-delivery checks",
               n, d == 2 ? " in the last minute" : "");
}

/* The batch is in Redis and the channel committed: account for it. */
static void after_commit(struct redis_sink *s, const redisReply *r, int kind, int64_t now)
{
    const struct sluice_host *h = s->host;
    const struct rs_map *m = &s->agg.map;
    uint64_t unmatched = s->agg.unmatched, late = s->agg.late, dups = s->agg.dups;
    if (kind == RS_R_OK) {
        s->open_windows = (uint64_t)reply_int(r, 3);
        for (size_t i = 4; i < r->elements; i++) {
            int64_t k = reply_int(r, i);
            if (k < 0 || (size_t)k >= s->cmd.n_sent)
                continue;
            const struct rs_slice *sl = &m->s[s->cmd.sent[k]];
            unmatched -= sl->unmatched;
            late -= sl->late;
            dups += sl->counted + sl->unmatched + sl->late;
        }
    } else {
        h->log(s->ctx, SLUICE_LOG_INFO,
               "flush #%" PRIu64 " had already been applied (the reply to an earlier try was "
               "lost, or its channel commit failed); committed without applying it again",
               s->seq);
    }
    if (unmatched)
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_UNMATCHED, unmatched);
    if (late)
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_LATE, late);
    log_batch(s, unmatched, late, dups);
    s->seq++;
    s->pending_n = 0;
    rs_agg_commit(&s->agg);
    plan_close(s, now);
}

static int rs_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct redis_sink *s = self;
    const struct sluice_host *h = s->host;
    struct sluice_tx *tx;
    size_t n = 0;
    int rc, matched = 0;
    if (s->ahead_tx) { /* taken during the last flush (committed), its events matched */
        tx = s->ahead_tx;
        n = s->ahead_n;
        s->ahead_tx = NULL;
        s->ahead_n = 0;
        struct sluice_event **evs = s->evs;
        struct rs_match *m = s->m;
        s->evs = s->ahead_evs;
        s->m = s->ahead_m;
        s->ahead_evs = evs;
        s->ahead_m = m;
        matched = 1;
    } else {
        tx = h->tx_begin(ch);
        if (!tx)
            return h->err_set(err, SLUICE_ENOMEM, "cannot begin a channel transaction");
        size_t max = s->pending_n ? s->pending_n : (size_t)s->conf->batch_size;
        rc = h->tx_take(tx, s->evs, max, &n);
        if (rc < 0) {
            h->tx_rollback(tx);
            h->tx_end(tx);
            return h->err_set(err, rc, "taking events from the channel failed (%d)", rc);
        }
    }
    if (n == 0) {
        if (h->tx_commit(tx, err) != SLUICE_OK)
            h->tx_rollback(tx);
        h->tx_end(tx);
        if (s->pending_n)
            forget_pending(s);
        if (s->seed && !s->event_time && real_ms() >= s->next_close_ms)
            idle_close(s);
        /* BACKOFF even when Redis is away: no event waits, and a draining agent may stop */
        return SLUICE_BACKOFF;
    }
    rc = rs_conn_ensure(&s->conn, h, s->ctx, 0, err);
    if (rc != SLUICE_OK) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return rc;
    }
    /* The bodies' fingerprint is needed only to recognise a retry: computed here for one, and
     * for a new batch only when its flush fails (below), not on every batch. */
    int fp_known = 0;
    if (s->pending_n) {
        uint64_t fp = fingerprint(s->evs, n);
        fp_known = n == s->pending_n && fp == s->pending_fp;
        if (!fp_known)
            forget_pending(s);
    }
    s->pending_n = n;

    if (!matched)
        rs_matcher_run(&s->matcher, &s->agg, s->evs, s->m, n);
    int64_t now = real_ms();
    redisReply *r = NULL;
    int kind = RS_R_BAD;
    for (int attempt = 0;; attempt++) {
        rs_agg_begin(&s->agg);
        for (size_t i = 0; i < n; i++) {
            if (rs_agg_add_matched(&s->agg, s->evs[i], &s->m[i], now) != 0) {
                rc = h->err_set(err, SLUICE_ENOMEM, "out of memory aggregating %zu events", n);
                goto fail;
            }
        }
        rc = build_call(s, s->seq, now, err);
        if (rc == SLUICE_OK)
            rc = rs_conn_eval_send(&s->conn, h, (int)s->cmd.n, s->cmd.argv, s->cmd.lens, err);
        if (rc != SLUICE_OK)
            goto fail;
        if (attempt == 0 && n == (size_t)s->conf->batch_size)
            take_ahead(s, ch);
        r = rs_conn_eval_recv(&s->conn, h, (int)s->cmd.n, s->cmd.argv, s->cmd.lens, err);
        if (!r) {
            rc = err->code < 0 ? err->code : SLUICE_EIO;
            goto fail;
        }
        kind = reply_kind(r);
        if (kind != RS_R_PARTIAL)
            break;
        const redisReply *tp = r->element[1], *rec = r->element[2];
        int64_t floor = strtoll(rec->str, NULL, 10);
        if (attempt + 1 >= RS_PARTIAL_MAX ||
            rs_agg_set_floor(&s->agg, tp->str, tp->len, floor) != 0) {
            rc = h->err_set(err, SLUICE_EDELIVERY,
                            "redis %s: offsets of %s keep moving under this batch (%d tries)",
                            s->conn.where, tp->str, attempt + 1);
            goto fail;
        }
        h->log(s->ctx, SLUICE_LOG_DEBUG,
               "%s is applied up to offset %" PRId64 " already: "
               "skipping the batch's events up to it",
               tp->str, floor);
        freeReplyObject(r);
        r = NULL;
    }
    if (kind == RS_R_BAD) {
        rc = h->err_set(err, SLUICE_EIO, "redis %s: unexpected reply to the flush script",
                        s->conn.where);
        goto fail;
    }
    rc = h->tx_commit(tx, err);
    if (rc != SLUICE_OK) /* Redis has it: the retry takes the same events and gets DUP */
        goto fail;
    h->tx_end(tx);
    after_commit(s, r, kind, now);
    freeReplyObject(r);
    return SLUICE_READY;

fail:
    if (r)
        freeReplyObject(r);
    if (!fp_known) /* the events are still ours until the rollback */
        s->pending_fp = fingerprint(s->evs, n);
    drop_ahead(s);
    h->tx_rollback(tx);
    h->tx_end(tx);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void rs_destroy(void *self)
{
    struct redis_sink *s = self;
    if (!s)
        return;
    drop_ahead(s);
    rs_conn_drop(&s->conn);
    rs_matcher_stop(&s->matcher);
    rs_agg_free(&s->agg);
    rs_cmd_free(&s->cmd);
    free(s->evs);
    free(s->ahead_evs);
    free(s->m);
    free(s->ahead_m);
    free(s);
}

static void log_config(struct redis_sink *s)
{
    const struct redis_sink_conf *c = s->conf;
    char out[400];
    if (s->seed)
        snprintf(out, sizeof(out),
                 "mode seed: HSET %s <window end> {value:count,...} once a window closes, "
                 "staged in %s:sluice:stage:<start> (TTL %" PRId64 " s)",
                 c->key, c->key, s->ttl_s);
    else
        snprintf(out, sizeof(out), "mode hincrby: HINCRBY %s:<window start> <value> <count>%s",
                 c->key, s->ttl_s ? " with EXPIRE ttl" : "");
    char t[200];
    if (s->event_time)
        snprintf(t, sizeof(t),
                 "event time from group %s (%s), allowedLateness %" PRId64 " ms, late events %s",
                 c->time_group, c->time_format, s->lateness_ms,
                 c->late_policy == RS_LATE_NEWEST ? "go to the newest window" : "dropped");
    else
        snprintf(t, sizeof(t), "processing time");
    size_t rl = strlen(c->regex);
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "redis %s db %" PRId64 "%s, timeout %" PRId64 " ms; regex \"%.*s%s\" groupBy %s; "
                 "window %" PRId64 " ms, %s; %s; batchSize %" PRId64 ", matchThreads %" PRId64
                 "; instance %s",
                 s->conn.where, c->db, c->password && *c->password ? " with AUTH" : "",
                 c->timeout_ms, (int)(rl > 160 ? 160 : rl), c->regex, rl > 160 ? "..." : "",
                 c->group_by, s->window_ms, t, out, c->batch_size, c->match_threads, s->inst);
}

static int rs_create(void **self, const void *confp, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct redis_sink_conf *c = confp;
    *self = NULL;
    char why[SLUICE_ERR_MSG_MAX - 64];
    int64_t window, lateness;
    if (rs_duration_parse(c->window, &window, why, sizeof(why)))
        return host->err_set(err, SLUICE_ECONFIG, "window: %s", why);
    if (window <= 0)
        return host->err_set(err, SLUICE_ECONFIG, "window must be longer than 0 (e.g. 15s)");
    if (rs_duration_parse(c->allowed_lateness, &lateness, why, sizeof(why)))
        return host->err_set(err, SLUICE_ECONFIG, "allowedLateness: %s", why);
    if (!c->key || !*c->key)
        return host->err_set(err, SLUICE_ECONFIG, "key must not be empty");
    if (!c->host || !*c->host)
        return host->err_set(err, SLUICE_ECONFIG, "redis.host must not be empty");
    int seed = c->mode == RS_MODE_SEED;
    if (seed && window % 1000 != 0)
        return host->err_set(err, SLUICE_ECONFIG,
                             "window = %s: mode = seed names each window by its end to the "
                             "second (yyyy-MM-dd HH:mm:ss), so the window must be whole seconds",
                             c->window);
    int64_t ttl = c->ttl;
    if (seed) {
        ttl = c->ttl ? c->ttl : RS_STAGE_TTL_S;
        if (ttl * 1000 <= window + lateness + 60000)
            return host->err_set(err, SLUICE_ECONFIG,
                                 "ttl = %" PRId64 ": in mode seed the staged counts of a window "
                                 "must outlive window + allowedLateness + 60 s (%" PRId64 " s)",
                                 c->ttl, (window + lateness + 60000) / 1000 + 1);
    }

    struct redis_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "out of memory");
    s->conf = c;
    s->host = host;
    s->ctx = ctx;
    s->seed = seed;
    s->event_time = c->time_mode == RS_TIME_EVENT;
    s->window_ms = window;
    s->lateness_ms = lateness;
    s->ttl_s = ttl;
    s->seq = 1;
    rs_conn_init(&s->conn, c);
    struct rs_agg_conf ac = {
        .regex = c->regex,
        .group_by = c->group_by,
        .event_time = s->event_time,
        .time_group = c->time_group,
        .time_format = c->time_format,
        .window_ms = window,
        .lateness_ms = lateness,
        .late_newest = c->late_policy == RS_LATE_NEWEST,
        .batch_size = (size_t)c->batch_size,
    };
    int rc = SLUICE_OK;
    if (rs_agg_init(&s->agg, &ac, why, sizeof(why)) != 0)
        rc = host->err_set(err, SLUICE_ECONFIG, "%s", why);
    else if (rs_cmd_init(&s->cmd, (size_t)c->batch_size) != 0 ||
             !(s->evs = calloc((size_t)c->batch_size, sizeof(*s->evs))) ||
             !(s->ahead_evs = calloc((size_t)c->batch_size, sizeof(*s->ahead_evs))) ||
             !(s->m = calloc((size_t)c->batch_size, sizeof(*s->m))) ||
             !(s->ahead_m = calloc((size_t)c->batch_size, sizeof(*s->ahead_m))))
        rc = host->err_set(err, SLUICE_ENOMEM, "out of memory for a batch of %" PRId64 " events",
                           c->batch_size);
    if (rc != SLUICE_OK) {
        rs_destroy(s);
        return rc;
    }
    if (host->abi_minor < 1 || host->struct_size < sizeof(struct sluice_host) ||
        !host->tx_take_nowait)
        s->no_ahead = 1; /* an older agent: one transaction at a time */
    if (!s->event_time && (c->time_group || lateness || c->late_policy != RS_LATE_DROP))
        host->log(ctx, SLUICE_LOG_WARN,
                  "timeGroup, allowedLateness and latePolicy are ignored with time = processing");
    if (!s->agg.jit)
        host->log(ctx, SLUICE_LOG_INFO, "PCRE2 JIT is not available here: using the interpreter");
    if (s->event_time && !s->agg.tf.has_date)
        host->log(ctx, SLUICE_LOG_WARN,
                  "timeFormat '%s' has no yyyy, MM and dd: missing fields are taken as "
                  "1970-01-01, as Java does",
                  c->time_format);
    char hostname[128] = "localhost";
    gethostname(hostname, sizeof(hostname) - 1);
    hostname[sizeof(hostname) - 1] = '\0';
    snprintf(s->inst, sizeof(s->inst), "%.100s/%.60s/%.60s/%ld/%" PRId64, hostname,
             host->agent_name(ctx), host->component_name(ctx), (long)getpid(), real_ms());
    log_config(s);
    *self = s;
    return SLUICE_OK;
}

static int rs_start(void *self, struct sluice_err *err)
{
    struct redis_sink *s = self;
    (void)err;
    if (!s->matcher_started) {
        char why[SLUICE_ERR_MSG_MAX - 64];
        size_t want = (size_t)s->conf->match_threads;
        size_t got = rs_matcher_start(&s->matcher, &s->agg, want, why, sizeof(why));
        s->matcher_started = 1;
        if (got < want)
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "matchThreads = %zu: %s; matching on %zu thread(s)", want, why, got);
    }
    struct sluice_err e = {0};
    if (rs_conn_ensure(&s->conn, s->host, s->ctx, 1, &e) != SLUICE_OK)
        s->host->log(s->ctx, SLUICE_LOG_WARN, "%s; retrying while running", e.msg);
    return SLUICE_OK; /* Redis may come later: process() reconnects */
}

static void rs_stop(void *self)
{
    struct redis_sink *s = self;
    if (!s)
        return;
    drop_ahead(s); /* back to the channel: the runner has ended */
    if (s->seed && s->conn.ever_connected) {
        struct sluice_err e = {0};
        int rc = rs_conn_ensure(&s->conn, s->host, s->ctx, 1, &e);
        if (rc == SLUICE_OK)
            rc = close_due(s, &e);
        if (rc != SLUICE_OK)
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "could not close due windows at stop (%s); their counts stay staged "
                         "and the next run closes them",
                         e.msg);
        else if (s->open_windows)
            s->host->log(s->ctx, SLUICE_LOG_INFO,
                         "%" PRIu64 " window(s) listed in %s:sluice:open are not over yet: their "
                         "counts stay staged and the next run (or another agent writing %s) "
                         "closes them once due",
                         s->open_windows, s->conf->key, s->conf->key);
    }
    if (s->pending_n)
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "stopping with an unconfirmed flush of %zu event(s): they are back in the "
                     "channel",
                     s->pending_n);
    rs_conn_drop(&s->conn);
    rs_matcher_stop(&s->matcher);
    s->matcher_started = 0;
}

/* ---- options and descriptor ------------------------------------------------------------- */

#define RS_OFF(f) offsetof(struct redis_sink_conf, f)

static const char *const time_choices[] = {"processing", "event", NULL};
static const char *const late_choices[] = {"drop", "newest", NULL};
static const char *const mode_choices[] = {"seed", "hincrby", NULL};

static const struct sluice_option redis_sink_options[] = {
    {.name = "redis.host",
     .type = SLUICE_OPT_STRING,
     .def = "127.0.0.1",
     .desc = "Redis server host name or address (a path starting with / is a Unix socket).",
     .offset = RS_OFF(host)},
    {.name = "redis.port",
     .type = SLUICE_OPT_INT,
     .def = "6379",
     .min = 1,
     .max = 65535,
     .desc = "Redis server port.",
     .offset = RS_OFF(port)},
    {.name = "redis.db",
     .type = SLUICE_OPT_INT,
     .def = "0",
     .min = 0,
     .max = INT32_MAX,
     .desc = "Database number, selected with SELECT after connecting.",
     .offset = RS_OFF(db)},
    {.name = "redis.password",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_SECRET,
     .desc = "Password sent with AUTH after connecting (never logged).",
     .offset = RS_OFF(password)},
    {.name = "redis.timeout",
     .type = SLUICE_OPT_INT,
     .def = "2000",
     .min = 1,
     .max = 3600000,
     .desc = "Milliseconds to wait for a connection and for each reply; a reply that does not "
             "come in time fails the batch, which is retried without double counting.",
     .offset = RS_OFF(timeout_ms)},
    {.name = "regex",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .desc = "PCRE2 regular expression searched in each event body (Java find() semantics); "
             "events it does not match are counted in EventUnmatchedCount.",
     .offset = RS_OFF(regex)},
    {.name = "groupBy",
     .type = SLUICE_OPT_STRING,
     .def = "1",
     .desc = "Capture group (its number, or the name of a named group) whose text is the "
             "counted value, e.g. the client IP.",
     .offset = RS_OFF(group_by)},
    {.name = "window",
     .type = SLUICE_OPT_STRING,
     .def = "15s",
     .desc = "Window length: a number with ms, s, m, h or d (15s, 1m, 500ms). Windows are "
             "aligned to the epoch, as Spark Streaming batches are.",
     .offset = RS_OFF(window)},
    {.name = "time",
     .type = SLUICE_OPT_ENUM,
     .def = "processing",
     .choices = time_choices,
     .desc = "processing: the window is the wall-clock interval the sink sees the event in (as "
             "the Spark job); event: the time comes from timeGroup.",
     .offset = RS_OFF(time_mode)},
    {.name = "timeGroup",
     .type = SLUICE_OPT_STRING,
     .desc = "Capture group (number or name) holding the event time; required with time = "
             "event.",
     .offset = RS_OFF(time_group)},
    {.name = "timeFormat",
     .type = SLUICE_OPT_STRING,
     .def = "yyyy-MM-dd HH:mm:ss,SSS",
     .desc = "Format of the event time, a Java SimpleDateFormat subset (yyyy MM dd HH mm ss SSS, "
             "'quoted' text, other characters literal), read in the agent's local time zone.",
     .offset = RS_OFF(time_format)},
    {.name = "allowedLateness",
     .type = SLUICE_OPT_STRING,
     .def = "0",
     .desc = "With time = event: how far behind the newest window start an event may be before "
             "it counts as late (a duration like 30s); windows close only after this.",
     .offset = RS_OFF(allowed_lateness)},
    {.name = "latePolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "drop",
     .choices = late_choices,
     .desc = "What happens to late events (always counted in EventLateCount): drop them, or "
             "add them to the newest window.",
     .offset = RS_OFF(late_policy)},
    {.name = "mode",
     .type = SLUICE_OPT_ENUM,
     .def = "seed",
     .choices = mode_choices,
     .desc = "seed: when a window closes, HSET key, field the window end (yyyy-MM-dd "
             "HH:mm:ss, local time), value {value:count,...}, as the Spark job wrote; hincrby: "
             "on every batch HINCRBY key:START (window start, epoch seconds) value count, so "
             "many agents add into one counter.",
     .offset = RS_OFF(mode)},
    {.name = "key",
     .type = SLUICE_OPT_STRING,
     .def = "hsip",
     .desc = "Redis key (seed) or key prefix (hincrby); the sink's own bookkeeping lives in "
             "key:sluice:*.",
     .offset = RS_OFF(key)},
    {.name = "ttl",
     .type = SLUICE_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 315360000,
     .desc = "Seconds each window key lives (EXPIRE after each write); 0: forever. In mode "
             "seed it applies to the staged counts (default one day); the seed hash never "
             "expires.",
     .offset = RS_OFF(ttl)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 100000,
     .flags = SLUICE_OPT_BATCH_SIZE,
     .desc = "Events taken per channel transaction; each batch is one Redis script call.",
     .offset = RS_OFF(batch_size)},
    {.name = "matchThreads",
     .type = SLUICE_OPT_INT,
     .def = "1",
     .min = 1,
     .max = RS_MATCH_THREADS_MAX,
     .desc = "Threads that run the regex over a batch (the sink's own and matchThreads - 1 "
             "helpers, each on a part of the batch; batches under 256 events stay on one). The "
             "regex is most of the sink's work: 2 lets a busy sink use a second core.",
     .offset = RS_OFF(match_threads)},
    {.name = NULL},
};

static const struct sluice_sink_ops redis_sink_ops = {
    .create = rs_create,
    .start = rs_start,
    .process = rs_process,
    .stop = rs_stop,
    .destroy = rs_destroy,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "redis"),
    .aliases = NULL,
    .summary = "Counts events per regex group value per time window into Redis, exactly once "
               "(replaces the seed's Spark Streaming job)",
    .options = redis_sink_options,
    .conf_size = sizeof(struct redis_sink_conf),
    .ops = &redis_sink_ops,
};
