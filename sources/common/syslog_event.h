/*
 * Building the event for one parsed syslog message (shared by syslogtcp and syslogudp).
 */
#ifndef SLUICE_SYSLOG_EVENT_H
#define SLUICE_SYSLOG_EVENT_H

#include "sluice/plugin.h"
#include "syslog_parse.h"

/* The sender, for clientIPHeader / clientHostnameHeader (NULL header: not added). */
struct syslog_client {
    const char *ip_header, *ip;
    const char *hostname_header, *hostname;
};

/* Headers Facility, Severity, priority, version, timestamp, host, flume.syslog.status (those
 * the message has) and the client headers; NULL when out of memory. */
struct sluice_event *syslog_event(const struct sluice_host *h, const struct syslog_msg *m,
                                  const struct syslog_client *client);

/* What create() of both syslog sources checks: keepFields (unknown words are logged as a
 * warning, as Flume ignores them), format.* (custom Java regex formats: refused), ssl
 * (refused). Fills *keep. 0 or SLUICE_ECONFIG with err. */
int syslog_conf_check(const struct sluice_host *h, struct sluice_ctx *ctx, const char *what,
                      const char *keep_fields, const struct sluice_kvlist *format, int ssl,
                      unsigned *keep, struct sluice_err *err);

#endif
