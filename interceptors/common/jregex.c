/*
 * Java regex behaviour on top of PCRE2 for the interceptors (see jregex.h). The approximation
 * is the one regex_filter documents: PCRE2_UTF over text decoded the way Java decodes it,
 * PCRE2_NEWLINE_ANY so `.` and `$` treat Java's line terminators as Java does (and also \v, \f),
 * no PCRE2_UCP so \d \w \s \b are ASCII-only as Java's defaults. Java-only syntax (\uXXXX in a
 * pattern, \p{javaLowerCase}) does not compile here and is reported as a configuration error.
 */
#include "jregex.h"

#include <stdlib.h>
#include <string.h>

/*
 * Not PCRE2_MATCH_INVALID_UTF: with it, PCRE2 10.42's JIT gets negated types wrong on non-ASCII
 * text (`user=\S+ x` does not match "user=Jörg x", `\S+` finds "J"). Every subject is valid
 * UTF-8 instead (jtext_utf8 first), which also lets matches skip PCRE2's UTF check.
 */
#define JREGEX_COMPILE_OPTIONS (PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C)
#define JREGEX_JIT_STACK_MAX   (1024 * 1024)

/* ---- Buffers ------------------------------------------------------------------------------ */

int jbuf_reserve(struct jbuf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int jbuf_append(struct jbuf *b, const void *s, size_t n)
{
    if (n == 0)
        return 0;
    if (jbuf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

void jbuf_trim(struct jbuf *b, size_t keep)
{
    b->len = 0;
    if (b->cap > keep)
        jbuf_free(b);
}

void jbuf_free(struct jbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- UTF-8 as Java's decoder sees it ----------------------------------------------------- */

/*
 * Length of the well-formed sequence at s[0..n) (Unicode Table 3-7), or 0 when it is
 * ill-formed, with *bad set to the length of its maximal subpart (at least 1).
 */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad)
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

size_t jtext_char_len(const uint8_t *s, size_t n)
{
    size_t bad;
    size_t len = utf8_seq(s, n, &bad);
    return len ? len : 1;
}

/* Offset of the first ill-formed byte, or n. ASCII runs are skipped 8 bytes at a time. */
static size_t utf8_first_invalid(const uint8_t *s, size_t n)
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
        size_t len = utf8_seq(s + i, n - i, &bad);
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
static size_t java_bad_len(const uint8_t *s, size_t n, size_t bad)
{
    if (s[0] == 0xED && n >= 2 && s[1] >= 0xA0 && s[1] <= 0xBF)
        return n >= 3 && s[2] >= 0x80 && s[2] <= 0xBF ? 3 : 2;
    return bad;
}

int jtext_utf8(const uint8_t *s, size_t n, struct jbuf *scratch, const uint8_t **text,
               size_t *text_len, int *changed)
{
    static const uint8_t empty[1];
    if (!s)
        s = empty;
    size_t first_bad = utf8_first_invalid(s, n);
    *changed = first_bad < n;
    if (first_bad == n) {
        *text = s;
        *text_len = n;
        return 0;
    }
    size_t rest = n - first_bad;
    scratch->len = 0;
    if (rest > (SIZE_MAX / 4 - first_bad) / 3 || jbuf_reserve(scratch, first_bad + 3 * rest))
        return -1; /* each remaining byte may become 3 */
    uint8_t *out = scratch->p;
    memcpy(out, s, first_bad);
    size_t o = first_bad, i = first_bad, bad;
    while (i < n) {
        size_t len = utf8_seq(s + i, n - i, &bad);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            out[o++] = 0xEF; /* U+FFFD */
            out[o++] = 0xBF;
            out[o++] = 0xBD;
            i += java_bad_len(s + i, n - i, bad);
        }
    }
    scratch->len = o;
    *text = out;
    *text_len = o;
    return 0;
}

/* ---- Compiling and matching ------------------------------------------------------------- */

int jregex_compile(struct jregex *jr, const char *pattern, uint32_t extra, const char *plugin,
                   const char *key, const struct sluice_host *host, struct sluice_ctx *ctx,
                   struct sluice_err *err)
{
    memset(jr, 0, sizeof(*jr));
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx)
        return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory", plugin);
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANY);
    int code;
    PCRE2_SIZE off;
    jr->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                           JREGEX_COMPILE_OPTIONS | extra, &code, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (!jr->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return host->err_set(err, SLUICE_ECONFIG,
                             "%s: %s '%.*s%s' does not compile: %s at offset %zu", plugin, key,
                             JSHOW(pattern), (const char *)msg, (size_t)off);
    }
    pcre2_pattern_info(jr->re, PCRE2_INFO_CAPTURECOUNT, &jr->groups);
    int jrc = pcre2_jit_compile(jr->re, PCRE2_JIT_COMPLETE);
    if (jrc == 0) {
        jr->jit_stack = pcre2_jit_stack_create(32 * 1024, JREGEX_JIT_STACK_MAX, NULL);
        jr->mctx = pcre2_match_context_create(NULL);
        if (!jr->jit_stack || !jr->mctx)
            return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory", plugin);
        pcre2_jit_stack_assign(jr->mctx, NULL, jr->jit_stack);
        jr->jit = 1;
    } else {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(jrc, msg, sizeof(msg));
        host->log(ctx, SLUICE_LOG_INFO, "PCRE2 JIT unavailable for %s (%s): using the interpreter",
                  key, (const char *)msg);
    }
    jr->md = pcre2_match_data_create_from_pattern(jr->re, NULL);
    if (!jr->md)
        return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory", plugin);
    return SLUICE_OK;
}

void jregex_free(struct jregex *jr)
{
    pcre2_match_data_free(jr->md);
    pcre2_match_context_free(jr->mctx);
    pcre2_jit_stack_free(jr->jit_stack);
    pcre2_code_free(jr->re);
    memset(jr, 0, sizeof(*jr));
}

int jregex_exec(struct jregex *jr, const uint8_t *s, size_t n, size_t start)
{
    static const uint8_t empty[1];
    if (!s)
        s = empty;
    int rc;
    if (jr->jit)
        rc = pcre2_jit_match(jr->re, s, n, start, 0, jr->md, jr->mctx);
    else
        rc = pcre2_match(jr->re, s, n, start, PCRE2_NO_UTF_CHECK, jr->md, jr->mctx);
    if (rc == 0)
        rc = (int)jr->groups + 1; /* cannot happen: the match data fits every group */
    if (rc > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(jr->md);
        if (ov[1] < ov[0])
            return PCRE2_ERROR_INTERNAL; /* \K in a lookahead; Java has no \K */
    }
    return rc;
}

void jregex_group(const struct jregex *jr, uint32_t g, size_t *start, size_t *end, int *set)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(jr->md);
    uint32_t pairs = pcre2_get_ovector_count(jr->md);
    if (g >= pairs || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g]) {
        *start = *end = 0;
        *set = 0;
        return;
    }
    *start = ov[2 * g];
    *end = ov[2 * g + 1];
    *set = 1;
}

void jfind_init(struct jfind *f)
{
    f->first = SIZE_MAX;
    f->last = 0;
}

int jfind_next(struct jregex *jr, struct jfind *f, const uint8_t *s, size_t n)
{
    size_t from = f->last;
    if (from == f->first) { /* the previous match was empty: step over one character */
        if (from >= n)
            return 0;
        from += jtext_char_len(s + from, n - from);
    }
    if (from > n)
        return 0;
    int rc = jregex_exec(jr, s, n, from);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0)
        return rc;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(jr->md);
    f->first = ov[0];
    f->last = ov[1];
    return 1;
}

static int jregex_split_text(struct jregex *jr, const char *input, size_t n,
                             int (*piece)(void *arg, const char *s, size_t n), void *arg)
{
    const uint8_t *s = (const uint8_t *)input;
    size_t index = 0, pending_empty = 0;
    int any = 0, rc;
    struct jfind f;
    jfind_init(&f);
    /* trailing empty pieces are dropped: count empties and emit them only before a non-empty */
#define JSPLIT_EMIT(p, len)                                                                        \
    do {                                                                                           \
        if ((len) == 0) {                                                                          \
            pending_empty++;                                                                       \
        } else {                                                                                   \
            for (; pending_empty; pending_empty--)                                                 \
                if ((rc = piece(arg, input, 0)) != 0)                                              \
                    return rc;                                                                     \
            if ((rc = piece(arg, (p), (len))) != 0)                                                \
                return rc;                                                                         \
        }                                                                                          \
    } while (0)
    while ((rc = jfind_next(jr, &f, s, n)) > 0) {
        if (index == 0 && f.first == 0 && f.last == 0)
            continue; /* no leading empty piece for a zero-width match at the start */
        JSPLIT_EMIT(input + index, f.first - index);
        index = f.last;
        any = 1;
    }
    if (rc < 0)
        return rc;
    if (!any)
        return piece(arg, input, n); /* no match: the input itself, even when empty */
    JSPLIT_EMIT(input + index, n - index);
#undef JSPLIT_EMIT
    return 0;
}

int jregex_split(struct jregex *jr, const char *input,
                 int (*piece)(void *arg, const char *s, size_t n), void *arg)
{
    struct jbuf scratch = {0};
    const uint8_t *text;
    size_t n;
    int changed;
    if (jtext_utf8((const uint8_t *)input, strlen(input), &scratch, &text, &n, &changed) != 0)
        return -1;
    int rc = jregex_split_text(jr, (const char *)text, n, piece, arg);
    jbuf_free(&scratch);
    return rc;
}
