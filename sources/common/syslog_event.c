/*
 * A parsed syslog message as a Flume event (the headers SyslogUtils.buildEvent puts, plus the
 * client headers SyslogTcpSource/SyslogUDPSource add), shared by syslogtcp and syslogudp.
 */
#include <inttypes.h>
#include <stdio.h>

#include "syslog_event.h"

struct sluice_event *syslog_event(const struct sluice_host *h, const struct syslog_msg *m,
                                  const struct syslog_client *client)
{
    struct sluice_event *ev = h->event_new(m->body, m->body_len);
    if (!ev)
        return NULL;
    char num[24];
    int rc = SLUICE_OK;
    snprintf(num, sizeof(num), "%d", m->facility);
    rc |= h->event_header_set(ev, "Facility", num);
    snprintf(num, sizeof(num), "%d", m->severity);
    rc |= h->event_header_set(ev, "Severity", num);
    if (m->priority)
        rc |= h->event_header_set(ev, "priority", m->priority);
    if (m->version)
        rc |= h->event_header_set(ev, "version", m->version);
    if (m->has_timestamp) {
        snprintf(num, sizeof(num), "%" PRId64, m->timestamp_ms);
        rc |= h->event_header_set(ev, "timestamp", num);
    }
    if (m->hostname)
        rc |= h->event_header_set(ev, "host", m->hostname);
    if (m->status)
        rc |= h->event_header_set(ev, "flume.syslog.status", m->status);
    if (client && client->ip_header)
        rc |= h->event_header_set(ev, client->ip_header, client->ip);
    if (client && client->hostname_header)
        rc |= h->event_header_set(ev, client->hostname_header, client->hostname);
    if (rc != SLUICE_OK) {
        h->event_free(ev);
        return NULL;
    }
    return ev;
}

int syslog_conf_check(const struct sluice_host *h, struct sluice_ctx *ctx, const char *what,
                      const char *keep_fields, const struct sluice_kvlist *format, int ssl,
                      unsigned *keep, struct sluice_err *err)
{
    char unknown[256];
    *keep = syslog_keep_fields(keep_fields, unknown, sizeof(unknown));
    if (unknown[0])
        h->log(ctx, SLUICE_LOG_WARN,
               "keepFields: '%s' names none of priority, version, timestamp, hostname (or "
               "all / none); ignored, as Flume does",
               unknown);
    if (format && format->n > 0)
        return h->err_set(err, SLUICE_ECONFIG,
                          "%s: format.%s: custom syslog formats (Java regular expressions and "
                          "date patterns) are not supported by sluice",
                          format->items[0].origin ? format->items[0].origin : what,
                          format->items[0].key);
    if (ssl)
        return h->err_set(err, SLUICE_ECONFIG,
                          "ssl: TLS is not supported by sluice's %s source; terminate TLS in "
                          "front of it (e.g. stunnel) or use plain TCP",
                          what);
    return SLUICE_OK;
}
