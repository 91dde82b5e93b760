/*
 * Building, starting and stopping a running agent from a validated model (see agent.h).
 * Order follows Flume: create and start channels, then sinks, then sources; stop sources
 * first, let the sinks drain what the channels hold (bounded), then stop sinks and channels.
 * The per-component steps are shared with the reload (reload.c).
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "options.h"

/* ---- Lists ------------------------------------------------------------------------------- */

int rt_list_add(struct agent *a, struct rt_list *l, void *item)
{
    pthread_mutex_lock(&a->lock);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        void **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&a->lock);
            return SLUICE_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = item;
    pthread_mutex_unlock(&a->lock);
    return SLUICE_OK;
}

void rt_list_remove(struct agent *a, struct rt_list *l, void *item)
{
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == item) {
            memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
            l->n--;
            break;
        }
    pthread_mutex_unlock(&a->lock);
}

struct rt_channel *agent_find_channel(const struct agent *a, const char *name)
{
    for (size_t i = 0; i < a->channels.n; i++) {
        struct rt_channel *ch = a->channels.v[i];
        if (strcmp(ch->ctx.name, name) == 0)
            return ch;
    }
    return NULL;
}

struct rt_sink *agent_find_sink(const struct agent *a, const char *name)
{
    for (size_t i = 0; i < a->sinks.n; i++) {
        struct rt_sink *k = a->sinks.v[i];
        if (strcmp(k->ctx.name, name) == 0)
            return k;
    }
    return NULL;
}

/* ---- Channels ------------------------------------------------------------------------------ */

int rt_channel_new(struct agent *a, struct comp *c, int create, struct rt_channel **out,
                   struct sluice_err *err)
{
    *out = NULL;
    struct rt_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    ch->comp = c;
    ch->ops = c->plugin->desc->ops;
    ctx_init(&ch->ctx, a, "CHANNEL", c->name);
    if (create) {
        int rc = ch->ops->create(&ch->self, c->conf, &agent_host, &ch->ctx, err);
        if (rc != SLUICE_OK) {
            err_prefix(err, "channel %s (%s)", c->name, c->plugin->path);
            rt_channel_free(ch);
            return rc;
        }
    }
    *out = ch;
    return SLUICE_OK;
}

int rt_channel_start(struct rt_channel *ch, struct sluice_err *err)
{
    int rc;
    if (ch->ops->start && (rc = ch->ops->start(ch->self, err)) != SLUICE_OK) {
        err_prefix(err, "starting channel %s", ch->ctx.name);
        return rc;
    }
    ch->started = 1;
    uint64_t size = 0, cap = 0;
    ch->ops->size(ch->self, &size, &cap);
    ctr_set(&ch->ctx, SLUICE_CTR_CHANNEL_CAPACITY, cap);
    ctr_set(&ch->ctx, SLUICE_CTR_CHANNEL_SIZE, size);
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_PUT_ATTEMPT, 0);
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_PUT_SUCCESS, 0);
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_TAKE_ATTEMPT, 0);
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_TAKE_SUCCESS, 0);
    ch->ctx.start_ms = now_ms();
    log_msg(SLUICE_LOG_INFO, ch->ctx.label, "Channel %s started (%s)", ch->ctx.name,
            ch->comp->plugin->desc->name);
    return SLUICE_OK;
}

void rt_channel_stop(struct rt_channel *ch)
{
    if (!ch->started)
        return;
    if (ch->ops->stop)
        ch->ops->stop(ch->self);
    ch->started = 0;
    ch->ctx.stop_ms = now_ms();
}

void rt_channel_free(struct rt_channel *ch)
{
    if (!ch)
        return;
    if (ch->self)
        ch->ops->destroy(ch->self);
    free(ch);
}

/* ---- Sinks and groups ---------------------------------------------------------------------- */

int rt_sink_new(struct agent *a, struct comp *c, struct rt_sink **out, struct sluice_err *err)
{
    *out = NULL;
    struct rt_channel *ch = agent_find_channel(a, c->channels[0]->name);
    if (!ch)
        return err_set(err, SLUICE_ESTATE, "sink %s: its channel %s is not running", c->name,
                       c->channels[0]->name);
    struct rt_sink *k = calloc(1, sizeof(*k));
    if (!k)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    k->comp = c;
    k->ops = c->plugin->desc->ops;
    ctx_init(&k->ctx, a, "SINK", c->name);
    k->view.ch = ch;
    k->view.user = &k->ctx;
    k->view.batch_size = c->batch_size;
    int rc = k->ops->create(&k->self, c->conf, &agent_host, &k->ctx, err);
    if (rc != SLUICE_OK) {
        err_prefix(err, "sink %s (%s)", c->name, c->plugin->path);
        rt_sink_free(k);
        return rc;
    }
    *out = k;
    return SLUICE_OK;
}

int rt_sink_start(struct rt_sink *k, struct sluice_err *err)
{
    int rc;
    if (k->ops->start && (rc = k->ops->start(k->self, err)) != SLUICE_OK) {
        err_prefix(err, "starting sink %s", k->ctx.name);
        return rc;
    }
    k->started = 1;
    k->ctx.start_ms = now_ms();
    static const enum sluice_counter sink_ctrs[] = {
        SLUICE_CTR_BATCH_EMPTY, SLUICE_CTR_BATCH_UNDERFLOW, SLUICE_CTR_BATCH_COMPLETE,
        SLUICE_CTR_EVENT_DRAIN_ATTEMPT, SLUICE_CTR_EVENT_DRAIN_SUCCESS};
    for (size_t c = 0; c < sizeof(sink_ctrs) / sizeof(sink_ctrs[0]); c++)
        ctr_add(&k->ctx, sink_ctrs[c], 0);
    if (!k->in_group && (rc = sink_runner_start(k, err)) != SLUICE_OK)
        return rc;
    log_msg(SLUICE_LOG_INFO, k->ctx.label, "Sink %s started (%s) on channel %s%s%s", k->ctx.name,
            k->comp->plugin->desc->name, k->view.ch->ctx.name,
            k->in_group ? ", run by sink group " : "", k->in_group ? k->comp->in_group->name : "");
    return SLUICE_OK;
}

void rt_sink_free(struct rt_sink *k)
{
    if (!k)
        return;
    if (k->self)
        k->ops->destroy(k->self);
    free(k);
}

int rt_group_new(struct agent *a, struct comp *c, struct rt_group **out, struct sluice_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < c->group.n_sinks; i++)
        if (!agent_find_sink(a, c->group.sinks[i]->name))
            return err_set(err, SLUICE_ESTATE, "sink group %s: its sink %s is not running", c->name,
                           c->group.sinks[i]->name);
    struct rt_group *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    g->comp = c;
    ctx_init(&g->ctx, a, "SINKGROUP", c->name);
    g->n = c->group.n_sinks;
    g->sinks = calloc(g->n + 1, sizeof(*g->sinks));
    if (!g->sinks) {
        rt_group_free(g);
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < g->n; i++) {
        g->sinks[i] = agent_find_sink(a, c->group.sinks[i]->name);
        g->sinks[i]->in_group = 1;
    }
    if (group_init(g) != SLUICE_OK) {
        rt_group_free(g);
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    }
    *out = g;
    return SLUICE_OK;
}

int rt_group_start(struct rt_group *g, struct sluice_err *err)
{
    static const char *const kinds[] = {"default", "failover", "load_balance"};
    int rc = group_runner_start(g, err);
    if (rc != SLUICE_OK)
        return rc;
    log_msg(SLUICE_LOG_INFO, g->ctx.label, "Sink group %s started (%s, %zu sinks)", g->ctx.name,
            kinds[g->comp->group.kind], g->n);
    return SLUICE_OK;
}

void rt_group_free(struct rt_group *g)
{
    if (!g)
        return;
    group_free(g);
    free(g);
}

/* ---- Sources ------------------------------------------------------------------------------ */

int rt_source_new(struct agent *a, struct comp *c, struct rt_source **out, struct sluice_err *err)
{
    *out = NULL;
    for (size_t k = 0; k < c->n_channels; k++)
        if (!agent_find_channel(a, c->channels[k]->name))
            return err_set(err, SLUICE_ESTATE, "source %s: its channel %s is not running", c->name,
                           c->channels[k]->name);
    struct rt_source *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    int rc = SLUICE_OK;
    s->comp = c;
    s->ops = c->plugin->desc->ops;
    ctx_init(&s->ctx, a, "SOURCE", c->name);
    s->chans = calloc(c->n_channels + 1, sizeof(*s->chans));
    s->optional = calloc(c->n_channels + 1, 1);
    s->ics = calloc(c->n_interceptors + 1, sizeof(*s->ics));
    if (!s->chans || !s->optional || !s->ics) {
        rc = err_set(err, SLUICE_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < c->n_channels; k++) {
        s->chans[k] = agent_find_channel(a, c->channels[k]->name);
        s->optional[k] = c->optional[k];
    }
    s->n_chans = c->n_channels;
    for (size_t k = 0; k < c->n_interceptors; k++) {
        struct comp *ic = c->interceptors[k];
        struct rt_interceptor *ri = &s->ics[s->n_ics];
        ri->comp = ic;
        ri->ops = ic->plugin->desc->ops;
        ctx_init(&ri->ctx, a, "INTERCEPTOR", ic->name);
        s->n_ics++;
        rc = ri->ops->create(&ri->self, ic->conf, &agent_host, &ri->ctx, err);
        if (rc != SLUICE_OK) {
            err_prefix(err, "interceptor %s (%s)", ic->name, ic->plugin->path);
            goto fail;
        }
    }
    rc = s->ops->create(&s->self, c->conf, &agent_host, &s->ctx, err);
    if (rc != SLUICE_OK) {
        err_prefix(err, "source %s (%s)", c->name, c->plugin->path);
        goto fail;
    }
    *out = s;
    return SLUICE_OK;
fail:
    rt_source_free(s);
    return rc;
}

int rt_source_start(struct rt_source *s, struct sluice_err *err)
{
    int rc;
    if (s->ops->start && (rc = s->ops->start(s->self, err)) != SLUICE_OK) {
        err_prefix(err, "starting source %s", s->ctx.name);
        return rc;
    }
    s->started = 1;
    s->ctx.start_ms = now_ms();
    ctr_add(&s->ctx, SLUICE_CTR_EVENT_RECEIVED, 0);
    ctr_add(&s->ctx, SLUICE_CTR_EVENT_ACCEPTED, 0);
    if ((rc = source_runner_start(s, err)) != SLUICE_OK)
        return rc;
    log_msg(SLUICE_LOG_INFO, s->ctx.label, "Source %s started (%s)", s->ctx.name,
            s->comp->plugin->desc->name);
    return SLUICE_OK;
}

void rt_source_free(struct rt_source *s)
{
    if (!s)
        return;
    if (s->self)
        s->ops->destroy(s->self);
    for (size_t k = 0; k < s->n_ics; k++)
        if (s->ics[k].self)
            s->ics[k].ops->destroy(s->ics[k].self);
    free(s->ics);
    free(s->chans);
    free(s->optional);
    free(s);
}

/* ---- The whole agent --------------------------------------------------------------------------
 */

static int create_all(struct agent *a, struct agent_model *m, int channels, struct sluice_err *err);

int agent_create(struct agent *a, struct agent_model *m, struct sluice_err *err)
{
    return create_all(a, m, 1, err);
}

int agent_create_for_check(struct agent *a, struct agent_model *m, struct sluice_err *err)
{
    return create_all(a, m, 0, err);
}

static int create_all(struct agent *a, struct agent_model *m, int channels, struct sluice_err *err)
{
    memset(a, 0, sizeof(*a));
    a->model = m;
    a->drain_timeout_ms = 10000;
    if (pthread_mutex_init(&a->lock, NULL) != 0)
        return err_set(err, SLUICE_ENOMEM, "cannot create a mutex");
    a->lock_ready = 1;
    a->name = strdup(m->name ? m->name : "");
    size_t n = m->n;
    struct comp **tmp = calloc(n + 1, sizeof(*tmp));
    if (!tmp || !a->name) {
        free(tmp);
        agent_destroy(a);
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    }
    int rc = SLUICE_OK;
    size_t nc = model_list(m, COMP_CHANNEL, tmp, n);
    for (size_t i = 0; i < nc; i++) {
        struct rt_channel *ch;
        if ((rc = rt_channel_new(a, tmp[i], channels, &ch, err)) != SLUICE_OK)
            goto fail;
        if (rt_list_add(a, &a->channels, ch) != SLUICE_OK) {
            rt_channel_free(ch);
            goto oom;
        }
    }
    size_t nk = model_list(m, COMP_SINK, tmp, n);
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k;
        if ((rc = rt_sink_new(a, tmp[i], &k, err)) != SLUICE_OK)
            goto fail;
        if (rt_list_add(a, &a->sinks, k) != SLUICE_OK) {
            rt_sink_free(k);
            goto oom;
        }
    }
    size_t ng = model_list(m, COMP_SINKGROUP, tmp, n);
    for (size_t i = 0; i < ng; i++) {
        struct rt_group *g;
        if ((rc = rt_group_new(a, tmp[i], &g, err)) != SLUICE_OK)
            goto fail;
        if (rt_list_add(a, &a->groups, g) != SLUICE_OK) {
            rt_group_free(g);
            goto oom;
        }
    }
    size_t ns = model_list(m, COMP_SOURCE, tmp, n);
    for (size_t i = 0; i < ns; i++) {
        struct rt_source *s;
        if ((rc = rt_source_new(a, tmp[i], &s, err)) != SLUICE_OK)
            goto fail;
        if (rt_list_add(a, &a->sources, s) != SLUICE_OK) {
            rt_source_free(s);
            goto oom;
        }
    }
    free(tmp);
    return SLUICE_OK;
oom:
    rc = err_set(err, SLUICE_ENOMEM, "out of memory");
fail:
    free(tmp);
    agent_destroy(a);
    return rc;
}

int agent_start(struct agent *a, struct sluice_err *err)
{
    int rc;
    for (size_t i = 0; i < a->channels.n; i++)
        if ((rc = rt_channel_start(a->channels.v[i], err)) != SLUICE_OK)
            return rc;
    for (size_t i = 0; i < a->sinks.n; i++)
        if ((rc = rt_sink_start(a->sinks.v[i], err)) != SLUICE_OK)
            return rc;
    for (size_t i = 0; i < a->groups.n; i++)
        if ((rc = rt_group_start(a->groups.v[i], err)) != SLUICE_OK)
            return rc;
    for (size_t i = 0; i < a->sources.n; i++)
        if ((rc = rt_source_start(a->sources.v[i], err)) != SLUICE_OK)
            return rc;
    return SLUICE_OK;
}

void agent_log_final_counters(struct sluice_ctx *ctx)
{
    static const char *const names[] = {
#define XX(name, text) text,
        SLUICE_COUNTER_MAP(XX)
#undef XX
    };
    char buf[2048];
    size_t off = 0;
    uint64_t touched = atomic_load(&ctx->touched);
    for (int c = 0; c < SLUICE_CTR__COUNT && off < sizeof(buf); c++) {
        if (!(touched & (1ull << c)))
            continue;
        int n = snprintf(buf + off, sizeof(buf) - off, "%s%s == %" PRIu64, off ? ", " : "",
                         names[c], (uint64_t)atomic_load(&ctx->counters[c]));
        if (n > 0)
            off += (size_t)n;
    }
    if (off)
        log_msg(SLUICE_LOG_INFO, ctx->label, "Shutdown Metric for type: %s, name: %s. %s",
                ctx->type_word, ctx->name, buf);
}

/* Ends the wait of sources blocked in emit() on a full channel once the drain time is over,
 * also for event-driven sources whose stop() waits for their own threads. */
struct stop_watchdog {
    struct agent *a;
    void *const *v; /* struct rt_source * */
    size_t n;
    int64_t deadline;
    atomic_int done;
};

static void *stop_watchdog_thread(void *arg)
{
    struct stop_watchdog *w = arg;
    while (!atomic_load(&w->done)) {
        if (mono_ms() >= w->deadline) {
            int first = 0;
            for (size_t i = 0; i < w->n; i++) {
                struct rt_source *s = w->v[i];
                if (!atomic_exchange(&s->abort_emit, 1))
                    first = 1;
            }
            if (first)
                log_msg(SLUICE_LOG_WARN, NULL,
                        "sources still waiting on full channels after %lld ms; giving up their "
                        "pending batches",
                        (long long)w->a->drain_timeout_ms);
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

void agent_stop_sources(struct agent *a, void *const *v, size_t n)
{
    /* a source blocked on a full channel keeps trying while the sinks drain, and gives up
     * when the drain time is over */
    for (size_t i = 0; i < n; i++) {
        struct rt_source *s = v[i];
        atomic_store(&s->ctx.stopping, 1);
    }
    struct stop_watchdog wd = {.a = a, .v = v, .n = n, .deadline = mono_ms() + a->drain_timeout_ms};
    pthread_t wd_thread;
    int wd_started = pthread_create(&wd_thread, NULL, stop_watchdog_thread, &wd) == 0;
    if (!wd_started) /* no watchdog: do not risk waiting forever */
        for (size_t i = 0; i < n; i++) {
            struct rt_source *s = v[i];
            atomic_store(&s->abort_emit, 1);
        }
    for (size_t i = 0; i < n; i++) {
        struct rt_source *s = v[i];
        source_runner_join(s); /* the watchdog bounds a wait in emit() */
        if (s->started && s->ops->stop)
            s->ops->stop(s->self);
        s->started = 0;
        s->ctx.stop_ms = now_ms();
    }
    atomic_store(&wd.done, 1);
    if (wd_started)
        pthread_join(wd_thread, NULL);
}

void agent_stop_sinks(struct agent *a, void *const *sinks, size_t nk, void *const *groups,
                      size_t ng)
{
    /* runners asked to drain deliver until their channels are empty or the time is over */
    int64_t deadline = mono_ms() + a->drain_timeout_ms;
    for (;;) {
        int all_done = 1;
        for (size_t i = 0; i < nk; i++) {
            struct rt_sink *k = sinks[i];
            if (k->thread_started && atomic_load(&k->drain) && !atomic_load(&k->done))
                all_done = 0;
        }
        for (size_t i = 0; i < ng; i++) {
            struct rt_group *g = groups[i];
            if (g->thread_started && atomic_load(&g->drain) && !atomic_load(&g->done))
                all_done = 0;
        }
        if (all_done || mono_ms() >= deadline)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k = sinks[i];
        atomic_store(&k->ctx.stopping, 1);
    }
    for (size_t i = 0; i < ng; i++) {
        struct rt_group *g = groups[i];
        atomic_store(&g->ctx.stopping, 1);
        group_runner_join(g);
    }
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k = sinks[i];
        sink_runner_join(k);
        if (k->started && k->ops->stop)
            k->ops->stop(k->self);
        k->started = 0;
        k->ctx.stop_ms = now_ms();
    }
}

void agent_stop(struct agent *a)
{
    /* 1. sources stop producing */
    agent_stop_sources(a, a->sources.v, a->sources.n);
    /* 2. sinks drain until their channel is empty or the drain time is over */
    for (size_t i = 0; i < a->sinks.n; i++) {
        struct rt_sink *k = a->sinks.v[i];
        atomic_store(&k->drain, 1);
    }
    for (size_t i = 0; i < a->groups.n; i++) {
        struct rt_group *g = a->groups.v[i];
        atomic_store(&g->drain, 1);
    }
    agent_stop_sinks(a, a->sinks.v, a->sinks.n, a->groups.v, a->groups.n);
    atomic_store(&a->abort_emit, 1);
    /* 3. channels */
    for (size_t i = 0; i < a->channels.n; i++) {
        struct rt_channel *ch = a->channels.v[i];
        if (!ch->started)
            continue;
        uint64_t left = chan_size(ch);
        if (left)
            log_msg(SLUICE_LOG_WARN, ch->ctx.label,
                    "%" PRIu64 " events are still in channel %s at shutdown (the sinks could "
                    "not deliver them within %lld ms)",
                    left, ch->ctx.name, (long long)a->drain_timeout_ms);
        rt_channel_stop(ch);
    }
    for (size_t i = 0; i < a->sources.n; i++) {
        struct rt_source *s = a->sources.v[i];
        agent_log_final_counters(&s->ctx);
    }
    for (size_t i = 0; i < a->channels.n; i++) {
        struct rt_channel *ch = a->channels.v[i];
        agent_log_final_counters(&ch->ctx);
    }
    for (size_t i = 0; i < a->sinks.n; i++) {
        struct rt_sink *k = a->sinks.v[i];
        agent_log_final_counters(&k->ctx);
    }
}

void agent_destroy(struct agent *a)
{
    for (size_t i = 0; i < a->sources.n; i++)
        rt_source_free(a->sources.v[i]);
    for (size_t i = 0; i < a->sinks.n; i++)
        rt_sink_free(a->sinks.v[i]);
    for (size_t i = 0; i < a->channels.n; i++)
        rt_channel_free(a->channels.v[i]);
    for (size_t i = 0; i < a->groups.n; i++)
        rt_group_free(a->groups.v[i]);
    free(a->sources.v);
    free(a->sinks.v);
    free(a->channels.v);
    free(a->groups.v);
    memset(&a->sources, 0, sizeof(a->sources));
    memset(&a->sinks, 0, sizeof(a->sinks));
    memset(&a->channels, 0, sizeof(a->channels));
    memset(&a->groups, 0, sizeof(a->groups));
    free(a->name);
    a->name = NULL;
    if (a->lock_ready)
        pthread_mutex_destroy(&a->lock);
    a->lock_ready = 0;
}
