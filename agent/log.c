/*
 * The agent's log (see log.h). Format follows Flume's log4j layout closely enough that
 * people's greps keep working: "25 Nov 2026 11:48:05,123 INFO  [component] - message".
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static enum sluice_level g_level = SLUICE_LOG_INFO;
static FILE *g_out;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_parse_root_logger(const char *spec, enum sluice_level *level, enum log_target *target,
                          char *msg, size_t msg_len)
{
    char buf[128];
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf)) {
        snprintf(msg, msg_len, "flume.root.logger: value too long: %.40s...", spec);
        return -1;
    }
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = 0;
    static const struct {
        const char *name;
        enum sluice_level level;
    } names[] = {{"ERROR", SLUICE_LOG_ERROR}, {"FATAL", SLUICE_LOG_ERROR},
                 {"WARN", SLUICE_LOG_WARN},   {"INFO", SLUICE_LOG_INFO},
                 {"DEBUG", SLUICE_LOG_DEBUG}, {"TRACE", SLUICE_LOG_DEBUG},
                 {"ALL", SLUICE_LOG_DEBUG},   {"OFF", SLUICE_LOG_ERROR}};
    int found = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(buf, names[i].name) == 0) {
            *level = names[i].level;
            found = 1;
        }
    }
    if (!found) {
        snprintf(msg, msg_len,
                 "flume.root.logger: unknown level '%s' (expected ERROR, WARN, INFO, DEBUG "
                 "or TRACE)",
                 buf);
        return -1;
    }
    if (comma) {
        const char *t = comma + 1;
        while (*t == ' ')
            t++;
        if (strcasecmp(t, "console") == 0) {
            *target = LOG_CONSOLE;
        } else if (strcasecmp(t, "LOGFILE") == 0) {
            *target = LOG_FILE;
        } else {
            snprintf(msg, msg_len,
                     "flume.root.logger: unknown appender '%s' (expected console or LOGFILE)", t);
            return -1;
        }
    }
    return 0;
}

static int mkdirs_for(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return 0;
}

int log_configure(enum sluice_level level, enum log_target target, const char *path, char *msg,
                  size_t msg_len)
{
    FILE *f = NULL;
    if (target == LOG_FILE) {
        if (mkdirs_for(path) != 0 || !(f = fopen(path, "a"))) {
            snprintf(msg, msg_len, "cannot open log file %s: %s", path, strerror(errno));
            return -1;
        }
        setvbuf(f, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&g_mu);
    if (g_out && g_out != stderr)
        fclose(g_out);
    g_out = f;
    g_level = level;
    pthread_mutex_unlock(&g_mu);
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_out && g_out != stderr)
        fclose(g_out);
    g_out = NULL;
    pthread_mutex_unlock(&g_mu);
}

int log_enabled(enum sluice_level level)
{
    return level <= g_level;
}

void log_vmsg(enum sluice_level level, const char *who, const char *fmt, va_list ap)
{
    if (!log_enabled(level))
        return;
    char line[8192];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t off = strftime(line, sizeof(line), "%d %b %Y %H:%M:%S", &tm);
    int n = snprintf(line + off, sizeof(line) - off, ",%03ld %-5s [%s] - ", ts.tv_nsec / 1000000L,
                     level_names[level], who ? who : "agent");
    if (n > 0)
        off += (size_t)n;
    if (off < sizeof(line)) {
        n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
        if (n > 0)
            off += (size_t)n;
    }
    if (off >= sizeof(line) - 1) {
        /* never silently: mark the cut */
        off = sizeof(line) - 1;
        memcpy(line + off - 4, "...", 3);
        off -= 1;
    }
    line[off++] = '\n';
    pthread_mutex_lock(&g_mu);
    FILE *out = g_out ? g_out : stderr;
    fwrite(line, 1, off, out);
    fflush(out);
    pthread_mutex_unlock(&g_mu);
}

void log_msg(enum sluice_level level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, who, fmt, ap);
    va_end(ap);
}
