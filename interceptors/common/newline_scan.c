/*
 * newline_scan_kind (see newline_scan.h): 16 bytes per step, against \v \f \r and the sign
 * bit; only a block with bytes >= 0x80 is looked at for 0xC2 and 0xE2, the lead bytes of the
 * rare terminators above ASCII, and only those positions closely. newline_scan_rare is the
 * same pass.
 */
#include "newline_scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Is there a rare terminator starting at s[i]? */
static int rare_at(const uint8_t *s, size_t n, size_t i)
{
    uint8_t c = s[i];
    if (c == '\r' || c == '\v' || c == '\f')
        return 1;
    if (c == 0xC2)
        return i + 1 < n && s[i + 1] == 0x85;
    if (c == 0xE2)
        return i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9);
    return 0;
}

enum newline_kind newline_scan_kind(const uint8_t *s, size_t n)
{
    size_t i = 0;
    enum newline_kind kind = NEWLINE_KIND_ASCII;
#if defined(__SSE2__)
    const __m128i vt = _mm_set1_epi8(0x0B), ff = _mm_set1_epi8(0x0C), cr = _mm_set1_epi8(0x0D);
    const __m128i c2 = _mm_set1_epi8((char)0xC2), e2 = _mm_set1_epi8((char)0xE2);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i ctl = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vt), _mm_cmpeq_epi8(v, ff)),
                                   _mm_cmpeq_epi8(v, cr));
        if (_mm_movemask_epi8(ctl))
            return NEWLINE_KIND_RARE;
        if (!_mm_movemask_epi8(v)) /* the sign bits: bytes >= 0x80 */
            continue;
        kind = NEWLINE_KIND_UTF;
        unsigned mask =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, c2), _mm_cmpeq_epi8(v, e2)));
        while (mask) {
            if (rare_at(s, n, i + (unsigned)__builtin_ctz(mask)))
                return NEWLINE_KIND_RARE;
            mask &= mask - 1;
        }
    }
#endif
    for (; i < n; i++) {
        if (s[i] >= 0x80)
            kind = NEWLINE_KIND_UTF;
        if (rare_at(s, n, i))
            return NEWLINE_KIND_RARE;
    }
    return kind;
}

int newline_scan_rare(const uint8_t *s, size_t n)
{
    return newline_scan_kind(s, n) == NEWLINE_KIND_RARE;
}
