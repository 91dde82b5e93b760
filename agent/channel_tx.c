/*
 * The agent's wrapper around a channel plugin's transaction ops: Flume's channel counters
 * (put/take attempts and successes, size) are kept here so every channel publishes them the
 * same way and a plugin implements storage only.
 */
#include "plugin_registry.h"
#include "runtime.h"

#include <time.h>

void *chan_tx_begin(struct rt_channel *ch)
{
    return ch->ops->tx_begin(ch->self);
}

int chan_put(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t n,
             struct sluice_err *err)
{
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_PUT_ATTEMPT, n);
    return ch->ops->put(tx, evs, n, err);
}

int chan_take(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t max, size_t *n_out)
{
    *n_out = 0;
    int rc = ch->ops->take(tx, evs, max, n_out);
    /* Flume counts one attempt per take() call, including the one that found nothing */
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_TAKE_ATTEMPT, *n_out + (*n_out < max ? 1 : 0));
    return rc;
}

int chan_take_nowait(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t max,
                     size_t *n_out)
{
    *n_out = 0;
    /* the op exists only in plugins built for ABI minor 1 or later (their ops struct is longer) */
    if (!ch->comp || !ch->comp->plugin || ch->comp->plugin->desc->abi_minor < 1 ||
        !ch->ops->take_nowait)
        return SLUICE_ENOTSUP;
    int rc = ch->ops->take_nowait(tx, evs, max, n_out);
    ctr_add(&ch->ctx, SLUICE_CTR_EVENT_TAKE_ATTEMPT, *n_out + (*n_out < max ? 1 : 0));
    return rc;
}

static void refresh_size(struct rt_channel *ch)
{
    uint64_t size = 0, cap = 0;
    ch->ops->size(ch->self, &size, &cap);
    ctr_set(&ch->ctx, SLUICE_CTR_CHANNEL_SIZE, size);
}

int chan_commit(struct rt_channel *ch, void *tx, size_t puts, size_t takes, struct sluice_err *err)
{
    int rc = ch->ops->commit(tx, err);
    if (rc == SLUICE_OK) {
        if (puts)
            ctr_add(&ch->ctx, SLUICE_CTR_EVENT_PUT_SUCCESS, puts);
        if (takes)
            ctr_add(&ch->ctx, SLUICE_CTR_EVENT_TAKE_SUCCESS, takes);
        refresh_size(ch);
    }
    return rc;
}

void chan_rollback(struct rt_channel *ch, void *tx)
{
    ch->ops->rollback(tx);
    refresh_size(ch);
}

void chan_tx_free(struct rt_channel *ch, void *tx)
{
    ch->ops->tx_free(tx);
}

uint64_t chan_size(struct rt_channel *ch)
{
    uint64_t size = 0, cap = 0;
    ch->ops->size(ch->self, &size, &cap);
    return size;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
