/*
 * The flat configuration every reader produces: key/value entries, each remembering the file
 * and line it came from so that every message can point at it. `.properties` files and
 * libconfig `.cfg` files both load into a conf_set; the agent model is built from it.
 */
#ifndef SLUICE_CONFIG_SET_H
#define SLUICE_CONFIG_SET_H

#include <stddef.h>

#include "sluice/plugin.h"

struct conf_entry {
    char *key;   /* as parsed (escapes resolved), not yet trimmed */
    char *value; /* as parsed, not yet trimmed */
    char *file;  /* the path as given by the user */
    int line;    /* 1-based line where the logical line (or setting) starts */
};

struct conf_set {
    struct conf_entry *v;
    size_t n, cap;
    /* open-addressing index over v by key, so a duplicate key replaces (last one wins) */
    size_t *index;
    size_t index_cap;
};

void conf_set_init(struct conf_set *cs);
void conf_set_free(struct conf_set *cs);
/* Insert or replace (last wins, keeping the first one's position). Copies all strings.
 * Returns SLUICE_OK or SLUICE_ENOMEM (SLUICE_EINVAL for a NUL byte inside key or value). */
int conf_set_put(struct conf_set *cs, const char *key, size_t key_len, const char *value,
                 size_t value_len, const char *file, int line);
const struct conf_entry *conf_set_get(const struct conf_set *cs, const char *key);
/* Put every entry of src into dst in src's order (as if src's files were read after dst's).
 * On SLUICE_ENOMEM dst may hold part of src. */
int conf_set_merge(struct conf_set *dst, const struct conf_set *src);

/* Largest configuration file the readers accept. */
#define CONF_FILE_MAX ((size_t)64 << 20)
/* Read a whole file (at most CONF_FILE_MAX bytes) into a NUL-terminated malloc'd buffer.
 * SLUICE_EIO with "PATH: strerror" (or "PATH: larger than 64 MiB ...") on failure. */
int conf_read_file(const char *path, char **data, size_t *len, struct sluice_err *err);

/* A printable, bounded rendering of len bytes of s into buf for messages (control bytes and
 * bytes that are not UTF-8 as \xNN, "..." when cut); returns buf. */
const char *conf_show_bytes(char *buf, size_t size, const char *s, size_t len);

#endif
