/*
 * A second compile of a Java-compatible (PCRE2_UTF) pattern for bodies that are pure ASCII
 * and hold no rare line terminator (newline_scan_kind() == NEWLINE_KIND_ASCII): without UTF
 * and with NEWLINE_LF. PCRE2's UTF mode decodes every character it steps over, and a `.*` that
 * backtracks pays that on each step; log lines are nearly always ASCII, and a non-UTF JIT match
 * of them is about a third cheaper.
 *
 * On such a body both compiles give the same answer and the same offsets, as long as the
 * pattern itself is ASCII: every pattern atom is then one code unit in both modes, classes and
 * escapes such as \w \d \s \b agree on ASCII (no UCP), a character above 0x7F (as an escape)
 * never matches either way, and caseless folds that reach outside ASCII (K to U+212A) cannot
 * meet an ASCII byte. A pattern with a non-ASCII byte, a literal rare terminator, (*UTF) or a
 * code point above 0xFF gets no such compile.
 */
#ifndef SLUICE_REGEX_ASCII_H
#define SLUICE_REGEX_ASCII_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* The JIT-compiled ASCII variant of pattern[0..len) compiled with utf_options (which hold
 * PCRE2_UTF), or NULL when there is none (see above) or memory or the JIT fails. */
pcre2_code *regex_ascii_compile(const char *pattern, size_t len, uint32_t utf_options);

#endif
