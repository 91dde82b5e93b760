/*
 * The `timestamp` interceptor: Flume's TimestampInterceptor. Sets a header (default
 * `timestamp`) to the current time in epoch milliseconds as a decimal string, unless
 * preserveExisting is set and the event already has it. The clock is read once per batch, so
 * every event of a batch gets the same value (Flume reads it per event, a few µs apart).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sluice/plugin.h"

#define TS_ERROR_LOG_EVERY 1000

struct ts_conf {
    char *header_name;
    int preserve_existing;
};

struct ts {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *header; /* points into the conf, which outlives us */
    int preserve;
    uint64_t set_errors;
};

static int64_t ts_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t ts_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct ts *ts = self;
    char now[24];
    snprintf(now, sizeof(now), "%" PRId64, ts_now_ms());
    for (size_t i = 0; i < n; i++) {
        if (ts->preserve && ts->host->event_header_get(evs[i], ts->header))
            continue;
        if (ts->host->event_header_set(evs[i], ts->header, now) != SLUICE_OK &&
            ts->set_errors++ % TS_ERROR_LOG_EVERY == 0)
            ts->host->log(
                ts->ctx, SLUICE_LOG_WARN,
                "out of memory setting header %s; event passed without it errors=%" PRIu64,
                ts->header, ts->set_errors);
    }
    return n;
}

static void ts_destroy(void *self)
{
    free(self);
}

static int ts_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct ts_conf *conf = conf_;
    *self = NULL;
    struct ts *ts = calloc(1, sizeof(*ts));
    if (!ts)
        return host->err_set(err, SLUICE_ENOMEM, "timestamp: out of memory");
    ts->host = host;
    ts->ctx = ctx;
    ts->header = conf->header_name ? conf->header_name : "timestamp";
    ts->preserve = conf->preserve_existing != 0;
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating TimestampInterceptor: headerName=%s,preserveExisting=%s", ts->header,
              ts->preserve ? "true" : "false");
    *self = ts;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops ts_ops = {
    .create = ts_create,
    .intercept = ts_intercept,
    .destroy = ts_destroy,
};

static const struct sluice_option ts_options[] = {
    {.name = "headerName",
     .type = SLUICE_OPT_STRING,
     .def = "timestamp",
     .desc = "Header that receives the current time in epoch milliseconds (decimal).",
     .offset = offsetof(struct ts_conf, header_name)},
    {.name = "preserveExisting",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "true leaves an event that already has the header unchanged; false overwrites it.",
     .offset = offsetof(struct ts_conf, preserve_existing)},
    {.name = NULL},
};

static const char *const ts_aliases[] = {
    "org.apache.flume.interceptor.TimestampInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "timestamp"),
    .aliases = ts_aliases,
    .summary = "Set a header to the current time in epoch milliseconds",
    .options = ts_options,
    .conf_size = sizeof(struct ts_conf),
    .ops = &ts_ops,
};
