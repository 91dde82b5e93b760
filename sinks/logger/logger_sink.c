/*
 * The `logger` sink (org.apache.flume.sink.LoggerSink): logs each event at INFO in Flume's
 * exact format (logger_format.c), for debugging pipelines.
 *
 * Differences from Flume, on purpose:
 * - maxBytesToLog is honoured. Flume accepts the key but never applies it when the type is
 *   `logger` or the class name, so it always dumps 16 bytes; the default here is 16 too.
 * - Like Flume, one event per transaction: the sink has no batchSize the agent could check
 *   against the channel's transactionCapacity, and logging dominates the cost anyway.
 */
#include <stdlib.h>

#include "logger_sink.h"

struct logger_sink {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    size_t max_bytes;
    struct logger_buf line;
};

static int logger_create(void **self, const void *conf_, const struct sluice_host *host,
                         struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct logger_conf *conf = conf_;
    struct logger_sink *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "logger: out of memory");
    s->host = host;
    s->ctx = ctx;
    s->max_bytes = conf->max_bytes_to_log > 0 ? (size_t)conf->max_bytes_to_log : 16;
    return SLUICE_OK;
}

static int logger_start(void *self, struct sluice_err *err)
{
    (void)self;
    (void)err;
    return SLUICE_OK;
}

static int logger_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct logger_sink *s = self;
    const struct sluice_host *h = s->host;
    struct sluice_event *ev = NULL;
    size_t n = 0;
    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return h->err_set(err, SLUICE_ENOMEM, "logger: cannot begin a transaction");
    int rc = h->tx_take(tx, &ev, 1, &n);
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return h->err_set(err, rc, "logger: take failed");
    }
    if (n == 1 && h->log_enabled(s->ctx, SLUICE_LOG_INFO)) {
        if (logger_format_event(&s->line, ev, s->max_bytes) == 0)
            h->log(s->ctx, SLUICE_LOG_INFO, "%s", s->line.p);
        else
            h->log(s->ctx, SLUICE_LOG_WARN, "out of memory formatting an event of %zu bytes",
                   ev->body_len);
    }
    rc = h->tx_commit(tx, err);
    if (rc < 0) {
        h->tx_rollback(tx); /* the event goes back to the channel */
        h->tx_end(tx);
        return rc;
    }
    h->tx_end(tx); /* the commit freed the event */
    return n ? SLUICE_READY : SLUICE_BACKOFF;
}

static void logger_stop(void *self)
{
    (void)self;
}

static void logger_destroy(void *self)
{
    struct logger_sink *s = self;
    if (!s)
        return;
    logger_buf_free(&s->line);
    free(s);
}

static const struct sluice_sink_ops logger_ops = {
    .create = logger_create,
    .start = logger_start,
    .process = logger_process,
    .stop = logger_stop,
    .destroy = logger_destroy,
};

static const struct sluice_option logger_options[] = {
    {.name = "maxBytesToLog",
     .type = SLUICE_OPT_INT,
     .def = "16",
     .desc = "Body bytes to dump per event (Flume ignores this key and always dumps 16)",
     .min = 1,
     .max = 1024 * 1024,
     .offset = offsetof(struct logger_conf, max_bytes_to_log)},
    {.name = NULL},
};

static const char *const logger_aliases[] = {"org.apache.flume.sink.LoggerSink", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "logger"),
    .aliases = logger_aliases,
    .summary = "Logs each event at INFO with a hex dump of its body, as Flume's LoggerSink",
    .options = logger_options,
    .conf_size = sizeof(struct logger_conf),
    .ops = &logger_ops,
};
