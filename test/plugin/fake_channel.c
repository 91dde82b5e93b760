/*
 * A tiny in-memory channel for sink tests (see fake_channel.h).
 */
#include "fake_channel.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

struct fake_tx {
    struct fake_channel *fc;
    struct sluice_event *taken[FAKE_CHANNEL_CAP];
    size_t n_taken;
};

static void *fc_tx_begin(void *self)
{
    struct fake_tx *tx = calloc(1, sizeof(*tx));
    if (tx)
        tx->fc = self;
    return tx;
}

static int fc_put(void *tx_, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    struct fake_tx *tx = tx_;
    (void)err;
    for (size_t i = 0; i < n && tx->fc->n < FAKE_CHANNEL_CAP; i++)
        tx->fc->q[tx->fc->n++] = evs[i];
    return SLUICE_OK;
}

static int fc_take(void *tx_, struct sluice_event **evs, size_t max, size_t *n_out)
{
    struct fake_tx *tx = tx_;
    struct fake_channel *fc = tx->fc;
    size_t n = max < fc->n ? max : fc->n;
    fc->takes++;
    if (max > fc->max_take_seen)
        fc->max_take_seen = max;
    for (size_t i = 0; i < n; i++)
        evs[i] = tx->taken[tx->n_taken++] = fc->q[i];
    memmove(fc->q, fc->q + n, (fc->n - n) * sizeof(fc->q[0]));
    fc->n -= n;
    *n_out = n;
    return SLUICE_OK;
}

static int fc_commit(void *tx_, struct sluice_err *err)
{
    struct fake_tx *tx = tx_;
    if (tx->fc->fail_commit) {
        err->code = SLUICE_EIO;
        strcpy(err->msg, "fake channel: commit failed on purpose");
        return SLUICE_EIO;
    }
    for (size_t i = 0; i < tx->n_taken; i++)
        event_free(tx->taken[i]);
    tx->n_taken = 0;
    tx->fc->commits++;
    return SLUICE_OK;
}

static void fc_rollback(void *tx_)
{
    struct fake_tx *tx = tx_;
    struct fake_channel *fc = tx->fc;
    memmove(fc->q + tx->n_taken, fc->q, fc->n * sizeof(fc->q[0]));
    memcpy(fc->q, tx->taken, tx->n_taken * sizeof(fc->q[0]));
    fc->n += tx->n_taken;
    tx->n_taken = 0;
    fc->rollbacks++;
}

static void fc_tx_free(void *tx)
{
    free(tx);
}

static void fc_size(void *self, uint64_t *size, uint64_t *cap)
{
    struct fake_channel *fc = self;
    *size = fc->n;
    *cap = FAKE_CHANNEL_CAP;
}

static const struct sluice_channel_ops fake_ops = {
    .tx_begin = fc_tx_begin,
    .put = fc_put,
    .take = fc_take,
    .commit = fc_commit,
    .rollback = fc_rollback,
    .tx_free = fc_tx_free,
    .size = fc_size,
};

void fake_channel_init(struct fake_channel *fc)
{
    memset(fc, 0, sizeof(*fc));
    fc->ch.ops = &fake_ops;
    fc->ch.self = fc;
}

void fake_channel_push(struct fake_channel *fc, const void *body, size_t len, ...)
{
    struct sluice_event *ev = event_new(body, len);
    va_list ap;
    va_start(ap, len);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
        event_header_set(ev, k, va_arg(ap, const char *));
    va_end(ap);
    if (fc->n < FAKE_CHANNEL_CAP)
        fc->q[fc->n++] = ev;
    else
        event_free(ev);
}

void fake_channel_destroy(struct fake_channel *fc)
{
    for (size_t i = 0; i < fc->n; i++)
        event_free(fc->q[i]);
    fc->n = 0;
}
