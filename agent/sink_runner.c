/*
 * One thread per sink (Flume's SinkRunner with the default processor): call process() in a
 * loop. Channels wait for data inside take(), so an idle sink costs nothing and a new event is
 * delivered at once; only a sink that returns BACKOFF without waiting is slowed down. After a
 * failure the runner sleeps 1 s, doubling up to 5 s, before retrying (the sink rolled back, so
 * the events wait in the channel). During shutdown the runner drains its channel and exits
 * once the channel is empty or the agent stops sinks.
 */
#include <pthread.h>
#include <stdio.h>

#include "agent.h"
#include "log.h"
#include "runtime.h"

#define ERROR_BACKOFF_MIN_MS 1000
#define ERROR_BACKOFF_MAX_MS 5000
#define ERROR_LOG_INTERVAL_MS 10000

static void *sink_thread(void *arg)
{
    struct rt_sink *k = arg;
    struct agent *a = k->ctx.agent;
    int64_t error_sleep = ERROR_BACKOFF_MIN_MS;
    int64_t last_error_log = 0;
    unsigned long suppressed = 0;
    int idle = 0;
    while (!atomic_load(&k->ctx.stopping)) {
        struct sluice_err err = {0};
        int64_t t0 = mono_ms();
        int rc = k->ops->process(k->self, &k->view, &err);
        if (rc == SLUICE_READY) {
            error_sleep = ERROR_BACKOFF_MIN_MS;
            idle = 0;
            continue;
        }
        if (rc == SLUICE_BACKOFF) {
            /* during shutdown an empty channel means the drain is done */
            if (atomic_load(&a->sources_stopping) && chan_size(k->view.ch) == 0)
                break;
            if (mono_ms() - t0 < 50) {
                /* the sink did not wait in take(): back off a little, up to 1 s */
                idle = idle < 10 ? idle + 1 : 10;
                agent_host.sleep_ms(&k->ctx, idle * 100);
            }
            continue;
        }
        int64_t now = mono_ms();
        if (now - last_error_log >= ERROR_LOG_INTERVAL_MS) {
            if (suppressed)
                log_msg(SLUICE_LOG_ERROR, k->ctx.label,
                        "Unable to deliver event: %s (%lu similar errors not logged)",
                        err.msg[0] ? err.msg : "no detail", suppressed);
            else
                log_msg(SLUICE_LOG_ERROR, k->ctx.label, "Unable to deliver event: %s",
                        err.msg[0] ? err.msg : "no detail");
            last_error_log = now;
            suppressed = 0;
        } else {
            suppressed++;
        }
        agent_host.sleep_ms(&k->ctx, error_sleep);
        error_sleep = error_sleep * 2 > ERROR_BACKOFF_MAX_MS ? ERROR_BACKOFF_MAX_MS
                                                              : error_sleep * 2;
    }
    atomic_store(&k->done, 1);
    return NULL;
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
