/*
 * Whether a body holds a line terminator other than \n. Java's `.` (and PCRE2's with
 * NEWLINE_ANY, which the Java-compatible regexes use) refuses \r, \v, \f, U+0085, U+2028 and
 * U+2029 too, and testing for all of them costs PCRE2 about as much as the rest of a `.*`
 * scan. A body with none of them matches a NEWLINE_LF compile of the same pattern exactly as
 * the NEWLINE_ANY one, and log lines almost never have them.
 */
#ifndef SLUICE_NEWLINE_SCAN_H
#define SLUICE_NEWLINE_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..n) contains \r, \v, \f or the UTF-8 of U+0085, U+2028 or U+2029. */
int newline_scan_rare(const uint8_t *s, size_t n);

/* What one pass over a body finds, for choosing among a pattern's compiles (regex_ascii.h). */
enum newline_kind {
    NEWLINE_KIND_ASCII = 0, /* only bytes < 0x80 and no rare terminator */
    NEWLINE_KIND_UTF = 1,   /* some byte >= 0x80, no rare terminator */
    NEWLINE_KIND_RARE = 2   /* a rare terminator, as newline_scan_rare() finds them */
};
enum newline_kind newline_scan_kind(const uint8_t *s, size_t n);

#endif
