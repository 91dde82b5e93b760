/*
 * The `netcat` source (org.apache.flume.source.NetcatSource): a TCP server turning each line a
 * client sends into an event, acknowledged per line. Event-driven: the shared tcp_server runs
 * one accept thread and one I/O thread for all connections (Flume runs a thread per client;
 * sluice serves at most maxConnections clients and refuses more with a FAILED line). A full
 * channel blocks emit and so stops reading: clients feel back-pressure instead of losing lines.
 */
#include <iconv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netcat_source.h"

static int is_utf8(const char *enc)
{
    return !strcasecmp(enc, "utf-8") || !strcasecmp(enc, "utf8");
}

static int nc_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct netcat_conf *conf = conf_;
    char msg[256];
    struct netcat_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "netcat: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    if (net_check_host("bind", conf->bind, msg, sizeof(msg)) ||
        net_check_port("port", conf->port, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    if (conf->max_line_length < 1)
        return host->err_set(err, SLUICE_ECONFIG, "max-line-length: %" PRId64 " must be at least 1",
                             conf->max_line_length);
    if (conf->max_connections < 1)
        return host->err_set(err, SLUICE_ECONFIG, "maxConnections: %" PRId64 " must be at least 1",
                             conf->max_connections);
    const char *enc = conf->encoding && conf->encoding[0] ? conf->encoding : "utf-8";
    s->encoding = enc;
    s->utf8 = is_utf8(enc);
    if (!s->utf8) {
        iconv_t a = iconv_open("UTF-8", enc), b = iconv_open(enc, "UTF-8");
        int ok = a != (iconv_t)-1 && b != (iconv_t)-1;
        if (a != (iconv_t)-1)
            iconv_close(a);
        if (b != (iconv_t)-1)
            iconv_close(b);
        if (!ok)
            return host->err_set(err, SLUICE_ECONFIG,
                                 "encoding: '%s' is not a character set this system knows "
                                 "(iconv)",
                                 enc);
    }
    s->max_chars = (size_t)conf->max_line_length;
    s->refuse_len = (size_t)snprintf(s->refuse, sizeof(s->refuse),
                                     "FAILED: Too many connections (maxConnections %" PRId64 ")\n",
                                     conf->max_connections);
    return SLUICE_OK;
}

static int nc_start(void *self, struct sluice_err *err)
{
    struct netcat_source *s = self;
    struct tcp_server_conf tc = {
        .what = "netcat",
        .host = s->conf->bind,
        .port = s->conf->port,
        .max_conns = (size_t)s->conf->max_connections,
        .refuse_msg = s->refuse,
        .refuse_len = s->refuse_len,
        .read_size = NETCAT_READ_SIZE,
    };
    s->too_long = s->malformed = s->failed = 0;
    int rc = tcp_server_start(&s->srv, &tc, &netcat_conn_ops, s, s->host, s->ctx, err);
    if (rc != SLUICE_OK)
        return rc;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Netcat source listening on %s:%d (max-line-length %zu, ack-every-event %s, "
                 "encoding %s, maxConnections %" PRId64 ")",
                 s->conf->bind, tcp_server_port(s->srv), s->max_chars,
                 s->conf->ack_every_event ? "true" : "false", s->encoding,
                 s->conf->max_connections);
    return SLUICE_OK;
}

static void nc_stop(void *self)
{
    struct netcat_source *s = self;
    if (!s->srv)
        return;
    tcp_server_stop(s->srv);
    s->srv = NULL;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Netcat source stopped: %" PRIu64 " lines too long, %" PRIu64
                 " connections with malformed input, %" PRIu64 " lines answered FAILED",
                 s->too_long, s->malformed, s->failed);
}

static void nc_destroy(void *self)
{
    struct netcat_source *s = self;
    if (!s)
        return;
    if (s->srv)
        nc_stop(s);
    for (size_t i = 0; i < s->n_batch; i++)
        s->host->event_free(s->batch[i]);
    free(s);
}

const struct sluice_source_ops netcat_source_ops = {
    .create = nc_create,
    .start = nc_start,
    .process = NULL, /* event-driven */
    .stop = nc_stop,
    .destroy = nc_destroy,
};

static const struct sluice_option netcat_options[] = {
    {.name = "bind",
     .type = SLUICE_OPT_STRING,
     .desc = "Address (or host name) to listen on",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct netcat_conf, bind)},
    {.name = "port",
     .type = SLUICE_OPT_INT,
     .desc = "TCP port to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .min = 0,
     .max = 65535,
     .offset = offsetof(struct netcat_conf, port)},
    {.name = "max-line-length",
     .type = SLUICE_OPT_INT,
     .def = "512",
     .desc = "Longest line in characters, newline included; a longer one is answered "
             "'FAILED: Event exceeds the maximum length' and the connection closed",
     .min = 1,
     .max = 16777216,
     .offset = offsetof(struct netcat_conf, max_line_length)},
    {.name = "ack-every-event",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Answer 'OK' after each line the channel accepted",
     .offset = offsetof(struct netcat_conf, ack_every_event)},
    {.name = "encoding",
     .type = SLUICE_OPT_STRING,
     .def = "utf-8",
     .desc = "Character set of the input and the replies; bodies are always UTF-8",
     .offset = offsetof(struct netcat_conf, encoding)},
    {.name = "maxConnections",
     .type = SLUICE_OPT_INT,
     .def = "1024",
     .desc = "Clients served at once (sluice only; Flume has no limit); more are answered "
             "'FAILED: Too many connections' and closed",
     .min = 1,
     .max = 65536,
     .offset = offsetof(struct netcat_conf, max_connections)},
    {.name = NULL},
};

static const char *const netcat_aliases[] = {"org.apache.flume.source.NetcatSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "netcat"),
    .aliases = netcat_aliases,
    .summary = "Listens on a TCP port and turns each line into an event, answering OK per line",
    .options = netcat_options,
    .conf_size = sizeof(struct netcat_conf),
    .ops = &netcat_source_ops,
};
