/*
 * The `regex_extractor` interceptor: Flume's RegexExtractorInterceptor. The body is decoded as
 * UTF-8 (as Java does it), the regex is searched for once (Matcher.find()), and group i goes,
 * through the i-th serializer, into that serializer's header. Groups without a serializer are
 * skipped; no match leaves the event as it is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jregex.h"
#include "rx_serializers.h"
#include "sluice/plugin.h"

#define RX_ERROR_LOG_EVERY 1000
#define RX_SCRATCH_KEEP    (1024 * 1024) /* larger buffers are freed after use */

struct rx_conf {
    char *regex;
    char *serializers;
    struct sluice_kvlist serializer_keys;
};

struct rx {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    struct jregex re;
    struct rx_serializers ser;
    uint32_t used_groups; /* min(groups, serializers) */
    struct jbuf decoded, value;
    uint64_t errors;
};

static void rx_warn(struct rx *rx, const char *fmt, ...) SLUICE_PRINTF(2, 3);
static void rx_warn(struct rx *rx, const char *fmt, ...)
{
    if (rx->errors++ % RX_ERROR_LOG_EVERY != 0)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rx->host->log(rx->ctx, SLUICE_LOG_WARN, "%s errors=%" PRIu64, msg, rx->errors);
}

/* Group g (1-based) of the match over text into its serializer's header. */
static void rx_group(struct rx *rx, struct sluice_event *ev, uint32_t g, const uint8_t *text)
{
    struct rx_serializer *z = &rx->ser.v[g - 1];
    size_t s, e;
    int set;
    jregex_group(&rx->re, g, &s, &e, &set);
    if (!set)
        return; /* the group took no part in the match (Flume would store a null) */
    if (memchr(text + s, 0, e - s)) {
        rx_warn(rx, "group %u holds a NUL byte, which a header cannot; %s not set", g, z->header);
        return;
    }
    rx->value.len = 0;
    if (jbuf_append(&rx->value, text + s, e - s) != 0 || jbuf_append(&rx->value, "", 1) != 0) {
        rx_warn(rx, "out of memory; header %s not set", z->header);
        return;
    }
    char num[24], msg[300];
    const char *value;
    if (rx_serialize(z, (const char *)rx->value.p, e - s, num, sizeof(num), &value, msg,
                     sizeof(msg)) != 0) {
        rx_warn(rx, "serializer %s (pattern %s): %s; header %s not set", z->id, z->pattern, msg,
                z->header);
        return;
    }
    if (rx->host->event_header_set(ev, z->header, value) != SLUICE_OK)
        rx_warn(rx, "out of memory; header %s not set", z->header);
}

static void rx_event(struct rx *rx, struct sluice_event *ev)
{
    const uint8_t *text;
    size_t n;
    int changed;
    if (jtext_utf8(ev->body, ev->body_len, &rx->decoded, &text, &n, &changed) != 0) {
        rx_warn(rx, "out of memory decoding a %zu-byte body; event passed unchanged", ev->body_len);
        return;
    }
    int rc = jregex_exec(&rx->re, text, n, 0);
    if (rc == PCRE2_ERROR_NOMATCH)
        return;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        rx_warn(rx, "regex match failed on a %zu-byte body (%s); event passed unchanged",
                ev->body_len, (const char *)msg);
        return;
    }
    for (uint32_t g = 1; g <= rx->used_groups; g++)
        rx_group(rx, ev, g, text);
}

static size_t rx_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct rx *rx = self;
    for (size_t i = 0; i < n; i++)
        rx_event(rx, evs[i]);
    jbuf_trim(&rx->decoded, RX_SCRATCH_KEEP);
    jbuf_trim(&rx->value, RX_SCRATCH_KEEP);
    return n;
}

static void rx_destroy(void *self)
{
    struct rx *rx = self;
    if (!rx)
        return;
    jregex_free(&rx->re);
    rx_serializers_free(&rx->ser);
    jbuf_free(&rx->decoded);
    jbuf_free(&rx->value);
    free(rx);
}

/* Log what was built, and say when groups and serializers do not pair up. */
static void rx_log_summary(struct rx *rx, const struct rx_conf *conf)
{
    char list[400];
    size_t off = 0;
    list[0] = 0;
    for (size_t i = 0; i < rx->ser.n && off < sizeof(list); i++) {
        const struct rx_serializer *z = &rx->ser.v[i];
        int w = snprintf(list + off, sizeof(list) - off, "%s%s->%s%s%s", i ? "," : "", z->id,
                         z->header, z->millis ? " millis " : "", z->millis ? z->pattern : "");
        if (w < 0 || (size_t)w >= sizeof(list) - off) {
            snprintf(list + sizeof(list) - 4, 4, "...");
            break;
        }
        off += (size_t)w;
    }
    rx->host->log(rx->ctx, SLUICE_LOG_INFO,
                  "Creating RegexExtractorInterceptor: regex=%s (%u groups),serializers=[%s]",
                  conf->regex, rx->re.groups, list);
    if (rx->re.groups < rx->ser.n)
        rx->host->log(rx->ctx, SLUICE_LOG_WARN,
                      "the regex has %u group(s) but %zu serializers are listed: serializers "
                      "after the %u-th are never used",
                      rx->re.groups, rx->ser.n, rx->re.groups);
    else if (rx->re.groups > rx->ser.n)
        rx->host->log(rx->ctx, SLUICE_LOG_INFO,
                      "the regex has %u groups and %zu serializers: groups after the %zu-th are "
                      "not stored (use (?:...) for groups that only group)",
                      rx->re.groups, rx->ser.n, rx->ser.n);
}

static int rx_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct rx_conf *conf = conf_;
    *self = NULL;
    if (!conf->regex || !conf->regex[0])
        return host->err_set(err, SLUICE_ECONFIG, "regex_extractor: regex is required");
    if (!conf->serializers || !conf->serializers[0])
        return host->err_set(err, SLUICE_ECONFIG,
                             "regex_extractor: serializers is required: the names of one "
                             "serializer per regex group, separated by spaces");
    struct rx *rx = calloc(1, sizeof(*rx));
    if (!rx)
        return host->err_set(err, SLUICE_ENOMEM, "regex_extractor: out of memory");
    rx->host = host;
    rx->ctx = ctx;
    int rc = jregex_compile(&rx->re, conf->regex, 0, "regex_extractor", "regex", host, ctx, err);
    if (rc == SLUICE_OK)
        rc = rx_serializers_build(&rx->ser, conf->serializers, &conf->serializer_keys, host, ctx,
                                  err);
    if (rc != SLUICE_OK) {
        rx_destroy(rx);
        return rc;
    }
    rx->used_groups = rx->re.groups < rx->ser.n ? rx->re.groups : (uint32_t)rx->ser.n;
    rx_log_summary(rx, conf);
    *self = rx;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops rx_ops = {
    .create = rx_create,
    .intercept = rx_intercept,
    .destroy = rx_destroy,
};

static const struct sluice_option rx_options[] = {
    {.name = "regex",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .desc = "Regular expression (Java syntax) searched for once in the body (find()); its "
             "groups are what the serializers store.",
     .offset = offsetof(struct rx_conf, regex)},
    {.name = "serializers",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .desc = "Space-separated serializer names, one per group in order: the i-th stores "
             "group i.",
     .offset = offsetof(struct rx_conf, serializers)},
    {.name = "serializers.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "`serializers.<s>.name` (required): the header for that group. "
             "`serializers.<s>.type`: left out or `DEFAULT` stores the text as it is; "
             "`" RX_MILLIS_CLASS "` stores epoch milliseconds read with "
             "`serializers.<s>.pattern` (Joda-Time: y M MMM d H m s S and 'quoted text') in "
             "local time.",
     .offset = offsetof(struct rx_conf, serializer_keys)},
    {.name = NULL},
};

static const char *const rx_aliases[] = {
    "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "regex_extractor"),
    .aliases = rx_aliases,
    .summary = "Store the groups of a regex match on the body in headers",
    .options = rx_options,
    .conf_size = sizeof(struct rx_conf),
    .ops = &rx_ops,
};
