/*
 * A tiny in-memory channel for sink tests: a bounded queue behind struct sluice_channel_ops
 * with the ABI's ownership rules (commit frees taken events, rollback requeues them in order),
 * plus switches to fail a commit and counters of what the sink did.
 */
#ifndef SLUICE_FAKE_CHANNEL_H
#define SLUICE_FAKE_CHANNEL_H

#include "test_host.h"

#define FAKE_CHANNEL_CAP 1024

struct fake_channel {
    struct sluice_channel ch; /* hand &fc->ch to the sink */
    struct sluice_event *q[FAKE_CHANNEL_CAP];
    size_t n;
    int fail_commit; /* next commits return SLUICE_EIO while set */
    size_t commits, rollbacks, takes;
    size_t max_take_seen; /* largest `max` a sink asked for */
};

void fake_channel_init(struct fake_channel *fc);
/* Queue an event with this body (and optional "k", "v" header pairs, NULL-terminated). */
void fake_channel_push(struct fake_channel *fc, const void *body, size_t len, ...);
/* Frees whatever is still queued. */
void fake_channel_destroy(struct fake_channel *fc);

#endif
