/*
 * The `seq` source (org.apache.flume.source.SequenceGeneratorSource): events whose bodies are
 * "0", "1", "2", ... up to totalEvents, batchSize per channel transaction. Pollable: each
 * process() builds one batch and hands it to emit (which waits while the channel is full).
 * When emit fails the counter is not advanced, so the next call sends the same numbers again,
 * as Flume does; once totalEvents were sent it backs off for good.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sluice/plugin.h"

struct seq_conf {
    int64_t batch_size;
    int64_t total_events;
};

struct seq_source {
    const struct seq_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    int64_t sent; /* events accepted so far: the next body */
    size_t batch_size;
    struct sluice_event **batch;
    int done_logged;
};

static int seq_create(void **self, const void *conf_, const struct sluice_host *host,
                      struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct seq_conf *conf = conf_;
    struct seq_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "seq: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    if (conf->batch_size < 1 || conf->batch_size > 1000000)
        return host->err_set(err, SLUICE_ECONFIG, "batchSize: %" PRId64 " is not in 1..1000000",
                             conf->batch_size);
    if (conf->total_events < 0)
        return host->err_set(err, SLUICE_ECONFIG, "totalEvents: %" PRId64 " is negative",
                             conf->total_events);
    s->batch_size = (size_t)conf->batch_size;
    s->batch = calloc(s->batch_size, sizeof(*s->batch));
    if (!s->batch)
        return host->err_set(err, SLUICE_ENOMEM, "seq: out of memory for batchSize %zu",
                             s->batch_size);
    return SLUICE_OK;
}

static int seq_start(void *self, struct sluice_err *err)
{
    struct seq_source *s = self;
    (void)err;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Sequence generator source starting: batchSize %zu, totalEvents %" PRId64,
                 s->batch_size, s->conf->total_events);
    return SLUICE_OK;
}

static int seq_process(void *self, struct sluice_err *err)
{
    struct seq_source *s = self;
    const struct sluice_host *h = s->host;
    int64_t left = s->conf->total_events - s->sent;
    if (left <= 0) {
        if (!s->done_logged) {
            s->done_logged = 1;
            h->log(s->ctx, SLUICE_LOG_INFO, "Sequence generator source sent all %" PRId64 " events",
                   s->conf->total_events);
        }
        return SLUICE_BACKOFF;
    }
    size_t n = (uint64_t)left < s->batch_size ? (size_t)left : s->batch_size;
    for (size_t i = 0; i < n; i++) {
        char body[24];
        int len = snprintf(body, sizeof(body), "%" PRId64, s->sent + (int64_t)i);
        if (!(s->batch[i] = h->event_new(body, (size_t)len))) {
            for (size_t k = 0; k < i; k++)
                h->event_free(s->batch[k]);
            return h->err_set(err, SLUICE_ENOMEM, "seq: out of memory for an event");
        }
    }
    int rc = h->emit(s->ctx, s->batch, n, err);
    if (rc == SLUICE_OK) {
        s->sent += (int64_t)n;
        /* like Flume, a short last batch also means there is nothing more to do */
        return n < s->batch_size ? SLUICE_BACKOFF : SLUICE_READY;
    }
    if (rc == SLUICE_ESTOPPED)
        return SLUICE_READY; /* the agent is stopping; nothing was lost: it was never accepted */
    h->log(s->ctx, SLUICE_LOG_ERROR,
           "%s source could not write to channel (%s); events %" PRId64 "..%" PRId64
           " will be sent again",
           h->component_name(s->ctx), err->msg, s->sent, s->sent + (int64_t)n - 1);
    return rc;
}

static void seq_stop(void *self)
{
    struct seq_source *s = self;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Sequence generator source stopped after %" PRId64 " events", s->sent);
}

static void seq_destroy(void *self)
{
    struct seq_source *s = self;
    if (!s)
        return;
    free(s->batch);
    free(s);
}

static const struct sluice_source_ops seq_ops = {
    .create = seq_create,
    .start = seq_start,
    .process = seq_process,
    .stop = seq_stop,
    .destroy = seq_destroy,
};

static const struct sluice_option seq_options[] = {
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "1",
     .desc = "Events per batch handed to the channel",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct seq_conf, batch_size)},
    {.name = "totalEvents",
     .type = SLUICE_OPT_INT,
     .def = "9223372036854775807",
     .desc = "Events to generate before stopping (bodies 0 .. totalEvents-1)",
     .min = 0,
     .max = INT64_MAX,
     .offset = offsetof(struct seq_conf, total_events)},
    {.name = NULL},
};

static const char *const seq_aliases[] = {"org.apache.flume.source.SequenceGeneratorSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "seq"),
    .aliases = seq_aliases,
    .summary = "Generates events whose bodies are 0, 1, 2, ... (for tests and benchmarks)",
    .options = seq_options,
    .conf_size = sizeof(struct seq_conf),
    .ops = &seq_ops,
};
