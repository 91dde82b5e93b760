/*
 * The `multiport_syslogtcp` source (org.apache.flume.source.MultiportSyslogTCPSource): syslog
 * over TCP on several ports at once, served by one shared tcp_server (one accept thread, one
 * I/O thread, as Flume's single MINA acceptor). Lines are split as Flume's LineSplitter does
 * (on '\n', cut at eventSize bytes and marked Incomplete), decoded with the port's charset
 * (charset.port.<p>, else charset.default; malformed bytes give an Invalid event with the raw
 * bytes) and parsed with the same Flume-compatible parser as syslogtcp. Up to batchSize
 * events of one read go to the channel per emit; portHeader names the port a message came in on.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/syslog_event.h"
#include "../common/tcp_server.h"
#include "multiport_charset.h"

#define MP_MAX_PORTS        1024
#define CUT_LOG_INTERVAL_MS 10000
#define MP_MIN_READ         (64 * 1024)
#define MP_MAX_EVENT_SIZE   (64 * 1024 * 1024)

struct mp_conf {
    char *host;
    char *ports;
    int64_t event_size;
    char *keep_fields;
    char *port_header;
    char *charset_default;
    struct sluice_kvlist charset_port; /* charset.port.<port> = name */
    int64_t batch_size;
    int64_t read_buffer_bytes;
    char *client_ip_header;
    char *client_hostname_header;
    int64_t max_connections;
    int ssl;
};

struct mp_port_cs {
    int64_t port;
    struct mp_charset cs;
};

struct mp_source {
    const struct mp_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    unsigned keep;
    int64_t *ports;
    size_t n_ports;
    struct mp_charset cs_default;
    struct mp_port_cs *port_cs;
    size_t n_port_cs;
    struct tcp_server *srv;
    /* I/O thread only */
    struct syslog_parser parser; /* one line at a time, so one for every connection */
    struct tcp_conn *cur;
    struct mp_charset *cur_cs;
    int cur_cut; /* the line being parsed was cut at eventSize */
    struct sluice_event *built;
    struct sluice_event **batch;
    size_t n_batch, batch_size;
    int failed;
    uint64_t invalid, incomplete, lost;
    uint64_t cut_logged; /* cut lines since the last warning (0: none warned yet) */
    int64_t last_cut_log;
};

struct mp_conn {
    uint8_t *line; /* the line so far: at most eventSize bytes */
    size_t len;
    struct mp_charset *cs;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- events -------------------------------------------------------------------------------- */

static void flush_batch(struct mp_source *s)
{
    size_t n = s->n_batch;
    s->n_batch = 0;
    if (n == 0)
        return;
    if (s->failed) {
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
                     "Error writing to channel: %zu syslog events from %s (port %d) not stored "
                     "(%s); resetting the connection so the sender sees it",
                     n, s->cur->peer_ip, s->cur->local_port, err.msg);
        tcp_conn_abort(s->cur);
    }
}

static int add_common_headers(struct mp_source *s, struct sluice_event *ev)
{
    int rc = 0;
    if (s->conf->port_header) {
        char num[16];
        snprintf(num, sizeof(num), "%d", s->cur->local_port);
        rc |= s->host->event_header_set(ev, s->conf->port_header, num);
    }
    return rc;
}

static int on_msg(void *arg, const struct syslog_msg *m)
{
    struct mp_source *s = arg;
    struct syslog_msg msg = *m;
    struct syslog_client cl = {
        .ip_header = s->conf->client_ip_header,
        .ip = s->cur->peer_ip,
        .hostname_header = s->conf->client_hostname_header,
        .hostname = s->cur->peer_name,
    };
    if (s->cur_cut && !msg.status)
        msg.status = "Incomplete";
    if (msg.status && !strcmp(msg.status, "Invalid"))
        s->invalid++;
    else if (msg.status)
        s->incomplete++;
    struct sluice_event *ev = syslog_event(s->host, &msg, &cl);
    if (!ev)
        return SLUICE_ENOMEM;
    if (!s->cur_cs->utf8) {
        const uint8_t *b;
        size_t bl;
        if (mp_charset_encode(s->cur_cs, msg.body, msg.body_len, &b, &bl) != 0 ||
            s->host->event_body_set(ev, b, bl) != SLUICE_OK) {
            s->host->event_free(ev);
            return SLUICE_ENOMEM;
        }
    }
    s->built = ev;
    return 0;
}

/* A line whose bytes are not valid in the port's charset: Flume keeps the raw bytes as the
 * body and marks it Invalid (no other syslog header). */
static struct sluice_event *undecodable(struct mp_source *s, const uint8_t *p, size_t n)
{
    struct syslog_client cl = {
        .ip_header = s->conf->client_ip_header,
        .ip = s->cur->peer_ip,
        .hostname_header = s->conf->client_hostname_header,
        .hostname = s->cur->peer_name,
    };
    struct sluice_event *ev = s->host->event_new(p, n);
    if (!ev)
        return NULL;
    int rc = s->host->event_header_set(ev, "flume.syslog.status", "Invalid");
    if (cl.ip_header)
        rc |= s->host->event_header_set(ev, cl.ip_header, cl.ip);
    if (cl.hostname_header)
        rc |= s->host->event_header_set(ev, cl.hostname_header, cl.hostname);
    if (rc != SLUICE_OK) {
        s->host->event_free(ev);
        return NULL;
    }
    s->invalid++;
    return ev;
}

/* One complete (or cut) line of a connection into the batch. */
static void take_line(struct mp_source *s, struct mp_conn *mc, int cut)
{
    const uint8_t *text;
    size_t text_len;
    struct sluice_event *ev = NULL;
    int rc = mp_charset_decode(mc->cs, mc->line, mc->len, &text, &text_len);
    if (rc == 1) {
        s->cur_cs = mc->cs;
        s->cur_cut = cut;
        s->built = NULL;
        syslog_parser_reset(&s->parser);
        if (syslog_feed(&s->parser, text, text_len, on_msg, s) == 0)
            syslog_flush(&s->parser, on_msg, s);
        ev = s->built;
    } else if (rc == 0) {
        ev = undecodable(s, mc->line, mc->len);
    }
    mc->len = 0;
    if (ev && add_common_headers(s, ev) != SLUICE_OK) {
        s->host->event_free(ev);
        ev = NULL;
    }
    if (!ev) {
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "out of memory for a syslog event from %s; resetting the connection",
                     s->cur->peer_ip);
        s->failed = 1;
        tcp_conn_abort(s->cur);
        return;
    }
    s->batch[s->n_batch++] = ev;
    if (s->n_batch == s->batch_size)
        flush_batch(s);
}

/* ---- tcp_server callbacks ------------------------------------------------------------------- */

static struct mp_charset *charset_for(struct mp_source *s, int port)
{
    for (size_t i = 0; i < s->n_port_cs; i++)
        if (s->port_cs[i].port == port)
            return &s->port_cs[i].cs;
    return &s->cs_default;
}

static int mp_open(void *arg, struct tcp_conn *c)
{
    struct mp_source *s = arg;
    struct mp_conn *mc = calloc(1, sizeof(*mc));
    if (mc)
        mc->line = malloc((size_t)s->conf->event_size);
    if (!mc || !mc->line) {
        if (mc)
            free(mc);
        s->host->log(s->ctx, SLUICE_LOG_ERROR, "out of memory for a connection from %s",
                     c->peer_ip);
        return -1;
    }
    mc->cs = charset_for(s, c->local_port);
    c->user = mc;
    return 0;
}

static void mp_data(void *arg, struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct mp_source *s = arg;
    struct mp_conn *mc = c->user;
    size_t max = (size_t)s->conf->event_size;
    s->cur = c;
    s->failed = 0;
    for (size_t i = 0; i < n && !s->failed; i++) {
        uint8_t b = p[i];
        if (b == '\n') {
            /* an empty line (or the '\n' right after a cut line) is no message */
            if (mc->len > 0)
                take_line(s, mc, 0);
            continue;
        }
        mc->line[mc->len++] = b;
        if (mc->len == max) {
            int64_t now = mono_ms();
            if (s->cut_logged == 0 || now - s->last_cut_log >= CUT_LOG_INTERVAL_MS) {
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "Event size larger than specified event size: %zu. Consider "
                             "increasing the max event size. (%" PRIu64
                             " more such messages since the last warning)",
                             max, s->cut_logged);
                s->last_cut_log = now;
                s->cut_logged = 0;
            }
            s->cut_logged++;
            take_line(s, mc, 1);
        }
    }
    flush_batch(s);
}

static void mp_eof(void *arg, struct tcp_conn *c)
{
    struct mp_source *s = arg;
    struct mp_conn *mc = c->user;
    s->cur = c;
    s->failed = 0;
    /* a last message without '\n': Flume loses it with the connection, sluice delivers it */
    if (mc->len > 0)
        take_line(s, mc, 0);
    flush_batch(s);
}

static void mp_close(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct mp_conn *mc = c->user;
    if (!mc)
        return;
    free(mc->line);
    free(mc);
    c->user = NULL;
}

static const struct tcp_server_ops mp_conn_ops = {
    .open = mp_open,
    .data = mp_data,
    .eof = mp_eof,
    .close = mp_close,
};

/* ---- configuration ------------------------------------------------------------------------- */

static int parse_port(const char *text, int64_t *out)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < 0 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static int parse_ports(struct mp_source *s, struct sluice_err *err)
{
    const char *p = s->conf->ports;
    s->ports = calloc(MP_MAX_PORTS, sizeof(*s->ports));
    if (!s->ports)
        return s->host->err_set(err, SLUICE_ENOMEM, "multiport_syslogtcp: out of memory");
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char word[32];
        size_t n = strcspn(p, " \t");
        snprintf(word, sizeof(word), "%.*s", (int)(n < 31 ? n : 31), p);
        if (n >= 31 || parse_port(word, &s->ports[s->n_ports]) != 0)
            return s->host->err_set(err, SLUICE_ECONFIG,
                                    "ports: '%.*s' is not a port number (0..65535)",
                                    (int)(n < 64 ? n : 64), p);
        for (size_t i = 0; i < s->n_ports; i++)
            if (s->ports[i] == s->ports[s->n_ports] && s->ports[i] != 0)
                return s->host->err_set(err, SLUICE_ECONFIG, "ports: %" PRId64 " is listed twice",
                                        s->ports[i]);
        if (++s->n_ports == MP_MAX_PORTS && p[n])
            return s->host->err_set(err, SLUICE_ECONFIG, "ports: more than %d ports", MP_MAX_PORTS);
        p += n;
    }
    if (s->n_ports == 0)
        return s->host->err_set(err, SLUICE_ECONFIG,
                                "ports: must list at least one port (space-separated)");
    return SLUICE_OK;
}

static int open_charsets(struct mp_source *s, struct sluice_err *err)
{
    char msg[200];
    if (mp_charset_open(&s->cs_default, s->conf->charset_default, msg, sizeof(msg)) != 0)
        return s->host->err_set(err, SLUICE_ECONFIG, "charset.default: %s", msg);
    const struct sluice_kvlist *l = &s->conf->charset_port;
    if (l->n == 0)
        return SLUICE_OK;
    s->port_cs = calloc(l->n, sizeof(*s->port_cs));
    if (!s->port_cs)
        return s->host->err_set(err, SLUICE_ENOMEM, "multiport_syslogtcp: out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const struct sluice_kv *kv = &l->items[i];
        const char *where = kv->origin ? kv->origin : "multiport_syslogtcp";
        int64_t port;
        if (parse_port(kv->key, &port) != 0)
            return s->host->err_set(err, SLUICE_ECONFIG,
                                    "%s: charset.port.%s: '%s' is not a port number", where,
                                    kv->key, kv->key);
        if (mp_charset_open(&s->port_cs[s->n_port_cs].cs, kv->value, msg, sizeof(msg)) != 0)
            return s->host->err_set(err, SLUICE_ECONFIG, "%s: charset.port.%s: %s", where, kv->key,
                                    msg);
        s->port_cs[s->n_port_cs++].port = port;
        int listed = 0;
        for (size_t k = 0; k < s->n_ports; k++)
            listed |= s->ports[k] == port;
        if (!listed)
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "%s: charset.port.%s: port %s is not in ports; the setting has no "
                         "effect",
                         where, kv->key, kv->key);
    }
    return SLUICE_OK;
}

/* ---- source ops ----------------------------------------------------------------------------- */

static int mp_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct mp_conf *conf = conf_;
    char msg[256];
    struct mp_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "multiport_syslogtcp: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->cs_default.dec = s->cs_default.enc = (iconv_t)-1;
    if (conf->host && net_check_host("host", conf->host, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    int rc = parse_ports(s, err);
    if (rc != SLUICE_OK)
        return rc;
    if ((rc = open_charsets(s, err)) != SLUICE_OK)
        return rc;
    rc = syslog_conf_check(host, ctx, "multiport_syslogtcp", conf->keep_fields, NULL, conf->ssl,
                           &s->keep, err);
    if (rc != SLUICE_OK)
        return rc;
    /* a decoded line may be up to 4 bytes per input byte: the parser never cuts it again */
    size_t parse_max = 4 * (size_t)conf->event_size + 16;
    if (syslog_parser_init(&s->parser, parse_max, s->keep, 0, msg, sizeof(msg)) != 0)
        return host->err_set(err, SLUICE_ENOMEM, "multiport_syslogtcp: %s", msg);
    s->batch_size = (size_t)conf->batch_size;
    s->batch = calloc(s->batch_size, sizeof(*s->batch));
    if (!s->batch)
        return host->err_set(err, SLUICE_ENOMEM, "multiport_syslogtcp: out of memory");
    return SLUICE_OK;
}

static int mp_start(void *self, struct sluice_err *err)
{
    struct mp_source *s = self;
    struct tcp_server_conf tc = {
        .what = "multiport_syslogtcp",
        .host = s->conf->host,
        .ports = s->ports,
        .n_ports = s->n_ports,
        .max_conns = (size_t)s->conf->max_connections,
        .resolve = s->conf->client_hostname_header != NULL,
        /* MINA grows its read buffer up to 64 KiB: readBufferBytes is only where it starts */
        .read_size = s->conf->read_buffer_bytes > MP_MIN_READ ? (size_t)s->conf->read_buffer_bytes
                                                              : MP_MIN_READ,
    };
    s->invalid = s->incomplete = s->lost = 0;
    int rc = tcp_server_start(&s->srv, &tc, &mp_conn_ops, s, s->host, s->ctx, err);
    if (rc != SLUICE_OK)
        return rc;
    for (size_t i = 0; i < s->n_ports; i++)
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "Multiport Syslog TCP Source listening on %s:%d (eventSize %" PRId64
                     ", charset %s)",
                     s->conf->host ? s->conf->host : "0.0.0.0", tcp_server_port_at(s->srv, i),
                     s->conf->event_size,
                     charset_for(s, (int)s->ports[i]) == &s->cs_default ? s->conf->charset_default
                                                                        : "per port");
    return SLUICE_OK;
}

static void mp_stop(void *self)
{
    struct mp_source *s = self;
    if (!s->srv)
        return;
    tcp_server_stop(s->srv);
    s->srv = NULL;
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Multiport Syslog TCP Source stopped: %" PRIu64 " invalid, %" PRIu64
                 " incomplete messages; %" PRIu64 " events not stored",
                 s->invalid, s->incomplete, s->lost);
}

static void mp_destroy(void *self)
{
    struct mp_source *s = self;
    if (!s)
        return;
    mp_stop(s);
    syslog_parser_free(&s->parser);
    mp_charset_close(&s->cs_default);
    for (size_t i = 0; i < s->n_port_cs; i++)
        mp_charset_close(&s->port_cs[i].cs);
    free(s->port_cs);
    free(s->ports);
    free(s->batch);
    free(s);
}

static const struct sluice_source_ops mp_ops = {
    .create = mp_create,
    .start = mp_start,
    .process = NULL, /* event-driven */
    .stop = mp_stop,
    .destroy = mp_destroy,
};

#define SSL_KEY(n)                                                                                 \
    {                                                                                              \
        .name = (n), .type = SLUICE_OPT_UNSUPPORTED,                                               \
        .desc = "TLS settings are not used: sluice's multiport_syslogtcp source has no TLS"        \
    }

static const struct sluice_option mp_options[] = {
    {.name = "host",
     .type = SLUICE_OPT_STRING,
     .desc = "Address (or host name) to listen on; every address when unset",
     .offset = offsetof(struct mp_conf, host)},
    {.name = "ports",
     .type = SLUICE_OPT_STRING,
     .desc = "Space-separated TCP ports to listen on (0 picks a free port, logged at start)",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct mp_conf, ports)},
    {.name = "eventSize",
     .type = SLUICE_OPT_INT,
     .def = "2500",
     .desc = "Longest message in bytes; a longer one is cut into an event marked "
             "flume.syslog.status=Incomplete and the rest starts a new one",
     .min = 1,
     .max = MP_MAX_EVENT_SIZE,
     .offset = offsetof(struct mp_conf, event_size)},
    {.name = "keepFields",
     .type = SLUICE_OPT_STRING,
     .def = "false",
     .desc = "none/false, all/true (the whole raw message as body), or any of priority "
             "version timestamp hostname to keep in front of the body",
     .offset = offsetof(struct mp_conf, keep_fields)},
    {.name = "portHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the port the message came in on",
     .offset = offsetof(struct mp_conf, port_header)},
    {.name = "charset.default",
     .type = SLUICE_OPT_STRING,
     .def = "UTF-8",
     .desc = "Charset of the messages (ASCII-compatible); a line not valid in it becomes an "
             "Invalid event with its raw bytes",
     .offset = offsetof(struct mp_conf, charset_default)},
    {.name = "charset.port.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "charset.port.<port> = charset for the messages received on that port",
     .offset = offsetof(struct mp_conf, charset_port)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Most events of one read handed to the channel in one transaction",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 100000,
     .offset = offsetof(struct mp_conf, batch_size)},
    {.name = "readBufferBytes",
     .type = SLUICE_OPT_INT,
     .def = "1024",
     .desc = "Bytes read from a connection at a time, at least 64 KiB (MINA grows its buffer "
             "to that size too)",
     .min = 1,
     .max = 16 * 1024 * 1024,
     .offset = offsetof(struct mp_conf, read_buffer_bytes)},
    {.name = "numProcessors",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Not used: one I/O thread serves every port and connection"},
    {.name = "clientIPHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's IP address (as syslogtcp)",
     .offset = offsetof(struct mp_conf, client_ip_header)},
    {.name = "clientHostnameHeader",
     .type = SLUICE_OPT_STRING,
     .desc = "Header that receives the sender's host name (reverse DNS, once per connection)",
     .offset = offsetof(struct mp_conf, client_hostname_header)},
    {.name = "maxConnections",
     .type = SLUICE_OPT_INT,
     .def = "1024",
     .desc = "Senders served at once over all ports (sluice only; Flume has no limit); more "
             "are closed",
     .min = 1,
     .max = 65536,
     .offset = offsetof(struct mp_conf, max_connections)},
    {.name = "ssl",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "TLS; not supported (true is refused)",
     .offset = offsetof(struct mp_conf, ssl)},
    SSL_KEY("keystore"),
    SSL_KEY("keystore-password"),
    SSL_KEY("keystore-type"),
    SSL_KEY("exclude-protocols"),
    SSL_KEY("include-protocols"),
    SSL_KEY("exclude-cipher-suites"),
    SSL_KEY("include-cipher-suites"),
    {.name = NULL},
};

static const char *const mp_aliases[] = {"org.apache.flume.source.MultiportSyslogTCPSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "multiport_syslogtcp"),
    .aliases = mp_aliases,
    .summary = "Receives syslog messages over TCP on several ports, one event per message",
    .options = mp_options,
    .conf_size = sizeof(struct mp_conf),
    .ops = &mp_ops,
};
