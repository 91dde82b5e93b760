/*
 * Decoding the Avro binary AvroFlumeEvent{headers: map<string,string>, body: bytes} that
 * Flume's useFlumeEventFormat (and sluice's kafka sink, kafka_avro.c) puts in a record value:
 * zig-zag varint longs, the map as blocks (count, or -count then a byte size, each followed by
 * its entries) ending with a 0 count, then the body. Bytes after the body are ignored, as
 * Flume's direct decoder does. Every length is checked against what is left.
 */
#include <stdlib.h>
#include <string.h>

#include "kafka_source.h"

struct reader {
    const uint8_t *p, *end;
    const char *why;
};

static int read_long(struct reader *r, int64_t *out)
{
    uint64_t z = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->why = "truncated number";
            return -1;
        }
        uint8_t b = *r->p++;
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    r->why = "number longer than 10 bytes";
    return -1;
}

/* A length-prefixed string or bytes value, pointing into the input. */
static int read_bytes(struct reader *r, const uint8_t **p, size_t *len, const char *what)
{
    int64_t n;
    if (read_long(r, &n))
        return -1;
    if (n < 0 || (uint64_t)n > (uint64_t)(r->end - r->p)) {
        r->why = what;
        return -1;
    }
    *p = r->p;
    *len = (size_t)n;
    r->p += n;
    return 0;
}

struct span {
    const uint8_t *k, *v;
    size_t klen, vlen;
};

static int nul_free(const uint8_t *p, size_t n)
{
    return n == 0 || !memchr(p, '\0', n);
}

/* Collect the map's entries (spans into the input) and the body. */
static int parse(struct reader *r, struct span **spans, size_t *n_spans, const uint8_t **body,
                 size_t *body_len)
{
    size_t cap = 0;
    for (;;) {
        int64_t count;
        if (read_long(r, &count))
            return -1;
        if (count == 0)
            break;
        if (count < 0) {
            int64_t block_bytes;
            if (count == INT64_MIN) {
                r->why = "bad map block count";
                return -1;
            }
            if (read_long(r, &block_bytes))
                return -1;
            count = -count;
        }
        /* each entry takes at least two bytes (two empty strings) */
        if ((uint64_t)count > (uint64_t)(r->end - r->p) / 2) {
            r->why = "map block count larger than the record";
            return -1;
        }
        if (*n_spans + (size_t)count > cap) {
            size_t ncap = (*n_spans + (size_t)count) * 2;
            struct span *v = realloc(*spans, ncap * sizeof(*v));
            if (!v)
                return SLUICE_ENOMEM;
            *spans = v;
            cap = ncap;
        }
        for (int64_t i = 0; i < count; i++) {
            struct span *sp = &(*spans)[(*n_spans)++];
            if (read_bytes(r, &sp->k, &sp->klen, "header name longer than the record") ||
                read_bytes(r, &sp->v, &sp->vlen, "header value longer than the record"))
                return -1;
            if (!nul_free(sp->k, sp->klen) || !nul_free(sp->v, sp->vlen)) {
                r->why = "a header contains a NUL byte";
                return -1;
            }
        }
    }
    return read_bytes(r, body, body_len, "body longer than the record");
}

static char *dup_text(const uint8_t *p, size_t n)
{
    char *t = malloc(n + 1);
    if (t) {
        if (n)
            memcpy(t, p, n);
        t[n] = '\0';
    }
    return t;
}

int ksrc_avro_decode(const struct sluice_host *h, const uint8_t *p, size_t n,
                     struct sluice_event **out, const char **why)
{
    struct reader r = {.p = p, .end = p + n, .why = NULL};
    struct span *spans = NULL;
    size_t n_spans = 0;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    *out = NULL;
    int rc = -1;
    if (n == 0)
        r.why = "empty value";
    else
        rc = parse(&r, &spans, &n_spans, &body, &body_len);
    if (rc == SLUICE_ENOMEM) {
        free(spans);
        return SLUICE_ENOMEM;
    }
    if (rc != 0) {
        free(spans);
        *why = r.why ? r.why : "malformed";
        return SLUICE_EINVAL;
    }
    struct sluice_event *ev = h->event_new(body, body_len);
    rc = ev ? SLUICE_OK : SLUICE_ENOMEM;
    for (size_t i = 0; i < n_spans && rc == SLUICE_OK; i++) {
        char *k = dup_text(spans[i].k, spans[i].klen);
        char *v = dup_text(spans[i].v, spans[i].vlen);
        rc = k && v ? h->event_header_set(ev, k, v) : SLUICE_ENOMEM;
        free(k);
        free(v);
    }
    free(spans);
    if (rc != SLUICE_OK) {
        if (ev)
            h->event_free(ev);
        return SLUICE_ENOMEM;
    }
    *out = ev;
    return SLUICE_OK;
}
