/*
 * The `host` interceptor: Flume's HostInterceptor. The agent's address is resolved once, at
 * create, the way Java's InetAddress.getLocalHost() does it (gethostname, then the name
 * service, IPv4 first): useIP=true gives its address as text, useIP=false its canonical name
 * (a reverse lookup confirmed by a forward one, else the address text, as
 * getCanonicalHostName() does). When resolution fails a WARN is logged and the header is never
 * set, as in Flume.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sluice/plugin.h"

#define HI_ERROR_LOG_EVERY 1000

struct hi_conf {
    char *host_header;
    int use_ip;
    int preserve_existing;
};

struct hi {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *header; /* points into the conf, which outlives us */
    int preserve;
    char *value; /* NULL when the local address could not be resolved */
    uint64_t set_errors;
};

static int hi_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}

/* getCanonicalHostName(): the reverse-lookup name when it resolves back to addr. */
static int hi_canonical(const struct addrinfo *addr, char *out, size_t len)
{
    if (getnameinfo(addr->ai_addr, addr->ai_addrlen, out, (socklen_t)len, NULL, 0, NI_NAMEREQD) !=
        0)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(out, NULL, &hints, &res) != 0)
        return -1;
    int ok = 0;
    for (const struct addrinfo *p = res; p && !ok; p = p->ai_next)
        ok = hi_same_addr(p->ai_addr, addr->ai_addr);
    freeaddrinfo(res);
    return ok ? 0 : -1;
}

/* The header value for this host, or NULL with why in msg. */
static char *hi_resolve(int use_ip, char *msg, size_t msg_len)
{
    char name[256];
    if (gethostname(name, sizeof(name)) != 0) {
        snprintf(msg, msg_len, "gethostname failed: %s", strerror(errno));
        return NULL;
    }
    name[sizeof(name) - 1] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(msg, msg_len, "%s: %s", name, gai_strerror(rc));
        return NULL;
    }
    const struct addrinfo *pick = NULL; /* Java prefers IPv4 addresses by default */
    for (const struct addrinfo *p = res; p && !pick; p = p->ai_next)
        if (p->ai_family == AF_INET)
            pick = p;
    for (const struct addrinfo *p = res; p && !pick; p = p->ai_next)
        if (p->ai_family == AF_INET6)
            pick = p;
    char text[NI_MAXHOST];
    if (!pick || getnameinfo(pick->ai_addr, pick->ai_addrlen, text, sizeof(text), NULL, 0,
                             NI_NUMERICHOST) != 0) {
        snprintf(msg, msg_len, "%s: no IPv4 or IPv6 address", name);
        freeaddrinfo(res);
        return NULL;
    }
    if (!use_ip) {
        char canon[NI_MAXHOST];
        if (hi_canonical(pick, canon, sizeof(canon)) == 0)
            memcpy(text, canon, sizeof(text));
    }
    freeaddrinfo(res);
    char *v = strdup(text);
    if (!v)
        snprintf(msg, msg_len, "out of memory");
    return v;
}

static size_t hi_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct hi *hi = self;
    if (!hi->value)
        return n;
    for (size_t i = 0; i < n; i++) {
        if (hi->preserve && hi->host->event_header_get(evs[i], hi->header))
            continue;
        if (hi->host->event_header_set(evs[i], hi->header, hi->value) != SLUICE_OK &&
            hi->set_errors++ % HI_ERROR_LOG_EVERY == 0)
            hi->host->log(
                hi->ctx, SLUICE_LOG_WARN,
                "out of memory setting header %s; event passed without it errors=%" PRIu64,
                hi->header, hi->set_errors);
    }
    return n;
}

static void hi_destroy(void *self)
{
    struct hi *hi = self;
    if (!hi)
        return;
    free(hi->value);
    free(hi);
}

static int hi_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct hi_conf *conf = conf_;
    *self = NULL;
    struct hi *hi = calloc(1, sizeof(*hi));
    if (!hi)
        return host->err_set(err, SLUICE_ENOMEM, "host: out of memory");
    hi->host = host;
    hi->ctx = ctx;
    hi->header = conf->host_header ? conf->host_header : "host";
    hi->preserve = conf->preserve_existing != 0;
    char msg[512];
    hi->value = hi_resolve(conf->use_ip != 0, msg, sizeof(msg));
    if (!hi->value)
        host->log(ctx, SLUICE_LOG_WARN,
                  "Could not get local host address (%s); the %s header will not be set", msg,
                  hi->header);
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating HostInterceptor: hostHeader=%s,useIP=%s,preserveExisting=%s,value=%s",
              hi->header, conf->use_ip ? "true" : "false", hi->preserve ? "true" : "false",
              hi->value ? hi->value : "(unresolved)");
    *self = hi;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops hi_ops = {
    .create = hi_create,
    .intercept = hi_intercept,
    .destroy = hi_destroy,
};

static const struct sluice_option hi_options[] = {
    {.name = "hostHeader",
     .type = SLUICE_OPT_STRING,
     .def = "host",
     .desc = "Header that receives this agent's address or host name.",
     .offset = offsetof(struct hi_conf, host_header)},
    {.name = "useIP",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "true: the local host's address (first IPv4 one) as text; false: its canonical "
             "host name. Resolved once when the interceptor is created.",
     .offset = offsetof(struct hi_conf, use_ip)},
    {.name = "preserveExisting",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "true leaves an event that already has the header unchanged; false overwrites it.",
     .offset = offsetof(struct hi_conf, preserve_existing)},
    {.name = NULL},
};

static const char *const hi_aliases[] = {
    "org.apache.flume.interceptor.HostInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "host"),
    .aliases = hi_aliases,
    .summary = "Set a header to this agent's IP address or host name",
    .options = hi_options,
    .conf_size = sizeof(struct hi_conf),
    .ops = &hi_ops,
};
