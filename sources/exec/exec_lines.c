/*
 * Line splitting for the exec source with the rules of Java's BufferedReader.readLine, which
 * Flume uses: '\n', "\r\n" or a lone '\r' ends a line, a "\r" at the end of one read and "\n"
 * at the start of the next are one terminator, and a last line without terminator counts.
 * A line longer than the bound (maxLineLength) is never held whole: its first bytes are kept
 * (truncate) or none (skip), the rest is only counted, and the callback learns its length.
 */
#include <stdlib.h>
#include <string.h>

#include "exec_source.h"

void exec_lines_init(struct exec_lines *ls, size_t max, int utf8_cut, int skip_overflow)
{
    memset(ls, 0, sizeof(*ls));
    ls->max = max ? max : 1;
    ls->utf8_cut = utf8_cut;
    ls->skip_overflow = skip_overflow;
}

void exec_lines_free(struct exec_lines *ls)
{
    free(ls->buf);
    ls->buf = NULL;
    ls->len = ls->cap = 0;
}

void exec_lines_reset(struct exec_lines *ls)
{
    ls->len = 0;
    ls->skip_lf = 0;
    ls->overflow = 0;
    ls->raw_len = 0;
}

/* Where to truncate a full buffer: before a UTF-8 sequence left incomplete at its end. */
static size_t cut_point(const struct exec_lines *ls)
{
    size_t n = ls->len;
    if (!ls->utf8_cut)
        return n;
    /* walk back over at most 3 continuation bytes to the lead byte */
    size_t i = n, back = 0;
    while (i > 0 && back < 3 && (ls->buf[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return n;
    uint8_t lead = ls->buf[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (lead >= 0xC0 && back + 1 < need && i - 1 > 0)
        return i - 1; /* the character does not fit whole */
    return n;
}

/* Append data to the partial line; past the bound only its length is counted. */
static int append(struct exec_lines *ls, const uint8_t *p, size_t n)
{
    if (ls->overflow) {
        ls->raw_len += n;
        return 0;
    }
    size_t take = ls->max - ls->len;
    if (take > n)
        take = n;
    if (ls->len + take > ls->cap) {
        size_t cap = ls->cap ? ls->cap : 4096;
        while (cap < ls->len + take)
            cap *= 2;
        if (cap > ls->max)
            cap = ls->max;
        uint8_t *b = realloc(ls->buf, cap);
        if (!b)
            return SLUICE_ENOMEM;
        ls->buf = b;
        ls->cap = cap;
    }
    memcpy(ls->buf + ls->len, p, take);
    ls->len += take;
    if (n > take) { /* longer than max: keep what truncation sends, count the rest */
        ls->overflow = 1;
        ls->raw_len = (uint64_t)ls->len + (n - take);
        ls->len = ls->skip_overflow ? 0 : cut_point(ls);
    }
    return 0;
}

/* Hand the line in the buffer over and start a new one. */
static int emit(struct exec_lines *ls, exec_line_fn fn, void *arg)
{
    size_t len = ls->len;
    uint64_t raw = ls->overflow ? ls->raw_len : 0;
    int skip = ls->overflow && ls->skip_overflow;
    ls->len = 0;
    ls->overflow = 0;
    ls->raw_len = 0;
    return fn(arg, skip ? NULL : ls->buf, skip ? 0 : len, raw);
}

static size_t find(const uint8_t *p, size_t from, size_t n, uint8_t c)
{
    const uint8_t *q = memchr(p + from, c, n - from);
    return q ? (size_t)(q - p) : n;
}

int exec_lines_feed(struct exec_lines *ls, const uint8_t *p, size_t n, exec_line_fn fn, void *arg)
{
    size_t i = 0;
    if (n == 0)
        return 0;
    if (ls->skip_lf) {
        ls->skip_lf = 0;
        if (p[0] == '\n')
            i = 1;
    }
    /* next '\n' and '\r' at or after i (n = none); each is searched again only once passed,
     * so input that uses only one kind of terminator is still scanned in linear time */
    size_t nl = find(p, i, n, '\n'), cr = find(p, i, n, '\r');
    while (i < n) {
        if (nl < i)
            nl = find(p, i, n, '\n');
        if (cr < i)
            cr = find(p, i, n, '\r');
        size_t e = nl < cr ? nl : cr;
        if (e == n)
            return append(ls, p + i, n - i);
        int rc;
        if (ls->len == 0 && !ls->overflow && e - i <= ls->max) {
            rc = fn(arg, p + i, e - i, 0); /* whole line inside this read: no copy */
        } else {
            rc = append(ls, p + i, e - i);
            if (rc == 0)
                rc = emit(ls, fn, arg);
            ls->len = 0; /* also when out of memory: that line is lost, the next starts clean */
            ls->overflow = 0;
            ls->raw_len = 0;
        }
        i = e + 1;
        if (p[e] == '\r') {
            if (i == n)
                ls->skip_lf = 1;
            else if (p[i] == '\n')
                i++;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int exec_lines_finish(struct exec_lines *ls, exec_line_fn fn, void *arg)
{
    ls->skip_lf = 0;
    if (ls->len == 0 && !ls->overflow)
        return 0;
    return emit(ls, fn, arg);
}
