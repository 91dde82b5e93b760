/*
 * One thread per sink (Flume's SinkRunner with the default processor): call process() in a
 * loop. Channels wait for data inside take(), so an idle sink costs nothing and a new event is
 * delivered at once; only a sink that returns BACKOFF without waiting is slowed down. After a
 * failure the runner sleeps 1 s, doubling up to 5 s, before retrying (the sink rolled back, so
 * the events wait in the channel). Asked to drain (shutdown, or a reload that removes its
 * channel) the runner exits once its channel is empty; asked to stop, after the current batch.
 * A sink group is run the same way by one thread calling its processor (sink_group.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "log.h"
#include "runtime.h"

#define ERROR_BACKOFF_MIN_MS  1000
#define ERROR_BACKOFF_MAX_MS  5000
#define ERROR_LOG_INTERVAL_MS 10000

/* What one runner thread drives: a single sink or a sink group. */
struct runner {
    struct sluice_ctx *ctx;
    int (*process)(void *arg, struct sluice_err *err);
    void *arg;
    struct rt_channel **chans; /* for the drain check */
    size_t n_chans;
    atomic_int *done;
    atomic_int *drain;
};

static int channels_empty(const struct runner *r)
{
    for (size_t i = 0; i < r->n_chans; i++)
        if (chan_size(r->chans[i]) != 0)
            return 0;
    return 1;
}

static void run_loop(struct runner *r)
{
    int64_t error_sleep = ERROR_BACKOFF_MIN_MS;
    int64_t last_error_log = 0;
    unsigned long suppressed = 0;
    int idle = 0;
    while (!atomic_load(&r->ctx->stopping)) {
        struct sluice_err err = {0};
        int64_t t0 = mono_ms();
        int rc = r->process(r->arg, &err);
        if (rc == SLUICE_READY) {
            error_sleep = ERROR_BACKOFF_MIN_MS;
            idle = 0;
            continue;
        }
        if (rc == SLUICE_BACKOFF) {
            /* when draining, an empty channel means the drain is done */
            if (atomic_load(r->drain) && channels_empty(r))
                break;
            if (mono_ms() - t0 < 50) {
                /* the sink did not wait in take(): back off a little, up to 1 s */
                idle = idle < 10 ? idle + 1 : 10;
                agent_host.sleep_ms(r->ctx, idle * 100);
            }
            continue;
        }
        int64_t now = mono_ms();
        if (now - last_error_log >= ERROR_LOG_INTERVAL_MS) {
            if (suppressed)
                log_msg(SLUICE_LOG_ERROR, r->ctx->label,
                        "Unable to deliver event: %s (%lu similar errors not logged)",
                        err.msg[0] ? err.msg : "no detail", suppressed);
            else
                log_msg(SLUICE_LOG_ERROR, r->ctx->label, "Unable to deliver event: %s",
                        err.msg[0] ? err.msg : "no detail");
            last_error_log = now;
            suppressed = 0;
        } else {
            suppressed++;
        }
        agent_host.sleep_ms(r->ctx, error_sleep);
        error_sleep =
            error_sleep * 2 > ERROR_BACKOFF_MAX_MS ? ERROR_BACKOFF_MAX_MS : error_sleep * 2;
    }
    atomic_store(r->done, 1);
}

static int sink_process(void *arg, struct sluice_err *err)
{
    struct rt_sink *k = arg;
    return k->ops->process(k->self, &k->view, err);
}

static void *sink_thread(void *arg)
{
    struct rt_sink *k = arg;
    struct rt_channel *ch = k->view.ch;
    struct runner r = {.ctx = &k->ctx,
                       .process = sink_process,
                       .arg = k,
                       .chans = &ch,
                       .n_chans = 1,
                       .done = &k->done,
                       .drain = &k->drain};
    run_loop(&r);
    return NULL;
}

static int group_process_cb(void *arg, struct sluice_err *err)
{
    return group_process(arg, err);
}

static void *group_thread(void *arg)
{
    struct rt_group *g = arg;
    struct rt_channel **chans = calloc(g->n, sizeof(*chans));
    if (chans)
        for (size_t i = 0; i < g->n; i++)
            chans[i] = g->sinks[i]->view.ch;
    struct runner r = {.ctx = &g->ctx,
                       .process = group_process_cb,
                       .arg = g,
                       .chans = chans,
                       .n_chans = chans ? g->n : 0,
                       .done = &g->done,
                       .drain = &g->drain};
    run_loop(&r);
    free(chans);
    return NULL;
}

int group_runner_start(struct rt_group *g, struct sluice_err *err)
{
    if (pthread_create(&g->thread, NULL, group_thread, g) != 0)
        return agent_host.err_set(err, SLUICE_ENOMEM, "sink group %s: cannot start a thread",
                                  g->ctx.name);
    g->thread_started = 1;
    return SLUICE_OK;
}

void group_runner_join(struct rt_group *g)
{
    if (g->thread_started) {
        pthread_join(g->thread, NULL);
        g->thread_started = 0;
    }
}

int sink_runner_start(struct rt_sink *k, struct sluice_err *err)
{
    int rc = pthread_create(&k->thread, NULL, sink_thread, k);
    if (rc != 0)
        return agent_host.err_set(err, SLUICE_ENOMEM, "sink %s: cannot start a thread",
                                  k->ctx.name);
    k->thread_started = 1;
    return SLUICE_OK;
}

void sink_runner_join(struct rt_sink *k)
{
    if (k->thread_started) {
        pthread_join(k->thread, NULL);
        k->thread_started = 0;
    }
}
