/*
 * The bytes of one netcat connection (Flume's NetcatSocketHandler): decode with `encoding`,
 * cut lines at '\n' (a '\r' stays in the body), hand the lines read together to the channel in
 * one emit, and answer each line with "OK\n" (ack-every-event) or "FAILED: <why>\n" when the
 * channel did not take it. A line longer than max-line-length gets Flume's FAILED message and
 * the connection closes; so does input that is not valid in the encoding (Flume's decoder
 * throws there and drops the connection without a word; sluice says why).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/utf8.h"
#include "netcat_source.h"

static int grow(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint8_t *n = realloc(*b, c);
    if (!n)
        return SLUICE_ENOMEM;
    *b = n;
    *cap = c;
    return 0;
}

int netcat_reply(struct netcat_source *s, struct tcp_conn *c, const char *text, size_t len)
{
    struct netcat_conn *nc = c->user;
    if (s->utf8 || nc->enc == (iconv_t)-1)
        return tcp_conn_reply(c, text, len);
    char buf[1024];
    char *in = (char *)text;
    size_t inleft = len;
    while (inleft > 0) {
        char *out = buf;
        size_t outleft = sizeof(buf);
        size_t r = iconv(nc->enc, &in, &inleft, &out, &outleft);
        if (tcp_conn_reply(c, buf, sizeof(buf) - outleft))
            return SLUICE_ENOMEM;
        if (r == (size_t)-1 && errno != E2BIG) {
            /* not representable: Java's encoder writes '?' */
            if (tcp_conn_reply(c, "?", 1))
                return SLUICE_ENOMEM;
            in++;
            inleft--;
        }
    }
    return 0;
}

/* Hand the collected lines to the channel and answer each one. */
static void flush_batch(struct netcat_source *s, struct tcp_conn *c)
{
    size_t n = s->n_batch;
    if (n == 0)
        return;
    s->n_batch = 0;
    struct sluice_err err = {0};
    int rc = s->host->emit(s->ctx, s->batch, n, &err);
    if (rc == SLUICE_OK) {
        if (s->conf->ack_every_event)
            for (size_t i = 0; i < n; i++)
                netcat_reply(s, c, "OK\n", 3);
        return;
    }
    s->failed += n;
    s->host->log(s->ctx, SLUICE_LOG_WARN,
                 "Error processing event: %s (%zu lines from %s answered FAILED)", err.msg, n,
                 c->peer_ip);
    char msg[SLUICE_ERR_MSG_MAX + 16];
    int len = snprintf(msg, sizeof(msg), "FAILED: %s\n", err.msg[0] ? err.msg : "not stored");
    for (size_t i = 0; i < n; i++)
        netcat_reply(s, c, msg, (size_t)len);
}

static void add_line(struct netcat_source *s, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct sluice_event *ev = s->host->event_new(p, n);
    if (!ev) {
        flush_batch(s, c);
        netcat_reply(s, c, "FAILED: out of memory\n", 22);
        return;
    }
    s->batch[s->n_batch++] = ev;
    if (s->n_batch == NETCAT_BATCH_MAX)
        flush_batch(s, c);
}

/* Java chars (UTF-16 units) in well-formed UTF-8. */
static size_t units_of(const uint8_t *p, size_t n)
{
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        u += (p[i] & 0xC0) != 0x80 ? (p[i] >= 0xF0 ? 2 : 1) : 0;
    return u;
}

static void fail_and_close(struct netcat_source *s, struct tcp_conn *c, const char *text)
{
    struct netcat_conn *nc = c->user;
    flush_batch(s, c); /* lines before the bad one are answered first */
    netcat_reply(s, c, text, strlen(text));
    nc->done = 1;
    tcp_conn_close_after_replies(c);
    s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
}

/* Split decoded text into lines. */
static void scan(struct netcat_source *s, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct netcat_conn *nc = c->user;
    while (n > 0 && !nc->done) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        size_t u = units_of(p, seg);
        if (nc->units + u >= s->max_chars) {
            s->too_long++;
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "Client %s sent event exceeding the maximum length (%zu chars, "
                         "including newline): connection closed",
                         c->peer_ip, s->max_chars);
            char msg[128];
            snprintf(msg, sizeof(msg),
                     "FAILED: Event exceeds the maximum length (%zu chars, including newline)\n",
                     s->max_chars);
            fail_and_close(s, c, msg);
            return;
        }
        if (nl && nc->len == 0) {
            add_line(s, c, p, seg); /* the whole line is in this read */
        } else {
            if (grow(&nc->line, &nc->cap, nc->len + seg + 1)) {
                fail_and_close(s, c, "FAILED: out of memory\n");
                return;
            }
            memcpy(nc->line + nc->len, p, seg);
            nc->len += seg;
            nc->units += u;
            if (nl) {
                add_line(s, c, nc->line, nc->len);
                nc->len = nc->units = 0;
            }
        }
        if (!nl)
            return;
        p += seg + 1;
        n -= seg + 1;
    }
}

static void malformed(struct netcat_source *s, struct tcp_conn *c)
{
    s->malformed++;
    s->host->log(s->ctx, SLUICE_LOG_WARN,
                 "Client %s sent bytes that are not valid %s: connection closed", c->peer_ip,
                 s->encoding);
    char msg[200];
    snprintf(msg, sizeof(msg), "FAILED: Input is not valid %s\n", s->encoding);
    fail_and_close(s, c, msg);
}

/* UTF-8 input: validate in place; a character split across reads waits in carry. */
static void data_utf8(struct netcat_source *s, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct netcat_conn *nc = c->user;
    if (nc->n_carry) {
        /* complete the split character with the first bytes of this read */
        uint8_t tmp[8];
        size_t k = nc->n_carry;
        memcpy(tmp, nc->carry, k);
        size_t add = n < sizeof(tmp) - k ? n : sizeof(tmp) - k;
        memcpy(tmp + k, p, add);
        int r = utf8_seq(tmp, k + add);
        if (r < 0) {
            malformed(s, c);
            return;
        }
        if (r == 0) { /* still incomplete: all of p went into carry */
            memcpy(nc->carry + k, p, add);
            nc->n_carry += add;
            return;
        }
        scan(s, c, tmp, (size_t)r);
        p += (size_t)r - k;
        n -= (size_t)r - k;
        nc->n_carry = 0;
    }
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int r = utf8_seq(p + i, n - i);
        if (r > 0) {
            i += (size_t)r;
            continue;
        }
        scan(s, c, p, i);
        if (r < 0) {
            malformed(s, c);
        } else {
            memcpy(nc->carry, p + i, n - i);
            nc->n_carry = n - i;
        }
        return;
    }
    scan(s, c, p, n);
}

/* Other encodings: iconv to UTF-8, keeping a split character for the next read. */
static void data_iconv(struct netcat_source *s, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct netcat_conn *nc = c->user;
    uint8_t *joined = NULL;
    if (nc->n_carry) {
        if (!(joined = malloc(nc->n_carry + n))) {
            fail_and_close(s, c, "FAILED: out of memory\n");
            return;
        }
        memcpy(joined, nc->carry, nc->n_carry);
        memcpy(joined + nc->n_carry, p, n);
        n += nc->n_carry;
        p = joined;
        nc->n_carry = 0;
    }
    if (grow(&nc->text, &nc->text_cap, 4 * n + 16)) {
        free(joined);
        fail_and_close(s, c, "FAILED: out of memory\n");
        return;
    }
    char *in = (char *)p, *out = (char *)nc->text;
    size_t inleft = n, outleft = nc->text_cap;
    size_t r = iconv(nc->dec, &in, &inleft, &out, &outleft);
    int e = errno;
    scan(s, c, nc->text, nc->text_cap - outleft);
    if (r == (size_t)-1 && !nc->done) {
        if (e == EINVAL && inleft <= sizeof(nc->carry)) {
            memcpy(nc->carry, in, inleft);
            nc->n_carry = inleft;
        } else {
            malformed(s, c);
        }
    }
    free(joined);
}

/* ---- tcp_server callbacks ------------------------------------------------------------- */

static int nc_open(void *arg, struct tcp_conn *c)
{
    struct netcat_source *s = arg;
    struct netcat_conn *nc = calloc(1, sizeof(*nc));
    if (!nc)
        return -1;
    nc->dec = nc->enc = (iconv_t)-1;
    if (!s->utf8) {
        nc->dec = iconv_open("UTF-8", s->encoding);
        nc->enc = iconv_open(s->encoding, "UTF-8");
        if (nc->dec == (iconv_t)-1 || nc->enc == (iconv_t)-1) {
            if (nc->dec != (iconv_t)-1)
                iconv_close(nc->dec);
            if (nc->enc != (iconv_t)-1)
                iconv_close(nc->enc);
            free(nc);
            return -1;
        }
    }
    c->user = nc;
    return 0;
}

static void nc_data(void *arg, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct netcat_source *s = arg;
    struct netcat_conn *nc = c->user;
    if (nc->done)
        return;
    if (s->utf8)
        data_utf8(s, c, p, n);
    else
        data_iconv(s, c, p, n);
    flush_batch(s, c);
}

static void nc_eof(void *arg, struct tcp_conn *c)
{
    struct netcat_source *s = arg;
    struct netcat_conn *nc = c->user;
    if (nc->done)
        return;
    if (nc->n_carry) {
        malformed(s, c); /* the input ended inside a character */
        return;
    }
    /* a last line without '\n': Flume drops it silently; sluice delivers it */
    if (nc->len > 0) {
        add_line(s, c, nc->line, nc->len);
        nc->len = nc->units = 0;
    }
    flush_batch(s, c);
}

static void nc_close(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct netcat_conn *nc = c->user;
    if (!nc)
        return;
    if (nc->dec != (iconv_t)-1)
        iconv_close(nc->dec);
    if (nc->enc != (iconv_t)-1)
        iconv_close(nc->enc);
    free(nc->text);
    free(nc->line);
    free(nc);
    c->user = NULL;
}

const struct tcp_server_ops netcat_conn_ops = {
    .open = nc_open,
    .data = nc_data,
    .eof = nc_eof,
    .close = nc_close,
};
