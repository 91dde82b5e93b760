/*
 * Flume's HTTP monitoring (-Dflume.monitoring.type=http -Dflume.monitoring.port=N): serves the
 * agent's counters as Flume's JSON at GET /metrics, using libmicrohttpd.
 */
#ifndef SLUICE_MONITOR_HTTP_H
#define SLUICE_MONITOR_HTTP_H

#include "agent.h"

struct monitor;

/* port 0 picks a free port; the port in use is logged and returned in *bound_port. */
int monitor_start(struct monitor **out, struct agent *a, const char *bind_addr, int port,
                  int *bound_port, struct sluice_err *err);
void monitor_stop(struct monitor *m);

#endif
