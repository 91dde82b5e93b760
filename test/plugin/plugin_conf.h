/*
 * Filling a plugin's private conf struct through its option table, as the agent does: a new
 * conf with the table's defaults applied, and setters by Flume key. Strings point at the
 * caller's text (nothing to free but the struct itself).
 */
#ifndef SLUICE_TEST_PLUGIN_CONF_H
#define SLUICE_TEST_PLUGIN_CONF_H

#include <stdint.h>

#include "sluice/plugin.h"

/* calloc'd conf_size bytes with every default of p's option table applied. */
void *pconf_new(const struct sluice_plugin *p);
/* Set key (fails the test when p has no such option of that type). */
void pconf_int(const struct sluice_plugin *p, void *conf, const char *key, int64_t v);
void pconf_bool(const struct sluice_plugin *p, void *conf, const char *key, int v);
void pconf_str(const struct sluice_plugin *p, void *conf, const char *key, const char *v);
/* A PREFIX option: one item key=value (items must outlive the conf). */
void pconf_prefix(const struct sluice_plugin *p, void *conf, const char *prefix,
                  const struct sluice_kv *items, size_t n);

#endif
