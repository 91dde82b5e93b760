/*
 * The monitoring endpoint (see monitor_http.h). Routes as Flume's HTTPMetricsServer: /metrics
 * returns the JSON, / a small page linking to it, anything else 404; only GET and HEAD. The
 * same counters in Prometheus' text format at /prometheus (or /metrics?format=prometheus).
 */
#include "monitor_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"

struct monitor {
    struct MHD_Daemon *d;
    struct agent *a;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
                             size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct monitor *m = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_FORBIDDEN, "text/plain", (char *)"forbidden\n", 10,
                     MHD_RESPMEM_PERSISTENT);
    int prom = strcmp(url, "/prometheus") == 0;
    if (!prom && strcmp(url, "/metrics") == 0) {
        const char *fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
        prom = fmt && strcmp(fmt, "prometheus") == 0;
    }
    if (prom || strcmp(url, "/metrics") == 0) {
        size_t cap = 16384;
        for (;;) {
            char *buf = malloc(cap);
            if (!buf)
                return MHD_NO;
            size_t n = prom ? agent_metrics_prometheus(m->a, buf, cap)
                            : agent_metrics_json(m->a, buf, cap);
            if (n + 1 < cap)
                return reply(c, MHD_HTTP_OK,
                             prom ? "text/plain; version=0.0.4; charset=utf-8"
                                  : "application/json;charset=utf-8",
                             buf, n, MHD_RESPMEM_MUST_FREE);
            free(buf);
            cap *= 4;
        }
    }
    if (strcmp(url, "/") == 0) {
        static const char page[] = "<html><body><a href=\"./metrics\">metrics</a></body></html>\n";
        return reply(c, MHD_HTTP_OK, "text/html", (char *)page, sizeof(page) - 1,
                     MHD_RESPMEM_PERSISTENT);
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", (char *)"not found\n", 10,
                 MHD_RESPMEM_PERSISTENT);
}

int monitor_start(struct monitor **out, struct agent *a, const char *bind_addr, int port,
                  int *bound_port, struct sluice_err *err)
{
    struct monitor *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    m->a = a;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        free(m);
        return err_set(err, SLUICE_ECONFIG, "flume.monitoring.bind: '%s' is not an IPv4 address",
                       bind_addr);
    }
    m->d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                         NULL, handle, m, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!m->d) {
        free(m);
        return err_set(err, SLUICE_EIO,
                       "cannot start the monitoring server on %s:%d (port in "
                       "use?)",
                       bind_addr, port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    *out = m;
    return SLUICE_OK;
}

void monitor_stop(struct monitor *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
