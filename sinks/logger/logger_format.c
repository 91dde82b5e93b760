/*
 * The line Flume's LoggerSink logs: "Event: { headers:<Map.toString> body:<dump> }".
 * <dump> is commons-io HexDump.dump of the first maxBytesToLog body bytes with the leading
 * "00000000" offset and the final line separator removed. Rows past the first (only when
 * maxBytesToLog > 16, which Flume itself never does, see logger_sink.c) keep HexDump's layout:
 * a '\n', the 8-digit offset, then the row, so the message spans several lines.
 * Headers come out in the order a java.util.HashMap iterates them, so lines can be diffed
 * against Flume's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logger_sink.h"

static int reserve(struct logger_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return SLUICE_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put(struct logger_buf *b, const char *s, size_t n)
{
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static int append(struct logger_buf *b, const char *s, size_t n)
{
    if (reserve(b, n))
        return SLUICE_ENOMEM;
    put(b, s, n);
    return 0;
}

void logger_buf_free(struct logger_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- headers in java.util.HashMap order ------------------------------------------------------
 * HashMap iterates bucket by bucket; a key's bucket is (h ^ (h >>> 16)) & (capacity - 1) with h
 * its String.hashCode() over UTF-16 code units, and keys sharing a bucket keep insertion order.
 * The capacity is 16, doubled while size > 0.75 * capacity (a map filled by put(); a map copied
 * with new HashMap(map) can be one size larger at exactly 12, 24, ... entries).
 */

static uint32_t java_hash(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    uint32_t h = 0;
    while (*p) {
        uint32_t cp;
        size_t k;
        if (p[0] < 0x80) {
            cp = p[0];
            k = 1;
        } else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
            k = 2;
        } else if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
            cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            k = 3;
        } else if ((p[0] & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
                   (p[3] & 0xC0) == 0x80) {
            cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
                 ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
            k = 4;
        } else {
            cp = 0xFFFD; /* what Java would have decoded a bad byte to */
            k = 1;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = h * 31 + (0xD800 + (cp >> 10));
            h = h * 31 + (0xDC00 + (cp & 0x3FF));
        } else {
            h = h * 31 + cp;
        }
        p += k;
    }
    return h;
}

static int headers_append(struct logger_buf *b, const struct sluice_event *ev)
{
    uint32_t n = ev->n_headers;
    uint32_t small[16], *order = small, *bucket = NULL;
    int rc = SLUICE_ENOMEM;
    if (append(b, "{", 1))
        return SLUICE_ENOMEM;
    if (n == 0)
        return append(b, "}", 1);
    if (n > 8) {
        order = malloc(2 * (size_t)n * sizeof(*order));
        if (!order)
            return SLUICE_ENOMEM;
        bucket = order + n;
    } else {
        bucket = small + 8;
    }
    uint64_t cap = 16;
    while (n > cap * 3 / 4)
        cap *= 2;
    /* stable insertion sort of header indexes by bucket */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h = java_hash(ev->headers[i].key);
        uint32_t bk = (h ^ (h >> 16)) & (uint32_t)(cap - 1);
        uint32_t j = i;
        while (j > 0 && bucket[j - 1] > bk) {
            bucket[j] = bucket[j - 1];
            order[j] = order[j - 1];
            j--;
        }
        bucket[j] = bk;
        order[j] = i;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct sluice_header *hd = &ev->headers[order[i]];
        size_t kl = strlen(hd->key), vl = strlen(hd->value);
        if (reserve(b, kl + vl + 3))
            goto out;
        if (i > 0)
            put(b, ", ", 2);
        put(b, hd->key, kl);
        put(b, "=", 1);
        put(b, hd->value, vl);
    }
    rc = append(b, "}", 1);
out:
    if (order != small)
        free(order);
    return rc;
}

/* ---- body: commons-io HexDump --------------------------------------------------------------- */

static int hexdump_append(struct logger_buf *b, const uint8_t *data, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t rows = (n + 15) / 16;
    /* per row: '\n' + 8 offset digits + ' ' + 16 * 3 + 16 ascii */
    if (reserve(b, rows * (1 + 8 + 1 + 48 + 16)))
        return SLUICE_ENOMEM;
    for (size_t row = 0; row < rows; row++) {
        size_t off = row * 16, cnt = n - off < 16 ? n - off : 16;
        if (row > 0) {
            put(b, "\n", 1);
            for (int sh = 28; sh >= 0; sh -= 4)
                b->p[b->len++] = hex[(off >> sh) & 15];
        }
        put(b, " ", 1);
        for (size_t k = 0; k < 16; k++) {
            if (k < cnt) {
                b->p[b->len++] = hex[data[off + k] >> 4];
                b->p[b->len++] = hex[data[off + k] & 15];
                b->p[b->len++] = ' ';
            } else {
                put(b, "   ", 3);
            }
        }
        for (size_t k = 0; k < cnt; k++) {
            uint8_t c = data[off + k];
            b->p[b->len++] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
        }
    }
    return 0;
}

int logger_format_event(struct logger_buf *b, const struct sluice_event *ev, size_t max_bytes)
{
    b->len = 0;
    size_t n = ev->body_len < max_bytes ? ev->body_len : max_bytes;
    if (append(b, "Event: { headers:", 17) || headers_append(b, ev) || append(b, " body:", 6) ||
        hexdump_append(b, ev->body, n) || append(b, " }", 2))
        return SLUICE_ENOMEM;
    b->p[b->len] = '\0';
    return 0;
}
