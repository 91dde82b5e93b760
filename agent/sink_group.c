/*
 * Sink groups: Flume's sink processors over several sinks, run by one thread. failover calls
 * the highest-priority live sink and moves a failing one to a cool-down list (2 s, 4 s, ... up
 * to processor.maxpenalty), retrying it once its cool-down ends; load_balance rotates (or
 * picks at random) and, with processor.backoff, leaves a failing sink out for
 * min(maxTimeOut, 1 s * 2^failures).
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "errors.h"
#include "log.h"
#include "runtime.h"

static int call_sink(struct rt_sink *k, struct sluice_err *err)
{
    return k->ops->process(k->self, &k->view, err);
}

static int64_t cooldown(int64_t cap, int failures)
{
    int64_t ms = 1000;
    for (int i = 0; i < failures && ms < cap; i++)
        ms *= 2;
    return ms < cap ? ms : cap;
}

static int failover_process(struct rt_group *g, struct sluice_err *err)
{
    const struct group_conf *gc = &g->comp->group;
    int64_t now = mono_ms();
    /* 1. failed sinks whose cool-down is over, soonest first */
    for (;;) {
        size_t best = g->n;
        for (size_t i = 0; i < g->n; i++)
            if (g->failed[i] && g->until[i] <= now &&
                (best == g->n || g->until[i] < g->until[best]))
                best = i;
        if (best == g->n)
            break;
        struct sluice_err e = {0};
        int rc = call_sink(g->sinks[best], &e);
        if (rc >= 0) {
            if (rc == SLUICE_READY) {
                g->failed[best] = 0;
                g->failures[best] = 0;
                log_msg(SLUICE_LOG_INFO, g->ctx.label, "Sink %s is back in service",
                        g->sinks[best]->ctx.name);
            } else {
                g->until[best] = now + 1; /* no extra penalty; retried next time */
            }
            return rc;
        }
        g->failures[best]++;
        g->until[best] = now + cooldown(gc->maxpenalty, g->failures[best]);
    }
    /* 2. the live sinks by priority */
    for (size_t i = 0; i < g->n; i++) {
        if (g->failed[i])
            continue;
        struct sluice_err e = {0};
        int rc = call_sink(g->sinks[i], &e);
        if (rc >= 0)
            return rc;
        log_msg(SLUICE_LOG_WARN, g->ctx.label,
                "Sink %s failed and has been sent to failover list: %s", g->sinks[i]->ctx.name,
                e.msg);
        g->failed[i] = 1;
        g->failures[i] = 1;
        g->until[i] = mono_ms() + cooldown(gc->maxpenalty, 1);
    }
    return err_set(err, SLUICE_EDELIVERY,
                   "All sinks failed to process, nothing left to failover to");
}

static int lb_process(struct rt_group *g, struct sluice_err *err)
{
    const struct group_conf *gc = &g->comp->group;
    int64_t now = mono_ms();
    size_t start = gc->random ? (size_t)random() % g->n : g->rr++ % g->n;
    int tried = 0;
    for (size_t j = 0; j < g->n; j++) {
        size_t i = (start + j) % g->n;
        if (gc->backoff && g->until[i] > now)
            continue;
        tried = 1;
        struct sluice_err e = {0};
        int rc = call_sink(g->sinks[i], &e);
        if (rc >= 0) {
            g->failures[i] = 0;
            return rc;
        }
        log_msg(SLUICE_LOG_WARN, g->ctx.label,
                "Sink %s failed to consume event. Attempting next sink if available: %s",
                g->sinks[i]->ctx.name, e.msg);
        if (gc->backoff) {
            if (g->failures[i] < 16)
                g->failures[i]++;
            g->until[i] = now + cooldown(gc->max_timeout, g->failures[i]);
        }
    }
    return err_set(err, SLUICE_EDELIVERY,
                   tried ? "All configured sinks have failed"
                         : "All configured sinks are backing off");
}

int group_process(struct rt_group *g, struct sluice_err *err)
{
    switch (g->comp->group.kind) {
    case PROC_FAILOVER:
        return failover_process(g, err);
    case PROC_LOAD_BALANCE:
        return lb_process(g, err);
    case PROC_DEFAULT:
        break;
    }
    return call_sink(g->sinks[0], err);
}

int group_init(struct rt_group *g)
{
    g->until = calloc(g->n, sizeof(*g->until));
    g->failures = calloc(g->n, sizeof(*g->failures));
    g->failed = calloc(g->n, 1);
    if (!g->until || !g->failures || !g->failed)
        return SLUICE_ENOMEM;
    if (g->comp->group.kind == PROC_FAILOVER) {
        /* highest priority first (insertion sort keeps config order among equals) */
        const int64_t *prio = g->comp->group.priority;
        int64_t *p = malloc(g->n * sizeof(*p));
        if (!p)
            return SLUICE_ENOMEM;
        memcpy(p, prio, g->n * sizeof(*p));
        for (size_t i = 1; i < g->n; i++) {
            for (size_t j = i; j > 0 && p[j] > p[j - 1]; j--) {
                int64_t tp = p[j];
                p[j] = p[j - 1];
                p[j - 1] = tp;
                struct rt_sink *ts = g->sinks[j];
                g->sinks[j] = g->sinks[j - 1];
                g->sinks[j - 1] = ts;
            }
        }
        free(p);
    }
    return SLUICE_OK;
}

void group_free(struct rt_group *g)
{
    free(g->sinks);
    free(g->until);
    free(g->failures);
    free(g->failed);
}
