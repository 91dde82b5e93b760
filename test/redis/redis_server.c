/*
 * Test helpers for the redis sink (see redis_server.h). redis-server runs as a child on
 * 127.0.0.1 with persistence off (or append-only fsync-always when a test restarts it), in a
 * private temp directory; it is killed by pid, never by name.
 */
#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int rserver_start(struct rserver *s, int port)
{
    if (!s->dir[0]) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/sluice-redis-test.XXXXXX");
        if (!mkdtemp(s->dir))
            return -1;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = port ? port : free_port();
        char portbuf[16], logf[256];
        snprintf(portbuf, sizeof(portbuf), "%d", s->port);
        snprintf(logf, sizeof(logf), "%s/redis.log", s->dir);
        const char *argv[32];
        int n = 0;
        argv[n++] = "redis-server";
        argv[n++] = "--port";
        argv[n++] = portbuf;
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--save";
        argv[n++] = "";
        argv[n++] = "--dir";
        argv[n++] = s->dir;
        argv[n++] = "--logfile";
        argv[n++] = logf;
        argv[n++] = "--appendonly";
        argv[n++] = s->persist ? "yes" : "no";
        if (s->persist) {
            argv[n++] = "--appendfsync";
            argv[n++] = "always";
        }
        if (s->password[0]) {
            argv[n++] = "--requirepass";
            argv[n++] = s->password;
        }
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            int devnull = open("/dev/null", O_RDWR);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execvp("redis-server", (char *const *)argv);
            _exit(127);
        }
        s->pid = pid;
        int64_t deadline = now_ms() + 10000;
        while (now_ms() < deadline) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) { /* exited: port taken? */
                s->pid = 0;
                break;
            }
            redisContext *c = rserver_client(s);
            if (c) {
                redisReply *r = redisCommand(c, "PING");
                int ok = r && r->type == REDIS_REPLY_STATUS;
                freeReplyObject(r);
                redisFree(c);
                if (ok)
                    return 0;
            }
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (s->pid)
            rserver_kill(s);
        if (port)
            return -1;
    }
    return -1;
}

void rserver_kill(struct rserver *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

void rserver_destroy(struct rserver *s)
{
    rserver_kill(s);
    if (s->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
        s->dir[0] = '\0';
    }
}

redisContext *rserver_client(const struct rserver *s)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (s->password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", s->password);
        int ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

long long rcmd_int(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -999999;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    else if (r && r->type == REDIS_REPLY_NIL)
        v = 0;
    freeReplyObject(r);
    return v;
}

char *rcmd_str(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    char *s;
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
              r->type == REDIS_REPLY_ERROR))
        s = strdup(r->str);
    else
        s = strdup("");
    freeReplyObject(r);
    return s;
}

/* ---- FIFO channel ------------------------------------------------------------------------ */

struct fifo_tx {
    struct fifo *f;
    struct sluice_event **taken;
    size_t n_taken;
};

static void *fifo_tx_begin(void *self)
{
    struct fifo_tx *tx = calloc(1, sizeof(*tx));
    tx->f = self;
    tx->taken = calloc(FIFO_CAP, sizeof(*tx->taken));
    return tx;
}

static int fifo_put(void *tx_, struct sluice_event **evs, size_t n, struct sluice_err *err)
{
    struct fifo *f = ((struct fifo_tx *)tx_)->f;
    (void)err;
    if (f->count + n > FIFO_CAP)
        return SLUICE_EFULL;
    for (size_t i = 0; i < n; i++)
        f->q[(f->head + f->count++) % FIFO_CAP] = evs[i];
    return SLUICE_OK;
}

static int fifo_take(void *tx_, struct sluice_event **evs, size_t max, size_t *n_out)
{
    struct fifo_tx *tx = tx_;
    struct fifo *f = tx->f;
    size_t n = 0;
    while (n < max && f->count > 0) {
        evs[n] = f->q[f->head];
        tx->taken[tx->n_taken++] = evs[n++];
        f->head = (f->head + 1) % FIFO_CAP;
        f->count--;
    }
    f->out += n;
    *n_out = n;
    return SLUICE_OK;
}

static int fifo_commit(void *tx_, struct sluice_err *err)
{
    struct fifo_tx *tx = tx_;
    if (tx->f->fail_commit && tx->n_taken) {
        if (err) {
            err->code = SLUICE_EIO;
            snprintf(err->msg, sizeof(err->msg), "test fifo: commit fails on purpose");
        }
        return SLUICE_EIO;
    }
    for (size_t i = 0; i < tx->n_taken; i++)
        event_free(tx->taken[i]);
    tx->f->out -= tx->n_taken;
    tx->f->commits += tx->n_taken > 0;
    tx->f->committed_events += tx->n_taken;
    tx->n_taken = 0;
    return SLUICE_OK;
}

static void fifo_rollback(void *tx_)
{
    struct fifo_tx *tx = tx_;
    struct fifo *f = tx->f;
    f->rollbacks += tx->n_taken > 0;
    for (size_t i = tx->n_taken; i-- > 0;) {
        f->head = (f->head + FIFO_CAP - 1) % FIFO_CAP;
        f->q[f->head] = tx->taken[i];
        f->count++;
    }
    f->out -= tx->n_taken;
    tx->n_taken = 0;
}

static void fifo_tx_free(void *tx_)
{
    struct fifo_tx *tx = tx_;
    free(tx->taken);
    free(tx);
}

static void fifo_size(void *self, uint64_t *size, uint64_t *cap)
{
    struct fifo *f = self;
    *size = f->count;
    *cap = FIFO_CAP;
}

static const struct sluice_channel_ops fifo_ops = {
    .tx_begin = fifo_tx_begin,
    .put = fifo_put,
    .take = fifo_take,
    .commit = fifo_commit,
    .rollback = fifo_rollback,
    .tx_free = fifo_tx_free,
    .size = fifo_size,
    .take_nowait = fifo_take, /* never waits anyway */
};

void fifo_init(struct fifo *f)
{
    memset(f, 0, sizeof(*f));
    f->q = calloc(FIFO_CAP, sizeof(*f->q));
    f->ch.ops = &fifo_ops;
    f->ch.self = f;
}

void fifo_destroy(struct fifo *f)
{
    while (f->count) {
        event_free(f->q[f->head]);
        f->head = (f->head + 1) % FIFO_CAP;
        f->count--;
    }
    free(f->q);
    f->q = NULL;
}

void fifo_push(struct fifo *f, const char *body, ...)
{
    struct sluice_event *ev = event_new(body, strlen(body));
    va_list ap;
    va_start(ap, body);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
        event_header_set(ev, k, va_arg(ap, const char *));
    va_end(ap);
    if (f->count < FIFO_CAP)
        f->q[(f->head + f->count++) % FIFO_CAP] = ev;
    else
        event_free(ev);
}

/* ---- proxy ----------------------------------------------------------------------------- */

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int write_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One client at a time: forward both ways; when asked, forward a request holding EVALSHA,
 * wait for the server's answer, and close the client without passing the answer on. */
static void *proxy_main(void *arg)
{
    struct rproxy *p = arg;
    static char buf[1 << 16];
    while (!atomic_load(&p->stop)) {
        struct pollfd lp = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&lp, 1, 50) <= 0)
            continue;
        int cfd = accept(p->listen_fd, NULL, NULL);
        if (cfd < 0)
            continue;
        int sfd = connect_port(p->target_port);
        if (sfd < 0) {
            close(cfd);
            continue;
        }
        int cut = 0; /* 1: the EVALSHA went out; drop the connection at the server's answer */
        while (!atomic_load(&p->stop)) {
            struct pollfd fds[2] = {{.fd = cfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
            if (poll(fds, 2, 50) <= 0)
                continue;
            if (fds[0].revents) {
                ssize_t n = read(cfd, buf, sizeof(buf));
                if (n <= 0)
                    break;
                if (atomic_load(&p->drop_next_eval_reply) && memmem(buf, (size_t)n, "EVALSHA", 7))
                    cut = 1;
                if (write_all(sfd, buf, (size_t)n))
                    break;
            }
            if (fds[1].revents) {
                ssize_t n = read(sfd, buf, sizeof(buf));
                if (n <= 0)
                    break;
                if (cut) {
                    atomic_store(&p->drop_next_eval_reply, 0);
                    atomic_fetch_add(&p->dropped, 1);
                    break;
                }
                if (write_all(cfd, buf, (size_t)n))
                    break;
            }
        }
        close(cfd);
        close(sfd);
    }
    return NULL;
}

int rproxy_start(struct rproxy *p, int target_port)
{
    memset(p, 0, sizeof(*p));
    p->target_port = target_port;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(p->listen_fd, 4) != 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    p->port = ntohs(a.sin_port);
    return pthread_create(&p->thread, NULL, proxy_main, p);
}

void rproxy_stop(struct rproxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    close(p->listen_fd);
}
