/*
 * The file channel's in-memory structures: the queue of committed event positions (a ring
 * that grows on demand and takes batches at either end), and the two maps replay needs - the
 * set of positions consumed by committed takes and the records of transactions whose commit
 * has not been read yet.
 */
#include <stdlib.h>
#include <string.h>

#include "file_channel.h"

/* ---- Queue ---------------------------------------------------------------------------------- */

int fc_queue_reserve(struct fc_queue *q, size_t need)
{
    if (need <= q->size)
        return SLUICE_OK;
    size_t nsize = q->size ? q->size * 2 : 1024;
    if (nsize < need)
        nsize = need;
    fc_pos *v = malloc(nsize * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    if (q->count)
        fc_queue_copy(q, v);
    free(q->ring);
    q->ring = v;
    q->size = nsize;
    q->head = 0;
    return SLUICE_OK;
}

void fc_queue_push_back(struct fc_queue *q, const fc_pos *src, size_t n)
{
    size_t tail = (q->head + q->count) % q->size;
    size_t first = q->size - tail;
    if (first > n)
        first = n;
    memcpy(q->ring + tail, src, first * sizeof(*src));
    memcpy(q->ring, src + first, (n - first) * sizeof(*src));
    q->count += n;
}

void fc_queue_push_front(struct fc_queue *q, const fc_pos *src, size_t n)
{
    size_t head = (q->head + q->size - n % q->size) % q->size;
    size_t first = q->size - head;
    if (first > n)
        first = n;
    memcpy(q->ring + head, src, first * sizeof(*src));
    memcpy(q->ring, src + first, (n - first) * sizeof(*src));
    q->head = head;
    q->count += n;
}

void fc_queue_pop_front(struct fc_queue *q, fc_pos *dst, size_t n)
{
    size_t first = q->size - q->head;
    if (first > n)
        first = n;
    memcpy(dst, q->ring + q->head, first * sizeof(*dst));
    memcpy(dst + first, q->ring, (n - first) * sizeof(*dst));
    q->head = (q->head + n) % q->size;
    q->count -= n;
}

void fc_queue_copy(const struct fc_queue *q, fc_pos *dst)
{
    size_t first = q->size - q->head;
    if (first > q->count)
        first = q->count;
    memcpy(dst, q->ring + q->head, first * sizeof(*dst));
    memcpy(dst + first, q->ring, (q->count - first) * sizeof(*dst));
}

void fc_queue_free(struct fc_queue *q)
{
    free(q->ring);
    memset(q, 0, sizeof(*q));
}

/* ---- Position set --------------------------------------------------------------------------- */

static size_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int posset_grow(struct fc_posset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    uint64_t *v = calloc(ncap, sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i])
            continue;
        size_t j = mix(s->slots[i]) & (ncap - 1);
        while (v[j])
            j = (j + 1) & (ncap - 1);
        v[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = v;
    s->cap = ncap;
    return SLUICE_OK;
}

int fc_posset_add(struct fc_posset *s, fc_pos p)
{
    if ((s->n + 1) * 2 > s->cap && posset_grow(s) != SLUICE_OK)
        return SLUICE_ENOMEM;
    size_t j = mix(p) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == p)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = p;
    s->n++;
    return 1;
}

int fc_posset_has(const struct fc_posset *s, fc_pos p)
{
    if (!s->cap)
        return 0;
    size_t j = mix(p) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == p)
            return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

void fc_posset_free(struct fc_posset *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* ---- Pending transactions (linear probing, backward-shift deletion) ------------------------- */

static int txmap_grow(struct fc_txmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct fc_pending *v = calloc(ncap, sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].txid)
            continue;
        size_t j = mix(m->slots[i].txid) & (ncap - 1);
        while (v[j].txid)
            j = (j + 1) & (ncap - 1);
        v[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = v;
    m->cap = ncap;
    return SLUICE_OK;
}

struct fc_pending *fc_txmap_get(struct fc_txmap *m, uint64_t txid, int create)
{
    if (m->cap) {
        size_t j = mix(txid) & (m->cap - 1);
        while (m->slots[j].txid) {
            if (m->slots[j].txid == txid)
                return &m->slots[j];
            j = (j + 1) & (m->cap - 1);
        }
    }
    if (!create)
        return NULL;
    if ((m->n + 1) * 2 > m->cap && txmap_grow(m) != SLUICE_OK)
        return NULL;
    size_t j = mix(txid) & (m->cap - 1);
    while (m->slots[j].txid)
        j = (j + 1) & (m->cap - 1);
    memset(&m->slots[j], 0, sizeof(m->slots[j]));
    m->slots[j].txid = txid;
    m->n++;
    return &m->slots[j];
}

void fc_txmap_remove(struct fc_txmap *m, uint64_t txid)
{
    struct fc_pending *e = fc_txmap_get(m, txid, 0);
    if (!e)
        return;
    free(e->pos);
    size_t i = (size_t)(e - m->slots), mask = m->cap - 1;
    m->slots[i].txid = 0;
    m->n--;
    /* shift later members of the cluster back so lookups never stop at the hole */
    for (size_t j = (i + 1) & mask; m->slots[j].txid; j = (j + 1) & mask) {
        size_t home = mix(m->slots[j].txid) & mask;
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (between)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j].txid = 0;
        m->slots[j].pos = NULL;
        i = j;
    }
}

int fc_pending_add(struct fc_pending *p, fc_pos pos)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        fc_pos *v = realloc(p->pos, ncap * sizeof(*v));
        if (!v)
            return SLUICE_ENOMEM;
        p->pos = v;
        p->cap = ncap;
    }
    p->pos[p->n++] = pos;
    return SLUICE_OK;
}

void fc_txmap_free(struct fc_txmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].txid)
            free(m->slots[i].pos);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}
