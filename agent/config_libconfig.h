/*
 * The agent configuration written in libconfig syntax (.cfg): nested groups that flatten into
 * the same dotted Flume keys a .properties file gives, and the converter that prints the .cfg
 * form of a loaded configuration. The mapping is described at the top of config_libconfig.c
 * and in the README ("libconfig files").
 */
#ifndef SLUICE_CONFIG_LIBCONFIG_H
#define SLUICE_CONFIG_LIBCONFIG_H

#include <stdio.h>

#include "config_set.h"

/* Parse NUL-terminated .cfg text into out (adding to what is there; later keys replace
 * earlier ones). `file` names the source in entries and messages. Errors: SLUICE_ECONFIG with
 * "FILE:LINE: message"; out is left unchanged on any error. */
int cfg_parse_buffer(const char *text, const char *file, struct conf_set *out,
                     struct sluice_err *err);
/* Read and parse a file; SLUICE_EIO with "FILE: strerror" when it cannot be read. */
int cfg_parse_file(const char *path, struct conf_set *out, struct sluice_err *err);

/* Write the .cfg equivalent of cs (keys and values trimmed as Flume trims them) to out.
 * SLUICE_ECONFIG naming the key and its file:line when a key cannot be expressed in .cfg;
 * nothing is written then. SLUICE_EIO when writing fails. */
int cfg_convert(const struct conf_set *cs, FILE *out, struct sluice_err *err);

#endif
