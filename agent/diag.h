/*
 * Diagnostics gathered while a configuration is read and validated: every warning and error,
 * already formatted with file:line and key, kept in order so `sluice check` can print them and
 * tests can assert on them. Adding one also logs it.
 */
#ifndef SLUICE_DIAG_H
#define SLUICE_DIAG_H

#include <stddef.h>

#include "sluice/plugin.h"

struct diag {
    enum sluice_level level;
    char *msg;
};

struct diag_list {
    struct diag *v;
    size_t n, cap;
    int quiet; /* collect without logging */
};

void diag_add(struct diag_list *dl, enum sluice_level level, const char *fmt, ...)
    SLUICE_PRINTF(3, 4);
void diag_free(struct diag_list *dl);
/* True when some diagnostic contains `needle` (tests). */
int diag_contains(const struct diag_list *dl, const char *needle);

#endif
