/*
 * Captures what a plugin logs: log_capture_host() is test_host with .log replaced by a
 * function that records "LEVEL message" lines (and still prints them to stderr), so tests can
 * assert exact log text.
 */
#ifndef SLUICE_LOG_CAPTURE_H
#define SLUICE_LOG_CAPTURE_H

#include <stddef.h>

#include "test_host.h"

/* The capturing host; other fields are test_host's. Callers may override more fields. */
struct sluice_host log_capture_host(void);
/* Forget everything captured. */
void log_capture_reset(void);
/* Number of captured lines at `level` containing `needle` (level -1: any level). */
size_t log_capture_count(int level, const char *needle);
/* The i-th captured message (without level), or NULL. */
const char *log_capture_line(size_t i);
size_t log_capture_n(void);

#endif
