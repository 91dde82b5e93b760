/*
 * Events made on one thread and freed on another, as a source and a sink do: bodies intact,
 * headers freed, pooled and plain (large) events mixed, the pool trimmed at the end. Under
 * ASan the pool is compiled out and the same test checks plain malloc/free instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_pool.h"

#define ROUNDS 200
#define PER    500 /* events handed over per round: several magazines */

struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sluice_event *evs[PER];
    size_t n; /* filled slots, 0 when the consumer took them */
    int done;
    size_t freed, checked_bad;
};

static size_t body_len_for(size_t round, size_t i)
{
    /* mostly small (pooled), every 7th larger than a chunk */
    return i % 7 == 0 ? EVENT_POOL_CHUNK + (round + i) % 300 : (round * 31 + i) % 200;
}

static void fill(char *buf, size_t len, size_t round, size_t i)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)('a' + (round + i + k) % 26);
}

static void *consumer(void *arg)
{
    struct handoff *h = arg;
    char want[EVENT_POOL_CHUNK + 400];
    size_t round = 0;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (h->n == 0 && !h->done)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->n == 0 && h->done) {
            pthread_mutex_unlock(&h->mu);
            return NULL;
        }
        for (size_t i = 0; i < h->n; i++) {
            struct sluice_event *ev = h->evs[i];
            size_t len = body_len_for(round, i);
            fill(want, len, round, i);
            if (ev->body_len != len || memcmp(ev->body, want, len) != 0 || ev->body[len] != 0)
                h->checked_bad++;
            const char *v = event_header_get(ev, "k");
            if (!v || strcmp(v, "v") != 0)
                h->checked_bad++;
            event_free(ev);
            h->freed++;
        }
        h->n = 0;
        round++;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

static void test_cross_thread_handoff(void **state)
{
    (void)state;
    struct handoff h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, consumer, &h), 0);
    char buf[EVENT_POOL_CHUNK + 400];
    for (size_t round = 0; round < ROUNDS; round++) {
        struct sluice_event *evs[PER];
        for (size_t i = 0; i < PER; i++) {
            size_t len = body_len_for(round, i);
            fill(buf, len, round, i);
            evs[i] = event_new(buf, len);
            assert_non_null(evs[i]);
            assert_int_equal(event_header_set(evs[i], "k", "v"), SLUICE_OK);
        }
        pthread_mutex_lock(&h.mu);
        while (h.n != 0)
            pthread_cond_wait(&h.cv, &h.mu);
        memcpy(h.evs, evs, sizeof(evs));
        h.n = PER;
        pthread_cond_broadcast(&h.cv);
        pthread_mutex_unlock(&h.mu);
    }
    pthread_mutex_lock(&h.mu);
    while (h.n != 0)
        pthread_cond_wait(&h.cv, &h.mu);
    h.done = 1;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(h.freed, (size_t)ROUNDS * PER);
    assert_int_equal(h.checked_bad, 0);
    event_pool_trim();
}

/* A body grown with event_body_set leaves the chunk; both are freed, the chunk reused. */
static void test_body_set_and_reuse(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        struct sluice_event *ev = event_new("short", 5);
        assert_non_null(ev);
        char big[2 * EVENT_POOL_CHUNK];
        memset(big, 'z', sizeof(big));
        assert_int_equal(event_body_set(ev, big, sizeof(big)), SLUICE_OK);
        assert_int_equal(ev->body_len, sizeof(big));
        assert_int_equal(ev->body[sizeof(big)], 0);
        struct sluice_event *copy = event_dup(ev);
        assert_non_null(copy);
        assert_memory_equal(copy->body, big, sizeof(big));
        event_free(copy);
        event_free(ev);
    }
    /* the largest body that still fits a chunk, and the first that does not */
    for (size_t len = EVENT_POOL_CHUNK - 64; len < EVENT_POOL_CHUNK + 8; len++) {
        char b[EVENT_POOL_CHUNK + 8];
        memset(b, 'q', len);
        struct sluice_event *ev = event_new(b, len);
        assert_non_null(ev);
        assert_int_equal(ev->body_len, len);
        assert_memory_equal(ev->body, b, len);
        assert_int_equal(ev->body[len], 0);
        event_free(ev);
    }
    event_pool_trim();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_thread_handoff),
        cmocka_unit_test(test_body_set_and_reuse),
    };
    return cmocka_run_group_tests_name("event_pool", tests, NULL, NULL);
}
