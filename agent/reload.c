/*
 * Applying a new configuration to a running agent (agent_reload in agent.h). Only what the
 * plan (reload_plan.c) marks is stopped - sources first, then sinks and groups (their open
 * transaction ends first, so taken events go back to the channel), then channels - and built
 * again in Flume's start order: channels, sinks and groups, sources. A replaced channel hands
 * its events over to its successor; a removed one is drained by its old sinks first. Kept
 * components run on untouched, and their comps move into the new model.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "errors.h"
#include "event.h"
#include "log.h"
#include "reload_plan.h"

#define HANDOVER_CHUNK_DEFAULT 100

/* Per plan item: the running object, its replacement, and whether a replaced channel stays. */
struct rt_state {
    void *old;    /* rt_source/rt_channel/rt_sink/rt_group running now */
    void *fresh;  /* channels: the new one (created before the old one stops) */
    int keep_old; /* channels: the replacement failed, the old one keeps running */
    int failed;   /* could not be built or started: left out until the next reload */
};

struct comp_pair {
    struct comp *old, *next;
};

struct reload {
    struct agent *a;
    struct reload_plan plan;
    struct rt_state *st;
    size_t n_failed;
    struct comp_pair *pairs; /* room for every kept comp, allocated before anything changes */
};

static const char *kind_word(enum comp_kind k)
{
    static const char *const words[] = {"source", "channel", "sink", "interceptor", "sink group"};
    return words[k];
}

static int goes(const struct plan_item *it)
{
    return it->act == PLAN_RESTART || it->act == PLAN_REMOVE;
}

static int comes(const struct plan_item *it)
{
    return it->act == PLAN_RESTART || it->act == PLAN_ADD;
}

/* A file channel keeps its events on disk and one instance owns its directories: the old one
 * is closed before the new one opens them (and replays what is there). Any other replacement
 * takes the old channel's events over through transactions. */
static int is_file_channel(const struct comp *c)
{
    return strcmp(c->plugin->desc->name, "file") == 0;
}

static int handover_wanted(const struct plan_item *it)
{
    return it->kind == COMP_CHANNEL && it->act == PLAN_RESTART &&
           !(is_file_channel(it->old) && is_file_channel(it->next));
}

static void fail_item(struct reload *r, const struct plan_item *it, const struct sluice_err *err)
{
    r->st[it - r->plan.v].failed = 1;
    r->n_failed++;
    log_msg(SLUICE_LOG_ERROR, NULL,
            "Reload: %s %s cannot be started: %s; the rest of the agent keeps running, and it "
            "is tried again at the next configuration change",
            kind_word(it->kind), it->name, err->msg[0] ? err->msg : "no detail");
}

/* ---- Finding what runs now ---------------------------------------------------------------- */

static struct rt_list *list_of(struct agent *a, enum comp_kind k)
{
    switch (k) {
    case COMP_SOURCE:
        return &a->sources;
    case COMP_CHANNEL:
        return &a->channels;
    case COMP_SINK:
        return &a->sinks;
    case COMP_SINKGROUP:
        return &a->groups;
    case COMP_INTERCEPTOR:
        break;
    }
    return NULL;
}

/* The comp of a runtime object of kind k. */
static struct comp *comp_of(enum comp_kind k, void *obj)
{
    switch (k) {
    case COMP_SOURCE:
        return ((struct rt_source *)obj)->comp;
    case COMP_CHANNEL:
        return ((struct rt_channel *)obj)->comp;
    case COMP_SINK:
        return ((struct rt_sink *)obj)->comp;
    case COMP_SINKGROUP:
        return ((struct rt_group *)obj)->comp;
    case COMP_INTERCEPTOR:
        break;
    }
    return NULL;
}

static int build_plan(struct reload *r, struct agent_model *next)
{
    struct agent *a = r->a;
    static const enum comp_kind kinds[] = {COMP_SOURCE, COMP_CHANNEL, COMP_SINK, COMP_SINKGROUP};
    size_t n = a->sources.n + a->channels.n + a->sinks.n + a->groups.n;
    struct comp **running = calloc(n + 1, sizeof(*running));
    if (!running)
        return SLUICE_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < 4; i++) {
        struct rt_list *l = list_of(a, kinds[i]);
        for (size_t j = 0; j < l->n; j++)
            running[k++] = comp_of(kinds[i], l->v[j]);
    }
    int rc = reload_plan_build(&r->plan, running, k, next);
    free(running);
    if (rc != SLUICE_OK)
        return rc;
    r->st = calloc(r->plan.n + 1, sizeof(*r->st));
    size_t cap = 1;
    for (size_t i = 0; i < r->plan.n; i++)
        if (r->plan.v[i].next)
            cap += 1 + (r->plan.v[i].old ? r->plan.v[i].old->n_interceptors : 0);
    r->pairs = calloc(cap, sizeof(*r->pairs));
    if (!r->st || !r->pairs)
        return SLUICE_ENOMEM;
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        struct rt_list *l = list_of(a, it->kind);
        for (size_t j = 0; it->old && j < l->n; j++)
            if (comp_of(it->kind, l->v[j]) == it->old)
                r->st[i].old = l->v[j];
    }
    return SLUICE_OK;
}

static void log_plan(const struct reload *r)
{
    size_t changed = 0;
    for (size_t i = 0; i < r->plan.n; i++) {
        const struct plan_item *it = &r->plan.v[i];
        if (it->act == PLAN_KEEP)
            continue;
        changed++;
        log_msg(SLUICE_LOG_INFO, NULL, "Reload: %s %s %s%s%s%s", kind_word(it->kind), it->name,
                plan_act_word(it->act), it->why[0] ? " (" : "", it->why, it->why[0] ? ")" : "");
    }
    if (!changed)
        log_msg(SLUICE_LOG_INFO, NULL, "Reload: no component changed; all %zu keep running",
                r->plan.n);
}

/* ---- Stopping ------------------------------------------------------------------------------ */

/* Items of one kind that go, as an array of their running objects. */
static size_t collect_going(struct reload *r, enum comp_kind kind, void **out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->plan.n; i++)
        if (r->plan.v[i].kind == kind && goes(&r->plan.v[i]) && r->st[i].old)
            out[n++] = r->st[i].old;
    return n;
}

static int channel_removed(struct reload *r, const struct rt_channel *ch)
{
    const struct plan_item *it = reload_plan_find(&r->plan, COMP_CHANNEL, ch->ctx.name);
    return it && it->act == PLAN_REMOVE;
}

static void stop_sources(struct reload *r, void **tmp)
{
    size_t n = collect_going(r, COMP_SOURCE, tmp);
    if (!n)
        return;
    agent_stop_sources(r->a, tmp, n);
    for (size_t i = 0; i < n; i++) {
        struct rt_source *s = tmp[i];
        rt_list_remove(r->a, &r->a->sources, s);
        agent_log_final_counters(&s->ctx);
        rt_source_free(s);
    }
}

static void stop_sinks(struct reload *r, void **tmp_k, void **tmp_g)
{
    size_t nk = collect_going(r, COMP_SINK, tmp_k);
    size_t ng = collect_going(r, COMP_SINKGROUP, tmp_g);
    if (!nk && !ng)
        return;
    /* a runner whose channels all go away first delivers what they hold (their sources are
     * stopped already); the others stop after their current batch */
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k = tmp_k[i];
        if (channel_removed(r, k->view.ch))
            atomic_store(&k->drain, 1);
    }
    for (size_t i = 0; i < ng; i++) {
        struct rt_group *g = tmp_g[i];
        int all = g->n > 0;
        for (size_t j = 0; j < g->n; j++)
            all &= channel_removed(r, g->sinks[j]->view.ch);
        if (all)
            atomic_store(&g->drain, 1);
    }
    agent_stop_sinks(r->a, tmp_k, nk, tmp_g, ng);
    for (size_t i = 0; i < ng; i++) {
        rt_list_remove(r->a, &r->a->groups, tmp_g[i]);
        rt_group_free(tmp_g[i]);
    }
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k = tmp_k[i];
        rt_list_remove(r->a, &r->a->sinks, k);
        agent_log_final_counters(&k->ctx);
        rt_sink_free(k);
    }
}

/* Channels that go: removed ones and file channels being replaced are stopped now; a channel
 * whose replacement was built stays aside (started, no longer listed) for the handover. */
static void stop_channels(struct reload *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        struct rt_channel *ch = r->st[i].old;
        if (it->kind != COMP_CHANNEL || !goes(it) || !ch || r->st[i].keep_old)
            continue;
        rt_list_remove(r->a, &r->a->channels, ch);
        if (r->st[i].fresh)
            continue; /* handed over after its replacement and its sinks started */
        uint64_t left = ch->started ? chan_size(ch) : 0;
        if (left && is_file_channel(ch->comp))
            log_msg(SLUICE_LOG_WARN, ch->ctx.label,
                    "channel %s %s with %" PRIu64 " events: they stay in its directories%s",
                    ch->ctx.name, plan_act_word(it->act), left,
                    it->act == PLAN_RESTART ? " and the new channel replays them if its "
                                              "checkpointDir and dataDirs are unchanged"
                                            : "");
        else if (left)
            log_msg(SLUICE_LOG_ERROR, ch->ctx.label,
                    "channel %s removed with %" PRIu64 " events its sinks could not deliver "
                    "within %lld ms: they are lost",
                    ch->ctx.name, left, (long long)r->a->drain_timeout_ms);
        rt_channel_stop(ch);
        agent_log_final_counters(&ch->ctx);
        rt_channel_free(ch);
        r->st[i].old = NULL;
    }
}

/* ---- Building ------------------------------------------------------------------------------ */

/* Replacements that take over events are built before anything stops: if the new settings
 * are refused, the old channel (with its events) keeps running. */
static void prebuild_channels(struct reload *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        if (!handover_wanted(it) || !r->st[i].old)
            continue;
        struct sluice_err err = {0};
        struct rt_channel *ch;
        if (rt_channel_new(r->a, it->next, 1, &ch, &err) == SLUICE_OK) {
            r->st[i].fresh = ch;
            continue;
        }
        r->st[i].keep_old = 1;
        r->n_failed++;
        log_msg(SLUICE_LOG_ERROR, NULL,
                "Reload: channel %s cannot be rebuilt: %s; it keeps running with its previous "
                "settings and events, and is tried again at the next configuration change",
                it->name, err.msg);
    }
}

static void start_channels(struct reload *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        struct rt_state *st = &r->st[i];
        if (it->kind != COMP_CHANNEL || !comes(it) || st->keep_old)
            continue;
        struct sluice_err err = {0};
        struct rt_channel *ch = st->fresh;
        int rc = ch ? SLUICE_OK : rt_channel_new(r->a, it->next, 1, &ch, &err);
        if (rc == SLUICE_OK && (rc = rt_channel_start(ch, &err)) == SLUICE_OK &&
            (rc = rt_list_add(r->a, &r->a->channels, ch)) != SLUICE_OK)
            err_set(&err, rc, "out of memory");
        if (rc == SLUICE_OK) {
            st->fresh = ch;
            continue;
        }
        if (ch) {
            rt_channel_stop(ch);
            rt_channel_free(ch);
        }
        st->fresh = NULL;
        if (st->old) { /* the old channel was kept aside: it runs on with its events */
            st->keep_old = 1;
            rt_list_add(r->a, &r->a->channels, st->old);
            r->n_failed++;
            log_msg(SLUICE_LOG_ERROR, NULL,
                    "Reload: channel %s cannot be started with its new settings: %s; it keeps "
                    "running with its previous ones",
                    it->name, err.msg);
            continue;
        }
        fail_item(r, it, &err);
    }
}

/* Stop and free what was built of a sink unit that could not be completed. */
static void undo_unit(struct reload *r, void **ks, size_t nk, struct rt_group *g)
{
    void *gv[1] = {g};
    agent_stop_sinks(r->a, ks, nk, gv, g ? 1 : 0);
    if (g) {
        rt_list_remove(r->a, &r->a->groups, g);
        rt_group_free(g);
    }
    for (size_t i = 0; i < nk; i++) {
        rt_list_remove(r->a, &r->a->sinks, ks[i]);
        rt_sink_free(ks[i]);
    }
}

/* One standalone sink, or a group with its sinks: built and started together or not at all. */
static void start_unit(struct reload *r, struct plan_item *it, void **ks)
{
    struct comp *c = it->next;
    struct comp *const *members = it->kind == COMP_SINKGROUP ? c->group.sinks : &c;
    size_t n = it->kind == COMP_SINKGROUP ? c->group.n_sinks : 1;
    size_t nk = 0;
    struct rt_group *g = NULL;
    struct sluice_err err = {0};
    int rc = SLUICE_OK;
    for (size_t i = 0; i < n && rc == SLUICE_OK; i++) {
        struct rt_sink *k;
        if ((rc = rt_sink_new(r->a, members[i], &k, &err)) != SLUICE_OK)
            break;
        if ((rc = rt_list_add(r->a, &r->a->sinks, k)) != SLUICE_OK) {
            rt_sink_free(k);
            err_set(&err, rc, "out of memory");
            break;
        }
        ks[nk++] = k;
    }
    if (rc == SLUICE_OK && it->kind == COMP_SINKGROUP) {
        if ((rc = rt_group_new(r->a, c, &g, &err)) == SLUICE_OK &&
            (rc = rt_list_add(r->a, &r->a->groups, g)) != SLUICE_OK) {
            rt_group_free(g);
            g = NULL;
            err_set(&err, rc, "out of memory");
        }
    }
    for (size_t i = 0; i < nk && rc == SLUICE_OK; i++)
        rc = rt_sink_start(ks[i], &err);
    if (rc == SLUICE_OK && g)
        rc = rt_group_start(g, &err);
    if (rc == SLUICE_OK)
        return;
    undo_unit(r, ks, nk, g);
    fail_item(r, it, &err);
    for (size_t i = 0; it->kind == COMP_SINKGROUP && i < n; i++) {
        struct plan_item *m = reload_plan_find(&r->plan, COMP_SINK, members[i]->name);
        if (m && !r->st[m - r->plan.v].failed)
            fail_item(r, m, &err);
    }
}

static void start_sinks(struct reload *r, void **tmp)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        if (comes(it) &&
            ((it->kind == COMP_SINK && !it->next->in_group) || it->kind == COMP_SINKGROUP))
            start_unit(r, it, tmp);
    }
}

/* Move what the old channel holds into its replacement, oldest first, in transactions on
 * both; the new channel's sinks run meanwhile, so a smaller capacity only slows it down.
 * Bounded by the drain time; what is left then is reported as lost. */
static void handover(struct reload *r, struct rt_channel *from, struct rt_channel *to)
{
    int64_t chunk = HANDOVER_CHUNK_DEFAULT;
    if (from->comp->tx_capacity > 0)
        chunk = from->comp->tx_capacity;
    if (to->comp->tx_capacity > 0 && to->comp->tx_capacity < chunk)
        chunk = to->comp->tx_capacity;
    size_t max = (size_t)chunk;
    struct sluice_event **evs = calloc(max, sizeof(*evs));
    struct sluice_event **cp = calloc(max, sizeof(*cp));
    uint64_t moved = 0;
    int64_t deadline = mono_ms() + r->a->drain_timeout_ms;
    const char *problem = evs && cp ? NULL : "out of memory";
    while (!problem && chan_size(from) > 0 && mono_ms() < deadline) {
        struct sluice_err err = {0};
        void *tf = from->ops->tx_begin(from->self);
        if (!tf) {
            problem = "cannot begin a transaction on the old channel";
            break;
        }
        size_t n = 0, k = 0;
        from->ops->take(tf, evs, max, &n);
        while (k < n && (cp[k] = event_dup(evs[k])))
            k++;
        void *tt = n && k == n ? chan_tx_begin(to) : NULL;
        int rc = tt ? chan_put(to, tt, cp, n, &err) : SLUICE_ENOMEM;
        if (rc != SLUICE_OK) {
            for (size_t i = 0; i < k; i++) /* a failed put leaves them with us */
                event_free(cp[i]);
        } else if ((rc = chan_commit(to, tt, n, 0, &err)) != SLUICE_OK) {
            chan_rollback(to, tt); /* frees the copies */
        }
        if (tt)
            chan_tx_free(to, tt);
        if (rc != SLUICE_OK) {
            from->ops->rollback(tf);
            from->ops->tx_free(tf);
            if (rc == SLUICE_EFULL) { /* the new channel's sinks make room */
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            problem = n == 0       ? "nothing could be taken from the old channel"
                      : err.msg[0] ? err.msg
                                   : "out of memory";
            break;
        }
        if (from->ops->commit(tf, &err) != SLUICE_OK) {
            /* the copies are in the new channel; giving the originals back would send them
             * twice, so they are dropped from the old one as far as it lets us */
            from->ops->rollback(tf);
            from->ops->tx_free(tf);
            problem = err.msg[0] ? err.msg : "the old channel refused the commit";
            moved += n;
            break;
        }
        from->ops->tx_free(tf);
        moved += n;
    }
    free(evs);
    free(cp);
    uint64_t left = chan_size(from);
    log_msg(SLUICE_LOG_INFO, to->ctx.label,
            "%" PRIu64 " events handed over from the old channel %s", moved, from->ctx.name);
    if (left)
        log_msg(SLUICE_LOG_ERROR, to->ctx.label,
                "%" PRIu64 " events of the old channel %s could not be handed over (%s): they "
                "are lost",
                left, from->ctx.name, problem ? problem : "the new channel stayed full");
    rt_channel_stop(from);
    agent_log_final_counters(&from->ctx);
    rt_channel_free(from);
}

static void finish_handovers(struct reload *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct rt_state *st = &r->st[i];
        if (r->plan.v[i].kind == COMP_CHANNEL && st->old && st->fresh && !st->keep_old) {
            handover(r, st->old, st->fresh);
            st->old = NULL;
        }
    }
}

static void start_sources(struct reload *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        if (it->kind != COMP_SOURCE || !comes(it))
            continue;
        struct sluice_err err = {0};
        struct rt_source *s;
        int rc = rt_source_new(r->a, it->next, &s, &err);
        if (rc != SLUICE_OK) {
            fail_item(r, it, &err);
            continue;
        }
        if ((rc = rt_list_add(r->a, &r->a->sources, s)) != SLUICE_OK) {
            rt_source_free(s);
            err_set(&err, rc, "out of memory");
            fail_item(r, it, &err);
            continue;
        }
        if ((rc = rt_source_start(s, &err)) != SLUICE_OK) {
            void *v[1] = {s};
            agent_stop_sources(r->a, v, 1);
            rt_list_remove(r->a, &r->a->sources, s);
            rt_source_free(s);
            fail_item(r, it, &err);
        }
    }
}

/* ---- The model ------------------------------------------------------------------------------ */

static void swap_in_models(struct agent_model *cur, struct agent_model *next, struct comp *x,
                           struct comp *y)
{
    for (size_t i = 0; i < cur->n; i++)
        if (cur->comps[i] == x)
            cur->comps[i] = y;
    for (size_t i = 0; i < next->n; i++)
        if (next->comps[i] == y)
            next->comps[i] = x;
}

static struct comp *mapped(const struct comp_pair *v, size_t n, struct comp *c)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].next == c)
            return v[i].old;
    return c;
}

/* Kept components keep their comp (their plugin holds pointers into its conf): it replaces
 * its twin in the new model, and the new model's references to the twin follow. */
static void adopt(struct reload *r, struct agent_model *next)
{
    struct agent_model *cur = r->a->model;
    struct comp_pair *pairs = r->pairs;
    size_t n = 0;
    for (size_t i = 0; i < r->plan.n; i++) {
        struct plan_item *it = &r->plan.v[i];
        if (!it->old || !it->next || (it->act != PLAN_KEEP && !r->st[i].keep_old))
            continue;
        pairs[n++] = (struct comp_pair){it->old, it->next};
        if (it->act == PLAN_KEEP && it->kind == COMP_SOURCE)
            for (size_t k = 0; k < it->old->n_interceptors; k++)
                pairs[n++] =
                    (struct comp_pair){it->old->interceptors[k], it->next->interceptors[k]};
    }
    for (size_t i = 0; i < n; i++)
        swap_in_models(cur, next, pairs[i].old, pairs[i].next);
    for (size_t i = 0; i < next->n; i++) {
        struct comp *c = next->comps[i];
        for (size_t k = 0; k < c->n_channels; k++)
            c->channels[k] = mapped(pairs, n, c->channels[k]);
        for (size_t k = 0; k < c->n_interceptors; k++)
            c->interceptors[k] = mapped(pairs, n, c->interceptors[k]);
        for (size_t k = 0; k < c->group.n_sinks; k++)
            c->group.sinks[k] = mapped(pairs, n, c->group.sinks[k]);
        if (c->in_group)
            c->in_group = mapped(pairs, n, c->in_group);
    }
    pthread_mutex_lock(&r->a->lock);
    struct agent_model tmp = *cur;
    *cur = *next;
    *next = tmp;
    pthread_mutex_unlock(&r->a->lock);
}

void agent_reload(struct agent *a, struct agent_model *next)
{
    int64_t t0 = mono_ms();
    struct reload r = {.a = a};
    size_t total = a->sources.n + a->channels.n + a->sinks.n + a->groups.n + next->n;
    void **tmp = calloc(total + 1, sizeof(*tmp));
    void **tmp2 = calloc(total + 1, sizeof(*tmp2));
    if (!tmp || !tmp2 || build_plan(&r, next) != SLUICE_OK) {
        log_msg(SLUICE_LOG_ERROR, NULL,
                "Reload: out of memory while comparing the configurations; the running one "
                "stays as it is");
        goto out;
    }
    log_plan(&r);
    prebuild_channels(&r);
    stop_sources(&r, tmp);
    stop_sinks(&r, tmp, tmp2);
    stop_channels(&r);
    start_channels(&r);
    start_sinks(&r, tmp);
    finish_handovers(&r);
    start_sources(&r);
    adopt(&r, next);
    size_t count[4] = {0};
    for (size_t i = 0; i < r.plan.n; i++)
        count[r.plan.v[i].act]++;
    log_msg(SLUICE_LOG_INFO, NULL,
            "Configuration of agent %s reloaded in %lld ms: %zu kept, %zu added, %zu restarted, "
            "%zu removed%s",
            a->name, (long long)(mono_ms() - t0), count[PLAN_KEEP], count[PLAN_ADD],
            count[PLAN_RESTART], count[PLAN_REMOVE],
            r.n_failed ? "; some could not be started (see above)" : "");
out:
    free(tmp);
    free(tmp2);
    free(r.st);
    free(r.pairs);
    reload_plan_free(&r.plan);
}
