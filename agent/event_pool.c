/*
 * Event chunk recycling (see event_pool.h). Each thread has a cache of up to one magazine
 * (EVENT_POOL_MAG chunks). A thread that only frees (a sink) hands a full magazine to the
 * depot; a thread that only allocates (a source) takes one from it: one lock per magazine.
 * Under AddressSanitizer, or with SLUICE_EVENT_POOL=0 in the environment (for valgrind), the
 * pool is off and every event is a plain malloc, so a use-after-free of an event is caught.
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

#define EVENT_POOL_MAG       128 /* chunks per magazine */
#define EVENT_POOL_DEPOT_MAX 32  /* idle magazines kept: 32 x 128 x 512 B = 2 MiB */

#ifndef EVENT_POOL_OFF

struct chunk {
    struct chunk *next;
};

struct tcache {
    struct chunk *head;
    size_t n;
};

static pthread_mutex_t depot_mu = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *depot[EVENT_POOL_DEPOT_MAX]; /* each a list of EVENT_POOL_MAG chunks */
static size_t depot_n;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;
static _Thread_local struct tcache *tc;

static void free_list(struct chunk *c)
{
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* A full magazine goes to the depot, or back to malloc when the depot is full. */
static void depot_push(struct chunk *mag)
{
    pthread_mutex_lock(&depot_mu);
    if (depot_n < EVENT_POOL_DEPOT_MAX) {
        depot[depot_n++] = mag;
        mag = NULL;
    }
    pthread_mutex_unlock(&depot_mu);
    free_list(mag);
}

static struct chunk *depot_pop(void)
{
    struct chunk *mag = NULL;
    pthread_mutex_lock(&depot_mu);
    if (depot_n > 0)
        mag = depot[--depot_n];
    pthread_mutex_unlock(&depot_mu);
    return mag;
}

/* Thread exit: a full magazine is kept, a partial one freed (the depot holds only full ones). */
static void tcache_release(void *p)
{
    struct tcache *c = p;
    if (c->n == EVENT_POOL_MAG)
        depot_push(c->head);
    else
        free_list(c->head);
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
        if (!c->head) {
            c->head = depot_pop();
            c->n = c->head ? EVENT_POOL_MAG : 0;
        }
        if (c->head) {
            struct chunk *ch = c->head;
            c->head = ch->next;
            c->n--;
            /* the chunk was last written on the freeing thread's core: fetch the next one's
             * line now, so the next get does not wait for it */
            if (c->head)
                __builtin_prefetch(c->head, 1);
            return ch;
        }
    }
    return malloc(EVENT_POOL_CHUNK);
}

void event_pool_put(void *chunk)
{
    if (!chunk)
        return;
    struct tcache *c = tcache_get();
    if (c) {
        struct chunk *ch = chunk;
        ch->next = c->head;
        c->head = ch;
        if (++c->n == EVENT_POOL_MAG) {
            depot_push(c->head);
            c->head = NULL;
            c->n = 0;
        }
        return;
    }
    free(chunk);
}

void event_pool_trim(void)
{
    if (tc) {
        free_list(tc->head);
        tc->head = NULL;
        tc->n = 0;
    }
    pthread_mutex_lock(&depot_mu);
    while (depot_n > 0)
        free_list(depot[--depot_n]);
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
