/*
 * literal_find (see literal_search.h): the "first and last byte" filter. For each block of 16
 * start positions, one compare of the block against the needle's first byte and one of the
 * block k-1 bytes further against its last byte; only positions where both hold are checked
 * with memcmp. Other architectures use memmem.
 */
#include "literal_search.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

const uint8_t *literal_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    if (k == 0)
        return hay;
    if (k > n)
        return NULL;
    if (k == 1)
        return memchr(hay, needle[0], n);
    const __m128i first = _mm_set1_epi8((char)needle[0]);
    const __m128i last = _mm_set1_epi8((char)needle[k - 1]);
    size_t i = 0;
    /* the block at i + k - 1 must end inside hay: i + k - 1 + 16 <= n */
    for (; i + k + 15 <= n; i += 16) {
        __m128i bf = _mm_loadu_si128((const __m128i *)(const void *)(hay + i));
        __m128i bl = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + k - 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(bf, first), _mm_cmpeq_epi8(bl, last)));
        while (mask) {
            unsigned b = (unsigned)__builtin_ctz(mask);
            if (memcmp(hay + i + b + 1, needle + 1, k - 2) == 0)
                return hay + i + b;
            mask &= mask - 1;
        }
    }
    for (; i + k <= n; i++)
        if (hay[i] == needle[0] && hay[i + k - 1] == needle[k - 1] &&
            memcmp(hay + i + 1, needle + 1, k - 2) == 0)
            return hay + i;
    return NULL;
}

#else

const uint8_t *literal_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    if (k == 0)
        return hay;
    return memmem(hay, n, needle, k);
}

#endif
