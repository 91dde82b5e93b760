/*
 * `echo`: an example sink built outside the sluice tree against the installed header only.
 * It appends each event body, plus a newline, to the file named by `file`, one channel
 * transaction per batch, committing only after the batch reached the file. Build it with:
 *   cc -std=c11 -shared -fPIC $(pkg-config --cflags sluice-plugin) -o echo_sink.so echo_sink.c
 * and run sluice with --plugin-path set to the folder holding echo_sink.so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

/* Filled by the agent from echo_options below. */
struct echo_conf {
    char *file;
    int64_t batch_size;
};

struct echo_sink {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *path; /* points into the conf, which outlives us */
    size_t batch_size;
    FILE *out;
    struct sluice_event **evs;
};

static int echo_create(void **self, const void *conf_, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct echo_conf *conf = conf_;
    struct echo_sink *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "echo: out of memory");
    s->host = host;
    s->ctx = ctx;
    s->path = conf->file;
    s->batch_size = (size_t)conf->batch_size;
    s->evs = calloc(s->batch_size, sizeof(*s->evs));
    if (!s->evs)
        return host->err_set(err, SLUICE_ENOMEM, "echo: out of memory for batchSize %zu",
                             s->batch_size);
    return SLUICE_OK;
}

static int echo_start(void *self, struct sluice_err *err)
{
    struct echo_sink *s = self;
    s->out = fopen(s->path, "a");
    if (!s->out)
        return s->host->err_set(err, SLUICE_EIO, "echo: cannot open %s: %s", s->path,
                                strerror(errno));
    s->host->log(s->ctx, SLUICE_LOG_INFO, "echo: appending event bodies to %s", s->path);
    return SLUICE_OK;
}

static int echo_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct echo_sink *s = self;
    const struct sluice_host *h = s->host;
    size_t n = 0;
    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return h->err_set(err, SLUICE_ENOMEM, "echo: cannot begin a transaction");
    int rc = h->tx_take(tx, s->evs, s->batch_size, &n);
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return h->err_set(err, rc, "echo: take failed");
    }
    int failed = 0;
    for (size_t i = 0; i < n && !failed; i++) {
        const struct sluice_event *ev = s->evs[i];
        failed = (ev->body_len && fwrite(ev->body, 1, ev->body_len, s->out) != ev->body_len) ||
                 fputc('\n', s->out) == EOF;
    }
    if (failed || fflush(s->out) != 0) {
        int e = errno;
        h->tx_rollback(tx); /* the batch goes back to the channel */
        h->tx_end(tx);
        clearerr(s->out);
        return h->err_set(err, SLUICE_EIO, "echo: writing to %s: %s", s->path, strerror(e));
    }
    rc = h->tx_commit(tx, err);
    if (rc < 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return rc;
    }
    h->tx_end(tx); /* the commit freed the events */
    return n ? SLUICE_READY : SLUICE_BACKOFF;
}

static void echo_stop(void *self)
{
    struct echo_sink *s = self;
    if (s->out && fclose(s->out) != 0)
        s->host->log(s->ctx, SLUICE_LOG_ERROR, "echo: closing %s: %s", s->path, strerror(errno));
    s->out = NULL;
}

static void echo_destroy(void *self)
{
    struct echo_sink *s = self;
    if (!s)
        return;
    if (s->out)
        fclose(s->out);
    free(s->evs);
    free(s);
}

static const struct sluice_sink_ops echo_ops = {
    .create = echo_create,
    .start = echo_start,
    .process = echo_process,
    .stop = echo_stop,
    .destroy = echo_destroy,
};

static const struct sluice_option echo_options[] = {
    {.name = "file",
     .type = SLUICE_OPT_STRING,
     .desc = "File the event bodies are appended to, one line each",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct echo_conf, file)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Events written per transaction",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 100000,
     .offset = offsetof(struct echo_conf, batch_size)},
    {.name = NULL},
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "echo"),
    .summary = "Appends each event body as a line to a file (out-of-tree example)",
    .options = echo_options,
    .conf_size = sizeof(struct echo_conf),
    .ops = &echo_ops,
};
