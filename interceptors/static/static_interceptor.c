/*
 * The `static` interceptor: Flume's StaticInterceptor. Sets one fixed header (key = value) on
 * every event; with preserveExisting (the default) an event that already has the header keeps
 * its value. Several headers take several static interceptors, as in Flume.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "sluice/plugin.h"

#define ST_ERROR_LOG_EVERY 1000

struct st_conf {
    char *key;
    char *value;
    int preserve_existing;
};

struct st {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *key, *value; /* point into the conf, which outlives us */
    int preserve;
    uint64_t set_errors;
};

static size_t st_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct st *st = self;
    for (size_t i = 0; i < n; i++) {
        if (st->preserve && st->host->event_header_get(evs[i], st->key))
            continue;
        if (st->host->event_header_set(evs[i], st->key, st->value) != SLUICE_OK &&
            st->set_errors++ % ST_ERROR_LOG_EVERY == 0)
            st->host->log(
                st->ctx, SLUICE_LOG_WARN,
                "out of memory setting header %s; event passed without it errors=%" PRIu64, st->key,
                st->set_errors);
    }
    return n;
}

static void st_destroy(void *self)
{
    free(self);
}

static int st_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct st_conf *conf = conf_;
    *self = NULL;
    struct st *st = calloc(1, sizeof(*st));
    if (!st)
        return host->err_set(err, SLUICE_ENOMEM, "static: out of memory");
    st->host = host;
    st->ctx = ctx;
    st->key = conf->key ? conf->key : "key";
    st->value = conf->value ? conf->value : "value";
    st->preserve = conf->preserve_existing != 0;
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating StaticInterceptor: key=%s,value=%s,preserveExisting=%s", st->key, st->value,
              st->preserve ? "true" : "false");
    *self = st;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops st_ops = {
    .create = st_create,
    .intercept = st_intercept,
    .destroy = st_destroy,
};

static const struct sluice_option st_options[] = {
    {.name = "key",
     .type = SLUICE_OPT_STRING,
     .def = "key",
     .desc = "Name of the header to set.",
     .offset = offsetof(struct st_conf, key)},
    {.name = "value",
     .type = SLUICE_OPT_STRING,
     .def = "value",
     .desc = "Value the header is set to.",
     .offset = offsetof(struct st_conf, value)},
    {.name = "preserveExisting",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "true leaves an event that already has the header unchanged; false overwrites it.",
     .offset = offsetof(struct st_conf, preserve_existing)},
    {.name = NULL},
};

static const char *const st_aliases[] = {
    "org.apache.flume.interceptor.StaticInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "static"),
    .aliases = st_aliases,
    .summary = "Set one fixed header on every event",
    .options = st_options,
    .conf_size = sizeof(struct st_conf),
    .ops = &st_ops,
};
