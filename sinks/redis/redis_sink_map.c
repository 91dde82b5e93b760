/*
 * The redis sink's per-batch aggregate (see redis_sink_map.h). Tables are sized at create()
 * from batchSize (every table holds at most one item per event), the arena grows by doubling
 * and is kept across batches: steady state allocates nothing per event or per batch.
 */
#include "redis_sink_map.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_MIN (64 * 1024)

/* 8 bytes per step (the batch fingerprint hashes every body), then a final mix. */
uint64_t rs_hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull), w;
    for (; n >= 8; b += 8, n -= 8) {
        memcpy(&w, b, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, b, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint32_t pow2_slots(size_t cap)
{
    uint32_t n = 16;
    while (n < cap * 2)
        n <<= 1;
    return n;
}

int rs_map_init(struct rs_map *m, size_t cap)
{
    memset(m, 0, sizeof(*m));
    if (cap == 0 || cap > (1u << 28))
        return -1;
    m->cap = cap;
    uint32_t slots = pow2_slots(cap + 1);
    m->emask = m->wmask = m->smask = slots - 1;
    m->e = calloc(cap, sizeof(*m->e));
    m->w = calloc(cap, sizeof(*m->w));
    m->s = calloc(cap + 1, sizeof(*m->s));
    m->eidx = calloc(slots, sizeof(uint32_t));
    m->widx = calloc(slots, sizeof(uint32_t));
    m->sidx = calloc(slots, sizeof(uint32_t));
    m->arena.cap = ARENA_MIN;
    m->arena.buf = malloc(m->arena.cap);
    if (!m->e || !m->w || !m->s || !m->eidx || !m->widx || !m->sidx || !m->arena.buf) {
        rs_map_free(m);
        return -1;
    }
    return 0;
}

void rs_map_free(struct rs_map *m)
{
    free(m->e);
    free(m->w);
    free(m->s);
    free(m->eidx);
    free(m->widx);
    free(m->sidx);
    free(m->arena.buf);
    memset(m, 0, sizeof(*m));
}

void rs_map_reset(struct rs_map *m)
{
    /* clear only the slots in use (a batch touches few) */
    for (uint32_t i = 0; i < m->ne; i++) {
        uint32_t j = (uint32_t)m->e[i].hash & m->emask;
        while (m->eidx[j])
            m->eidx[j] = 0, j = (j + 1) & m->emask;
    }
    for (uint32_t i = 0; i < m->nw; i++) {
        uint32_t j = (uint32_t)rs_hash(&m->w[i].start_ms, 8, 1) & m->wmask;
        while (m->widx[j])
            m->widx[j] = 0, j = (j + 1) & m->wmask;
    }
    for (uint32_t i = 0; i < m->ns; i++) {
        uint32_t j = (uint32_t)m->s[i].hash & m->smask;
        while (m->sidx[j])
            m->sidx[j] = 0, j = (j + 1) & m->smask;
    }
    m->ne = m->nw = m->ns = 0;
    m->arena.len = 0;
}

static int arena_put(struct rs_arena *a, const char *s, size_t n, size_t *off)
{
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap;
        while (a->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(a->buf, cap);
        if (!b)
            return -1;
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n);
    a->buf[a->len + n] = '\0';
    *off = a->len;
    a->len += n + 1;
    return 0;
}

int rs_map_window(struct rs_map *m, int64_t start_ms, uint32_t *idx)
{
    uint32_t j = (uint32_t)rs_hash(&start_ms, 8, 1) & m->wmask;
    for (; m->widx[j]; j = (j + 1) & m->wmask) {
        uint32_t i = m->widx[j] - 1;
        if (m->w[i].start_ms == start_ms) {
            *idx = i;
            return 0;
        }
    }
    if (m->nw >= m->cap)
        return -1;
    m->w[m->nw].start_ms = start_ms;
    m->widx[j] = ++m->nw;
    *idx = m->nw - 1;
    return 0;
}

int rs_map_slice(struct rs_map *m, const char *tp, size_t len, uint32_t *idx, int *created)
{
    uint64_t h = rs_hash(tp, len, 2);
    uint32_t j = (uint32_t)h & m->smask;
    *created = 0;
    for (; m->sidx[j]; j = (j + 1) & m->smask) {
        uint32_t i = m->sidx[j] - 1;
        const struct rs_slice *s = &m->s[i];
        if (s->hash == h && s->tlen == len && memcmp(m->arena.buf + s->toff, tp, len) == 0) {
            *idx = i;
            return 0;
        }
    }
    if (m->ns >= m->cap + 1)
        return -1;
    struct rs_slice *s = &m->s[m->ns];
    memset(s, 0, sizeof(*s));
    if (arena_put(&m->arena, tp, len, &s->toff))
        return -1;
    s->hash = h;
    s->tlen = (uint32_t)len;
    s->lo = s->hi = s->running = RS_NO_OFFSET;
    m->sidx[j] = ++m->ns;
    *idx = m->ns - 1;
    *created = 1;
    return 0;
}

int rs_map_add(struct rs_map *m, uint32_t slice, uint32_t win, const char *g, size_t glen,
               int64_t by)
{
    if (glen > UINT32_MAX)
        return -1;
    uint64_t h = rs_hash(g, glen, ((uint64_t)slice << 32) ^ win);
    uint32_t j = (uint32_t)h & m->emask;
    for (; m->eidx[j]; j = (j + 1) & m->emask) {
        struct rs_entry *e = &m->e[m->eidx[j] - 1];
        if (e->hash == h && e->slice == slice && e->win == win && e->glen == glen &&
            memcmp(m->arena.buf + e->goff, g, glen) == 0) {
            e->count += by;
            return 0;
        }
    }
    if (m->ne >= m->cap)
        return -1;
    struct rs_entry *e = &m->e[m->ne];
    if (arena_put(&m->arena, g, glen, &e->goff))
        return -1;
    e->hash = h;
    e->count = by;
    e->glen = (uint32_t)glen;
    e->win = win;
    e->slice = slice;
    e->next = 0;
    m->eidx[j] = ++m->ne;
    struct rs_slice *s = &m->s[slice];
    if (s->last)
        m->e[s->last - 1].next = m->ne;
    else
        s->first = m->ne;
    s->last = m->ne;
    s->n_entries++;
    return 0;
}
