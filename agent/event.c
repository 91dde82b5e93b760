/*
 * Event allocation and header maps. The body normally lives in the same allocation as the
 * struct; event_body_set() moves it to its own allocation when it grows. An event whose
 * struct and body fit in EVENT_POOL_CHUNK bytes comes from the recycling pool
 * (event_pool.c), so the usual log line costs no malloc at all once the pool is warm.
 */
#include "event.h"
#include "event_pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct event_impl {
    struct sluice_event ev;
    unsigned char body_owned; /* body points to a separate malloc'd buffer */
    unsigned char pooled;     /* the chunk came from event_pool_get */
    /* body bytes follow when !body_owned */
};

struct sluice_event *event_new(const void *body, size_t len)
{
    struct event_impl *e;
    int pooled = len < EVENT_POOL_CHUNK - sizeof(*e);
    if (pooled) {
        e = event_pool_get();
    } else {
        if (len > SIZE_MAX - sizeof(*e) - 1)
            return NULL;
        e = malloc(sizeof(*e) + len + 1);
    }
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->pooled = (unsigned char)pooled;
    e->ev.body = (uint8_t *)(e + 1);
    if (len)
        memcpy(e->ev.body, body, len);
    e->ev.body[len] = 0; /* a terminator for C-string consumers; not part of the body */
    e->ev.body_len = len;
    return &e->ev;
}

static void headers_free(struct sluice_event *ev)
{
    for (uint32_t i = 0; i < ev->n_headers; i++) {
        free(ev->headers[i].key);
        free(ev->headers[i].value);
    }
    free(ev->headers);
    ev->headers = NULL;
    ev->n_headers = ev->cap_headers = 0;
}

void event_free(struct sluice_event *ev)
{
    if (!ev)
        return;
    struct event_impl *e = (struct event_impl *)ev;
    headers_free(ev);
    if (e->body_owned)
        free(ev->body);
    if (e->pooled)
        event_pool_put(e);
    else
        free(e);
}

struct sluice_event *event_dup(const struct sluice_event *src)
{
    struct sluice_event *ev = event_new(src->body, src->body_len);
    if (!ev)
        return NULL;
    for (uint32_t i = 0; i < src->n_headers; i++) {
        if (event_header_set(ev, src->headers[i].key, src->headers[i].value) != SLUICE_OK) {
            event_free(ev);
            return NULL;
        }
    }
    return ev;
}

static int header_find(const struct sluice_event *ev, const char *key)
{
    for (uint32_t i = 0; i < ev->n_headers; i++)
        if (strcmp(ev->headers[i].key, key) == 0)
            return (int)i;
    return -1;
}

int event_header_set(struct sluice_event *ev, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return SLUICE_ENOMEM;
    int i = header_find(ev, key);
    if (i >= 0) {
        free(ev->headers[i].value);
        ev->headers[i].value = v;
        return SLUICE_OK;
    }
    if (ev->n_headers == ev->cap_headers) {
        uint32_t cap = ev->cap_headers ? ev->cap_headers * 2 : 4;
        struct sluice_header *h = realloc(ev->headers, cap * sizeof(*h));
        if (!h) {
            free(v);
            return SLUICE_ENOMEM;
        }
        ev->headers = h;
        ev->cap_headers = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return SLUICE_ENOMEM;
    }
    ev->headers[ev->n_headers].key = k;
    ev->headers[ev->n_headers].value = v;
    ev->n_headers++;
    return SLUICE_OK;
}

const char *event_header_get(const struct sluice_event *ev, const char *key)
{
    int i = header_find(ev, key);
    return i >= 0 ? ev->headers[i].value : NULL;
}

void event_header_remove(struct sluice_event *ev, const char *key)
{
    int i = header_find(ev, key);
    if (i < 0)
        return;
    free(ev->headers[i].key);
    free(ev->headers[i].value);
    ev->headers[i] = ev->headers[ev->n_headers - 1];
    ev->n_headers--;
}

int event_body_set(struct sluice_event *ev, const void *body, size_t len)
{
    struct event_impl *e = (struct event_impl *)ev;
    uint8_t *b = malloc(len + 1);
    if (!b)
        return SLUICE_ENOMEM;
    if (len)
        memcpy(b, body, len);
    b[len] = 0;
    if (e->body_owned)
        free(ev->body);
    ev->body = b;
    ev->body_len = len;
    e->body_owned = 1;
    return SLUICE_OK;
}
