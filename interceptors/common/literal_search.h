/*
 * Finding a fixed byte string in an event body: the fast path of regex_filter when its pattern
 * is a plain string. glibc's memmem is generic; this one tests 16 positions per step for the
 * needle's first and last byte (SSE2, baseline on x86-64) and compares only those candidates.
 */
#ifndef SLUICE_LITERAL_SEARCH_H
#define SLUICE_LITERAL_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* First occurrence of needle[0..k) in hay[0..n), or NULL; k == 0 matches at hay. */
const uint8_t *literal_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k);

#endif
