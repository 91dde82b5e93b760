/*
 * A reader for java.util.Properties files with the exact semantics of Properties.load(), as
 * Flume reads its agent files (see README "Configuration files").
 */
#ifndef SLUICE_CONFIG_PROPERTIES_H
#define SLUICE_CONFIG_PROPERTIES_H

#include <stddef.h>

#include "config_set.h"

/* Parse len bytes of properties text into out (adding to what is there; later keys replace
 * earlier ones). `file` names the source in entries and messages. On a malformed \uXXXX escape
 * returns SLUICE_ECONFIG with err->msg "FILE:LINE: malformed \uxxxx encoding ..." and leaves
 * out unchanged. */
int props_parse_buffer(const char *data, size_t len, const char *file, struct conf_set *out,
                       struct sluice_err *err);
/* Read and parse a file; SLUICE_EIO with "FILE: strerror" when it cannot be read. */
int props_parse_file(const char *path, struct conf_set *out, struct sluice_err *err);

#endif
