/*
 * Strings that every match of a regex must contain, found by reading the pattern: the plain
 * runs of its top-level sequence (`ip=\/` and `tbl=` in `(\d+).*ip=\/(\S+).*tbl=(\w+)`).
 * A body that lacks one of them cannot match, and literal_find rejects it far faster than
 * PCRE2 can (a `.*` makes PCRE2 backtrack over the whole line first). Conservative: a pattern
 * it does not fully understand yields no strings, never a wrong one.
 */
#ifndef SLUICE_REGEX_LITERALS_H
#define SLUICE_REGEX_LITERALS_H

#include <stddef.h>
#include <stdint.h>

#define REGEX_LITERALS_MAX 4

struct regex_literals {
    size_t n;
    char *s[REGEX_LITERALS_MAX]; /* malloc'd, NUL-terminated (no NUL inside: C pattern) */
    size_t len[REGEX_LITERALS_MAX];
};

/* Fill lits with up to REGEX_LITERALS_MAX required strings of at least min_len bytes, the
 * longest first, for a pattern compiled without CASELESS or EXTENDED. Returns 0, or -1 when out
 * of memory (lits is then empty). */
int regex_literals_find(const char *pattern, size_t min_len, struct regex_literals *lits);
/* 1 when body contains every string of lits (always 1 for none). */
int regex_literals_present(const struct regex_literals *lits, const uint8_t *body, size_t n);
void regex_literals_free(struct regex_literals *lits);

#endif
