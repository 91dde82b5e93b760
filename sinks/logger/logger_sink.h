/*
 * Internals of the logger sink shared with its unit test: the text Flume's LoggerSink logs
 * for an event (EventHelper.dumpEvent), built into a growable buffer.
 */
#ifndef SLUICE_LOGGER_SINK_H
#define SLUICE_LOGGER_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

struct logger_conf {
    int64_t max_bytes_to_log;
};

struct logger_buf {
    char *p; /* NUL-terminated after a successful format */
    size_t len, cap;
};

/* "Event: { headers:{k=v, ...} body: 48 65 ...   He.. }" for ev, dumping at most max_bytes
 * of the body. Returns 0 or SLUICE_ENOMEM. */
int logger_format_event(struct logger_buf *b, const struct sluice_event *ev, size_t max_bytes);
void logger_buf_free(struct logger_buf *b);

#endif
