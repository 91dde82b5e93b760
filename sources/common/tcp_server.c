/*
 * The TCP server behind netcat, syslogtcp and multiport_syslogtcp (tcp_server.h): an accept thread
 * hands new connections to one I/O thread, which polls them all, feeds what it reads to the handler
 * and writes the handler's replies back. Closing is "lingering": replies are flushed, the write
 * side is shut, and input is drained briefly, so a client that sent more than we read still
 * receives our last reply (e.g. netcat's FAILED line) instead of a reset.
 */
#include "tcp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REFUSE_LOG_INTERVAL_MS 10000
#define ACCEPT_BACKLOG         512

enum conn_phase { PH_OPEN, PH_CLOSING, PH_LINGER, PH_DEAD };

struct conn_slot {
    struct tcp_conn c;
    enum conn_phase phase;
    int opened; /* ops->open succeeded: ops->close is owed */
};

struct tcp_server {
    struct tcp_server_conf conf;
    const struct tcp_server_ops *ops;
    void *arg;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    int *listen_fds, *ports; /* one per configured port */
    size_t n_listen;
    struct pollfd *apfds; /* accept thread: the listening sockets and the wake pipe */
    int accept_wake[2];   /* pipe: stop signal for the accept thread */
    int io_wake;          /* eventfd: new connections or stop for the I/O thread */
    atomic_int stop;
    atomic_size_t n_conns; /* handed over or served; bounded by max_conns */
    pthread_t accept_thr, io_thr;
    int accept_started, io_started;
    pthread_mutex_t mu;
    struct conn_slot **incoming; /* accept -> I/O handoff, capacity max_conns */
    size_t n_incoming;
    /* I/O thread only */
    struct conn_slot **conns;
    size_t n;
    struct pollfd *pfds;
    uint8_t *rbuf;
    /* accept thread only */
    int64_t last_refuse_log, last_accept_err_log;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tcp_conn_reply(struct tcp_conn *c, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + n > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 256;
            while (cap < c->out_len + n)
                cap *= 2;
            uint8_t *o = realloc(c->out, cap);
            if (!o)
                return SLUICE_ENOMEM;
            c->out = o;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

void tcp_conn_close_after_replies(struct tcp_conn *c)
{
    c->closing = 1;
}

void tcp_conn_abort(struct tcp_conn *c)
{
    c->abort = 1;
}

int tcp_server_port(const struct tcp_server *s)
{
    return s->ports[0];
}

int tcp_server_port_at(const struct tcp_server *s, size_t i)
{
    return i < s->n_listen ? s->ports[i] : -1;
}

size_t tcp_server_conns(struct tcp_server *s)
{
    return atomic_load(&s->n_conns);
}

/* ---- accept thread --------------------------------------------------------------------- */

static void refuse(struct tcp_server *s, int fd, const char *ip)
{
    if (s->conf.refuse_msg && s->conf.refuse_len)
        (void)!send(fd, s->conf.refuse_msg, s->conf.refuse_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    int64_t now = mono_ms();
    if (now - s->last_refuse_log >= REFUSE_LOG_INTERVAL_MS) {
        s->last_refuse_log = now;
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "%s: refused a connection from %s: %zu connections are open, the limit "
                     "(maxConnections)",
                     s->conf.what, ip, s->conf.max_conns);
    }
}

static void accept_ready(struct tcp_server *s, size_t li)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd =
            accept4(s->listen_fds[li], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            int64_t now = mono_ms();
            if (now - s->last_accept_err_log >= REFUSE_LOG_INTERVAL_MS) {
                s->last_accept_err_log = now;
                s->host->log(s->ctx, SLUICE_LOG_WARN, "%s: accept on port %d: %s", s->conf.what,
                             s->ports[li], strerror(errno));
            }
            struct pollfd w = {.fd = s->accept_wake[0], .events = POLLIN};
            poll(&w, 1, 100); /* out of descriptors: give closes a chance */
            return;
        }
        char ip[NET_ADDR_TEXT_MAX];
        net_java_ip((struct sockaddr *)&ss, ip, sizeof(ip));
        if (atomic_load(&s->n_conns) >= s->conf.max_conns) {
            refuse(s, fd, ip);
            continue;
        }
        struct conn_slot *slot = calloc(1, sizeof(*slot));
        if (!slot) {
            close(fd);
            continue;
        }
        slot->c.fd = fd;
        slot->c.local_port = s->ports[li];
        snprintf(slot->c.peer_ip, sizeof(slot->c.peer_ip), "%s", ip);
        if (s->conf.resolve)
            net_hostname((struct sockaddr *)&ss, sl, slot->c.peer_name, sizeof(slot->c.peer_name));
        atomic_fetch_add(&s->n_conns, 1);
        pthread_mutex_lock(&s->mu);
        s->incoming[s->n_incoming++] = slot; /* room: n_conns <= max_conns */
        pthread_mutex_unlock(&s->mu);
        uint64_t one = 1;
        (void)!write(s->io_wake, &one, sizeof(one));
    }
}

static void *accept_main(void *arg)
{
    struct tcp_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd *p = s->apfds;
        size_t n = s->n_listen;
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = s->listen_fds[i], .events = POLLIN};
        p[n] = (struct pollfd){.fd = s->accept_wake[0], .events = POLLIN};
        int r = poll(p, n + 1, -1);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0 || p[n].revents)
            continue;
        for (size_t i = 0; i < n; i++)
            if (p[i].revents)
                accept_ready(s, i);
    }
    return NULL;
}

/* ---- I/O thread ------------------------------------------------------------------------ */

static void conn_free(struct tcp_server *s, struct conn_slot *slot)
{
    if (slot->opened && s->ops->close)
        s->ops->close(s->arg, &slot->c);
    if (slot->c.fd >= 0) {
        if (slot->c.abort) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(slot->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(slot->c.fd);
    }
    free(slot->c.out);
    free(slot);
    atomic_fetch_sub(&s->n_conns, 1);
}

static size_t pending(const struct tcp_conn *c)
{
    return c->out_len - c->out_off;
}

/* Write what the socket takes; -1 when the connection is broken. */
static int flush_out(struct tcp_conn *c)
{
    while (pending(c) > 0) {
        ssize_t w = send(c->fd, c->out + c->out_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static void take_incoming(struct tcp_server *s)
{
    uint64_t v;
    (void)!read(s->io_wake, &v, sizeof(v));
    pthread_mutex_lock(&s->mu);
    size_t k = s->n_incoming;
    struct conn_slot *batch[64];
    size_t take = k < 64 ? k : 64;
    memcpy(batch, s->incoming, take * sizeof(*batch));
    memmove(s->incoming, s->incoming + take, (k - take) * sizeof(*batch));
    s->n_incoming -= take;
    pthread_mutex_unlock(&s->mu);
    if (k > take) {
        uint64_t one = 1; /* more to take: come back on the next turn */
        (void)!write(s->io_wake, &one, sizeof(one));
    }
    for (size_t i = 0; i < take; i++) {
        struct conn_slot *slot = batch[i];
        if (s->ops->open && s->ops->open(s->arg, &slot->c) != 0) {
            conn_free(s, slot);
            continue;
        }
        slot->opened = 1;
        s->conns[s->n++] = slot; /* room: the arrays hold max_conns */
    }
    s->host->counter_set(s->ctx, SLUICE_CTR_OPEN_CONNECTION, s->n);
}

static void enter_closing(struct conn_slot *slot, int64_t now)
{
    if (slot->phase == PH_OPEN) {
        slot->phase = PH_CLOSING;
        slot->c.close_by_ms = now + TCP_CLOSE_GRACE_MS;
    }
}

/* One turn for a connection after poll(); updates slot->phase. */
static void serve(struct tcp_server *s, struct conn_slot *slot, short rev, int64_t now)
{
    struct tcp_conn *c = &slot->c;
    if (pending(c) > 0 && (rev & (POLLOUT | POLLERR | POLLHUP)) && flush_out(c) < 0) {
        slot->phase = PH_DEAD;
        return;
    }
    if (rev & (POLLIN | POLLHUP | POLLERR)) {
        if (slot->phase == PH_OPEN && pending(c) < TCP_OUT_HIGH) {
            ssize_t r = recv(c->fd, s->rbuf, s->conf.read_size, MSG_DONTWAIT);
            if (r > 0) {
                s->ops->data(s->arg, c, s->rbuf, (size_t)r);
            } else if (r == 0) {
                c->eof = 1;
                if (s->ops->eof)
                    s->ops->eof(s->arg, c);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                slot->phase = PH_DEAD; /* reset by the peer: nothing more to say to it */
                return;
            }
        } else if (slot->phase == PH_LINGER) {
            ssize_t r = recv(c->fd, s->rbuf, s->conf.read_size, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                slot->phase = PH_DEAD;
                return;
            }
        }
    }
    if (c->abort) {
        slot->phase = PH_DEAD;
        return;
    }
    if (c->closing || c->eof)
        enter_closing(slot, now);
    if (flush_out(c) < 0) {
        slot->phase = PH_DEAD;
        return;
    }
    if (slot->phase == PH_CLOSING && pending(c) == 0) {
        shutdown(c->fd, SHUT_WR);
        slot->phase = c->eof ? PH_DEAD : PH_LINGER;
    }
    if ((slot->phase == PH_CLOSING || slot->phase == PH_LINGER) && now >= c->close_by_ms)
        slot->phase = PH_DEAD;
}

static void *io_main(void *arg)
{
    struct tcp_server *s = arg;
    while (!atomic_load(&s->stop)) {
        int64_t now = mono_ms();
        int timeout = 1000;
        s->pfds[0] = (struct pollfd){.fd = s->io_wake, .events = POLLIN};
        size_t polled = s->n;
        for (size_t i = 0; i < polled; i++) {
            struct conn_slot *slot = s->conns[i];
            struct tcp_conn *c = &slot->c;
            short ev = 0;
            if (slot->phase == PH_LINGER ||
                (slot->phase == PH_OPEN && !c->eof && !c->closing && pending(c) < TCP_OUT_HIGH))
                ev |= POLLIN;
            if (pending(c) > 0)
                ev |= POLLOUT;
            if (slot->phase != PH_OPEN) {
                int64_t left = c->close_by_ms - now;
                if (left < timeout)
                    timeout = left < 0 ? 0 : (int)left;
            }
            s->pfds[i + 1] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        int r = poll(s->pfds, polled + 1, timeout);
        if (r < 0 && errno != EINTR)
            break;
        now = mono_ms();
        for (size_t i = 0; i < polled && !atomic_load(&s->stop); i++)
            serve(s, s->conns[i], r > 0 ? s->pfds[i + 1].revents : 0, now);
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->conns[i]->phase == PH_DEAD)
                conn_free(s, s->conns[i]);
            else
                s->conns[k++] = s->conns[i];
        }
        if (k != s->n) {
            s->n = k;
            s->host->counter_set(s->ctx, SLUICE_CTR_OPEN_CONNECTION, s->n);
        }
        if (r > 0 && s->pfds[0].revents)
            take_incoming(s);
    }
    for (size_t i = 0; i < s->n; i++)
        conn_free(s, s->conns[i]);
    s->n = 0;
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int tcp_server_start(struct tcp_server **out, const struct tcp_server_conf *conf,
                     const struct tcp_server_ops *ops, void *arg, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    char msg[256];
    *out = NULL;
    struct tcp_server *s = calloc(1, sizeof(*s));
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory", conf->what);
    s->conf = *conf;
    if (s->conf.max_conns == 0)
        s->conf.max_conns = 1;
    if (s->conf.read_size == 0)
        s->conf.read_size = 64 * 1024;
    s->ops = ops;
    s->arg = arg;
    s->host = host;
    s->ctx = ctx;
    s->io_wake = -1;
    s->accept_wake[0] = s->accept_wake[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    size_t nl = conf->n_ports > 0 ? conf->n_ports : 1;
    s->listen_fds = malloc(nl * sizeof(*s->listen_fds));
    s->ports = calloc(nl, sizeof(*s->ports));
    s->apfds = calloc(nl + 1, sizeof(*s->apfds));
    if (!s->listen_fds || !s->ports || !s->apfds) {
        tcp_server_stop(s);
        return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory", conf->what);
    }
    for (size_t i = 0; i < nl; i++) {
        int64_t port = conf->n_ports > 0 ? conf->ports[i] : conf->port;
        int rc = net_listen(conf->host, port, SOCK_STREAM, ACCEPT_BACKLOG, &s->listen_fds[i],
                            &s->ports[i], msg, sizeof(msg));
        if (rc != 0) {
            tcp_server_stop(s);
            return host->err_set(err, rc, "%s: %s", conf->what, msg);
        }
        s->n_listen++;
    }
    size_t max = s->conf.max_conns;
    s->incoming = calloc(max, sizeof(*s->incoming));
    s->conns = calloc(max, sizeof(*s->conns));
    s->pfds = calloc(max + 1, sizeof(*s->pfds));
    s->rbuf = malloc(s->conf.read_size);
    if (!s->incoming || !s->conns || !s->pfds || !s->rbuf) {
        tcp_server_stop(s);
        return host->err_set(err, SLUICE_ENOMEM, "%s: out of memory for %zu connections",
                             conf->what, max);
    }
    if (pipe2(s->accept_wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        (s->io_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        int e = errno;
        tcp_server_stop(s);
        return host->err_set(err, SLUICE_EIO, "%s: cannot create a wake-up descriptor: %s",
                             conf->what, strerror(e));
    }
    char name[16];
    if (pthread_create(&s->io_thr, NULL, io_main, s) != 0) {
        tcp_server_stop(s);
        return host->err_set(err, SLUICE_ENOMEM, "%s: cannot start a thread", conf->what);
    }
    s->io_started = 1;
    snprintf(name, sizeof(name), "%.12s-io", conf->what);
    pthread_setname_np(s->io_thr, name);
    if (pthread_create(&s->accept_thr, NULL, accept_main, s) != 0) {
        tcp_server_stop(s);
        return host->err_set(err, SLUICE_ENOMEM, "%s: cannot start a thread", conf->what);
    }
    s->accept_started = 1;
    snprintf(name, sizeof(name), "%.8s-accept", conf->what);
    pthread_setname_np(s->accept_thr, name);
    *out = s;
    return SLUICE_OK;
}

void tcp_server_stop(struct tcp_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    uint64_t one = 1;
    if (s->accept_wake[1] >= 0)
        (void)!write(s->accept_wake[1], "x", 1);
    if (s->io_wake >= 0)
        (void)!write(s->io_wake, &one, sizeof(one));
    if (s->accept_started)
        pthread_join(s->accept_thr, NULL);
    if (s->io_started)
        pthread_join(s->io_thr, NULL);
    for (size_t i = 0; i < s->n_incoming; i++)
        conn_free(s, s->incoming[i]);
    for (size_t i = 0; i < s->n_listen; i++)
        close(s->listen_fds[i]);
    free(s->listen_fds);
    free(s->ports);
    free(s->apfds);
    for (int i = 0; i < 2; i++)
        if (s->accept_wake[i] >= 0)
            close(s->accept_wake[i]);
    if (s->io_wake >= 0)
        close(s->io_wake);
    pthread_mutex_destroy(&s->mu);
    free(s->incoming);
    free(s->conns);
    free(s->pfds);
    free(s->rbuf);
    free(s);
}
