/*
 * The agent's log: levels, a console (stderr) or file target, and Flume's
 * -Dflume.root.logger=LEVEL,console|LOGFILE switch. Lines are written whole under one lock so
 * threads never interleave.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#include "sluice/plugin.h"

enum log_target { LOG_CONSOLE = 0, LOG_FILE };

/* Parse "INFO,console" / "DEBUG,LOGFILE" / "WARN". Returns 0 or -1 with msg filled. */
int log_parse_root_logger(const char *spec, enum sluice_level *level, enum log_target *target,
                          char *msg, size_t msg_len);
/* Configure: target file path used when target == LOG_FILE (directories created). */
int log_configure(enum sluice_level level, enum log_target target, const char *path, char *msg,
                  size_t msg_len);
void log_close(void);
int log_enabled(enum sluice_level level);
/* `who` is the component prefix (e.g. "sink:k1") or NULL for the agent itself. */
void log_msg(enum sluice_level level, const char *who, const char *fmt, ...) SLUICE_PRINTF(3, 4);
void log_vmsg(enum sluice_level level, const char *who, const char *fmt, va_list ap)
    SLUICE_PRINTF(3, 0);

#define LOG_ERROR(...) log_msg(SLUICE_LOG_ERROR, NULL, __VA_ARGS__)
#define LOG_WARN(...)  log_msg(SLUICE_LOG_WARN, NULL, __VA_ARGS__)
#define LOG_INFO(...)  log_msg(SLUICE_LOG_INFO, NULL, __VA_ARGS__)
#define LOG_DEBUG(...) log_msg(SLUICE_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
