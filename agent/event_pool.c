/*
 * Event chunk recycling (see event_pool.h). Each thread caches one magazine: an array of up to
 * EVENT_POOL_MAG chunk pointers. A thread that only frees (a sink) hands full magazines to the
 * depot; a thread that only allocates (a source) takes them from it: one lock per magazine.
 * Handing out a chunk reads only the magazine, never the chunk, whose cache line is usually on
 * the other core (a list threaded through the chunks cost a miss per event). Under
 * AddressSanitizer, or with SLUICE_EVENT_POOL=0 in the environment (for valgrind), the pool is
 * off and every event is a plain malloc, so a use-after-free of an event is caught.
 */
#include "event_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define EVENT_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVENT_POOL_OFF 1
#endif
#endif

#define EVENT_POOL_MAG 128 /* chunks per magazine */
/* Idle full magazines kept: 128 x 128 x 512 B = 8 MiB, enough for batches of 10,000+ events
 * freed at once; beyond it chunks go back to malloc. */
#define EVENT_POOL_DEPOT_MAX 128

#ifndef EVENT_POOL_OFF

struct magazine {
    size_t n;
    void *chunk[EVENT_POOL_MAG];
};

struct tcache {
    struct magazine *cur; /* NULL until first use */
};

static pthread_mutex_t depot_mu = PTHREAD_MUTEX_INITIALIZER;
static struct magazine *full[EVENT_POOL_DEPOT_MAX];  /* each holds EVENT_POOL_MAG chunks */
static struct magazine *empty[EVENT_POOL_DEPOT_MAX]; /* spare magazines, no chunks */
static size_t full_n, empty_n;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;
static _Thread_local struct tcache *tc;

static void mag_free_chunks(struct magazine *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->chunk[i]);
    m->n = 0;
}

/* A full magazine goes to the depot; when the depot is full its chunks go back to malloc and
 * the emptied magazine is returned for reuse. */
static struct magazine *depot_push_full(struct magazine *m)
{
    pthread_mutex_lock(&depot_mu);
    int kept = full_n < EVENT_POOL_DEPOT_MAX;
    if (kept)
        full[full_n++] = m;
    pthread_mutex_unlock(&depot_mu);
    if (kept)
        return NULL;
    mag_free_chunks(m);
    return m;
}

static struct magazine *depot_pop_full(void)
{
    struct magazine *m = NULL;
    pthread_mutex_lock(&depot_mu);
    if (full_n > 0)
        m = full[--full_n];
    pthread_mutex_unlock(&depot_mu);
    return m;
}

/* An empty magazine: a spare one from the depot, else a new one (NULL when out of memory). */
static struct magazine *empty_get(void)
{
    struct magazine *m = NULL;
    pthread_mutex_lock(&depot_mu);
    if (empty_n > 0)
        m = empty[--empty_n];
    pthread_mutex_unlock(&depot_mu);
    if (!m)
        m = calloc(1, sizeof(*m));
    return m;
}

static void empty_put(struct magazine *m)
{
    pthread_mutex_lock(&depot_mu);
    int kept = empty_n < EVENT_POOL_DEPOT_MAX;
    if (kept)
        empty[empty_n++] = m;
    pthread_mutex_unlock(&depot_mu);
    if (!kept)
        free(m);
}

/* Thread exit: a full magazine is kept, a partial one's chunks freed. */
static void tcache_release(void *p)
{
    struct tcache *c = p;
    struct magazine *m = c->cur;
    if (m && m->n == EVENT_POOL_MAG)
        m = depot_push_full(m);
    if (m) {
        mag_free_chunks(m);
        empty_put(m);
    }
    free(c);
}

static void key_init(void)
{
    const char *env = getenv("SLUICE_EVENT_POOL");
    if (env && (!strcmp(env, "0") || !strcmp(env, "off") || !strcmp(env, "false")))
        return; /* key_ok stays 0: no caches, plain malloc */
    key_ok = pthread_key_create(&key, tcache_release) == 0;
}

static struct tcache *tcache_get(void)
{
    if (tc)
        return tc;
    pthread_once(&key_once, key_init);
    if (!key_ok)
        return NULL;
    struct tcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (pthread_setspecific(key, c) != 0) {
        free(c);
        return NULL;
    }
    tc = c;
    return c;
}

void *event_pool_get(void)
{
    struct tcache *c = tcache_get();
    if (c) {
        struct magazine *m = c->cur;
        if (!m || m->n == 0) {
            struct magazine *f = depot_pop_full();
            if (f) {
                if (m)
                    empty_put(m);
                c->cur = m = f;
            }
        }
        if (m && m->n > 0)
            return m->chunk[--m->n];
    }
    return malloc(EVENT_POOL_CHUNK);
}

void event_pool_put(void *chunk)
{
    if (!chunk)
        return;
    struct tcache *c = tcache_get();
    if (c) {
        struct magazine *m = c->cur;
        if (m && m->n == EVENT_POOL_MAG) {
            m = depot_push_full(m); /* NULL when the depot kept it, else emptied for reuse */
            c->cur = m;
        }
        if (!m)
            c->cur = m = empty_get();
        if (m) {
            m->chunk[m->n++] = chunk;
            return;
        }
    }
    free(chunk);
}

void event_pool_trim(void)
{
    if (tc && tc->cur) {
        mag_free_chunks(tc->cur);
        empty_put(tc->cur);
        tc->cur = NULL;
    }
    pthread_mutex_lock(&depot_mu);
    while (full_n > 0) {
        struct magazine *m = full[--full_n];
        mag_free_chunks(m);
        free(m);
    }
    while (empty_n > 0)
        free(empty[--empty_n]);
    pthread_mutex_unlock(&depot_mu);
}

#else /* EVENT_POOL_OFF: every chunk is a plain malloc */

void *event_pool_get(void)
{
    return malloc(EVENT_POOL_CHUNK);
}

void event_pool_put(void *chunk)
{
    free(chunk);
}

void event_pool_trim(void)
{
}

#endif
