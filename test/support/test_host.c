/*
 * In-process host for plugin unit tests (see test_host.h).
 */
#include "test_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"

static void th_log(struct sluice_ctx *ctx, enum sluice_level level, const char *fmt, ...)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%-5s [%s] ", names[level], ctx ? ctx->name : "-");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int th_log_enabled(struct sluice_ctx *ctx, enum sluice_level level)
{
    (void)ctx;
    return level <= SLUICE_LOG_INFO;
}

static int th_err_set(struct sluice_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

static void push_emitted(struct sluice_ctx *ctx, struct sluice_event *ev)
{
    if (ctx->n_emitted == ctx->cap_emitted) {
        size_t cap = ctx->cap_emitted ? ctx->cap_emitted * 2 : 64;
        struct sluice_event **v = realloc(ctx->emitted, cap * sizeof(*v));
        if (!v) {
            event_free(ev);
            return;
        }
        ctx->emitted = v;
        ctx->cap_emitted = cap;
    }
    ctx->emitted[ctx->n_emitted++] = ev;
}

static int th_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                   struct sluice_err *err)
{
    ctx->counters[SLUICE_CTR_EVENT_RECEIVED] += n;
    if (ctx->forward) {
        struct sluice_channel *ch = ctx->forward;
        for (;;) {
            void *tx = ch->ops->tx_begin(ch->self);
            int rc = ch->ops->put(tx, evs, n, err);
            if (rc == SLUICE_OK)
                rc = ch->ops->commit(tx, err);
            if (rc != SLUICE_OK)
                ch->ops->rollback(tx);
            ch->ops->tx_free(tx);
            if (rc == SLUICE_OK)
                break;
            if (rc != SLUICE_EFULL || ctx->stopping)
                return rc;
            /* rollback freed the puts: the test forwarding path only retries whole batches
             * that were never accepted, so a full channel here is a test failure */
            return rc;
        }
        ctx->counters[SLUICE_CTR_EVENT_ACCEPTED] += n;
        pthread_mutex_lock(&ctx->mu);
        ctx->n_emit_calls++;
        pthread_cond_broadcast(&ctx->cond);
        pthread_mutex_unlock(&ctx->mu);
        return SLUICE_OK;
    }
    pthread_mutex_lock(&ctx->mu);
    for (size_t i = 0; i < n; i++)
        push_emitted(ctx, evs[i]);
    ctx->n_emit_calls++;
    pthread_cond_broadcast(&ctx->cond);
    pthread_mutex_unlock(&ctx->mu);
    ctx->counters[SLUICE_CTR_EVENT_ACCEPTED] += n;
    return SLUICE_OK;
}

static struct sluice_tx *th_tx_begin(struct sluice_channel *ch)
{
    struct sluice_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return NULL;
    tx->ch = ch;
    tx->tx = ch->ops->tx_begin(ch->self);
    return tx;
}

static int th_tx_take(struct sluice_tx *tx, struct sluice_event **evs, size_t max, size_t *n)
{
    return tx->ch->ops->take(tx->tx, evs, max, n);
}

static int th_tx_take_nowait(struct sluice_tx *tx, struct sluice_event **evs, size_t max, size_t *n)
{
    *n = 0;
    if (!tx->ch->ops->take_nowait)
        return SLUICE_ENOTSUP;
    return tx->ch->ops->take_nowait(tx->tx, evs, max, n);
}

static int th_tx_commit(struct sluice_tx *tx, struct sluice_err *err)
{
    return tx->ch->ops->commit(tx->tx, err);
}

static void th_tx_rollback(struct sluice_tx *tx)
{
    tx->ch->ops->rollback(tx->tx);
}

static void th_tx_end(struct sluice_tx *tx)
{
    tx->ch->ops->tx_free(tx->tx);
    free(tx);
}

static void th_counter_add(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t by)
{
    ctx->counters[c] += by;
}

static void th_counter_set(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t v)
{
    ctx->counters[c] = v;
}

static int th_stopping(struct sluice_ctx *ctx)
{
    return ctx->stopping;
}

static int th_sleep_ms(struct sluice_ctx *ctx, int64_t ms)
{
    while (ms > 0 && !ctx->stopping) {
        int64_t step = ms > 10 ? 10 : ms;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return ctx->stopping;
}

static const char *th_component_name(struct sluice_ctx *ctx)
{
    return ctx->name;
}

static const char *th_agent_name(struct sluice_ctx *ctx)
{
    (void)ctx;
    return "a1";
}

const struct sluice_host test_host = {
    .struct_size = sizeof(struct sluice_host),
    .abi_minor = SLUICE_ABI_MINOR,
    .log = th_log,
    .log_enabled = th_log_enabled,
    .err_set = th_err_set,
    .event_new = event_new,
    .event_free = event_free,
    .event_dup = event_dup,
    .event_header_set = event_header_set,
    .event_header_get = event_header_get,
    .event_header_remove = event_header_remove,
    .event_body_set = event_body_set,
    .emit = th_emit,
    .tx_begin = th_tx_begin,
    .tx_take = th_tx_take,
    .tx_take_nowait = th_tx_take_nowait,
    .tx_commit = th_tx_commit,
    .tx_rollback = th_tx_rollback,
    .tx_end = th_tx_end,
    .counter_add = th_counter_add,
    .counter_set = th_counter_set,
    .stopping = th_stopping,
    .sleep_ms = th_sleep_ms,
    .component_name = th_component_name,
    .agent_name = th_agent_name,
};

void test_ctx_init(struct sluice_ctx *ctx, const char *name)
{
    memset(ctx, 0, sizeof(*ctx));
    snprintf(ctx->name, sizeof(ctx->name), "%s", name);
    pthread_mutex_init(&ctx->mu, NULL);
    pthread_cond_init(&ctx->cond, NULL);
}

void test_ctx_destroy(struct sluice_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_emitted; i++)
        event_free(ctx->emitted[i]);
    free(ctx->emitted);
    pthread_mutex_destroy(&ctx->mu);
    pthread_cond_destroy(&ctx->cond);
}

size_t test_ctx_wait_emitted(struct sluice_ctx *ctx, size_t n, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ctx->mu);
    while (ctx->n_emitted < n) {
        if (pthread_cond_timedwait(&ctx->cond, &ctx->mu, &deadline) == ETIMEDOUT)
            break;
    }
    size_t got = ctx->n_emitted;
    pthread_mutex_unlock(&ctx->mu);
    return got;
}

uint64_t test_ctx_counter(struct sluice_ctx *ctx, enum sluice_counter c)
{
    return ctx->counters[c];
}
