/*
 * The per-batch aggregate of the redis sink: counts keyed by (Kafka slice, window, group value)
 * in an open-addressing table sized once for the batch size, with the group and topic texts in
 * one arena that is reset per batch, so counting an event allocates nothing.
 */
#ifndef SLUICE_REDIS_SINK_MAP_H
#define SLUICE_REDIS_SINK_MAP_H

#include <stddef.h>
#include <stdint.h>

#define RS_NO_OFFSET INT64_MIN

struct rs_arena {
    char *buf;
    size_t len, cap;
};

struct rs_entry {
    uint64_t hash;
    int64_t count;
    size_t goff; /* group text in the arena */
    uint32_t glen;
    uint32_t win;   /* index into windows */
    uint32_t slice; /* index into slices */
    uint32_t next;  /* next entry of the same slice, +1 (0: none) */
};

struct rs_window {
    int64_t start_ms;
};

/* A slice: the events of one Kafka topic-partition (tlen > 0, text "topic/partition"), or of
 * no partition (tlen == 0). lo..hi are the offsets the batch consumed (RS_NO_OFFSET if none). */
struct rs_slice {
    uint64_t hash;
    size_t toff;
    uint32_t tlen;
    int64_t lo, hi;
    int64_t running; /* highest offset consumed so far (starts at the known floor) */
    uint32_t first, last, n_entries; /* entry list, +1 */
    uint64_t counted, unmatched, late, dups;
};

struct rs_map {
    size_t cap; /* events per batch: bounds every table */
    struct rs_entry *e;
    uint32_t ne, *eidx, emask;
    struct rs_window *w;
    uint32_t nw, *widx, wmask;
    struct rs_slice *s;
    uint32_t ns, *sidx, smask;
    struct rs_arena arena;
};

int rs_map_init(struct rs_map *m, size_t cap);
void rs_map_free(struct rs_map *m);
void rs_map_reset(struct rs_map *m);

/* Find or add; 0 on success, -1 when out of memory or past the table's bound. */
int rs_map_window(struct rs_map *m, int64_t start_ms, uint32_t *idx);
int rs_map_slice(struct rs_map *m, const char *tp, size_t len, uint32_t *idx, int *created);
int rs_map_add(struct rs_map *m, uint32_t slice, uint32_t win, const char *g, size_t glen,
               int64_t by);

static inline const char *rs_map_str(const struct rs_map *m, size_t off)
{
    return m->arena.buf + off;
}

uint64_t rs_hash(const void *p, size_t n, uint64_t seed);

#endif
