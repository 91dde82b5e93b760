/*
 * The `regex_filter` interceptor: Flume's RegexFilteringInterceptor. An event is kept (or, with
 * excludeEvents, dropped) when the regex occurs anywhere in its body, as Java's
 * Matcher.find() decides. The PCRE2 pattern is compiled once (JIT when the platform allows)
 * and one match block is reused for every event, since intercept() runs on one thread.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../common/jregex.h"
#include "../common/literal_search.h"
#include "../common/newline_scan.h"
#include "../common/regex_ascii.h"
#include "../common/regex_literals.h"
#include "sluice/plugin.h"

/*
 * How Java's semantics are approximated (Flume runs find() on new String(body), i.e. UTF-8 on
 * a usual Linux JVM):
 * - The pattern is compiled with PCRE2_UTF, so `.` and classes see code points as Java does.
 *   A body that is not valid UTF-8 is first decoded the way Java's decoder does it: each
 *   ill-formed subsequence becomes one U+FFFD (jtext_utf8, shared with the other regex
 *   interceptors), so `a.b` and `x.*y` still match across stray bytes (Latin-1 text in a UTF-8
 *   log) exactly as in Flume. PCRE2_MATCH_INVALID_UTF is NOT used: with PCRE2 10.42's JIT it
 *   makes \S, \D and \W miss non-ASCII characters
 *   (`user=\S+ x` would not match "user=Jörg x"). Should the decode buffer not be allocatable,
 *   pcre2_match's own UTF check fails the match and the event is kept.
 * - PCRE2_NEWLINE_ANY: `.` does not match \n, \r, U+0085, U+2028 or U+2029 (Java's line
 *   terminators) and `$` also matches before a final terminator, as in Java without
 *   MULTILINE. The one difference: ANY also counts \v and \f as newlines, so `.` does not
 *   match them, while Java's `.` does. ANYCRLF would instead let `.` match U+0085/2028/2029.
 * - No PCRE2_UCP: \d, \w, \s and \b are ASCII-only, as Java's defaults. (?i) folds non-ASCII
 *   letters too, which Java does only with (?u).
 * - Java-only syntax (\uXXXX inside the regex, \p{Lower}, \p{javaLowerCase}, (?d)) does not
 *   compile here and is reported as a configuration error.
 * - Faster paths with the same answers: a pattern that is a plain string is a byte search;
 *   strings every match contains are looked for first; a body with no rare terminator uses a
 *   NEWLINE_LF compile (newline_scan.h), and an ASCII one a compile without UTF, which also
 *   skips the UTF-8 decode (regex_ascii.h).
 */
#define RF_COMPILE_OPTIONS (PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C)
#define RF_JIT_STACK_MAX   (1024 * 1024)
#define RF_SCRATCH_KEEP    (1024 * 1024) /* a larger decode buffer is freed after use */
#define RF_REGEX_SHOWN     200           /* longest regex quoted whole in an error message */
#define RF_ERROR_LOG_EVERY 1000

struct rf_conf {
    char *regex;
    int exclude_events;
};

struct rf {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    int exclude;
    int jit;
    pcre2_code *re;
    pcre2_code *re_lf;    /* re compiled with NEWLINE_LF (newline_scan.h), or NULL */
    pcre2_code *re_ascii; /* for ASCII bodies (regex_ascii.h), or NULL */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    char *literal; /* the pattern is this plain string: searched with literal_find, no PCRE2 */
    struct regex_literals required; /* otherwise: strings every match contains (prefilter) */
    size_t literal_len;
    struct jbuf scratch; /* Java-style decoded copy of an invalid UTF-8 body (jtext_utf8) */
    uint64_t match_errors;
};

/* ---- Matching ------------------------------------------------------------------------------ */

/* s is valid UTF-8 (jtext_utf8); kind is newline_scan_kind(s, n) when the JIT is there. */
static int rf_match(struct rf *rf, const uint8_t *s, size_t n, enum newline_kind kind)
{
    if (!rf->jit)
        return pcre2_match(rf->re, s, n, 0, 0, rf->md, rf->mctx);
    /* the cheapest compile that gives this body the same answer (newline_scan.h) */
    if (kind == NEWLINE_KIND_ASCII && rf->re_ascii)
        return pcre2_jit_match(rf->re_ascii, s, n, 0, 0, rf->md, rf->mctx);
    if (kind != NEWLINE_KIND_RARE && rf->re_lf)
        return pcre2_jit_match(rf->re_lf, s, n, 0, 0, rf->md, rf->mctx);
    return pcre2_jit_match(rf->re, s, n, 0, 0, rf->md, rf->mctx);
}

/* 1 when the regex occurs in the body, 0 when not, negative on a PCRE2 error. */
static int rf_find(struct rf *rf, const struct sluice_event *ev)
{
    static const uint8_t empty[1];
    const uint8_t *s = ev->body ? ev->body : empty;
    size_t n = ev->body ? ev->body_len : 0;
    if (rf->literal) /* see rf_plain_literal: byte search = Java's find() here */
        return literal_find(s, n, (const uint8_t *)rf->literal, rf->literal_len) != NULL;
    /* a string every match contains is missing: no match (same argument as rf_plain_literal) */
    if (!regex_literals_present(&rf->required, s, n))
        return 0;
    enum newline_kind kind = rf->jit ? newline_scan_kind(s, n) : NEWLINE_KIND_RARE;
    const uint8_t *text = s;
    size_t text_len = n;
    int changed = 0, dec = 0;
    if (kind != NEWLINE_KIND_ASCII) /* ASCII is valid UTF-8 already */
        dec = jtext_utf8(s, n, &rf->scratch, &text, &text_len, &changed);
    int rc;
    if (dec != 0) { /* no room for the decoded copy: the interpreter checks the UTF-8 (the JIT
                     * does not) and fails the match on a bad body, which is then kept */
        rc = pcre2_match(rf->re, s, n, 0, 0, rf->md, rf->mctx);
    } else {
        if (changed)
            kind = rf->jit ? newline_scan_kind(text, text_len) : NEWLINE_KIND_RARE;
        rc = rf_match(rf, text, text_len, kind);
    }
    jbuf_trim(&rf->scratch, RF_SCRATCH_KEEP);
    if (rc >= 0) /* 0: matched, the one-pair ovector was too small for the groups */
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

static size_t rf_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct rf *rf = self;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int found = rf_find(rf, evs[i]);
        int keep;
        if (found < 0) {
            /* match or heap limit hit: keep the event rather than lose it */
            if (rf->match_errors++ % RF_ERROR_LOG_EVERY == 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(found, msg, sizeof(msg));
                rf->host->log(rf->ctx, SLUICE_LOG_WARN,
                              "regex match failed on a %zu-byte body (%s); event kept "
                              "errors=%llu",
                              evs[i]->body_len, (const char *)msg,
                              (unsigned long long)rf->match_errors);
            }
            keep = 1;
        } else {
            keep = found != rf->exclude;
        }
        if (keep)
            evs[kept++] = evs[i];
        else
            rf->host->event_free(evs[i]);
    }
    return kept;
}

/* ---- Lifecycle ----------------------------------------------------------------------------- */

static void rf_destroy(void *self)
{
    struct rf *rf = self;
    if (!rf)
        return;
    pcre2_match_data_free(rf->md);
    pcre2_match_context_free(rf->mctx);
    pcre2_jit_stack_free(rf->jit_stack);
    pcre2_code_free(rf->re);
    pcre2_code_free(rf->re_lf);
    pcre2_code_free(rf->re_ascii);
    jbuf_free(&rf->scratch);
    free(rf->literal);
    regex_literals_free(&rf->required);
    free(rf);
}

/*
 * For find(), a leading or trailing `.*` never changes whether a pattern occurs somewhere (it
 * may match the empty string), but a leading one defeats PCRE2's start-of-match search: the
 * seed `.*HiveMetaStore\.audit.*` runs about 8x faster as `HiveMetaStore\.audit`. Only the
 * plain greedy form is dropped (not `.*?`, `.*+`, `.*{`, nor an escaped `\.*`), never in a
 * pattern using \Q...\E, and only when the shortened pattern compiles as well.
 */
static void rf_find_core(const char *re, size_t *start, size_t *len)
{
    size_t n = strlen(re), s = 0;
    *start = 0;
    *len = n;
    if (strstr(re, "\\Q"))
        return;
    if (n >= 2 && re[0] == '.' && re[1] == '*' && (n == 2 || !strchr("*+?{", re[2])))
        s = 2;
    if (n - s >= 2 && re[n - 2] == '.' && re[n - 1] == '*') {
        size_t i = n - 2, backslashes = 0;
        while (i > s && re[i - 1] == '\\') {
            backslashes++;
            i--;
        }
        if (backslashes % 2 == 0)
            n -= 2;
    }
    *start = s;
    *len = n - s;
}

/*
 * When the pattern (after rf_find_core) is a plain string, e.g. `HiveMetaStore\.audit`, find()
 * is a byte search: the string is valid UTF-8 (PCRE2_UTF compiled it), so it starts with a
 * lead or ASCII byte that Java's decoder never folds into a preceding malformed sequence, and
 * it occurs in the decoded text exactly where its bytes occur in the body. Plain: no
 * metacharacter outside an escape, and escapes only of ASCII punctuation (`\.`, `\/`, `\\`).
 * Anything else (classes, groups, \d, (?i), \Q) goes to PCRE2. Returns the unescaped string
 * in out (as long as the pattern at most), or 0.
 */
static int rf_plain_literal(const char *re, size_t len, char *out, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)re[i];
        if (c == '\\') {
            if (i + 1 >= len)
                return 0;
            unsigned char e = (unsigned char)re[++i];
            if (e >= 0x80 || !ispunct(e))
                return 0;
            out[o++] = (char)e;
        } else if (strchr("^$.[]|()?*+{}", c) && c != 0) {
            return 0;
        } else {
            out[o++] = (char)c;
        }
    }
    *out_len = o;
    return 1;
}

static int rf_compile(struct rf *rf, const char *regex, struct sluice_err *err)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx)
        return rf->host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANY);
    int code;
    PCRE2_SIZE off;
    rf->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, RF_COMPILE_OPTIONS, &code,
                           &off, cctx);
    size_t core_start, core_len, full_len = strlen(regex);
    const char *src = regex; /* what rf->re was compiled from (full_len bytes) */
    rf_find_core(regex, &core_start, &core_len);
    if (rf->re && core_len < full_len) {
        pcre2_code *core = pcre2_compile((PCRE2_SPTR)regex + core_start, core_len,
                                         RF_COMPILE_OPTIONS, &code, &off, cctx);
        if (core) {
            pcre2_code_free(rf->re);
            rf->re = core;
            full_len = core_len; /* the core is the pattern now */
            src = regex + core_start;
            rf->host->log(rf->ctx, SLUICE_LOG_DEBUG,
                          "regex searched as \"%.*s\" (an outer .* does not change find())",
                          (int)core_len, regex + core_start);
        }
    }
    pcre2_compile_context_free(cctx);
    if (!rf->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        size_t len = strlen(regex);
        return rf->host->err_set(err, SLUICE_ECONFIG,
                                 "regex_filter: regex \"%.*s%s\" does not compile: %s at "
                                 "offset %zu",
                                 (int)(len > RF_REGEX_SHOWN ? RF_REGEX_SHOWN : len), regex,
                                 len > RF_REGEX_SHOWN ? "..." : "", (const char *)msg, (size_t)off);
    }
    rf->literal = malloc(core_len + 1);
    if (!rf->literal)
        return rf->host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
    if (core_len == full_len &&
        rf_plain_literal(regex + core_start, core_len, rf->literal, &rf->literal_len)) {
        rf->literal[rf->literal_len] = 0;
        rf->host->log(rf->ctx, SLUICE_LOG_DEBUG, "regex is the plain string \"%s\": byte search",
                      rf->literal);
    } else {
        free(rf->literal);
        rf->literal = NULL;
        if (regex_literals_find(regex, 2, &rf->required) != 0)
            return rf->host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
        for (size_t i = 0; i < rf->required.n; i++)
            rf->host->log(rf->ctx, SLUICE_LOG_DEBUG, "every match contains \"%s\": prefilter",
                          rf->required.s[i]);
    }
    int jrc = pcre2_jit_compile(rf->re, PCRE2_JIT_COMPLETE);
    if (jrc == 0) {
        rf->jit_stack = pcre2_jit_stack_create(32 * 1024, RF_JIT_STACK_MAX, NULL);
        rf->mctx = pcre2_match_context_create(NULL);
        if (!rf->jit_stack || !rf->mctx)
            return rf->host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
        pcre2_jit_stack_assign(rf->mctx, NULL, rf->jit_stack);
        rf->jit = 1;
        if (!newline_scan_rare((const uint8_t *)src, full_len)) {
            pcre2_compile_context *lctx = pcre2_compile_context_create(NULL);
            if (lctx) {
                pcre2_set_newline(lctx, PCRE2_NEWLINE_LF);
                rf->re_lf =
                    pcre2_compile((PCRE2_SPTR)src, full_len, RF_COMPILE_OPTIONS, &code, &off, lctx);
                pcre2_compile_context_free(lctx);
            }
            if (rf->re_lf && pcre2_jit_compile(rf->re_lf, PCRE2_JIT_COMPLETE) != 0) {
                pcre2_code_free(rf->re_lf);
                rf->re_lf = NULL;
            }
        }
        rf->re_ascii = regex_ascii_compile(src, full_len, RF_COMPILE_OPTIONS);
    } else {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(jrc, msg, sizeof(msg));
        rf->host->log(rf->ctx, SLUICE_LOG_INFO, "PCRE2 JIT unavailable (%s): using the interpreter",
                      (const char *)msg);
    }
    /* only "did it match" is needed, so one ovector pair whatever the groups */
    rf->md = pcre2_match_data_create(1, NULL);
    if (!rf->md)
        return rf->host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
    return SLUICE_OK;
}

static int rf_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct rf_conf *conf = conf_;
    const char *regex = conf->regex ? conf->regex : ".*";
    *self = NULL;
    struct rf *rf = calloc(1, sizeof(*rf));
    if (!rf)
        return host->err_set(err, SLUICE_ENOMEM, "regex_filter: out of memory");
    rf->host = host;
    rf->ctx = ctx;
    rf->exclude = conf->exclude_events != 0;
    host->log(ctx, SLUICE_LOG_INFO, "Creating RegexFilteringInterceptor: regex=%s,excludeEvents=%s",
              regex, rf->exclude ? "true" : "false");
    int rc = rf_compile(rf, regex, err);
    if (rc != SLUICE_OK) {
        rf_destroy(rf);
        return rc;
    }
    *self = rf;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops rf_ops = {
    .create = rf_create,
    .intercept = rf_intercept,
    .destroy = rf_destroy,
};

static const struct sluice_option rf_options[] = {
    {.name = "regex",
     .type = SLUICE_OPT_STRING,
     .def = ".*",
     .desc = "Regular expression searched for anywhere in the body (Java find() semantics).",
     .offset = offsetof(struct rf_conf, regex)},
    {.name = "excludeEvents",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "false keeps events that contain a match; true drops them.",
     .offset = offsetof(struct rf_conf, exclude_events)},
    {.name = NULL},
};

static const char *const rf_aliases[] = {
    "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder",
    "org.apache.flume.interceptor.RegexFilteringInterceptor",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "regex_filter"),
    .aliases = rf_aliases,
    .summary = "Keep (or drop) events whose body contains a regex match",
    .options = rf_options,
    .conf_size = sizeof(struct rf_conf),
    .ops = &rf_ops,
};
