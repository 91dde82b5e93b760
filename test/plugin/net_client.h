/*
 * Small blocking network clients for the network source tests (netcat, syslog, http): TCP
 * connect/send/read with deadlines, UDP send, a minimal HTTP/1.1 request, and the port a
 * source logged ("listening on HOST:PORT") so tests can bind port 0.
 */
#ifndef SLUICE_TEST_NET_CLIENT_H
#define SLUICE_TEST_NET_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* The port from the newest captured log line containing "listening on" (-1 if none). */
int net_logged_port(void);

/* Connected TCP socket to 127.0.0.1:port, or -1. */
int net_connect(int port);
/* Send all bytes; 0 or -1. */
int net_send(int fd, const void *p, size_t n);
/* Read until `lines` '\n' arrived, EOF, or timeout_ms passed; returns bytes read (NUL
 * terminated, at most cap - 1). *eof is set when the peer closed. */
size_t net_read_lines(int fd, char *buf, size_t cap, int lines, int timeout_ms, int *eof);
/* Read until EOF or timeout; returns bytes read (NUL terminated). *eof as above. */
size_t net_read_all(int fd, char *buf, size_t cap, int timeout_ms, int *eof);

/* One UDP datagram to 127.0.0.1:port from a fresh socket; returns the sender's port or -1. */
int net_udp_send(int port, const void *p, size_t n);

/* An HTTP/1.1 request with "Connection: close" (extra_headers: "Name: v\r\n..." or NULL).
 * Returns the status code (-1 on failure) and the response body in body (NUL terminated). */
int net_http(int port, const char *method, const char *extra_headers, const void *req_body,
             size_t req_len, char *body, size_t body_cap);

#endif
