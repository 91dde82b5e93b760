/*
 * A small TCP server for the line-oriented sources (netcat, syslogtcp, multiport_syslogtcp):
 * one accept thread (for one or several listening ports) and one I/O thread that poll()s every
 * connection, so thousands of clients cost two threads, and every emit() happens on the I/O
 * thread (interceptors run on one thread, as the ABI wants).
 * A handler sees bytes per connection and queues replies; a connection whose replies are not
 * read is not read either (bounded memory), and connections beyond max_conns are refused.
 */
#ifndef SLUICE_TCP_SERVER_H
#define SLUICE_TCP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "net_listen.h"
#include "sluice/plugin.h"

/* Replies queued beyond this stop reads from that connection until the client takes them. */
#define TCP_OUT_HIGH (64 * 1024)
/* How long a connection being closed may take to hand over its last replies. */
#define TCP_CLOSE_GRACE_MS 5000

struct tcp_conn {
    int fd;
    char peer_ip[NET_ADDR_TEXT_MAX]; /* Java's getHostAddress() of the peer */
    char peer_name[256];             /* reverse lookup; only with tcp_server_conf.resolve */
    uint8_t *out;                    /* queued replies: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;
    int closing;         /* handler asked to close once the replies are out */
    int eof;             /* the peer closed its side */
    int abort;           /* handler asked to reset the connection now */
    int64_t close_by_ms; /* deadline for handing over replies once closing */
    void *user;          /* the handler's per-connection state */
    int local_port;      /* the listening port the connection came in on */
};

struct tcp_server_ops {
    /* A new connection; set c->user. Non-zero closes it at once. */
    int (*open)(void *arg, struct tcp_conn *c);
    /* Bytes read from the connection (handler consumes them all). */
    void (*data)(void *arg, struct tcp_conn *c, const uint8_t *p, size_t n);
    /* The peer closed its sending side; the connection closes once replies are out. */
    void (*eof)(void *arg, struct tcp_conn *c);
    /* Free c->user. */
    void (*close)(void *arg, struct tcp_conn *c);
};

struct tcp_server_conf {
    const char *what;       /* "netcat": thread names and messages */
    const char *host;       /* NULL: every address */
    int64_t port;           /* 0: any free port */
    size_t max_conns;       /* connections served at once */
    const char *refuse_msg; /* written to a connection over max_conns before closing; or NULL */
    size_t refuse_len;
    int resolve;      /* fill peer_name (reverse DNS, on the accept thread) */
    size_t read_size; /* bytes read per connection per turn */
    /* Several ports (multiport_syslogtcp): when n_ports > 0 these are bound instead of
     * `port`, all served by the same two threads. */
    const int64_t *ports;
    size_t n_ports;
};

struct tcp_server;

/* Bind and start both threads. A busy port or bad address fails here with err naming
 * host:port (with several ports, any one failing fails the start). */
int tcp_server_start(struct tcp_server **out, const struct tcp_server_conf *conf,
                     const struct tcp_server_ops *ops, void *arg, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err);
int tcp_server_port(const struct tcp_server *s);
/* The real port of the i-th configured port (i < n_ports; 0 is `port` without n_ports). */
int tcp_server_port_at(const struct tcp_server *s, size_t i);
size_t tcp_server_conns(struct tcp_server *s);
/* Stop accepting, join both threads (the I/O thread finishes the emit it is in), close every
 * connection. Accepts NULL. */
void tcp_server_stop(struct tcp_server *s);

/* Queue a reply on c (I/O thread only). 0, or SLUICE_ENOMEM. */
int tcp_conn_reply(struct tcp_conn *c, const void *p, size_t n);
/* Close c once its replies are out. */
void tcp_conn_close_after_replies(struct tcp_conn *c);
/* Reset c at once (RST): unread input is not taken, and the client's next write fails. */
void tcp_conn_abort(struct tcp_conn *c);

#endif
