/*
 * Listening sockets for the network sources (see net_listen.h): one place that resolves the
 * configured address, binds it and words the errors, so every source reports a busy port or a
 * bad address the same way.
 */
#include "net_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sluice/plugin.h"

int net_check_host(const char *key, const char *host, char *msg, size_t len)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (!host || !*host) {
        snprintf(msg, len, "%s: must not be empty", key);
        return SLUICE_ECONFIG;
    }
    if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
        return 0;
    size_t n = strlen(host), label = 0;
    int ok = n <= 253;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c == '.') {
            ok = label > 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            ok = ++label <= 63;
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        snprintf(msg, len, "%s: '%s' is not an IP address or host name", key, host);
        return SLUICE_ECONFIG;
    }
    return 0;
}

int net_check_port(const char *key, int64_t port, char *msg, size_t len)
{
    if (port < 0 || port > 65535) {
        snprintf(msg, len, "%s: %" PRId64 " is not a port number (0..65535)", key, port);
        return SLUICE_ECONFIG;
    }
    return 0;
}

static int bind_one(const struct addrinfo *ai, int socktype, int backlog, int *fd_out)
{
    int fd = socket(ai->ai_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    /* TCP: as Flume (Java's setReuseAddress). Not for UDP, where Linux would let a second
     * socket share the port and a busy port would go unnoticed. */
    if (socktype == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ai->ai_addr;
        int any = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        (socktype == SOCK_STREAM && listen(fd, backlog) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    *fd_out = fd;
    return 0;
}

static int bound_port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int net_listen(const char *host, int64_t port, int socktype, int backlog, int *fd, int *bound_port,
               char *msg, size_t len)
{
    char service[16];
    const char *shown = host ? host : "0.0.0.0";
    *fd = -1;
    if (port < 0 || port > 65535) {
        snprintf(msg, len, "port %" PRId64 " is not a port number (0..65535)", port);
        return SLUICE_ECONFIG;
    }
    snprintf(service, sizeof(service), "%" PRId64, port);
    struct addrinfo hints = {
        .ai_socktype = socktype, .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int rc;
    if (!host) {
        /* every address: [::] accepting IPv4 too, as Java's wildcard does; 0.0.0.0 when the
         * machine has no IPv6 */
        hints.ai_family = AF_INET6;
        rc = getaddrinfo("::", service, &hints, &res);
        if (rc == 0) {
            int r = bind_one(res, socktype, backlog, fd);
            freeaddrinfo(res);
            res = NULL;
            if (r == 0)
                goto bound;
            if (r != -EAFNOSUPPORT && r != -EADDRNOTAVAIL) {
                snprintf(msg, len, "cannot bind 0.0.0.0:%" PRId64 ": %s", port, strerror(-r));
                return SLUICE_EIO;
            }
        }
        hints.ai_family = AF_INET;
        host = "0.0.0.0";
    }
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(msg, len, "cannot resolve '%s' to bind port %" PRId64 ": %s", host, port,
                 gai_strerror(rc));
        return SLUICE_ECONFIG;
    }
    /* IPv4 addresses first, as Java (preferIPv6Addresses=false) picks them for a host name;
     * the first address that binds wins, and a busy port ends the search */
    int last = -EADDRNOTAVAIL;
    for (int pass = 0; pass < 2 && last != 0 && last != -EADDRINUSE && last != -EACCES; pass++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            last = bind_one(ai, socktype, backlog, fd);
            if (last == 0 || last == -EADDRINUSE || last == -EACCES)
                break;
        }
    }
    freeaddrinfo(res);
    if (last != 0) {
        snprintf(msg, len, "cannot bind %s:%" PRId64 ": %s%s", shown, port, strerror(-last),
                 last == -EADDRINUSE ? " (another process is using the port)" : "");
        return SLUICE_EIO;
    }
bound:
    *bound_port = bound_port_of(*fd);
    return 0;
}

void net_java_ip(const struct sockaddr *sa, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
        return;
    }
    if (sa->sa_family != AF_INET6)
        return;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)len);
        return;
    }
    size_t off = 0;
    for (int i = 0; i < 8 && off < len; i++) {
        unsigned v = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
        int n = snprintf(buf + off, len - off, "%s%x", i ? ":" : "", v);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    uint32_t scope = ((const struct sockaddr_in6 *)sa)->sin6_scope_id;
    if (scope && off < len)
        snprintf(buf + off, len - off, "%%%" PRIu32, scope);
}

void net_java_sockaddr(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[NET_ADDR_TEXT_MAX];
    int port = 0;
    net_java_ip(sa, ip, sizeof(ip));
    if (sa->sa_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    else if (sa->sa_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    snprintf(buf, len, "/%s:%d", ip, port);
}

void net_hostname(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
    struct sockaddr_in v4;
    if (sa->sa_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
        memset(&v4, 0, sizeof(v4));
        v4.sin_family = AF_INET;
        memcpy(&v4.sin_addr, &((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr[12], 4);
        sa = (const struct sockaddr *)&v4;
        salen = sizeof(v4);
    }
    if (getnameinfo(sa, salen, buf, (socklen_t)len, NULL, 0, NI_NAMEREQD) != 0)
        net_java_ip(sa, buf, len);
}
