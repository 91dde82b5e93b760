/*
 * Diagnostics list (see diag.h).
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void diag_add(struct diag_list *dl, enum sluice_level level, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!dl->quiet)
        log_msg(level, "config", "%s", buf);
    if (dl->n == dl->cap) {
        size_t cap = dl->cap ? dl->cap * 2 : 16;
        struct diag *v = realloc(dl->v, cap * sizeof(*v));
        if (!v)
            return;
        dl->v = v;
        dl->cap = cap;
    }
    char *m = strdup(buf);
    if (!m)
        return;
    dl->v[dl->n++] = (struct diag){.level = level, .msg = m};
}

void diag_free(struct diag_list *dl)
{
    for (size_t i = 0; i < dl->n; i++)
        free(dl->v[i].msg);
    free(dl->v);
    dl->v = NULL;
    dl->n = dl->cap = 0;
}

int diag_contains(const struct diag_list *dl, const char *needle)
{
    for (size_t i = 0; i < dl->n; i++)
        if (strstr(dl->v[i].msg, needle))
            return 1;
    return 0;
}
