/*
 * Finds plugin shared objects, loads them with dlopen, checks their ABI and indexes them by
 * kind and by every name they answer to (short Flume type and Flume class names, any case).
 */
#ifndef SLUICE_PLUGIN_REGISTRY_H
#define SLUICE_PLUGIN_REGISTRY_H

#include <stddef.h>

#include "sluice/plugin.h"

struct plugin_entry {
    const struct sluice_plugin *desc;
    char *path;
    void *handle;
};

struct registry {
    struct plugin_entry *v;
    size_t n, cap;
    char **problems; /* one message per .so that could not be used */
    size_t n_problems;
};

void registry_init(struct registry *r);
void registry_free(struct registry *r);
/* Load one file. On failure returns a negative code with err naming the file; nothing added. */
int registry_load_file(struct registry *r, const char *path, struct sluice_err *err);
/* Scan one directory for *.so. Files that fail are recorded in r->problems and logged. */
void registry_scan_dir(struct registry *r, const char *dir);
/* The default search: each dir of `path_list` (colon-separated, may be NULL), then
 * $SLUICE_PLUGIN_PATH, then the build tree when this binary runs from it, then the install
 * directory. The first plugin found for a (kind, name) wins. */
void registry_load_default(struct registry *r, const char *path_list);
const struct plugin_entry *registry_find(const struct registry *r, enum sluice_kind kind,
                                         const char *type);
/* A comma-separated list of the short names of one kind (for error messages). */
void registry_names(const struct registry *r, enum sluice_kind kind, char *buf, size_t len);
/* Closest short name within a small edit distance, or NULL. */
const char *registry_suggest(const struct registry *r, enum sluice_kind kind, const char *type);
const char *kind_name(enum sluice_kind kind);

/* Validate a descriptor (used by the loader and by tests). */
int plugin_check_descriptor(const struct sluice_plugin *p, const char *path,
                            struct sluice_err *err);

#endif
