/*
 * What a source's emit() does (Flume's ChannelProcessor): run the source's interceptors over
 * the batch, then put it into every target channel in one transaction per channel (in chunks
 * of the channel's transactionCapacity). A full required channel makes the source wait and the
 * commit is retried - unlike Flume, nothing is dropped and a channel that already committed is
 * not written twice. Optional channels (selector.optional) get one try.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "errors.h"
#include "event.h"
#include "log.h"
#include "runtime.h"

#define FULL_WARN_INTERVAL_MS 10000

static void free_events(struct sluice_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_free(evs[i]);
}

static void short_sleep(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
    nanosleep(&ts, NULL);
}

/* One transaction: put n events into ch and commit, waiting while a required channel is full.
 * The channel owns the events once put succeeds; on any failure they are freed here. */
static int put_commit(struct rt_source *src, struct rt_channel *ch, struct sluice_event **evs,
                      size_t n, int required, struct sluice_err *err)
{
    struct agent *a = src->ctx.agent;
    void *tx = chan_tx_begin(ch);
    if (!tx) {
        free_events(evs, n);
        return err_set(err, SLUICE_ENOMEM, "channel %s: cannot begin a transaction", ch->ctx.name);
    }
    int rc = chan_put(ch, tx, evs, n, err);
    if (rc != SLUICE_OK) {
        free_events(evs, n); /* a failed put leaves the events with the caller */
        chan_rollback(ch, tx);
        chan_tx_free(ch, tx);
        return rc;
    }
    int64_t waited_since = 0;
    static _Thread_local int64_t last_warn;
    for (;;) {
        int64_t t0 = mono_ms();
        if (required && (atomic_load(&a->abort_emit) || atomic_load(&src->abort_emit))) {
            rc = SLUICE_EFULL; /* the agent gave up waiting: do not wait keep-alive again */
            break;
        }
        rc = chan_commit(ch, tx, n, 0, err);
        if (rc == SLUICE_OK)
            break;
        ctr_add(&src->ctx, SLUICE_CTR_CHANNEL_WRITE_FAIL, 1);
        if (rc != SLUICE_EFULL || !required || atomic_load(&a->abort_emit) ||
            atomic_load(&src->abort_emit))
            break;
        if (!waited_since) {
            waited_since = t0;
            if (t0 - last_warn >= FULL_WARN_INTERVAL_MS) {
                last_warn = t0;
                log_msg(SLUICE_LOG_WARN, src->ctx.label,
                        "channel %s is full (%s); the source waits and retries, nothing is "
                        "dropped",
                        ch->ctx.name, err->msg);
            }
        }
        if (mono_ms() - t0 < 5)
            short_sleep(); /* a channel with keep-alive 0 must not make us spin */
    }
    if (rc != SLUICE_OK) {
        chan_rollback(ch, tx); /* frees the pending puts */
        chan_tx_free(ch, tx);
        if (rc == SLUICE_EFULL && (atomic_load(&a->abort_emit) || atomic_load(&src->abort_emit)))
            return err_set(err, SLUICE_ESTOPPED,
                           "agent stopping: %zu events not accepted by full channel %s", n,
                           ch->ctx.name);
        err_prefix(err, "channel %s", ch->ctx.name);
        return rc;
    }
    chan_tx_free(ch, tx);
    if (waited_since)
        log_msg(SLUICE_LOG_DEBUG, src->ctx.label, "channel %s accepted events again after %lld ms",
                ch->ctx.name, (long long)(mono_ms() - waited_since));
    return SLUICE_OK;
}

/* Put all n events into ch in transactionCapacity-sized transactions. */
static int deliver(struct rt_source *src, struct rt_channel *ch, struct sluice_event **evs,
                   size_t n, int required, struct sluice_err *err)
{
    size_t chunk = ch->comp->tx_capacity > 0 ? (size_t)ch->comp->tx_capacity : n;
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        int rc = put_commit(src, ch, evs + off, k, required, err);
        if (rc != SLUICE_OK) {
            free_events(evs + off + k, n - off - k);
            return rc;
        }
    }
    return SLUICE_OK;
}

/* Which channels one event goes to under a multiplexing or load-balancing selector. */
static void route_event(struct rt_source *src, struct sluice_event *ev, uint64_t *req,
                        uint64_t *opt)
{
    const struct selector_conf *sel = &src->comp->sel;
    *req = *opt = 0;
    if (sel->kind == SEL_LOAD_BALANCING) {
        size_t k = sel->random ? (size_t)random() % src->n_chans
                               : (size_t)(atomic_fetch_add(&src->rr, 1) % src->n_chans);
        *req = 1ull << k;
        return;
    }
    const char *v = event_header_get(ev, sel->header);
    const struct sel_route *r = NULL;
    if (v) {
        while (*v && (unsigned char)*v <= ' ')
            v++;
        for (size_t i = 0; *v && i < sel->n_routes && !r; i++)
            if (strcmp(sel->routes[i].value, v) == 0)
                r = &sel->routes[i];
    }
    *req = r && r->req ? r->req : sel->def_req;
    *opt = r ? r->opt : 0;
}

/* Multiplexing / load balancing: each channel gets the events routed to it (required ones in
 * one transaction, optional ones in another), in batch order; an event going to several
 * channels is copied for all but its last one. */
static int emit_routed(struct rt_source *src, struct sluice_event **evs, size_t n,
                       struct sluice_err *err)
{
    uint64_t *masks = malloc(n * 2 * sizeof(*masks));
    unsigned char *left = malloc(n);
    struct sluice_event **batch = malloc(n * sizeof(*batch));
    int rc = SLUICE_OK;
    if (!masks || !left || !batch) {
        free(masks);
        free(left);
        free(batch);
        free_events(evs, n);
        return err_set(err, SLUICE_ENOMEM, "out of memory routing a batch of %zu events", n);
    }
    size_t unrouted = 0;
    for (size_t i = 0; i < n; i++) {
        route_event(src, evs[i], &masks[2 * i], &masks[2 * i + 1]);
        masks[2 * i + 1] &= ~masks[2 * i];
        left[i] = (unsigned char)__builtin_popcountll(masks[2 * i] | masks[2 * i + 1]);
        if (!left[i]) {
            event_free(evs[i]);
            evs[i] = NULL;
            unrouted++;
        }
    }
    if (unrouted) {
        ctr_add(&src->ctx, SLUICE_CTR_EVENT_DROPPED, unrouted);
        log_msg(SLUICE_LOG_DEBUG, src->ctx.label,
                "%zu events matched no selector mapping and there is no selector.default: "
                "dropped, as Flume does",
                unrouted);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < src->n_chans; k++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                if (!evs[i] || !(masks[2 * i + pass] & (1ull << k)))
                    continue;
                if (--left[i] == 0) {
                    batch[m++] = evs[i];
                    evs[i] = NULL; /* handed over */
                } else if ((batch[m] = event_dup(evs[i]))) {
                    m++;
                }
            }
            if (m == 0)
                continue;
            struct sluice_err e = {0};
            int r = deliver(src, src->chans[k], batch, m, pass == 0, &e);
            if (r != SLUICE_OK) {
                if (pass == 1)
                    log_msg(SLUICE_LOG_WARN, src->ctx.label,
                            "Unable to put batch on optional channel: %s", e.msg);
                else if (rc == SLUICE_OK) {
                    rc = r;
                    *err = e;
                }
            }
        }
    }
    free(masks);
    free(left);
    free(batch);
    return rc;
}

int chproc_emit(struct rt_source *src, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    size_t received = n;
    ctr_add(&src->ctx, SLUICE_CTR_EVENT_RECEIVED, n);
    ctr_add(&src->ctx, SLUICE_CTR_APPEND_BATCH_RECEIVED, 1);
    for (size_t i = 0; i < src->n_ics && n > 0; i++)
        n = src->ics[i].ops->intercept(src->ics[i].self, evs, n);
    if (n == 0)
        goto accepted;

    if (src->comp->sel.kind != SEL_REPLICATING) {
        int rc = emit_routed(src, evs, n, err);
        if (rc != SLUICE_OK)
            return rc;
        goto accepted;
    }
    /* Replicating: required channels first, optional ones after; the last user gets the
     * originals. */
    size_t order[64];
    size_t n_order = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < src->n_chans && n_order < 64; i++)
            if (src->optional[i] == pass)
                order[n_order++] = i;
    if (n_order == 0) {
        free_events(evs, n);
        return err_set(err, SLUICE_EINVAL, "source %s has no channels", src->ctx.name);
    }
    struct sluice_event **copy = NULL;
    if (n_order > 1 && !(copy = malloc(n * sizeof(*copy)))) {
        free_events(evs, n);
        return err_set(err, SLUICE_ENOMEM, "out of memory copying a batch of %zu events", n);
    }
    int rc = SLUICE_OK;
    for (size_t o = 0; o < n_order; o++) {
        size_t i = order[o];
        int last = o == n_order - 1;
        struct sluice_event **batch = evs;
        if (!last) {
            size_t k = 0;
            for (; k < n; k++)
                if (!(copy[k] = event_dup(evs[k])))
                    break;
            if (k < n) {
                free_events(copy, k);
                rc = err_set(err, SLUICE_ENOMEM, "out of memory copying a batch");
                continue;
            }
            batch = copy;
        }
        struct sluice_err e = {0};
        int r = deliver(src, src->chans[i], batch, n, !src->optional[i], &e);
        if (r != SLUICE_OK) {
            if (src->optional[i]) {
                log_msg(SLUICE_LOG_WARN, src->ctx.label,
                        "Unable to put batch on optional channel: %s", e.msg);
            } else if (rc == SLUICE_OK) {
                rc = r;
                *err = e;
            }
        }
    }
    free(copy);
    if (rc != SLUICE_OK) {
        if (rc != SLUICE_ESTOPPED) {
            ctr_add(&src->ctx, SLUICE_CTR_EVENT_DROPPED, n);
            log_msg(SLUICE_LOG_ERROR, src->ctx.label, "%zu events could not be stored: %s", n,
                    err->msg);
        }
        return rc;
    }
accepted:
    ctr_add(&src->ctx, SLUICE_CTR_EVENT_ACCEPTED, received);
    ctr_add(&src->ctx, SLUICE_CTR_APPEND_BATCH_ACCEPTED, 1);
    return SLUICE_OK;
}
