/*
 * The `remove_header` interceptor: Flume's RemoveHeaderInterceptor. Removes the header named
 * withName, every header named in fromList (split with the fromListSeparator regex, as Java's
 * String.split does it), and every header whose whole name matches the `matching` regex
 * (Matcher.matches()). The list is split and the regexes compiled once, at create.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jregex.h"
#include "sluice/plugin.h"

#define RH_ERROR_LOG_EVERY 1000

struct rh_conf {
    char *with_name;
    char *from_list;
    char *from_list_separator;
    char *matching;
};

struct rh {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *with_name; /* points into the conf, which outlives us; NULL when unset */
    char **names;          /* fromList, split */
    size_t n_names, cap_names;
    int has_matching;
    struct jregex matching;
    struct jbuf scratch; /* a header name that is not valid UTF-8, decoded */
    uint64_t match_errors;
};

static void rh_remove_matching(struct rh *rh, struct sluice_event *ev)
{
    /* downwards: removing header i moves the last one into its place */
    for (uint32_t i = ev->n_headers; i-- > 0;) {
        const char *key = ev->headers[i].key;
        const uint8_t *name; /* the name as Java would hold it: valid UTF-8 */
        size_t len;
        int changed, rc;
        if (jtext_utf8((const uint8_t *)key, strlen(key), &rh->scratch, &name, &len, &changed))
            rc = PCRE2_ERROR_NOMEMORY;
        else
            rc = jregex_exec(&rh->matching, name, len, 0);
        if (rc > 0) {
            rh->host->event_header_remove(ev, key);
        } else if (rc != PCRE2_ERROR_NOMATCH && rh->match_errors++ % RH_ERROR_LOG_EVERY == 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            rh->host->log(
                rh->ctx, SLUICE_LOG_WARN,
                "matching failed on header name '%.*s%s' (%s); header kept errors=%" PRIu64,
                JSHOW(key), (const char *)msg, rh->match_errors);
        }
    }
}

static size_t rh_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct rh *rh = self;
    for (size_t i = 0; i < n; i++) {
        struct sluice_event *ev = evs[i];
        if (rh->with_name)
            rh->host->event_header_remove(ev, rh->with_name);
        for (size_t k = 0; k < rh->n_names && ev->n_headers; k++)
            rh->host->event_header_remove(ev, rh->names[k]);
        if (rh->has_matching && ev->n_headers)
            rh_remove_matching(rh, ev);
    }
    jbuf_trim(&rh->scratch, 64 * 1024);
    return n;
}

static void rh_destroy(void *self)
{
    struct rh *rh = self;
    if (!rh)
        return;
    for (size_t i = 0; i < rh->n_names; i++)
        free(rh->names[i]);
    free(rh->names);
    jregex_free(&rh->matching);
    jbuf_free(&rh->scratch);
    free(rh);
}

static int rh_add_name(void *arg, const char *s, size_t len)
{
    struct rh *rh = arg;
    if (rh->n_names == rh->cap_names) {
        size_t cap = rh->cap_names ? rh->cap_names * 2 : 8;
        char **p = realloc(rh->names, cap * sizeof(*p));
        if (!p)
            return -1;
        rh->names = p;
        rh->cap_names = cap;
    }
    char *name = strndup(s, len);
    if (!name)
        return -1;
    rh->names[rh->n_names++] = name;
    return 0;
}

static int rh_split_list(struct rh *rh, const char *list, const char *sep, struct sluice_err *err)
{
    struct jregex re;
    int rc =
        jregex_compile(&re, sep, 0, "remove_header", "fromListSeparator", rh->host, rh->ctx, err);
    if (rc != SLUICE_OK) {
        jregex_free(&re);
        return rc;
    }
    rc = jregex_split(&re, list, rh_add_name, rh);
    jregex_free(&re);
    if (rc == -1)
        return rh->host->err_set(err, SLUICE_ENOMEM, "remove_header: out of memory");
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        return rh->host->err_set(err, SLUICE_ECONFIG,
                                 "remove_header: fromListSeparator '%.*s%s' failed on fromList: %s",
                                 JSHOW(sep), (const char *)msg);
    }
    return SLUICE_OK;
}

static int rh_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct rh_conf *conf = conf_;
    *self = NULL;
    struct rh *rh = calloc(1, sizeof(*rh));
    if (!rh)
        return host->err_set(err, SLUICE_ENOMEM, "remove_header: out of memory");
    rh->host = host;
    rh->ctx = ctx;
    rh->with_name = conf->with_name;
    const char *sep = conf->from_list_separator ? conf->from_list_separator : "\\s*,\\s*";
    int rc = SLUICE_OK;
    if (conf->from_list && conf->from_list[0])
        rc = rh_split_list(rh, conf->from_list, sep, err);
    else if (conf->from_list_separator && strcmp(conf->from_list_separator, "\\s*,\\s*") != 0)
        host->log(ctx, SLUICE_LOG_WARN,
                  "fromListSeparator is set but fromList is not: it has no "
                  "effect");
    if (rc == SLUICE_OK && conf->matching) {
        rc = jregex_compile(&rh->matching, conf->matching, JREGEX_FULL, "remove_header", "matching",
                            host, ctx, err);
        rh->has_matching = rc == SLUICE_OK;
    }
    if (rc != SLUICE_OK) {
        rh_destroy(rh);
        return rc;
    }
    if (!rh->with_name && !rh->n_names && !rh->has_matching)
        host->log(ctx, SLUICE_LOG_WARN,
                  "none of withName, fromList and matching is set: no header will be removed");
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating RemoveHeaderInterceptor: withName=%s,fromList=%s (%zu names),"
              "fromListSeparator=%s,matching=%s",
              rh->with_name ? rh->with_name : "", conf->from_list ? conf->from_list : "",
              rh->n_names, sep, conf->matching ? conf->matching : "");
    *self = rh;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops rh_ops = {
    .create = rh_create,
    .intercept = rh_intercept,
    .destroy = rh_destroy,
};

static const struct sluice_option rh_options[] = {
    {.name = "withName",
     .type = SLUICE_OPT_STRING,
     .desc = "Name of one header to remove.",
     .offset = offsetof(struct rh_conf, with_name)},
    {.name = "fromList",
     .type = SLUICE_OPT_STRING,
     .desc = "Names of headers to remove, separated by fromListSeparator.",
     .offset = offsetof(struct rh_conf, from_list)},
    {.name = "fromListSeparator",
     .type = SLUICE_OPT_STRING,
     .def = "\\s*,\\s*",
     .desc = "Regular expression separating the names in fromList (Java String.split()).",
     .offset = offsetof(struct rh_conf, from_list_separator)},
    {.name = "matching",
     .type = SLUICE_OPT_STRING,
     .desc = "Regular expression: every header whose whole name matches it is removed "
             "(Java Matcher.matches()).",
     .offset = offsetof(struct rh_conf, matching)},
    {.name = NULL},
};

static const char *const rh_aliases[] = {
    "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "remove_header"),
    .aliases = rh_aliases,
    .summary = "Remove headers by name, from a list, or whose name matches a regex",
    .options = rh_options,
    .conf_size = sizeof(struct rh_conf),
    .ops = &rh_ops,
};
