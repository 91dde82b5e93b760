/*
 * Java regex behaviour on top of PCRE2, shared by the interceptors that run a user's regex
 * (search_replace, regex_extractor, remove_header): one compile with Java-like options and an
 * error naming the key, JIT with a bounded stack, Matcher.find() stepping, Pattern.split(), and
 * the decoding Java's new String(bytes, UTF-8) does (each ill-formed sequence becomes U+FFFD).
 * Not a plugin: this folder has no meson.build; each plugin compiles jregex.c in.
 */
#ifndef SLUICE_JREGEX_H
#define SLUICE_JREGEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "sluice/plugin.h"

/* A growable byte buffer; len is what is in use. */
struct jbuf {
    uint8_t *p;
    size_t len, cap;
};

int jbuf_reserve(struct jbuf *b, size_t extra); /* room for extra more bytes; 0 or -1 */
int jbuf_append(struct jbuf *b, const void *s, size_t n);
/* Free the buffer when it grew beyond keep bytes (after a huge body), else just empty it. */
void jbuf_trim(struct jbuf *b, size_t keep);
void jbuf_free(struct jbuf *b);

struct jregex {
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    int jit;
    uint32_t groups; /* capturing groups in the pattern */
};

/* Extra compile option for Matcher.matches() (the whole subject must match). */
#define JREGEX_FULL (PCRE2_ANCHORED | PCRE2_ENDANCHORED)

/*
 * Compile pattern (a C string) with Java-like options (plus extra, 0 or JREGEX_FULL). On failure
 * err says "<plugin>: <key> '<pattern>' does not compile: <reason> at offset N".
 */
int jregex_compile(struct jregex *jr, const char *pattern, uint32_t extra, const char *plugin,
                   const char *key, const struct sluice_host *host, struct sluice_ctx *ctx,
                   struct sluice_err *err);
void jregex_free(struct jregex *jr);

/* One match attempt from offset start: >0 matched, PCRE2_ERROR_NOMATCH, or another PCRE2 error.
 * The subject MUST be valid UTF-8 (pass it through jtext_utf8): it is not checked again. */
int jregex_exec(struct jregex *jr, const uint8_t *s, size_t n, size_t start);
/* The offsets of group g of the last match, or -1/-1 when it did not take part. */
void jregex_group(const struct jregex *jr, uint32_t g, size_t *start, size_t *end, int *set);

/* Matcher.find() over one subject: call jfind_next until it returns 0 (no more) or < 0 (a PCRE2
 * error). After an empty match the next search starts one character later, as in Java. */
struct jfind {
    size_t first, last; /* the previous match; first == SIZE_MAX before the first */
};
void jfind_init(struct jfind *f);
int jfind_next(struct jregex *jr, struct jfind *f, const uint8_t *s, size_t n);

/* Pattern.split(input) with limit 0: calls piece() for every piece (trailing empty pieces
 * dropped, no leading empty piece for a zero-width match at 0). Returns 0, a PCRE2 match error
 * (< -1), or the first non-zero value piece() returned (which stops the split); -1 is also
 * returned when memory runs out. Input that is not valid UTF-8 is read as Java would. */
int jregex_split(struct jregex *jr, const char *input,
                 int (*piece)(void *arg, const char *s, size_t n), void *arg);

/*
 * Java's UTF-8 decoding: text is s itself when s is valid UTF-8, else a copy in scratch where
 * every ill-formed subsequence became U+FFFD (EF BF BD) exactly as the JDK decoder does it.
 * *changed says whether it differs. Returns 0, or -1 when scratch cannot grow.
 */
int jtext_utf8(const uint8_t *s, size_t n, struct jbuf *scratch, const uint8_t **text,
               size_t *text_len, int *changed);
/* Length of the UTF-8 character at s[0..n) (1 for a stray byte); n must be > 0. */
size_t jtext_char_len(const uint8_t *s, size_t n);

/* For messages quoting a user's text: printf("%.*s%s", JSHOW(s)) shows at most 200 bytes and
 * "..." when it was longer. */
#define JSHOW_MAX 200
#define JSHOW(s)                                                                                   \
    (int)(strlen(s) > JSHOW_MAX ? JSHOW_MAX : strlen(s)), (s), (strlen(s) > JSHOW_MAX ? "..." : "")

#endif
