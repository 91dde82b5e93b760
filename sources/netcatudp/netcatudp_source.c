/*
 * The `netcatudp` source (org.apache.flume.source.NetcatUdpSource): each datagram's text up
 * to '\n' becomes an event, with the sender's address in `remoteAddressHeader` when set.
 * Flume keeps only the first line of a datagram; sluice turns every line into an event so
 * nothing that arrived is dropped. Pollable: process() waits up to 100 ms for datagrams and
 * emits what it read (at most UDP_BATCH datagrams) as one batch; while emit waits for a full
 * channel the kernel buffers datagrams (and, being UDP, drops them once its buffer is full).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/net_listen.h"
#include "sluice/plugin.h"

#define UDP_MAX_DATAGRAM 65536
#define UDP_BATCH        256 /* datagrams read per process() */
#define EVENTS_MAX       1024

struct nudp_conf {
    char *bind;
    int64_t port;
    char *remote_address_header;
};

struct nudp_source {
    const struct nudp_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    int fd, port;
    uint8_t *buf;
    struct sluice_event *evs[EVENTS_MAX];
    size_t n;
    uint64_t lost; /* events emit refused (only when the agent gives up at stop) */
};

static int nudp_create(void **self, const void *conf_, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct nudp_conf *conf = conf_;
    char msg[256];
    struct nudp_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "netcatudp: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->fd = -1;
    if ((conf->bind && net_check_host("bind", conf->bind, msg, sizeof(msg))) ||
        net_check_port("port", conf->port, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    if (conf->remote_address_header && !conf->remote_address_header[0])
        return host->err_set(err, SLUICE_ECONFIG, "remoteAddressHeader: must not be empty");
    if (!(s->buf = malloc(UDP_MAX_DATAGRAM)))
        return host->err_set(err, SLUICE_ENOMEM, "netcatudp: out of memory");
    return SLUICE_OK;
}

static int nudp_start(void *self, struct sluice_err *err)
{
    struct nudp_source *s = self;
    char msg[256];
    int rc =
        net_listen(s->conf->bind, s->conf->port, SOCK_DGRAM, 0, &s->fd, &s->port, msg, sizeof(msg));
    if (rc != 0)
        return s->host->err_set(err, rc, "netcatudp: %s", msg);
    s->host->log(s->ctx, SLUICE_LOG_INFO, "Netcat UDP source listening on %s:%d",
                 s->conf->bind ? s->conf->bind : "0.0.0.0", s->port);
    return SLUICE_OK;
}

static int flush(struct nudp_source *s, struct sluice_err *err)
{
    size_t n = s->n;
    s->n = 0;
    if (n == 0)
        return SLUICE_OK;
    int rc = s->host->emit(s->ctx, s->evs, n, err);
    if (rc != SLUICE_OK) {
        s->lost += n;
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "Error writing to channel: %zu events from datagrams not stored: %s", n,
                     err->msg);
    }
    return rc;
}

/* One datagram: every line an event (a trailing '\n' does not make an empty one). */
static int datagram(struct nudp_source *s, const uint8_t *p, size_t n, const char *from,
                    struct sluice_err *err)
{
    size_t off = 0;
    do {
        const uint8_t *nl = memchr(p + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
        struct sluice_event *ev = s->host->event_new(p + off, len);
        if (!ev || (from && s->host->event_header_set(ev, s->conf->remote_address_header, from) !=
                                SLUICE_OK)) {
            if (ev)
                s->host->event_free(ev);
            return s->host->err_set(err, SLUICE_ENOMEM, "netcatudp: out of memory");
        }
        s->evs[s->n++] = ev;
        if (s->n == EVENTS_MAX) {
            int rc = flush(s, err);
            if (rc != SLUICE_OK)
                return rc;
        }
        off += len + (nl ? 1 : 0);
    } while (off < n);
    return SLUICE_OK;
}

static int nudp_process(void *self, struct sluice_err *err)
{
    struct nudp_source *s = self;
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, 100);
    if (pr < 0 && errno != EINTR)
        return s->host->err_set(err, SLUICE_EIO, "netcatudp: poll: %s", strerror(errno));
    if (pr <= 0)
        return SLUICE_READY; /* waited 100 ms: keep the loop going without a backoff sleep */
    int rc = SLUICE_OK;
    for (int i = 0; i < UDP_BATCH && rc == SLUICE_OK; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t r = recvfrom(s->fd, s->buf, UDP_MAX_DATAGRAM, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&ss, &sl);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->host->log(s->ctx, SLUICE_LOG_WARN, "netcatudp: recvfrom: %s", strerror(errno));
            break;
        }
        char from[NET_ADDR_TEXT_MAX + 8];
        if (s->conf->remote_address_header)
            net_java_sockaddr((struct sockaddr *)&ss, from, sizeof(from));
        rc = datagram(s, s->buf, (size_t)r < UDP_MAX_DATAGRAM ? (size_t)r : UDP_MAX_DATAGRAM,
                      s->conf->remote_address_header ? from : NULL, err);
    }
    if (rc == SLUICE_OK)
        rc = flush(s, err);
    if (rc == SLUICE_ESTOPPED)
        return SLUICE_READY;
    return rc == SLUICE_OK ? SLUICE_READY : rc;
}

static void nudp_stop(void *self)
{
    struct nudp_source *s = self;
    for (size_t i = 0; i < s->n; i++)
        s->host->event_free(s->evs[i]);
    s->n = 0;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->lost)
        s->host->log(s->ctx, SLUICE_LOG_WARN, "%" PRIu64 " events were not stored", s->lost);
    s->lost = 0;
}

static void nudp_destroy(void *self)
{
    struct nudp_source *s = self;
    if (!s)
        return;
    nudp_stop(s);
    free(s->buf);
    free(s);
}

static const struct sluice_source_ops nudp_ops = {
    .create = nudp_create,
    .start = nudp_start,
    .process = nudp_process,
    .stop = nudp_stop,
    .destroy = nudp_destroy,
};

static const struct sluice_option nudp_options[] = {
    {.name = "bind",
     .type = SLUICE_OPT_STRING,
     .desc = "Address (or host name) to listen on; every address when unset",
     .offset = offsetof(struct nudp_conf, bind)},
    {.name = "port",
     .type = SLUICE_OPT_INT,
     .desc = "UDP port to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .min = 0,
     .max = 65535,
     .offset = offsetof(struct nudp_conf, port)},
    {.name = "remoteAddressHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's address as Java prints it (/1.2.3.4:5678)",
     .offset = offsetof(struct nudp_conf, remote_address_header)},
    {.name = NULL},
};

static const char *const nudp_aliases[] = {"org.apache.flume.source.NetcatUdpSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "netcatudp"),
    .aliases = nudp_aliases,
    .summary = "Listens on a UDP port and turns each line of each datagram into an event",
    .options = nudp_options,
    .conf_size = sizeof(struct nudp_conf),
    .ops = &nudp_ops,
};
