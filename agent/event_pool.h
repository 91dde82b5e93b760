/*
 * A recycling allocator for event chunks of one size. Events are made on a source's thread and
 * freed on a sink's thread; with plain malloc every such free takes the owning arena's lock.
 * Here each thread keeps a small cache and hands chunks over in magazines, so the hot path
 * takes a lock once per magazine, not once per event. Bounded: at most EVENT_POOL_DEPOT_MAX
 * idle magazines are kept; beyond that chunks go back to malloc.
 */
#ifndef SLUICE_EVENT_POOL_H
#define SLUICE_EVENT_POOL_H

#include <stddef.h>

#define EVENT_POOL_CHUNK 512 /* bytes per chunk, struct and inline body together */

/* A chunk of EVENT_POOL_CHUNK bytes, or NULL when out of memory. */
void *event_pool_get(void);
/* Give back a chunk from event_pool_get (from any thread). */
void event_pool_put(void *chunk);
/* Frees the idle chunks of the depot and of the calling thread (tests, agent exit). */
void event_pool_trim(void);

#endif
