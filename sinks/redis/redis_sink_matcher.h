/*
 * Matching a batch's events on several threads (the redis sink's matchThreads). The regex is
 * most of the sink's work and each event's match depends only on its body, so a batch is cut
 * into contiguous parts: the calling thread matches the first, helper threads (each with its
 * own PCRE2 match block) the others, and the call returns when every part is done. Counting
 * the matches stays on the calling thread, in batch order.
 */
#ifndef SLUICE_REDIS_SINK_MATCHER_H
#define SLUICE_REDIS_SINK_MATCHER_H

#include <pthread.h>
#include <stddef.h>

#include "redis_sink_agg.h"

#define RS_MATCH_THREADS_MAX 16
/* Smaller batches are matched by the calling thread alone: waking a helper costs more. */
#define RS_MATCH_SPLIT_MIN 256

struct rs_matcher;

struct rs_match_helper {
    struct rs_matcher *owner;
    pthread_t thread;
    struct rs_match_block mb;
    size_t lo, hi;     /* this helper's part of the current batch */
    unsigned long gen; /* the last batch generation it finished */
};

struct rs_matcher {
    const struct rs_agg *agg;
    size_t n_helpers; /* running helper threads (0: everything inline) */
    struct rs_match_helper helpers[RS_MATCH_THREADS_MAX - 1];
    pthread_mutex_t mu;
    pthread_cond_t work; /* helpers wait here for a new generation */
    pthread_cond_t done; /* the caller waits here for the helpers */
    int sync_ready;
    int quit;
    unsigned long gen; /* bumped for every batch handed out */
    size_t pending;    /* helpers still matching the current generation */
    struct sluice_event *const *evs;
    struct rs_match *m;
};

/* Start threads - 1 helpers (threads 1: none). Returns the number of threads that will match
 * (1 + the helpers that started); on a failure to start one, fewer, and why names it. */
size_t rs_matcher_start(struct rs_matcher *mt, const struct rs_agg *agg, size_t threads, char *why,
                        size_t why_len);
/* Match evs[0..n) into m[0..n), as rs_agg_match would one by one. The agg's own match block
 * is used by the calling thread. */
void rs_matcher_run(struct rs_matcher *mt, struct rs_agg *agg, struct sluice_event *const *evs,
                    struct rs_match *m, size_t n);
/* Join the helpers; safe on a matcher that never started or started none. */
void rs_matcher_stop(struct rs_matcher *mt);

#endif
