/*
 * Building, starting and stopping a running agent from a validated model (see agent.h).
 * Order follows Flume: create and start channels, then sinks, then sources; stop sources
 * first, let the sinks drain what the channels hold (bounded), then stop sinks and channels.
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

static struct rt_channel *find_channel(struct agent *a, const struct comp *c)
{
    for (size_t i = 0; i < a->n_channels; i++)
        if (a->channels[i].comp == c)
            return &a->channels[i];
    return NULL;
}

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
    size_t nc = model_list(m, COMP_CHANNEL, NULL, 0);
    size_t ns = model_list(m, COMP_SOURCE, NULL, 0);
    size_t nk = model_list(m, COMP_SINK, NULL, 0);
    struct comp **tmp = calloc(m->n + 1, sizeof(*tmp));
    a->channels = calloc(nc + 1, sizeof(*a->channels));
    a->sources = calloc(ns + 1, sizeof(*a->sources));
    a->sinks = calloc(nk + 1, sizeof(*a->sinks));
    if (!tmp || !a->channels || !a->sources || !a->sinks) {
        free(tmp);
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    }
    int rc = SLUICE_OK;
    model_list(m, COMP_CHANNEL, tmp, nc);
    for (size_t i = 0; i < nc; i++) {
        struct rt_channel *ch = &a->channels[a->n_channels];
        ch->comp = tmp[i];
        ch->ops = tmp[i]->plugin->desc->ops;
        ctx_init(&ch->ctx, a, "CHANNEL", tmp[i]->name);
        a->n_channels++;
        if (!channels)
            continue;
        rc = ch->ops->create(&ch->self, tmp[i]->conf, &agent_host, &ch->ctx, err);
        if (rc != SLUICE_OK) {
            err_prefix(err, "channel %s (%s)", tmp[i]->name, tmp[i]->plugin->path);
            goto fail;
        }
    }
    model_list(m, COMP_SINK, tmp, nk);
    for (size_t i = 0; i < nk; i++) {
        struct rt_sink *k = &a->sinks[a->n_sinks];
        k->comp = tmp[i];
        k->ops = tmp[i]->plugin->desc->ops;
        ctx_init(&k->ctx, a, "SINK", tmp[i]->name);
        k->view.ch = find_channel(a, tmp[i]->channels[0]);
        k->view.user = &k->ctx;
        k->view.batch_size = tmp[i]->batch_size;
        a->n_sinks++;
        rc = k->ops->create(&k->self, tmp[i]->conf, &agent_host, &k->ctx, err);
        if (rc != SLUICE_OK) {
            err_prefix(err, "sink %s (%s)", tmp[i]->name, tmp[i]->plugin->path);
            goto fail;
        }
    }
    size_t ng = model_list(m, COMP_SINKGROUP, NULL, 0);
    a->groups = calloc(ng + 1, sizeof(*a->groups));
    if (!a->groups) {
        rc = err_set(err, SLUICE_ENOMEM, "out of memory");
        goto fail;
    }
    model_list(m, COMP_SINKGROUP, tmp, ng);
    for (size_t i = 0; i < ng; i++) {
        struct rt_group *g = &a->groups[a->n_groups++];
        g->comp = tmp[i];
        ctx_init(&g->ctx, a, "SINKGROUP", tmp[i]->name);
        g->n = tmp[i]->group.n_sinks;
        g->sinks = calloc(g->n, sizeof(*g->sinks));
        if (!g->sinks) {
            rc = err_set(err, SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < g->n; k++)
            for (size_t j = 0; j < a->n_sinks; j++)
                if (a->sinks[j].comp == tmp[i]->group.sinks[k]) {
                    g->sinks[k] = &a->sinks[j];
                    a->sinks[j].in_group = 1;
                }
        if (group_init(g) != SLUICE_OK) {
            rc = err_set(err, SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
    }
    model_list(m, COMP_SOURCE, tmp, ns);
    for (size_t i = 0; i < ns; i++) {
        struct comp *c = tmp[i];
        struct rt_source *s = &a->sources[a->n_sources];
        s->comp = c;
        s->ops = c->plugin->desc->ops;
        ctx_init(&s->ctx, a, "SOURCE", c->name);
        a->n_sources++;
        s->chans = calloc(c->n_channels, sizeof(*s->chans));
        s->optional = calloc(c->n_channels, 1);
        s->ics = calloc(c->n_interceptors + 1, sizeof(*s->ics));
        if (!s->chans || !s->optional || !s->ics) {
            rc = err_set(err, SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < c->n_channels; k++) {
            s->chans[k] = find_channel(a, c->channels[k]);
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
    }
    free(tmp);
    return SLUICE_OK;
fail:
    free(tmp);
    agent_destroy(a);
    return rc;
}

int agent_start(struct agent *a, struct sluice_err *err)
{
    int rc;
    for (size_t i = 0; i < a->n_channels; i++) {
        struct rt_channel *ch = &a->channels[i];
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
    }
    for (size_t i = 0; i < a->n_sinks; i++) {
        struct rt_sink *k = &a->sinks[i];
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
        log_msg(SLUICE_LOG_INFO, k->ctx.label, "Sink %s started (%s) on channel %s%s%s",
                k->ctx.name, k->comp->plugin->desc->name, k->view.ch->ctx.name,
                k->in_group ? ", run by sink group " : "",
                k->in_group ? k->comp->in_group->name : "");
    }
    for (size_t i = 0; i < a->n_groups; i++) {
        struct rt_group *g = &a->groups[i];
        static const char *const kinds[] = {"default", "failover", "load_balance"};
        if ((rc = group_runner_start(g, err)) != SLUICE_OK)
            return rc;
        log_msg(SLUICE_LOG_INFO, g->ctx.label, "Sink group %s started (%s, %zu sinks)",
                g->ctx.name, kinds[g->comp->group.kind], g->n);
    }
    for (size_t i = 0; i < a->n_sources; i++) {
        struct rt_source *s = &a->sources[i];
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
    }
    return SLUICE_OK;
}

static void log_final_counters(struct sluice_ctx *ctx)
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
    int64_t deadline;
    atomic_int done;
};

static void *stop_watchdog_thread(void *arg)
{
    struct stop_watchdog *w = arg;
    while (!atomic_load(&w->done)) {
        if (mono_ms() >= w->deadline) {
            if (!atomic_exchange(&w->a->abort_emit, 1))
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

void agent_stop(struct agent *a)
{
    /* 1. sources: stop producing; a source blocked on a full channel keeps trying while the
     * sinks drain, and gives up when the drain time is over */
    atomic_store(&a->sources_stopping, 1);
    for (size_t i = 0; i < a->n_sources; i++)
        atomic_store(&a->sources[i].ctx.stopping, 1);
    int64_t deadline = mono_ms() + a->drain_timeout_ms;
    struct stop_watchdog wd = {.a = a, .deadline = deadline};
    pthread_t wd_thread;
    int wd_started = pthread_create(&wd_thread, NULL, stop_watchdog_thread, &wd) == 0;
    if (!wd_started)
        atomic_store(&a->abort_emit, 1); /* no watchdog: do not risk waiting forever */
    for (size_t i = 0; i < a->n_sources; i++) {
        struct rt_source *s = &a->sources[i];
        source_runner_join(s); /* the watchdog bounds a wait in emit() */
        if (s->started && s->ops->stop)
            s->ops->stop(s->self);
        s->started = 0;
        s->ctx.stop_ms = now_ms();
    }
    atomic_store(&wd.done, 1);
    if (wd_started)
        pthread_join(wd_thread, NULL);
    /* 2. sinks drain until their channel is empty or the drain time is over */
    for (;;) {
        int all_done = 1;
        for (size_t i = 0; i < a->n_sinks; i++)
            if (a->sinks[i].thread_started && !atomic_load(&a->sinks[i].done))
                all_done = 0;
        for (size_t i = 0; i < a->n_groups; i++)
            if (a->groups[i].thread_started && !atomic_load(&a->groups[i].done))
                all_done = 0;
        if (all_done || mono_ms() >= deadline)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_store(&a->abort_emit, 1);
    atomic_store(&a->sinks_stopping, 1);
    for (size_t i = 0; i < a->n_sinks; i++)
        atomic_store(&a->sinks[i].ctx.stopping, 1);
    for (size_t i = 0; i < a->n_groups; i++) {
        atomic_store(&a->groups[i].ctx.stopping, 1);
        group_runner_join(&a->groups[i]);
    }
    for (size_t i = 0; i < a->n_sinks; i++) {
        struct rt_sink *k = &a->sinks[i];
        sink_runner_join(k);
        if (k->started && k->ops->stop)
            k->ops->stop(k->self);
        k->started = 0;
        k->ctx.stop_ms = now_ms();
    }
    /* 3. channels */
    for (size_t i = 0; i < a->n_channels; i++) {
        struct rt_channel *ch = &a->channels[i];
        if (!ch->started)
            continue;
        uint64_t left = chan_size(ch);
        if (left)
            log_msg(SLUICE_LOG_WARN, ch->ctx.label,
                    "%" PRIu64 " events are still in channel %s at shutdown (the sinks could "
                    "not deliver them within %lld ms)",
                    left, ch->ctx.name, (long long)a->drain_timeout_ms);
        if (ch->ops->stop)
            ch->ops->stop(ch->self);
        ch->started = 0;
        ch->ctx.stop_ms = now_ms();
    }
    for (size_t i = 0; i < a->n_sources; i++)
        log_final_counters(&a->sources[i].ctx);
    for (size_t i = 0; i < a->n_channels; i++)
        log_final_counters(&a->channels[i].ctx);
    for (size_t i = 0; i < a->n_sinks; i++)
        log_final_counters(&a->sinks[i].ctx);
}

void agent_destroy(struct agent *a)
{
    for (size_t i = 0; i < a->n_sources; i++) {
        struct rt_source *s = &a->sources[i];
        if (s->self)
            s->ops->destroy(s->self);
        for (size_t k = 0; k < s->n_ics; k++)
            if (s->ics[k].self)
                s->ics[k].ops->destroy(s->ics[k].self);
        free(s->ics);
        free(s->chans);
        free(s->optional);
    }
    for (size_t i = 0; i < a->n_sinks; i++)
        if (a->sinks[i].self)
            a->sinks[i].ops->destroy(a->sinks[i].self);
    for (size_t i = 0; i < a->n_channels; i++)
        if (a->channels[i].self)
            a->channels[i].ops->destroy(a->channels[i].self);
    for (size_t i = 0; i < a->n_groups; i++)
        group_free(&a->groups[i]);
    free(a->groups);
    a->groups = NULL;
    a->n_groups = 0;
    free(a->sources);
    free(a->sinks);
    free(a->channels);
    a->sources = NULL;
    a->sinks = NULL;
    a->channels = NULL;
    a->n_sources = a->n_sinks = a->n_channels = 0;
}

static size_t json_component(struct sluice_ctx *ctx, char *buf, size_t len, size_t off,
                             int first)
{
    static const char *const names[] = {
#define XX(name, text) text,
        SLUICE_COUNTER_MAP(XX)
#undef XX
    };
    if (off >= len)
        return off;
    int n = snprintf(buf + off, len - off, "%s\"%s.%s\":{\"Type\":\"%s\",\"StartTime\":\"%lld\","
                     "\"StopTime\":\"%lld\"",
                     first ? "" : ",", ctx->type_word, ctx->name, ctx->type_word,
                     (long long)ctx->start_ms, (long long)ctx->stop_ms);
    if (n > 0)
        off += (size_t)n;
    uint64_t touched = atomic_load(&ctx->touched);
    for (int c = 0; c < SLUICE_CTR__COUNT && off < len; c++) {
        if (!(touched & (1ull << c)))
            continue;
        n = snprintf(buf + off, len - off, ",\"%s\":\"%" PRIu64 "\"", names[c],
                     (uint64_t)atomic_load(&ctx->counters[c]));
        if (n > 0)
            off += (size_t)n;
    }
    if (!strcmp(ctx->type_word, "CHANNEL") && off < len) {
        uint64_t size = atomic_load(&ctx->counters[SLUICE_CTR_CHANNEL_SIZE]);
        uint64_t cap = atomic_load(&ctx->counters[SLUICE_CTR_CHANNEL_CAPACITY]);
        n = snprintf(buf + off, len - off, ",\"ChannelFillPercentage\":\"%.1f\"",
                     cap ? (double)size * 100.0 / (double)cap : 0.0);
        if (n > 0)
            off += (size_t)n;
    }
    if (off < len) {
        n = snprintf(buf + off, len - off, "}");
        if (n > 0)
            off += (size_t)n;
    }
    return off;
}

/* One component's counters in Prometheus' text format: flume_<Counter>{component,type}. */
static size_t prom_component(struct sluice_ctx *ctx, const char *agent, char *buf, size_t len,
                             size_t off)
{
    static const char *const names[] = {
#define XX(name, text) text,
        SLUICE_COUNTER_MAP(XX)
#undef XX
    };
    uint64_t touched = atomic_load(&ctx->touched);
    for (int c = 0; c < SLUICE_CTR__COUNT && off < len; c++) {
        if (!(touched & (1ull << c)))
            continue;
        int n = snprintf(buf + off, len - off,
                         "flume_%s{agent=\"%s\",type=\"%s\",component=\"%s\"} %" PRIu64 "\n",
                         names[c], agent, ctx->type_word, ctx->name,
                         (uint64_t)atomic_load(&ctx->counters[c]));
        if (n > 0)
            off += (size_t)n;
    }
    return off;
}

size_t agent_metrics_prometheus(struct agent *a, char *buf, size_t len)
{
    size_t off = 0;
    const char *agent = a->model->name;
    buf[0] = 0;
    for (size_t i = 0; i < a->n_sources; i++)
        off = prom_component(&a->sources[i].ctx, agent, buf, len, off);
    for (size_t i = 0; i < a->n_channels; i++)
        off = prom_component(&a->channels[i].ctx, agent, buf, len, off);
    for (size_t i = 0; i < a->n_sinks; i++)
        off = prom_component(&a->sinks[i].ctx, agent, buf, len, off);
    if (off >= len && len)
        buf[len - 1] = 0;
    return off;
}

size_t agent_metrics_json(struct agent *a, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "{");
    int first = 1;
    for (size_t i = 0; i < a->n_sources; i++, first = 0)
        off = json_component(&a->sources[i].ctx, buf, len, off, first);
    for (size_t i = 0; i < a->n_channels; i++, first = 0)
        off = json_component(&a->channels[i].ctx, buf, len, off, first);
    for (size_t i = 0; i < a->n_sinks; i++, first = 0)
        off = json_component(&a->sinks[i].ctx, buf, len, off, first);
    if (off + 2 <= len) {
        buf[off++] = '}';
        buf[off] = 0;
    } else if (len) {
        buf[len - 1] = 0;
    }
    return off;
}
