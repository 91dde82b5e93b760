/*
 * Runtime objects of a running agent: one sluice_ctx per component instance (counters, name,
 * stop flag), channels with their transaction wrapper, sources with their interceptor chain
 * and target channels, sinks with their runner thread. Internal to the agent.
 */
#ifndef SLUICE_RUNTIME_H
#define SLUICE_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config_model.h"
#include "sluice/plugin.h"

struct agent;

struct sluice_ctx {
    char label[160]; /* "source:r1", the log prefix */
    const char *name;
    const char *type_word; /* "SOURCE", "CHANNEL", "SINK", "INTERCEPTOR" (metrics) */
    struct agent *agent;
    _Atomic uint64_t counters[SLUICE_CTR__COUNT];
    _Atomic uint64_t touched; /* bit per counter that was ever moved (published) */
    _Atomic int64_t start_ms, stop_ms;
    atomic_int stopping;
};

struct rt_channel {
    struct sluice_ctx ctx;
    struct comp *comp;
    const struct sluice_channel_ops *ops;
    void *self;
    int started;
};

/* A channel as one sink sees it; holds that sink's open transactions (SLUICE_SINK_TX_MAX). */
struct sluice_tx {
    struct sluice_channel *view;
    void *tx;
    int open;
    size_t taken;
};

struct sluice_channel {
    struct rt_channel *ch;
    struct sluice_ctx *user; /* the sink, for its drain counters */
    int64_t batch_size;
    struct sluice_tx tx[SLUICE_SINK_TX_MAX];
};

struct rt_interceptor {
    struct sluice_ctx ctx;
    struct comp *comp;
    const struct sluice_interceptor_ops *ops;
    void *self;
};

struct rt_source {
    struct sluice_ctx ctx;
    struct comp *comp;
    const struct sluice_source_ops *ops;
    void *self;
    struct rt_interceptor *ics;
    size_t n_ics;
    struct rt_channel **chans;
    unsigned char *optional;
    size_t n_chans;
    pthread_t thread;
    int thread_started;
    int started;
    atomic_ulong rr;       /* load_balancing selector: next channel */
    atomic_int abort_emit; /* this source is being stopped: emit stops waiting on full channels */
};

struct rt_sink {
    struct sluice_ctx ctx;
    struct comp *comp;
    const struct sluice_sink_ops *ops;
    void *self;
    struct sluice_channel view;
    pthread_t thread;
    int thread_started;
    int started;
    int in_group;     /* run by its group's thread */
    atomic_int done;  /* runner finished */
    atomic_int drain; /* runner: exit once the channel is empty */
};

/* A sink group: one runner thread for all its sinks, which have none of their own. */
struct rt_group {
    struct sluice_ctx ctx;
    struct comp *comp;
    struct rt_sink **sinks; /* group order (failover: by priority, highest first) */
    size_t n;
    int64_t *until; /* failover: cool-down end; load_balance: backoff end (mono ms) */
    int *failures;
    unsigned char *failed; /* failover: in the failed list */
    size_t rr;             /* load_balance round robin */
    pthread_t thread;
    int thread_started;
    atomic_int done;
    atomic_int drain; /* runner: exit once the channels are empty */
};

/* sink_group.c: one call of the group's processor (READY, BACKOFF or an error). */
int group_process(struct rt_group *g, struct sluice_err *err);
int group_init(struct rt_group *g);
void group_free(struct rt_group *g);
int group_runner_start(struct rt_group *g, struct sluice_err *err);
void group_runner_join(struct rt_group *g);

/* Counter helpers used by the core. */
void ctx_init(struct sluice_ctx *ctx, struct agent *a, const char *kind_word, const char *name);
static inline void ctr_add(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t by)
{
    atomic_fetch_add_explicit(&ctx->counters[c], by, memory_order_relaxed);
    if (!(atomic_load_explicit(&ctx->touched, memory_order_relaxed) & (1ull << c)))
        atomic_fetch_or(&ctx->touched, 1ull << c);
}
static inline void ctr_set(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t v)
{
    atomic_store_explicit(&ctx->counters[c], v, memory_order_relaxed);
    if (!(atomic_load_explicit(&ctx->touched, memory_order_relaxed) & (1ull << c)))
        atomic_fetch_or(&ctx->touched, 1ull << c);
}
int64_t now_ms(void);
int64_t mono_ms(void);

/* channel_tx.c: the channel wrapper (Flume's channel counters around the plugin's ops). */
void *chan_tx_begin(struct rt_channel *ch);
int chan_put(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t n,
             struct sluice_err *err);
int chan_take(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t max,
              size_t *n_out);
/* SLUICE_ENOTSUP when the channel plugin has no take_nowait. */
int chan_take_nowait(struct rt_channel *ch, void *tx, struct sluice_event **evs, size_t max,
                     size_t *n_out);
int chan_commit(struct rt_channel *ch, void *tx, size_t puts, size_t takes, struct sluice_err *err);
void chan_rollback(struct rt_channel *ch, void *tx);
void chan_tx_free(struct rt_channel *ch, void *tx);
uint64_t chan_size(struct rt_channel *ch);

/* channel_processor.c: a source's emit (interceptors, selector, puts with retry). */
int chproc_emit(struct rt_source *src, struct sluice_event **evs, size_t n, struct sluice_err *err);

/* host.c */
extern const struct sluice_host agent_host;
struct sluice_ctx *ctx_of_source(struct rt_source *s);

/* source_runner.c / sink_runner.c */
int source_runner_start(struct rt_source *s, struct sluice_err *err);
void source_runner_join(struct rt_source *s);
int sink_runner_start(struct rt_sink *k, struct sluice_err *err);
void sink_runner_join(struct rt_sink *k);

#endif
