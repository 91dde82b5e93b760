/*
 * search_replace's replaceString, read with the rules of Java's Matcher.appendReplacement():
 * `$n` (the longest number that is still a group), `${name}`, `\x` for a literal x, anything
 * else literal. Parsed once at create against the compiled pattern, so what Java would only
 * throw at the first match (a bad reference, a trailing `\` or `$`) is a configuration error.
 */
#ifndef SLUICE_SR_REPLACEMENT_H
#define SLUICE_SR_REPLACEMENT_H

#include "../common/jregex.h"

struct sr_part {
    int32_t group; /* -1: literal text lit[off..off+len) */
    size_t off, len;
};

struct sr_repl {
    struct sr_part *parts;
    size_t n;
    char *lit; /* literal text of every part, valid UTF-8 */
};

/* Parse text for pattern re; on error msg says why (Java's words). 0, -1 (error), -2 (ENOMEM). */
int sr_repl_parse(struct sr_repl *r, const char *text, const struct jregex *re, char *msg,
                  size_t msg_len);
void sr_repl_free(struct sr_repl *r);
/* Append the replacement for re's last match over subject to out; 0 or -1 (out of memory). */
int sr_repl_expand(const struct sr_repl *r, const struct jregex *re, const uint8_t *subject,
                   struct jbuf *out);
/* 1 when the replacement is one literal run (or empty): no group is referenced. */
int sr_repl_is_literal(const struct sr_repl *r);

#endif
