/*
 * The error map of include/sluice/plugin.h turned into names and texts, plus the helpers that
 * fill and extend a struct sluice_err (layers add context, never replace it).
 */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sluice_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define XX(name, num, text)                                                                        \
    case num:                                                                                      \
        return text;
        SLUICE_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *sluice_errname(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define XX(name, num, text)                                                                        \
    case num:                                                                                      \
        return "SLUICE_" #name;
        SLUICE_ERRNO_MAP(XX)
#undef XX
    default:
        return "SLUICE_E?";
    }
}

int err_set(struct sluice_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void err_prefix(struct sluice_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[SLUICE_ERR_MSG_MAX];
    char old[SLUICE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    int n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    if (n >= (int)sizeof(err->msg))
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
}
