/*
 * Listening sockets shared by the network sources (netcat, netcatudp, syslogtcp, syslogudp,
 * http): the address checks create() runs, binding with messages that name host:port, and
 * client addresses written the way Java prints them (Flume puts them into headers).
 */
#ifndef SLUICE_NET_LISTEN_H
#define SLUICE_NET_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text net_java_ip / net_java_sockaddr write, with the terminating NUL. */
#define NET_ADDR_TEXT_MAX 80

/* 0, or SLUICE_ECONFIG with msg naming `key` and the value: host must be an IPv4/IPv6
 * literal or a syntactically valid host name (resolved in net_listen). */
int net_check_host(const char *key, const char *host, char *msg, size_t len);
/* 0, or SLUICE_ECONFIG unless 0 <= port <= 65535. */
int net_check_port(const char *key, int64_t port, char *msg, size_t len);

/*
 * Bind host:port (host NULL: every address, IPv6 dual-stack where available, else IPv4) with
 * SOCK_STREAM (SO_REUSEADDR, listen(backlog)) or SOCK_DGRAM; non-blocking and close-on-exec.
 * Returns 0 with *fd and *bound_port (the real port when port is 0), or a negative SLUICE_E*
 * with msg such as "cannot bind 127.0.0.1:5140: Address already in use".
 */
int net_listen(const char *host, int64_t port, int socktype, int backlog, int *fd, int *bound_port,
               char *msg, size_t len);

/* Java's InetAddress.getHostAddress(): "127.0.0.1", IPv4-mapped IPv6 as IPv4, other IPv6
 * uncompressed ("0:0:0:0:0:0:0:1"). */
void net_java_ip(const struct sockaddr *sa, char *buf, size_t len);
/* Java's InetSocketAddress.toString() for an address with no host name: "/127.0.0.1:5000". */
void net_java_sockaddr(const struct sockaddr *sa, char *buf, size_t len);
/* The peer's host name by reverse lookup (may block on DNS), or its IP text when there is
 * none, as Java's getHostName() does. */
void net_hostname(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len);

#endif
