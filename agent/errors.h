/*
 * Names and texts of the SLUICE_E* codes, and the one helper that fills a struct sluice_err.
 */
#ifndef SLUICE_ERRORS_H
#define SLUICE_ERRORS_H

#include "sluice/plugin.h"

const char *sluice_strerror(int code);
const char *sluice_errname(int code);
int err_set(struct sluice_err *err, int code, const char *fmt, ...) SLUICE_PRINTF(3, 4);
/* Prefix an existing message: "prefix: old message". */
void err_prefix(struct sluice_err *err, const char *fmt, ...) SLUICE_PRINTF(2, 3);

#endif
