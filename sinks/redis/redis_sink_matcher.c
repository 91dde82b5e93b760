/*
 * A batch's regex matches on several threads (see redis_sink_matcher.h). One mutex and two
 * condition variables per matcher, touched twice per batch (hand out, collect), never per
 * event: each helper works on its own contiguous slice of the batch and its own match block.
 */
#include "redis_sink_matcher.h"

#include <stdio.h>
#include <string.h>

static void *helper_main(void *arg)
{
    struct rs_match_helper *hp = arg;
    struct rs_matcher *mt = hp->owner;
    pthread_mutex_lock(&mt->mu);
    for (;;) {
        while (!mt->quit && hp->gen == mt->gen)
            pthread_cond_wait(&mt->work, &mt->mu);
        if (mt->quit)
            break;
        unsigned long gen = mt->gen;
        size_t lo = hp->lo, hi = hp->hi;
        struct sluice_event *const *evs = mt->evs;
        struct rs_match *m = mt->m;
        pthread_mutex_unlock(&mt->mu);
        for (size_t i = lo; i < hi; i++)
            rs_agg_match_with(mt->agg, &hp->mb, evs[i], &m[i]);
        pthread_mutex_lock(&mt->mu);
        hp->gen = gen;
        if (--mt->pending == 0)
            pthread_cond_signal(&mt->done);
    }
    pthread_mutex_unlock(&mt->mu);
    return NULL;
}

size_t rs_matcher_start(struct rs_matcher *mt, const struct rs_agg *agg, size_t threads, char *why,
                        size_t why_len)
{
    memset(mt, 0, sizeof(*mt));
    mt->agg = agg;
    why[0] = '\0';
    if (threads <= 1)
        return 1;
    if (threads > RS_MATCH_THREADS_MAX)
        threads = RS_MATCH_THREADS_MAX;
    if (pthread_mutex_init(&mt->mu, NULL) != 0)
        goto no_sync;
    if (pthread_cond_init(&mt->work, NULL) != 0) {
        pthread_mutex_destroy(&mt->mu);
        goto no_sync;
    }
    if (pthread_cond_init(&mt->done, NULL) != 0) {
        pthread_cond_destroy(&mt->work);
        pthread_mutex_destroy(&mt->mu);
        goto no_sync;
    }
    mt->sync_ready = 1;
    for (size_t i = 0; i + 1 < threads; i++) {
        struct rs_match_helper *hp = &mt->helpers[i];
        hp->owner = mt;
        if (rs_match_block_init(&hp->mb, agg) != 0) {
            snprintf(why, why_len, "out of memory for the match data of helper thread %zu", i + 1);
            break;
        }
        int rc = pthread_create(&hp->thread, NULL, helper_main, hp);
        if (rc != 0) {
            rs_match_block_free(&hp->mb);
            snprintf(why, why_len, "cannot start match helper thread %zu: %s", i + 1, strerror(rc));
            break;
        }
        mt->n_helpers++;
    }
    return 1 + mt->n_helpers;

no_sync:
    snprintf(why, why_len, "cannot create the lock for the match helper threads");
    return 1;
}

void rs_matcher_run(struct rs_matcher *mt, struct rs_agg *agg, struct sluice_event *const *evs,
                    struct rs_match *m, size_t n)
{
    if (mt->n_helpers == 0 || n < RS_MATCH_SPLIT_MIN) {
        for (size_t i = 0; i < n; i++)
            rs_agg_match(agg, evs[i], &m[i]);
        return;
    }
    size_t parts = mt->n_helpers + 1, per = n / parts, extra = n % parts;
    size_t own = per + (extra ? 1 : 0); /* the caller's part comes first */
    pthread_mutex_lock(&mt->mu);
    mt->evs = evs;
    mt->m = m;
    size_t lo = own;
    for (size_t i = 0; i < mt->n_helpers; i++) {
        size_t len = per + (i + 1 < extra ? 1 : 0);
        mt->helpers[i].lo = lo;
        mt->helpers[i].hi = lo + len;
        lo += len;
    }
    mt->pending = mt->n_helpers;
    mt->gen++;
    pthread_cond_broadcast(&mt->work);
    pthread_mutex_unlock(&mt->mu);
    for (size_t i = 0; i < own; i++)
        rs_agg_match(agg, evs[i], &m[i]);
    pthread_mutex_lock(&mt->mu);
    while (mt->pending)
        pthread_cond_wait(&mt->done, &mt->mu);
    mt->evs = NULL;
    mt->m = NULL;
    pthread_mutex_unlock(&mt->mu);
}

void rs_matcher_stop(struct rs_matcher *mt)
{
    if (!mt->sync_ready)
        return;
    pthread_mutex_lock(&mt->mu);
    mt->quit = 1;
    pthread_cond_broadcast(&mt->work);
    pthread_mutex_unlock(&mt->mu);
    for (size_t i = 0; i < mt->n_helpers; i++) {
        pthread_join(mt->helpers[i].thread, NULL);
        rs_match_block_free(&mt->helpers[i].mb);
    }
    pthread_cond_destroy(&mt->done);
    pthread_cond_destroy(&mt->work);
    pthread_mutex_destroy(&mt->mu);
    mt->n_helpers = 0;
    mt->sync_ready = 0;
}
