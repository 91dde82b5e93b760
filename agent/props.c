/*
 * Component key lists (see props.h). Components have few keys, so a linear search is fine.
 */
#include "props.h"

#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

int props_add(struct props *p, const char *key, const char *value, const char *full_key,
              const char *origin)
{
    struct prop *existing = props_find(p, key);
    if (existing) {
        char *v = strdup(value), *o = strdup(origin);
        if (!v || !o) {
            free(v);
            free(o);
            return SLUICE_ENOMEM;
        }
        free(existing->value);
        free(existing->origin);
        existing->value = v;
        existing->origin = o;
        return SLUICE_OK;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct prop *v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return SLUICE_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    struct prop *np = &p->v[p->n];
    np->key = strdup(key);
    np->value = strdup(value);
    np->full_key = strdup(full_key);
    np->origin = strdup(origin);
    np->used = 0;
    if (!np->key || !np->value || !np->full_key || !np->origin) {
        free(np->key);
        free(np->value);
        free(np->full_key);
        free(np->origin);
        return SLUICE_ENOMEM;
    }
    p->n++;
    return SLUICE_OK;
}

struct prop *props_find(const struct props *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

const char *props_get(const struct props *p, const char *key)
{
    struct prop *pr = props_find(p, key);
    return pr ? pr->value : NULL;
}

void props_free(struct props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
        free(p->v[i].full_key);
        free(p->v[i].origin);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}
