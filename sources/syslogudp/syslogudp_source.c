/*
 * The `syslogudp` source (org.apache.flume.source.SyslogUDPSource): one datagram is one syslog
 * message (up to 64 KiB, as Flume), parsed as Flume's SyslogUtils does. Flume stops at the
 * first '\n' of a datagram and drops the rest; sluice makes every line its own event.
 * Pollable: process() waits up to 100 ms, reads at most UDP_BATCH datagrams and emits their
 * events as one batch. While emit waits for a full channel the kernel buffers datagrams and,
 * UDP having no back-pressure, drops them once its receive buffer is full.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/net_listen.h"
#include "../common/syslog_event.h"

#define UDP_MAX_DATAGRAM (64 * 1024)
#define UDP_BATCH        256
#define EVENTS_MAX       1024
#define NAME_CACHE       16
#define NAME_TTL_MS      60000

struct sudp_conf {
    char *host;
    int64_t port;
    char *keep_fields;
    char *client_ip_header;
    char *client_hostname_header;
    struct sluice_kvlist format;
};

/* Reverse lookups are slow: remember the last few senders' names for a minute. */
struct name_entry {
    struct sockaddr_storage addr;
    socklen_t len;
    int64_t at_ms;
    char name[256];
};

struct sudp_source {
    const struct sudp_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    unsigned keep;
    int fd, port;
    uint8_t *buf;
    struct syslog_parser parser;
    int parser_ok;
    struct syslog_client client;
    char ip[NET_ADDR_TEXT_MAX];
    struct name_entry names[NAME_CACHE];
    size_t next_name;
    struct sluice_event *evs[EVENTS_MAX];
    size_t n;
    int emit_rc;
    struct sluice_err emit_err;
    uint64_t lost;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *hostname_of(struct sudp_source *s, const struct sockaddr_storage *ss,
                               socklen_t sl)
{
    int64_t now = mono_ms();
    for (size_t i = 0; i < NAME_CACHE; i++) {
        struct name_entry *e = &s->names[i];
        if (e->len == sl && e->at_ms && now - e->at_ms < NAME_TTL_MS && !memcmp(&e->addr, ss, sl))
            return e->name;
    }
    struct name_entry *e = &s->names[s->next_name++ % NAME_CACHE];
    memcpy(&e->addr, ss, sl);
    e->len = sl;
    e->at_ms = now;
    net_hostname((const struct sockaddr *)ss, sl, e->name, sizeof(e->name));
    return e->name;
}

static int flush(struct sudp_source *s)
{
    size_t n = s->n;
    s->n = 0;
    if (n == 0)
        return SLUICE_OK;
    int rc = s->host->emit(s->ctx, s->evs, n, &s->emit_err);
    if (rc != SLUICE_OK) {
        s->lost += n;
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "Error writing to channel: %zu syslog events not stored: %s", n,
                     s->emit_err.msg);
    }
    return rc;
}

static int on_msg(void *arg, const struct syslog_msg *m)
{
    struct sudp_source *s = arg;
    struct sluice_event *ev = syslog_event(s->host, m, &s->client);
    if (!ev)
        return s->host->err_set(&s->emit_err, SLUICE_ENOMEM, "syslogudp: out of memory");
    s->evs[s->n++] = ev;
    if (s->n == EVENTS_MAX)
        return flush(s);
    return 0;
}

static int su_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct sudp_conf *conf = conf_;
    char msg[256];
    struct sudp_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "syslogudp: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->fd = -1;
    if ((conf->host && net_check_host("host", conf->host, msg, sizeof(msg))) ||
        net_check_port("port", conf->port, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    int rc = syslog_conf_check(host, ctx, "syslogudp", conf->keep_fields, &conf->format, 0,
                               &s->keep, err);
    if (rc != SLUICE_OK)
        return rc;
    if (syslog_parser_init(&s->parser, UDP_MAX_DATAGRAM, s->keep, 0, msg, sizeof(msg)) != 0)
        return host->err_set(err, SLUICE_ENOMEM, "syslogudp: %s", msg);
    s->parser_ok = 1;
    if (!(s->buf = malloc(UDP_MAX_DATAGRAM)))
        return host->err_set(err, SLUICE_ENOMEM, "syslogudp: out of memory");
    s->client.ip_header = conf->client_ip_header;
    s->client.hostname_header = conf->client_hostname_header;
    s->client.ip = s->ip;
    return SLUICE_OK;
}

static int su_start(void *self, struct sluice_err *err)
{
    struct sudp_source *s = self;
    char msg[256];
    int rc =
        net_listen(s->conf->host, s->conf->port, SOCK_DGRAM, 0, &s->fd, &s->port, msg, sizeof(msg));
    if (rc != 0)
        return s->host->err_set(err, rc, "syslogudp: %s", msg);
    s->host->log(s->ctx, SLUICE_LOG_INFO, "Syslog UDP Source listening on %s:%d",
                 s->conf->host ? s->conf->host : "0.0.0.0", s->port);
    return SLUICE_OK;
}

static int su_process(void *self, struct sluice_err *err)
{
    struct sudp_source *s = self;
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, 100);
    if (pr < 0 && errno != EINTR)
        return s->host->err_set(err, SLUICE_EIO, "syslogudp: poll: %s", strerror(errno));
    if (pr <= 0)
        return SLUICE_READY; /* waited 100 ms: keep the loop going without a backoff sleep */
    int rc = SLUICE_OK;
    for (int i = 0; i < UDP_BATCH && rc == SLUICE_OK; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t r =
            recvfrom(s->fd, s->buf, UDP_MAX_DATAGRAM, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->host->log(s->ctx, SLUICE_LOG_WARN, "syslogudp: recvfrom: %s", strerror(errno));
            break;
        }
        if (s->client.ip_header)
            net_java_ip((struct sockaddr *)&ss, s->ip, sizeof(s->ip));
        if (s->client.hostname_header)
            s->client.hostname = hostname_of(s, &ss, sl);
        syslog_parser_reset(&s->parser);
        rc = syslog_feed(&s->parser, s->buf, (size_t)r, on_msg, s);
        if (rc == SLUICE_OK)
            rc = syslog_flush(&s->parser, on_msg, s);
    }
    if (rc == SLUICE_OK)
        rc = flush(s);
    for (size_t i = 0; i < s->n; i++)
        s->host->event_free(s->evs[i]); /* left over after a failed emit */
    s->n = 0;
    if (rc == SLUICE_OK || rc == SLUICE_ESTOPPED)
        return SLUICE_READY;
    *err = s->emit_err;
    return rc;
}

static void su_stop(void *self)
{
    struct sudp_source *s = self;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->lost)
        s->host->log(s->ctx, SLUICE_LOG_WARN, "%" PRIu64 " syslog events were not stored", s->lost);
    s->lost = 0;
}

static void su_destroy(void *self)
{
    struct sudp_source *s = self;
    if (!s)
        return;
    su_stop(s);
    if (s->parser_ok)
        syslog_parser_free(&s->parser);
    free(s->buf);
    free(s);
}

static const struct sluice_source_ops sudp_ops = {
    .create = su_create,
    .start = su_start,
    .process = su_process,
    .stop = su_stop,
    .destroy = su_destroy,
};

static const struct sluice_option sudp_options[] = {
    {.name = "host",
     .type = SLUICE_OPT_STRING,
     .desc = "Address (or host name) to listen on; every address when unset",
     .offset = offsetof(struct sudp_conf, host)},
    {.name = "port",
     .type = SLUICE_OPT_INT,
     .desc = "UDP port to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .min = 0,
     .max = 65535,
     .offset = offsetof(struct sudp_conf, port)},
    {.name = "keepFields",
     .type = SLUICE_OPT_STRING,
     .def = "none",
     .desc = "none, all (the whole raw message as body), or any of priority version "
             "timestamp hostname to keep in front of the body",
     .offset = offsetof(struct sudp_conf, keep_fields)},
    {.name = "clientIPHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's IP address",
     .offset = offsetof(struct sudp_conf, client_ip_header)},
    {.name = "clientHostnameHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's host name (reverse DNS, cached for a minute)",
     .offset = offsetof(struct sudp_conf, client_hostname_header)},
    {.name = "format.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "Custom formats (format.regex, ...): not supported, refused",
     .offset = offsetof(struct sudp_conf, format)},
    {.name = NULL},
};

static const char *const sudp_aliases[] = {"org.apache.flume.source.SyslogUDPSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "syslogudp"),
    .aliases = sudp_aliases,
    .summary = "Receives syslog messages (RFC 3164 / 5424) over UDP, one event per message",
    .options = sudp_options,
    .conf_size = sizeof(struct sudp_conf),
    .ops = &sudp_ops,
};
