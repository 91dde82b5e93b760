/*
 * The `search_replace` interceptor: Flume's SearchAndReplaceInterceptor. The body is decoded
 * with `charset`, every non-overlapping match of searchPattern is replaced as Java's
 * Matcher.replaceAll() does it (an empty match steps one character on), and the text is
 * encoded back. As in Flume, decoding alone can change a body: a malformed UTF-8 sequence comes
 * out as U+FFFD even where nothing matched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jregex.h"
#include "sluice/plugin.h"
#include "sr_charset.h"
#include "sr_replacement.h"

#define SR_ERROR_LOG_EVERY 1000
#define SR_SCRATCH_KEEP    (1024 * 1024)        /* larger buffers are freed after use */
#define SR_OUT_MAX         (256u * 1024 * 1024) /* a body that would grow beyond this is kept */

struct sr_conf {
    char *search_pattern;
    char *replace_string;
    char *charset;
};

struct sr {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    struct jregex re;
    struct sr_repl repl;
    struct sr_charset cs;
    struct jbuf decoded, replaced, encoded;
    uint64_t errors;
};

static void sr_warn(struct sr *sr, const struct sluice_event *ev, const char *why, int pcre_rc)
{
    if (sr->errors++ % SR_ERROR_LOG_EVERY != 0)
        return;
    PCRE2_UCHAR msg[256] = "";
    if (pcre_rc < 0)
        pcre2_get_error_message(pcre_rc, msg, sizeof(msg));
    sr->host->log(sr->ctx, SLUICE_LOG_WARN,
                  "%s%s%s on a %zu-byte body; event passed unchanged errors=%" PRIu64, why,
                  pcre_rc < 0 ? ": " : "", (const char *)msg, ev->body_len, sr->errors);
}

/* Replace every match in text into sr->replaced; 1 when something matched, 0 when not, < 0 on
 * an error (PCRE2's, or -1 for memory / size). */
static int sr_replace_all(struct sr *sr, const uint8_t *text, size_t n)
{
    struct jfind f;
    jfind_init(&f);
    size_t tail = 0; /* text before this offset is already in the output */
    int rc, any = 0;
    sr->replaced.len = 0;
    while ((rc = jfind_next(&sr->re, &f, text, n)) > 0) {
        any = 1;
        if (jbuf_append(&sr->replaced, text + tail, f.first - tail) != 0 ||
            sr_repl_expand(&sr->repl, &sr->re, text, &sr->replaced) != 0 ||
            sr->replaced.len > SR_OUT_MAX)
            return -1;
        tail = f.last;
    }
    if (rc < 0)
        return rc;
    if (any && jbuf_append(&sr->replaced, text + tail, n - tail) != 0)
        return -1;
    return any;
}

static void sr_event(struct sr *sr, struct sluice_event *ev)
{
    const uint8_t *text;
    size_t text_len;
    int same;
    if (sr_charset_decode(&sr->cs, ev->body, ev->body_len, &sr->decoded, &text, &text_len, &same) !=
        0) {
        sr_warn(sr, ev, "out of memory decoding", 0);
        return;
    }
    int rc = sr_replace_all(sr, text, text_len);
    if (rc < -1) {
        sr_warn(sr, ev, "searchPattern failed", rc);
        return;
    }
    if (rc == -1) {
        sr_warn(sr, ev, "out of memory (or the result would exceed 256 MiB)", 0);
        return;
    }
    if (rc == 0 && same)
        return; /* nothing matched and decoding changed nothing */
    if (rc == 1) {
        text = sr->replaced.p;
        text_len = sr->replaced.len;
    }
    const uint8_t *bytes;
    size_t len;
    if (sr_charset_encode(&sr->cs, text, text_len, &sr->encoded, &bytes, &len) != 0) {
        sr_warn(sr, ev, "out of memory encoding", 0);
        return;
    }
    if (len == ev->body_len && (len == 0 || memcmp(bytes, ev->body, len) == 0))
        return;
    if (sr->host->event_body_set(ev, bytes, len) != SLUICE_OK)
        sr_warn(sr, ev, "out of memory setting the body", 0);
}

static size_t sr_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct sr *sr = self;
    for (size_t i = 0; i < n; i++)
        sr_event(sr, evs[i]);
    jbuf_trim(&sr->decoded, SR_SCRATCH_KEEP);
    jbuf_trim(&sr->replaced, SR_SCRATCH_KEEP);
    jbuf_trim(&sr->encoded, SR_SCRATCH_KEEP);
    return n;
}

static void sr_destroy(void *self)
{
    struct sr *sr = self;
    if (!sr)
        return;
    jregex_free(&sr->re);
    sr_repl_free(&sr->repl);
    sr_charset_close(&sr->cs);
    jbuf_free(&sr->decoded);
    jbuf_free(&sr->replaced);
    jbuf_free(&sr->encoded);
    free(sr);
}

static int sr_setup(struct sr *sr, const struct sr_conf *conf, const char *replace,
                    const char *charset, struct sluice_err *err)
{
    const struct sluice_host *host = sr->host;
    if (!conf->search_pattern || !conf->search_pattern[0])
        return host->err_set(err, SLUICE_ECONFIG,
                             "search_replace: searchPattern is required and may not be empty");
    int rc = jregex_compile(&sr->re, conf->search_pattern, 0, "search_replace", "searchPattern",
                            host, sr->ctx, err);
    if (rc != SLUICE_OK)
        return rc;
    char msg[300];
    if (sr_charset_open(&sr->cs, charset, msg, sizeof(msg)) != 0)
        return host->err_set(err, SLUICE_ECONFIG, "search_replace: charset: %s", msg);
    /* the replacement as Java holds it: raw bytes that are not UTF-8 read as U+FFFD */
    const uint8_t *text;
    size_t len;
    int changed;
    if (jtext_utf8((const uint8_t *)replace, strlen(replace), &sr->decoded, &text, &len,
                   &changed) != 0 ||
        (changed && jbuf_append(&sr->decoded, "", 1) != 0))
        return host->err_set(err, SLUICE_ENOMEM, "search_replace: out of memory");
    if (changed)
        text = sr->decoded.p; /* the append may have moved it */
    rc = sr_repl_parse(&sr->repl, (const char *)text, &sr->re, msg, sizeof(msg));
    jbuf_free(&sr->decoded);
    if (rc == -2)
        return host->err_set(err, SLUICE_ENOMEM, "search_replace: out of memory");
    if (rc != 0)
        return host->err_set(err, SLUICE_ECONFIG, "search_replace: replaceString '%.*s%s': %s",
                             JSHOW(replace), msg);
    return SLUICE_OK;
}

static int sr_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct sr_conf *conf = conf_;
    *self = NULL;
    struct sr *sr = calloc(1, sizeof(*sr));
    if (!sr)
        return host->err_set(err, SLUICE_ENOMEM, "search_replace: out of memory");
    sr->host = host;
    sr->ctx = ctx;
    sr->cs.dec = sr->cs.enc = (iconv_t)-1;
    const char *replace = conf->replace_string ? conf->replace_string : "";
    const char *charset = conf->charset ? conf->charset : "UTF-8";
    int rc = sr_setup(sr, conf, replace, charset, err);
    if (rc != SLUICE_OK) {
        sr_destroy(sr);
        return rc;
    }
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating SearchAndReplaceInterceptor: searchPattern=%s,replaceString=%s,charset=%s "
              "(%s)",
              conf->search_pattern, replace, charset, sr_charset_kind_name(&sr->cs));
    *self = sr;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops sr_ops = {
    .create = sr_create,
    .intercept = sr_intercept,
    .destroy = sr_destroy,
};

static const struct sluice_option sr_options[] = {
    {.name = "searchPattern",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .desc = "Regular expression (Java syntax) whose every match in the body is replaced.",
     .offset = offsetof(struct sr_conf, search_pattern)},
    {.name = "replaceString",
     .type = SLUICE_OPT_STRING,
     .def = "",
     .desc = "Replacement in Java's replaceAll() syntax: `$1` or `${name}` inserts a group, "
             "`\\$` is a literal $ and `\\\\` a backslash. Empty (the default) deletes the "
             "matches.",
     .offset = offsetof(struct sr_conf, replace_string)},
    {.name = "charset",
     .type = SLUICE_OPT_STRING,
     .def = "UTF-8",
     .desc = "Charset the body is decoded with and encoded back to (UTF-8, ISO-8859-1, "
             "US-ASCII, or any name iconv knows).",
     .offset = offsetof(struct sr_conf, charset)},
    {.name = NULL},
};

static const char *const sr_aliases[] = {
    "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "search_replace"),
    .aliases = sr_aliases,
    .summary = "Replace every match of a regex in the body (Java replaceAll semantics)",
    .options = sr_options,
    .conf_size = sizeof(struct sr_conf),
    .ops = &sr_ops,
};
