/*
 * The `http` source (org.apache.flume.source.http.HTTPSource) with Flume's JSONHandler: a POST
 * (or, as in Flume, a GET) whose body is a JSON array of events; all events of one request go
 * to the channel in one emit. Served by libmicrohttpd with one internal thread, so emits come
 * from one thread; a full channel makes emit wait, which holds the request (and the server)
 * back - that is the back-pressure - and a request the agent gives up on while stopping is
 * answered 503. Replies: 200 (stored), 400 (bad JSON, with the reason), 403 (TRACE, OPTIONS,
 * as Flume), 405 (other methods), 413 (body over maxRequestBytes), 503 (not stored).
 */
#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/net_listen.h"
#include "http_source.h"

#define HTTP_IDLE_TIMEOUT_S 30
/* A body over maxRequestBytes without Content-Length is read on (and dropped) this far to
 * answer 413; a client sending more is disconnected. */
#define HTTP_DRAIN_MAX (16u * 1024 * 1024)

/* One request being received. */
struct http_req {
    uint8_t *buf;
    size_t len, cap;
    int too_big;  /* over maxRequestBytes: len counts the bytes dropped since */
    int answered; /* a response is queued already */
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text)
{
    size_t len = strlen(text);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (len)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=UTF-8");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result too_big(struct http_source *s, struct MHD_Connection *c)
{
    char text[160];
    s->bad_requests++;
    snprintf(text, sizeof(text),
             "Request body larger than maxRequestBytes (%" PRId64 " bytes); not stored\n",
             s->conf->max_request_bytes);
    return reply(c, 413, text);
}

/* The whole body is here: decode, emit, answer. */
static enum MHD_Result complete(struct http_source *s, struct MHD_Connection *c,
                                struct http_req *rq)
{
    const struct sluice_host *h = s->host;
    char msg[SLUICE_ERR_MSG_MAX + 160];
    char text[sizeof(msg) + 64];
    enum http_charset cs;
    const char *ctype =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (http_json_charset(ctype, &cs, msg, sizeof(msg)) != 0) {
        s->bad_requests++;
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        h->log(s->ctx, SLUICE_LOG_WARN, "Received bad request from client: %s", msg);
        snprintf(text, sizeof(text), "Bad request from client. %s\n", msg);
        return reply(c, MHD_HTTP_BAD_REQUEST, text);
    }
    struct sluice_event **evs = NULL;
    long n = http_json_events(h, cs, rq->buf, rq->len, &evs, msg, sizeof(msg));
    if (n == SLUICE_ENOMEM)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory for the request\n");
    if (n < 0) {
        s->bad_requests++;
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        h->log(s->ctx, SLUICE_LOG_WARN, "Received bad request from client: %s", msg);
        snprintf(text, sizeof(text), "Bad request from client. %s\n", msg);
        return reply(c, MHD_HTTP_BAD_REQUEST, text);
    }
    if (n == 0) {
        free(evs);
        return reply(c, MHD_HTTP_OK, "");
    }
    struct sluice_err err = {0};
    int rc;
    if (h->stopping(s->ctx)) {
        for (long i = 0; i < n; i++)
            h->event_free(evs[i]);
        rc = h->err_set(&err, SLUICE_ESTOPPED, "the agent is stopping");
    } else {
        rc = h->emit(s->ctx, evs, (size_t)n, &err);
    }
    free(evs);
    if (rc == SLUICE_OK)
        return reply(c, MHD_HTTP_OK, "");
    s->refused += (uint64_t)n;
    h->log(s->ctx, SLUICE_LOG_WARN,
           "Error appending event to channel: %ld events answered 503 (%s)", n, err.msg);
    snprintf(text, sizeof(text), "Error appending event to channel. Channel might be full. %s\n",
             err.msg);
    return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, text);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_source *s = cls;
    (void)url;
    (void)version;
    struct http_req *rq = *con_cls;
    if (!rq) {
        /* first call: headers only */
        if (!strcmp(method, "TRACE") || !strcmp(method, "OPTIONS"))
            return reply(c, MHD_HTTP_FORBIDDEN, "Forbidden\n");
        if (strcmp(method, "POST") && strcmp(method, "GET"))
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                         "Method not allowed: send events with POST\n");
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->conf->max_request_bytes)
            return too_big(s, c);
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_big) {
            /* libmicrohttpd answers only once the upload is over: read and drop the rest,
             * up to HTTP_DRAIN_MAX bytes, then give up on the client and close */
            rq->len += n;
            return rq->len > HTTP_DRAIN_MAX ? MHD_NO : MHD_YES;
        }
        if (rq->len + n > (size_t)s->conf->max_request_bytes) {
            rq->too_big = 1;
            free(rq->buf);
            rq->buf = NULL;
            rq->len = n;
            rq->cap = 0;
            return MHD_YES; /* answered 413 when the upload ends */
        }
        if (rq->len + n > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            while (cap < rq->len + n)
                cap *= 2;
            if (cap > (size_t)s->conf->max_request_bytes)
                cap = (size_t)s->conf->max_request_bytes;
            uint8_t *b = realloc(rq->buf, cap);
            if (!b)
                return MHD_NO;
            rq->buf = b;
            rq->cap = cap;
        }
        memcpy(rq->buf + rq->len, upload_data, n);
        rq->len += n;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = 1;
    if (rq->too_big)
        return too_big(s, c);
    return complete(s, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct http_req *rq = *con_cls;
    if (rq) {
        free(rq->buf);
        free(rq);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_source *s = cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    s->host->log(s->ctx, SLUICE_LOG_WARN, "libmicrohttpd: %s", line);
}

/* ---- source ops ------------------------------------------------------------------------ */

static const char *const jetty_prefixes[4] = {"QueuedThreadPool.", "HttpConfiguration.",
                                              "SslContextFactory.", "ServerConnector."};

static int http_create(void **self, const void *conf_, const struct sluice_host *host,
                       struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct http_conf *conf = conf_;
    char msg[256];
    struct http_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "http: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    if (net_check_host("bind", conf->bind, msg, sizeof(msg)) ||
        net_check_port("port", conf->port, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    const char *hd = conf->handler ? conf->handler : HTTP_JSON_HANDLER;
    if (strcmp(hd, HTTP_JSON_HANDLER) != 0)
        return host->err_set(err, SLUICE_ECONFIG,
                             "handler: '%s' is not supported: sluice's http source has only "
                             "%s (BLOBHandler and custom handler classes are Java code)",
                             hd, HTTP_JSON_HANDLER);
    if (conf->ssl)
        return host->err_set(err, SLUICE_ECONFIG,
                             "ssl: HTTPS is not supported by sluice's http source; terminate "
                             "TLS in a proxy in front of it");
    if (conf->max_request_bytes < 1)
        return host->err_set(err, SLUICE_ECONFIG, "maxRequestBytes: %" PRId64 " must be at least 1",
                             conf->max_request_bytes);
    if (conf->max_connections < 1)
        return host->err_set(err, SLUICE_ECONFIG, "maxConnections: %" PRId64 " must be at least 1",
                             conf->max_connections);
    for (size_t i = 0; i < conf->handler_props.n; i++)
        host->log(ctx, SLUICE_LOG_WARN, "%s: handler.%s is ignored: JSONHandler has no settings",
                  conf->handler_props.items[i].origin ? conf->handler_props.items[i].origin
                                                      : "config",
                  conf->handler_props.items[i].key);
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < conf->jetty[k].n; i++)
            host->log(ctx, SLUICE_LOG_WARN, "%s: %s%s is a Jetty setting; ignored by sluice",
                      conf->jetty[k].items[i].origin ? conf->jetty[k].items[i].origin : "config",
                      jetty_prefixes[k], conf->jetty[k].items[i].key);
    return SLUICE_OK;
}

static int http_start(void *self, struct sluice_err *err)
{
    struct http_source *s = self;
    char msg[256];
    int fd = -1;
    int rc =
        net_listen(s->conf->bind, s->conf->port, SOCK_STREAM, 128, &fd, &s->port, msg, sizeof(msg));
    if (rc != 0)
        return s->host->err_set(err, rc, "http: %s", msg);
    s->bad_requests = s->refused = 0;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                            s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->conf->max_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
                            MHD_OPTION_END);
    if (!s->d) {
        close(fd);
        return s->host->err_set(err, SLUICE_EIO, "http: cannot start the HTTP server on %s:%d",
                                s->conf->bind, s->port);
    }
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Http source listening on %s:%d (JSONHandler, maxRequestBytes %" PRId64 ")",
                 s->conf->bind, s->port, s->conf->max_request_bytes);
    return SLUICE_OK;
}

static void http_stop(void *self)
{
    struct http_source *s = self;
    if (!s->d)
        return;
    MHD_stop_daemon(s->d); /* joins its thread, closes the listening socket */
    s->d = NULL;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Http source stopped: %" PRIu64 " bad requests, %" PRIu64 " events answered 503",
                 s->bad_requests, s->refused);
}

static void http_destroy(void *self)
{
    struct http_source *s = self;
    if (!s)
        return;
    http_stop(s);
    free(s);
}

const struct sluice_source_ops http_source_ops = {
    .create = http_create,
    .start = http_start,
    .process = NULL, /* event-driven */
    .stop = http_stop,
    .destroy = http_destroy,
};

#define UNSUPPORTED_KEY(n, d)                                                                      \
    {                                                                                              \
        .name = (n), .type = SLUICE_OPT_UNSUPPORTED, .desc = (d)                                   \
    }
#define JETTY_PREFIX(n, i)                                                                         \
    {                                                                                              \
        .name = (n), .type = SLUICE_OPT_PREFIX, .desc = "Jetty settings; ignored with a warning",  \
        .offset = offsetof(struct http_conf, jetty) + (i) * sizeof(struct sluice_kvlist)           \
    }

static const struct sluice_option http_options[] = {
    {.name = "port",
     .type = SLUICE_OPT_INT,
     .desc = "TCP port to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .min = 0,
     .max = 65535,
     .offset = offsetof(struct http_conf, port)},
    {.name = "bind",
     .type = SLUICE_OPT_STRING,
     .def = "0.0.0.0",
     .desc = "Address (or host name) to listen on",
     .offset = offsetof(struct http_conf, bind)},
    {.name = "handler",
     .type = SLUICE_OPT_STRING,
     .def = HTTP_JSON_HANDLER,
     .desc = "Request handler; only org.apache.flume.source.http.JSONHandler (a JSON array of "
             "{\"headers\":{...},\"body\":\"...\"})",
     .offset = offsetof(struct http_conf, handler)},
    {.name = "handler.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "Handler settings; JSONHandler has none (ignored with a warning)",
     .offset = offsetof(struct http_conf, handler_props)},
    {.name = "maxRequestBytes",
     .type = SLUICE_OPT_INT,
     .def = "67108864",
     .desc = "Largest request body accepted (sluice only); a larger one is answered 413",
     .min = 1,
     .max = INT64_C(2147483647),
     .offset = offsetof(struct http_conf, max_request_bytes)},
    {.name = "maxConnections",
     .type = SLUICE_OPT_INT,
     .def = "1024",
     .desc = "Clients served at once (sluice only)",
     .min = 1,
     .max = 65536,
     .offset = offsetof(struct http_conf, max_connections)},
    {.name = "ssl",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "HTTPS; not supported (true is refused)",
     .offset = offsetof(struct http_conf, ssl)},
    UNSUPPORTED_KEY("keystore", "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("keystore-password",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("keystore-type",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("exclude-protocols",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("include-protocols",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("exclude-cipher-suites",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    UNSUPPORTED_KEY("include-cipher-suites",
                    "HTTPS settings are not used: sluice's http source has no TLS"),
    JETTY_PREFIX("QueuedThreadPool.", 0),
    JETTY_PREFIX("HttpConfiguration.", 1),
    JETTY_PREFIX("SslContextFactory.", 2),
    JETTY_PREFIX("ServerConnector.", 3),
    {.name = NULL},
};

static const char *const http_aliases[] = {"org.apache.flume.source.http.HTTPSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "http"),
    .aliases = http_aliases,
    .summary = "Accepts events as a JSON array in HTTP POST requests (Flume's JSONHandler)",
    .options = http_options,
    .conf_size = sizeof(struct http_conf),
    .ops = &http_source_ops,
};
