/*
 * UTF-8 checks shared by the sources: what Java's decoder accepts, and the text Java produces
 * when it decodes malformed bytes with replacement (new String(bytes, UTF_8)), so bodies that
 * Flume re-encodes come out byte for byte the same.
 */
#ifndef SLUICE_SRC_UTF8_H
#define SLUICE_SRC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed sequence starting at p[0..n): 1..4; 0 when p[0..n) is a proper
 * prefix of a sequence that more bytes could complete; -k when the first k bytes (the maximal
 * subpart, k >= 1) are malformed. */
int utf8_seq(const uint8_t *p, size_t n);
/* 1 when p[0..n) is entirely well-formed. */
int utf8_valid(const uint8_t *p, size_t n);
/* Copy p[0..n) to out replacing each malformed maximal subpart (and a truncated sequence at
 * the end) with EF BF BD, as Java does. out must hold 3 * n bytes. Returns bytes written. */
size_t utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out);

#endif
