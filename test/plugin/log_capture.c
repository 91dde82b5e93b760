/*
 * Log capture for plugin tests (see log_capture.h). Thread-safe: sources log from their
 * own threads.
 */
#include "log_capture.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int level;
    char *msg;
} * lines;
static size_t n_lines, cap_lines;

static void cap_log(struct sluice_ctx *ctx, enum sluice_level level, const char *fmt, ...)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (!msg)
        return;
    fprintf(stderr, "%-5s [%s] %s\n", names[level], ctx ? ctx->name : "-", msg);
    pthread_mutex_lock(&mu);
    if (n_lines == cap_lines) {
        size_t cap = cap_lines ? cap_lines * 2 : 64;
        void *v = realloc(lines, cap * sizeof(*lines));
        if (!v) {
            pthread_mutex_unlock(&mu);
            free(msg);
            return;
        }
        lines = v;
        cap_lines = cap;
    }
    lines[n_lines].level = (int)level;
    lines[n_lines].msg = msg;
    n_lines++;
    pthread_mutex_unlock(&mu);
}

struct sluice_host log_capture_host(void)
{
    struct sluice_host h = test_host;
    h.log = cap_log;
    return h;
}

void log_capture_reset(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i].msg);
    free(lines);
    lines = NULL;
    n_lines = cap_lines = 0;
    pthread_mutex_unlock(&mu);
}

size_t log_capture_count(int level, const char *needle)
{
    size_t c = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_lines; i++)
        if ((level < 0 || lines[i].level == level) && strstr(lines[i].msg, needle))
            c++;
    pthread_mutex_unlock(&mu);
    return c;
}

const char *log_capture_line(size_t i)
{
    pthread_mutex_lock(&mu);
    const char *m = i < n_lines ? lines[i].msg : NULL;
    pthread_mutex_unlock(&mu);
    return m;
}

size_t log_capture_n(void)
{
    pthread_mutex_lock(&mu);
    size_t n = n_lines;
    pthread_mutex_unlock(&mu);
    return n;
}
