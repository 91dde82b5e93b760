/*
 * The host table handed to every plugin: the agent's services (logging with the component's
 * prefix, events, emit for sources, channel transactions for sinks, counters, stop flag).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "errors.h"
#include "event.h"
#include "log.h"
#include "runtime.h"

void ctx_init(struct sluice_ctx *ctx, struct agent *a, const char *kind_word, const char *name)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->agent = a;
    ctx->name = name;
    ctx->type_word = kind_word;
    char lower[32];
    size_t i = 0;
    for (; kind_word[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)(kind_word[i] | 0x20);
    lower[i] = 0;
    snprintf(ctx->label, sizeof(ctx->label), "%s:%s", lower, name);
}

static void h_log(struct sluice_ctx *ctx, enum sluice_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, ctx ? ctx->label : NULL, fmt, ap);
    va_end(ap);
}

static int h_log_enabled(struct sluice_ctx *ctx, enum sluice_level level)
{
    (void)ctx;
    return log_enabled(level);
}

static int h_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                  struct sluice_err *err)
{
    /* ctx is the first member of rt_source */
    return chproc_emit((struct rt_source *)ctx, evs, n, err);
}

static struct sluice_tx *h_tx_begin(struct sluice_channel *view)
{
    struct sluice_tx *tx = NULL;
    for (size_t i = 0; i < SLUICE_SINK_TX_MAX && !tx; i++)
        if (!view->tx[i].open)
            tx = &view->tx[i];
    if (!tx)
        return NULL; /* SLUICE_SINK_TX_MAX transactions open already */
    tx->tx = chan_tx_begin(view->ch);
    if (!tx->tx)
        return NULL;
    tx->view = view;
    tx->open = 1;
    tx->taken = 0;
    return tx;
}

static int h_tx_take(struct sluice_tx *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    *n_out = 0;
    if (!tx || !tx->open)
        return SLUICE_ESTATE;
    int rc = chan_take(tx->view->ch, tx->tx, evs, max, n_out);
    tx->taken += *n_out;
    return rc;
}

static int h_tx_take_nowait(struct sluice_tx *tx, struct sluice_event **evs, size_t max,
                            size_t *n_out)
{
    *n_out = 0;
    if (!tx || !tx->open)
        return SLUICE_ESTATE;
    int rc = chan_take_nowait(tx->view->ch, tx->tx, evs, max, n_out);
    tx->taken += *n_out;
    return rc;
}

static void sink_batch_counters(struct sluice_tx *tx)
{
    struct sluice_ctx *u = tx->view->user;
    if (!u)
        return;
    size_t n = tx->taken;
    int64_t bs = tx->view->batch_size;
    if (n == 0)
        ctr_add(u, SLUICE_CTR_BATCH_EMPTY, 1);
    else if (bs > 0 && (int64_t)n >= bs)
        ctr_add(u, SLUICE_CTR_BATCH_COMPLETE, 1);
    else
        ctr_add(u, SLUICE_CTR_BATCH_UNDERFLOW, 1);
    if (n)
        ctr_add(u, SLUICE_CTR_EVENT_DRAIN_ATTEMPT, n);
}

static int h_tx_commit(struct sluice_tx *tx, struct sluice_err *err)
{
    if (!tx || !tx->open)
        return err_set(err, SLUICE_ESTATE, "commit without an open transaction");
    int rc = chan_commit(tx->view->ch, tx->tx, 0, tx->taken, err);
    if (rc == SLUICE_OK) {
        sink_batch_counters(tx);
        if (tx->taken && tx->view->user)
            ctr_add(tx->view->user, SLUICE_CTR_EVENT_DRAIN_SUCCESS, tx->taken);
        tx->open = 2; /* completed */
    }
    return rc;
}

static void h_tx_rollback(struct sluice_tx *tx)
{
    if (!tx || tx->open != 1)
        return;
    chan_rollback(tx->view->ch, tx->tx);
    sink_batch_counters(tx);
    if (tx->taken && tx->view->user)
        ctr_add(tx->view->user, SLUICE_CTR_ROLLBACK, 1);
    tx->open = 2;
}

static void h_tx_end(struct sluice_tx *tx)
{
    if (!tx || !tx->open)
        return;
    if (tx->open == 1) {
        log_msg(SLUICE_LOG_WARN, tx->view->user ? tx->view->user->label : NULL,
                "transaction ended while open: rolled back");
        h_tx_rollback(tx);
    }
    chan_tx_free(tx->view->ch, tx->tx);
    tx->tx = NULL;
    tx->open = 0;
}

static void h_counter_add(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t by)
{
    if ((unsigned)c < SLUICE_CTR__COUNT)
        ctr_add(ctx, c, by);
}

static void h_counter_set(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t v)
{
    if ((unsigned)c < SLUICE_CTR__COUNT)
        ctr_set(ctx, c, v);
}

static int h_stopping(struct sluice_ctx *ctx)
{
    return atomic_load(&ctx->stopping);
}

static int h_sleep_ms(struct sluice_ctx *ctx, int64_t ms)
{
    int64_t end = mono_ms() + ms;
    while (!atomic_load(&ctx->stopping)) {
        int64_t left = end - mono_ms();
        if (left <= 0)
            return 0;
        int64_t step = left > 20 ? 20 : left;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 1;
}

static const char *h_component_name(struct sluice_ctx *ctx)
{
    return ctx->name;
}

static const char *h_agent_name(struct sluice_ctx *ctx)
{
    return ctx->agent && ctx->agent->name ? ctx->agent->name : "";
}

const struct sluice_host agent_host = {
    .struct_size = sizeof(struct sluice_host),
    .abi_minor = SLUICE_ABI_MINOR,
    .log = h_log,
    .log_enabled = h_log_enabled,
    .err_set = err_set,
    .event_new = event_new,
    .event_free = event_free,
    .event_dup = event_dup,
    .event_header_set = event_header_set,
    .event_header_get = event_header_get,
    .event_header_remove = event_header_remove,
    .event_body_set = event_body_set,
    .emit = h_emit,
    .tx_begin = h_tx_begin,
    .tx_take = h_tx_take,
    .tx_commit = h_tx_commit,
    .tx_rollback = h_tx_rollback,
    .tx_end = h_tx_end,
    .counter_add = h_counter_add,
    .counter_set = h_counter_set,
    .stopping = h_stopping,
    .sleep_ms = h_sleep_ms,
    .component_name = h_component_name,
    .agent_name = h_agent_name,
    .tx_take_nowait = h_tx_take_nowait,
};
