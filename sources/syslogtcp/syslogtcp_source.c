/*
 * The `syslogtcp` source (org.apache.flume.source.SyslogTcpSource): syslog over TCP, one
 * message per line (or RFC 6587 octet-counted frames), parsed as Flume's SyslogUtils does
 * (sources/common/syslog_parse.c). Event-driven on the shared tcp_server (one accept thread,
 * one I/O thread). The messages of one read go to the channel in one emit; a full channel
 * blocks it, which stops reading and pushes back on the senders. Flume drops an event the
 * channel refused ("event dropped"); sluice only sees a refusal when the agent gives up at
 * shutdown, and then resets that connection so the sender notices.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/syslog_event.h"
#include "../common/tcp_server.h"

#define STCP_BATCH_MAX 1000
#define STCP_READ_SIZE (64 * 1024)

struct stcp_conf {
    char *host;
    int64_t port;
    int64_t event_size;
    char *keep_fields;
    char *client_ip_header;
    char *client_hostname_header;
    int octet_counting;
    int64_t max_connections;
    int ssl;
    struct sluice_kvlist format;
};

struct stcp_source {
    const struct stcp_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    unsigned keep;
    struct tcp_server *srv;
    /* I/O thread only */
    struct tcp_conn *cur; /* the connection being read, for the client headers */
    struct sluice_event *batch[STCP_BATCH_MAX];
    size_t n_batch;
    int failed; /* emit refused during this read */
    uint64_t invalid, incomplete, lost;
};

struct stcp_conn {
    struct syslog_parser p;
};

static void flush_batch(struct stcp_source *s)
{
    size_t n = s->n_batch;
    s->n_batch = 0;
    if (n == 0 || s->failed) {
        for (size_t i = 0; i < n; i++)
            s->host->event_free(s->batch[i]);
        s->lost += n;
        return;
    }
    struct sluice_err err = {0};
    if (s->host->emit(s->ctx, s->batch, n, &err) != SLUICE_OK) {
        s->failed = 1;
        s->lost += n;
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "Error writing to channel: %zu syslog events from %s not stored (%s); "
                     "resetting the connection so the sender sees it",
                     n, s->cur->peer_ip, err.msg);
        tcp_conn_abort(s->cur);
    }
}

static int on_msg(void *arg, const struct syslog_msg *m)
{
    struct stcp_source *s = arg;
    struct syslog_client cl = {
        .ip_header = s->conf->client_ip_header,
        .ip = s->cur->peer_ip,
        .hostname_header = s->conf->client_hostname_header,
        .hostname = s->cur->peer_name,
    };
    if (m->status && !strcmp(m->status, "Invalid"))
        s->invalid++;
    else if (m->status)
        s->incomplete++;
    struct sluice_event *ev = syslog_event(s->host, m, &cl);
    if (!ev) {
        s->host->log(s->ctx, SLUICE_LOG_ERROR, "out of memory for a syslog event from %s",
                     s->cur->peer_ip);
        s->failed = 1;
        tcp_conn_abort(s->cur);
        return SLUICE_ENOMEM;
    }
    s->batch[s->n_batch++] = ev;
    if (s->n_batch == STCP_BATCH_MAX)
        flush_batch(s);
    return s->failed ? SLUICE_ESTOPPED : 0;
}

/* ---- tcp_server callbacks ------------------------------------------------------------- */

static int st_open(void *arg, struct tcp_conn *c)
{
    struct stcp_source *s = arg;
    char msg[200];
    struct stcp_conn *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -1;
    if (syslog_parser_init(&sc->p, (size_t)s->conf->event_size, s->keep, s->conf->octet_counting,
                           msg, sizeof(msg)) != 0) {
        s->host->log(s->ctx, SLUICE_LOG_ERROR, "syslogtcp: %s", msg);
        free(sc);
        return -1;
    }
    c->user = sc;
    return 0;
}

static void st_data(void *arg, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct stcp_source *s = arg;
    struct stcp_conn *sc = c->user;
    s->cur = c;
    s->failed = 0;
    syslog_feed(&sc->p, p, n, on_msg, s);
    flush_batch(s);
}

static void st_eof(void *arg, struct tcp_conn *c)
{
    struct stcp_source *s = arg;
    struct stcp_conn *sc = c->user;
    s->cur = c;
    s->failed = 0;
    /* a last message without '\n': Flume loses it with the connection, sluice delivers it */
    syslog_flush(&sc->p, on_msg, s);
    flush_batch(s);
}

static void st_close(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct stcp_conn *sc = c->user;
    if (!sc)
        return;
    syslog_parser_free(&sc->p);
    free(sc);
    c->user = NULL;
}

static const struct tcp_server_ops stcp_conn_ops = {
    .open = st_open,
    .data = st_data,
    .eof = st_eof,
    .close = st_close,
};

/* ---- source ops ------------------------------------------------------------------------ */

static int st_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct stcp_conf *conf = conf_;
    char msg[256];
    struct stcp_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "syslogtcp: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    if ((conf->host && net_check_host("host", conf->host, msg, sizeof(msg))) ||
        net_check_port("port", conf->port, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    if (conf->event_size < 1 || conf->event_size > 64 * 1024 * 1024)
        return host->err_set(err, SLUICE_ECONFIG, "eventSize: %" PRId64 " is not in 1..%d",
                             conf->event_size, 64 * 1024 * 1024);
    if (conf->max_connections < 1)
        return host->err_set(err, SLUICE_ECONFIG, "maxConnections: %" PRId64 " must be at least 1",
                             conf->max_connections);
    return syslog_conf_check(host, ctx, "syslogtcp", conf->keep_fields, &conf->format, conf->ssl,
                             &s->keep, err);
}

static int st_start(void *self, struct sluice_err *err)
{
    struct stcp_source *s = self;
    struct tcp_server_conf tc = {
        .what = "syslogtcp",
        .host = s->conf->host,
        .port = s->conf->port,
        .max_conns = (size_t)s->conf->max_connections,
        .resolve = s->conf->client_hostname_header != NULL,
        .read_size = STCP_READ_SIZE,
    };
    s->invalid = s->incomplete = s->lost = 0;
    int rc = tcp_server_start(&s->srv, &tc, &stcp_conn_ops, s, s->host, s->ctx, err);
    if (rc != SLUICE_OK)
        return rc;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Syslog TCP Source listening on %s:%d (eventSize %" PRId64
                 ", octet-counted framing %s)",
                 s->conf->host ? s->conf->host : "0.0.0.0", tcp_server_port(s->srv),
                 s->conf->event_size, s->conf->octet_counting ? "recognised" : "off");
    return SLUICE_OK;
}

static void st_stop(void *self)
{
    struct stcp_source *s = self;
    if (!s->srv)
        return;
    tcp_server_stop(s->srv);
    s->srv = NULL;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Syslog TCP Source stopped: %" PRIu64 " invalid, %" PRIu64
                 " incomplete messages; %" PRIu64 " events not stored",
                 s->invalid, s->incomplete, s->lost);
}

static void st_destroy(void *self)
{
    struct stcp_source *s = self;
    if (!s)
        return;
    st_stop(s);
    free(s);
}

static const struct sluice_source_ops stcp_ops = {
    .create = st_create,
    .start = st_start,
    .process = NULL, /* event-driven */
    .stop = st_stop,
    .destroy = st_destroy,
};

#define SSL_KEY(n)                                                                                 \
    {                                                                                              \
        .name = (n), .type = SLUICE_OPT_UNSUPPORTED,                                               \
        .desc = "TLS settings are not used: sluice's syslogtcp source has no TLS"                  \
    }

static const struct sluice_option stcp_options[] = {
    {.name = "host",
     .type = SLUICE_OPT_STRING,
     .desc = "Address (or host name) to listen on; every address when unset",
     .offset = offsetof(struct stcp_conf, host)},
    {.name = "port",
     .type = SLUICE_OPT_INT,
     .desc = "TCP port to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .min = 0,
     .max = 65535,
     .offset = offsetof(struct stcp_conf, port)},
    {.name = "eventSize",
     .type = SLUICE_OPT_INT,
     .def = "2500",
     .desc = "Longest message in bytes; a longer one is cut into an event marked "
             "flume.syslog.status=Incomplete and the rest starts a new one",
     .min = 1,
     .max = 64 * 1024 * 1024,
     .offset = offsetof(struct stcp_conf, event_size)},
    {.name = "keepFields",
     .type = SLUICE_OPT_STRING,
     .def = "none",
     .desc = "none, all (the whole raw message as body), or any of priority version "
             "timestamp hostname to keep in front of the body",
     .offset = offsetof(struct stcp_conf, keep_fields)},
    {.name = "clientIPHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's IP address",
     .offset = offsetof(struct stcp_conf, client_ip_header)},
    {.name = "clientHostnameHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's host name (reverse DNS, once per connection)",
     .offset = offsetof(struct stcp_conf, client_hostname_header)},
    {.name = "octetCounting",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Also accept RFC 6587 octet-counted frames ('LEN SP MSG', sluice only); a line "
             "starting with a digit is then read as a frame length",
     .offset = offsetof(struct stcp_conf, octet_counting)},
    {.name = "maxConnections",
     .type = SLUICE_OPT_INT,
     .def = "1024",
     .desc = "Senders served at once (sluice only; Flume has no limit); more are closed",
     .min = 1,
     .max = 65536,
     .offset = offsetof(struct stcp_conf, max_connections)},
    {.name = "ssl",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "TLS; not supported (true is refused)",
     .offset = offsetof(struct stcp_conf, ssl)},
    SSL_KEY("keystore"),
    SSL_KEY("keystore-password"),
    SSL_KEY("keystore-type"),
    SSL_KEY("exclude-protocols"),
    SSL_KEY("include-protocols"),
    SSL_KEY("exclude-cipher-suites"),
    SSL_KEY("include-cipher-suites"),
    {.name = "format.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "Custom formats (format.regex, ...): not supported, refused",
     .offset = offsetof(struct stcp_conf, format)},
    {.name = NULL},
};

static const char *const stcp_aliases[] = {"org.apache.flume.source.SyslogTcpSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "syslogtcp"),
    .aliases = stcp_aliases,
    .summary = "Receives syslog messages (RFC 3164 / 5424) over TCP, one event per message",
    .options = stcp_options,
    .conf_size = sizeof(struct stcp_conf),
    .ops = &stcp_ops,
};
