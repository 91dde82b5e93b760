/*
 * Line reading for the taildir source, as Flume's TailFile does it on bytes: lines end at '\n'
 * and one '\r' right before it is removed; no charset decoding (NUL bytes and invalid UTF-8
 * pass through). Memory stays bounded: only the first max + 1 bytes of a line are kept, so a
 * 100 MB line is streamed through a 64 KiB buffer and truncated or skipped, never held whole.
 * A line in progress survives between calls, so a file growing slowly is read once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taildir_source.h"

static const uint8_t empty_body[1];

void td_line_reset(struct td_line *l, int64_t at)
{
    l->start = l->scanned = at;
    l->last = 0;
}

void td_line_free(struct td_line *l)
{
    free(l->keep);
    l->keep = NULL;
    l->keep_cap = 0;
}

/* Append p[0..n) to the kept prefix, which never exceeds max + 1 bytes. */
static int keep_bytes(struct td_line *l, size_t max, const uint8_t *p, size_t n)
{
    int64_t have64 = l->scanned - l->start;
    size_t limit = max + 1;
    if (have64 >= (int64_t)limit || n == 0)
        return 0;
    size_t have = (size_t)have64;
    size_t take = n < limit - have ? n : limit - have;
    if (have + take > l->keep_cap) {
        size_t cap = l->keep_cap ? l->keep_cap : 256;
        while (cap < have + take)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        uint8_t *k = realloc(l->keep, cap);
        if (!k)
            return SLUICE_ENOMEM;
        l->keep = k;
        l->keep_cap = cap;
    }
    memcpy(l->keep + have, p, take);
    return 0;
}

static void fill_out(const struct td_line *l, size_t max, int skip_overflow, int64_t content,
                     int64_t end, struct td_line_out *out)
{
    memset(out, 0, sizeof(*out));
    out->offset = l->start;
    out->end = end;
    out->raw_len = content;
    out->body = content > 0 ? l->keep : empty_body;
    out->len = (size_t)content;
    if (content > (int64_t)max) {
        out->overflow = 1;
        out->len = skip_overflow ? 0 : max;
        if (skip_overflow)
            out->body = NULL;
    }
}

int td_read_lines(int fd, struct td_line *l, size_t max, int skip_overflow, uint8_t *buf,
                  size_t buf_len, int64_t *budget, td_line_fn fn, void *arg, int *err_no)
{
    for (;;) {
        if (*budget <= 0)
            return TD_READ_BUDGET;
        ssize_t n = pread(fd, buf, buf_len, l->scanned);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *err_no = errno;
            return TD_READ_ERR;
        }
        if (n == 0)
            return TD_READ_EOF;
        *budget -= n;
        const uint8_t *p = buf, *end = buf + n;
        while (p < end) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            size_t chunk = (size_t)((nl ? nl : end) - p);
            if (keep_bytes(l, max, p, chunk) != 0) {
                *err_no = ENOMEM;
                return TD_READ_ERR;
            }
            if (chunk)
                l->last = p[chunk - 1];
            l->scanned += (int64_t)chunk;
            if (!nl)
                break;
            int64_t raw = l->scanned - l->start;
            int64_t content = raw > 0 && l->last == '\r' ? raw - 1 : raw;
            struct td_line_out out;
            fill_out(l, max, skip_overflow, content, l->scanned + 1, &out);
            int rc = fn(arg, &out);
            td_line_reset(l, out.end);
            if (rc != 0)
                return rc < 0 ? rc : TD_READ_STOP;
            p = nl + 1;
        }
    }
}

int td_line_final(struct td_line *l, size_t max, int skip_overflow, struct td_line_out *out)
{
    int64_t raw = l->scanned - l->start;
    if (raw <= 0)
        return 0;
    /* as Flume: the rest of a closing file is one line, bytes as they are */
    fill_out(l, max, skip_overflow, raw, l->scanned, out);
    return 1;
}
