/*
 * Test helpers for the redis sink: a real redis-server started on a free loopback port (killed
 * by pid), a transactional FIFO channel, and a TCP proxy that can lose a reply on purpose.
 */
#ifndef SLUICE_TEST_REDIS_SERVER_H
#define SLUICE_TEST_REDIS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "test_host.h"

struct rserver {
    pid_t pid;
    int port;
    char dir[128]; /* its working directory (append-only file, log) */
    int persist;   /* --appendonly yes --appendfsync always */
    char password[64];
};

/* Start on a free port (port 0) or the given one; wait until it answers. 0 on success. */
int rserver_start(struct rserver *s, int port);
/* SIGKILL and reap; keeps dir so a restart with persist finds its data. */
void rserver_kill(struct rserver *s);
/* Kill if running and remove dir. */
void rserver_destroy(struct rserver *s);
/* A client connection (AUTH with s->password when set); NULL on failure. */
redisContext *rserver_client(const struct rserver *s);
/* Run a command and return its integer / string reply ("" when nil). */
long long rcmd_int(redisContext *c, const char *fmt, ...);
char *rcmd_str(redisContext *c, const char *fmt, ...); /* malloc'd */

/* ---- FIFO channel: take moves events out; rollback puts them back first, in order ---------- */

#define FIFO_CAP 65536

struct fifo {
    struct sluice_channel ch; /* hand &f->ch to the sink */
    struct sluice_event **q;
    size_t head, count;
    size_t out;      /* taken by open transactions (a sink may hold a batch taken ahead) */
    int fail_commit; /* commits fail while set */
    size_t commits, rollbacks, committed_events;
};

void fifo_init(struct fifo *f);
void fifo_destroy(struct fifo *f);
/* Queue an event; headers as "k", "v" pairs ending with NULL. */
void fifo_push(struct fifo *f, const char *body, ...);

/* ---- a proxy between the sink and redis-server that can drop one EVALSHA reply --------------- */

struct rproxy {
    int listen_fd, port, target_port;
    pthread_t thread;
    atomic_int stop;
    atomic_int drop_next_eval_reply; /* forward the next EVALSHA, then close without its reply */
    atomic_int dropped;
};

int rproxy_start(struct rproxy *p, int target_port);
void rproxy_stop(struct rproxy *p);

#endif
