/*
 * The keys of one component after the agent prefix and the component name are removed
 * ("a1.sources.r1.batchSize" -> "batchSize"), each with the file and line it came from and a
 * flag the option parser sets when it consumed the key (the rest are reported as unknown).
 */
#ifndef SLUICE_PROPS_H
#define SLUICE_PROPS_H

#include <stddef.h>

struct prop {
    char *key;
    char *value;
    char *full_key; /* "a1.sources.r1.batchSize", for messages */
    char *origin;   /* "file:line" */
    int used;
};

struct props {
    struct prop *v;
    size_t n, cap;
};

int props_add(struct props *p, const char *key, const char *value, const char *full_key,
              const char *origin);
struct prop *props_find(const struct props *p, const char *key);
const char *props_get(const struct props *p, const char *key);
void props_free(struct props *p);

#endif
