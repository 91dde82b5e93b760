/*
 * One thread per pollable source (Flume's PollableSourceRunner): call process() in a loop,
 * back off 1 s more per consecutive idle call up to 5 s, and sleep 5 s after an error. Sleeps
 * end early when the agent stops.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "agent.h"
#include "log.h"
#include "runtime.h"

#define BACKOFF_STEP_MS 1000
#define BACKOFF_MAX_MS  5000

static void *source_thread(void *arg)
{
    struct rt_source *s = arg;
    int backoffs = 0;
    while (!atomic_load(&s->ctx.stopping)) {
        struct sluice_err err = {0};
        int rc = s->ops->process(s->self, &err);
        if (rc == SLUICE_READY) {
            backoffs = 0;
            continue;
        }
        int64_t sleep;
        if (rc == SLUICE_BACKOFF) {
            backoffs++;
            sleep = (int64_t)backoffs * BACKOFF_STEP_MS;
            if (sleep > BACKOFF_MAX_MS)
                sleep = BACKOFF_MAX_MS;
        } else {
            log_msg(SLUICE_LOG_ERROR, s->ctx.label, "Unhandled error (%s), sleeping for %d ms",
                    err.msg[0] ? err.msg : "no detail", BACKOFF_MAX_MS);
            sleep = BACKOFF_MAX_MS;
        }
        agent_host.sleep_ms(&s->ctx, sleep);
    }
    return NULL;
}

int source_runner_start(struct rt_source *s, struct sluice_err *err)
{
    if (!s->ops->process)
        return SLUICE_OK; /* event-driven: runs its own threads */
    int rc = pthread_create(&s->thread, NULL, source_thread, s);
    if (rc != 0)
        return agent_host.err_set(err, SLUICE_ENOMEM, "source %s: cannot start a thread",
                                  s->ctx.name);
    s->thread_started = 1;
    return SLUICE_OK;
}

void source_runner_join(struct rt_source *s)
{
    if (s->thread_started) {
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
}
