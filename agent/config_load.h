/*
 * Reads the -f files in command-line order into one conf_set (later files override keys, as
 * Flume merges them), choosing the reader by extension: *.cfg is libconfig, the rest is
 * .properties.
 */
#ifndef SLUICE_CONFIG_LOAD_H
#define SLUICE_CONFIG_LOAD_H

#include "config_set.h"

int config_load_files(const char *const *files, size_t n, struct conf_set *cs,
                      struct sluice_err *err);
/* "conf/a.conf" or "conf/a.conf, conf/b.conf" for messages. */
void config_files_desc(const char *const *files, size_t n, char *buf, size_t len);

#endif
