/*
 * The `null` sink (org.apache.flume.sink.NullSink): takes up to batchSize events per
 * transaction and commits, which discards them; the smallest complete sink, and a throughput probe.
 * Differences from Flume: the count logged every logEveryNEvents counts events only (Flume's
 * also counts each take that found the channel empty), and a partial batch is READY, not
 * BACKOFF (only an empty channel backs off).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "sluice/plugin.h"

struct null_conf {
    int64_t batch_size;
    int64_t log_every;
};

struct null_sink {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    size_t batch_size;
    uint64_t log_every;
    uint64_t count;
    struct sluice_event **evs;
};

static int null_create(void **self, const void *conf_, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct null_conf *conf = conf_;
    struct null_sink *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "null: out of memory");
    s->host = host;
    s->ctx = ctx;
    s->batch_size = conf->batch_size > 0 ? (size_t)conf->batch_size : 1;
    s->log_every = conf->log_every > 0 ? (uint64_t)conf->log_every : 1;
    s->evs = calloc(s->batch_size, sizeof(*s->evs));
    if (!s->evs)
        return host->err_set(err, SLUICE_ENOMEM, "null: out of memory for batchSize %zu",
                             s->batch_size);
    return SLUICE_OK;
}

static int null_start(void *self, struct sluice_err *err)
{
    (void)self;
    (void)err;
    return SLUICE_OK;
}

static int null_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct null_sink *s = self;
    const struct sluice_host *h = s->host;
    size_t n = 0;
    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return h->err_set(err, SLUICE_ENOMEM, "null: cannot begin a transaction");
    int rc = h->tx_take(tx, s->evs, s->batch_size, &n);
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return h->err_set(err, rc, "null: take failed");
    }
    rc = h->tx_commit(tx, err);
    if (rc < 0) {
        h->tx_rollback(tx); /* the events go back to the channel */
        h->tx_end(tx);
        return rc;
    }
    h->tx_end(tx); /* the commit freed the events */
    uint64_t before = s->count;
    s->count += n;
    for (uint64_t m = before / s->log_every + 1; m <= s->count / s->log_every; m++)
        h->log(s->ctx, SLUICE_LOG_INFO, "Null sink %s successful processed %" PRIu64 " events.",
               h->component_name(s->ctx), m * s->log_every);
    return n ? SLUICE_READY : SLUICE_BACKOFF;
}

static void null_stop(void *self)
{
    (void)self;
}

static void null_destroy(void *self)
{
    struct null_sink *s = self;
    if (!s)
        return;
    free(s->evs);
    free(s);
}

static const struct sluice_sink_ops null_ops = {
    .create = null_create,
    .start = null_start,
    .process = null_process,
    .stop = null_stop,
    .destroy = null_destroy,
};

static const struct sluice_option null_options[] = {
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Events taken per transaction",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct null_conf, batch_size)},
    {.name = "logEveryNEvents",
     .type = SLUICE_OPT_INT,
     .def = "10000",
     .desc = "Log the running count every this many events",
     .min = 1,
     .max = INT64_MAX,
     .offset = offsetof(struct null_conf, log_every)},
    {.name = NULL},
};

static const char *const null_aliases[] = {"org.apache.flume.sink.NullSink", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "null"), .aliases = null_aliases,
    .summary = "Takes events and discards them",  .options = null_options,
    .conf_size = sizeof(struct null_conf),        .ops = &null_ops,
};
