/*
 * A small in-process host for driving one plugin from a unit test: real events (agent/event.c),
 * logging to stderr, counters in an array, an emit() that captures what a source sends, and a
 * sluice_channel that wraps any channel plugin's ops so sinks can be tested against a real
 * channel. The agent's own host (agent/host.c) is what runs in production.
 */
#ifndef SLUICE_TEST_HOST_H
#define SLUICE_TEST_HOST_H

#include <pthread.h>
#include <stdatomic.h>

#include "sluice/plugin.h"

struct sluice_ctx {
    char name[64];
    _Atomic uint64_t counters[SLUICE_CTR__COUNT];
    atomic_int stopping;
    /* what emit() received, in order (emit takes ownership); protected by mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sluice_event **emitted;
    size_t n_emitted, cap_emitted;
    size_t n_emit_calls;
    /* when set, emit() forwards into this channel (put + commit, retrying while full) */
    struct sluice_channel *forward;
};

struct sluice_channel {
    const struct sluice_channel_ops *ops;
    void *self;
};

struct sluice_tx {
    struct sluice_channel *ch;
    void *tx;
};

extern const struct sluice_host test_host;

void test_ctx_init(struct sluice_ctx *ctx, const char *name);
/* Frees captured events. */
void test_ctx_destroy(struct sluice_ctx *ctx);
/* Wait until at least n events were emitted or timeout_ms passed; returns the count. */
size_t test_ctx_wait_emitted(struct sluice_ctx *ctx, size_t n, int timeout_ms);
uint64_t test_ctx_counter(struct sluice_ctx *ctx, enum sluice_counter c);

#endif
