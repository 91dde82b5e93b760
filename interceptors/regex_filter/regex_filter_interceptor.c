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

#include "../common/literal_search.h"
#include "../common/newline_scan.h"
#include "../common/regex_literals.h"
#include "sluice/plugin.h"

/*
 * How Java's semantics are approximated (Flume runs find() on new String(body), i.e. UTF-8 on
 * a usual Linux JVM):
 * - The pattern is compiled with PCRE2_UTF, so `.` and classes see code points as Java does.
 *   A body that is not valid UTF-8 is first decoded the way Java's decoder does it: each
 *   ill-formed subsequence becomes one U+FFFD (rf_java_bad_len), so `a.b` and `x.*y` still match
 *   across stray bytes (Latin-1 text in a UTF-8 log) exactly as in Flume. PCRE2_MATCH_INVALID_UTF
 *   is NOT used: with PCRE2 10.42's JIT it makes \S, \D and \W miss non-ASCII characters
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
    pcre2_code *re_lf; /* re compiled with NEWLINE_LF (newline_scan.h), or NULL */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    char *literal; /* the pattern is this plain string: searched with literal_find, no PCRE2 */
    struct regex_literals required; /* otherwise: strings every match contains (prefilter) */
    size_t literal_len;
    uint8_t *scratch; /* Java-style decoded copy of an invalid UTF-8 body */
    size_t scratch_cap;
    uint64_t match_errors;
};

/* ---- UTF-8 as Java's decoder sees it ------------------------------------------------------- */

/*
 * Length of the well-formed sequence at s[0..n) (Unicode Table 3-7), or 0 when it is
 * ill-formed, with *bad set to the length of its maximal subpart (at least 1).
 */
static size_t rf_utf8_seq(const uint8_t *s, size_t n, size_t *bad)
{
    uint8_t b = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
    } else if (b == 0xE0) {
        need = 3;
        lo = 0xA0;
    } else if (b == 0xED) {
        need = 3;
        hi = 0x9F; /* no surrogates */
    } else if (b >= 0xE1 && b <= 0xEF) {
        need = 3;
    } else if (b == 0xF0) {
        need = 4;
        lo = 0x90;
    } else if (b == 0xF4) {
        need = 4;
        hi = 0x8F; /* nothing above U+10FFFF */
    } else if (b >= 0xF1 && b <= 0xF3) {
        need = 4;
    } else {
        *bad = 1; /* 80..C1, F5..FF never start a sequence */
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

/* Offset of the first ill-formed byte, or n. ASCII runs are skipped 8 bytes at a time. */
static size_t rf_utf8_first_invalid(const uint8_t *s, size_t n)
{
    size_t i = 0, bad;
    while (i < n) {
        if (s[i] < 0x80) {
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0))
                i += 8;
            while (i < n && s[i] < 0x80)
                i++;
            continue;
        }
        size_t len = rf_utf8_seq(s + i, n - i, &bad);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

/*
 * Java's decoder follows the maximal subparts except for encoded surrogates: ED A0..BF 80..BF
 * is one U+FFFD, and so are ED A0..BF cut short; return how many bytes one U+FFFD covers.
 */
static size_t rf_java_bad_len(const uint8_t *s, size_t n, size_t bad)
{
    if (s[0] == 0xED && n >= 2 && s[1] >= 0xA0 && s[1] <= 0xBF)
        return n >= 3 && s[2] >= 0x80 && s[2] <= 0xBF ? 3 : 2;
    return bad;
}

/* Decode like Java into rf->scratch (valid prefix copied as is); NULL when out of memory. */
static const uint8_t *rf_java_decode(struct rf *rf, const uint8_t *s, size_t n, size_t first_bad,
                                     size_t *out_len)
{
    size_t rest = n - first_bad;
    if (rest > (SIZE_MAX - first_bad) / 3)
        return NULL;
    size_t need = first_bad + 3 * rest; /* each remaining byte may become 3 */
    if (need > rf->scratch_cap) {
        uint8_t *p = realloc(rf->scratch, need);
        if (!p)
            return NULL;
        rf->scratch = p;
        rf->scratch_cap = need;
    }
    uint8_t *out = rf->scratch;
    memcpy(out, s, first_bad);
    size_t o = first_bad, i = first_bad, bad;
    while (i < n) {
        size_t len = rf_utf8_seq(s + i, n - i, &bad);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            out[o++] = 0xEF; /* U+FFFD */
            out[o++] = 0xBF;
            out[o++] = 0xBD;
            i += rf_java_bad_len(s + i, n - i, bad);
        }
    }
    *out_len = o;
    return out;
}

/* ---- Matching ------------------------------------------------------------------------------ */

static int rf_match(struct rf *rf, const uint8_t *s, size_t n)
{
    if (rf->re_lf && !newline_scan_rare(s, n)) /* same answer, cheaper `.` (newline_scan.h) */
        return pcre2_jit_match(rf->re_lf, s, n, 0, 0, rf->md, rf->mctx);
    if (rf->jit)
        return pcre2_jit_match(rf->re, s, n, 0, 0, rf->md, rf->mctx);
    return pcre2_match(rf->re, s, n, 0, 0, rf->md, rf->mctx);
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
    size_t first_bad = rf_utf8_first_invalid(s, n);
    if (first_bad < n) {
        size_t dn;
        const uint8_t *d = rf_java_decode(rf, s, n, first_bad, &dn);
        if (d) {
            s = d;
            n = dn;
        }
    }
    int rc = rf_match(rf, s, n);
    if (rf->scratch_cap > RF_SCRATCH_KEEP) {
        free(rf->scratch);
        rf->scratch = NULL;
        rf->scratch_cap = 0;
    }
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
    free(rf->scratch);
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
