/*
 * Network clients for the source tests (see net_client.h). Everything blocks with a deadline
 * (poll), so a broken source fails a test instead of hanging it.
 */
#include "net_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log_capture.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_logged_port(void)
{
    for (size_t i = log_capture_n(); i-- > 0;) {
        const char *l = log_capture_line(i);
        const char *p = l ? strstr(l, "listening on ") : NULL;
        if (!p)
            continue;
        const char *end = p + strlen("listening on ");
        while (*end && *end != ' ')
            end++;
        const char *colon = end;
        while (colon > p && *colon != ':')
            colon--;
        if (*colon == ':')
            return atoi(colon + 1);
    }
    return -1;
}

int net_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int net_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t read_until(int fd, char *buf, size_t cap, int lines, int timeout_ms, int *eof)
{
    long long deadline = now_ms() + timeout_ms;
    size_t len = 0;
    int seen = 0;
    if (eof)
        *eof = 0;
    while (len + 1 < cap && (lines <= 0 || seen < lines)) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (eof)
                *eof = 1;
            break;
        }
        for (ssize_t i = 0; i < r; i++)
            seen += buf[len + (size_t)i] == '\n';
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

size_t net_read_lines(int fd, char *buf, size_t cap, int lines, int timeout_ms, int *eof)
{
    return read_until(fd, buf, cap, lines, timeout_ms, eof);
}

size_t net_read_all(int fd, char *buf, size_t cap, int timeout_ms, int *eof)
{
    return read_until(fd, buf, cap, 0, timeout_ms, eof);
}

int net_udp_send(int port, const void *p, size_t n)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    int rc = -1;
    if (sendto(fd, p, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n &&
        getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
        rc = ntohs(me.sin_port);
    close(fd);
    return rc;
}

int net_http(int port, const char *method, const char *extra_headers, const void *req_body,
             size_t req_len, char *body, size_t body_cap)
{
    int fd = net_connect(port);
    if (fd < 0)
        return -1;
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "%s / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, extra_headers ? extra_headers : "", req_len);
    /* the server may answer (413) and close before taking the whole body: ignore send errors */
    net_send(fd, head, (size_t)hl);
    if (req_len)
        net_send(fd, req_body, req_len);
    size_t cap = 1 << 16;
    char *resp = malloc(cap);
    int eof = 0;
    size_t n = resp ? net_read_all(fd, resp, cap, 10000, &eof) : 0;
    close(fd);
    int status = -1;
    if (resp && n > 12 && !strncmp(resp, "HTTP/1.", 7))
        status = atoi(resp + 9);
    if (body && body_cap) {
        body[0] = '\0';
        const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
        if (b)
            snprintf(body, body_cap, "%s", b + 4);
    }
    free(resp);
    return status;
}
