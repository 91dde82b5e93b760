/*
 * The redis sink's connection: connect with a timeout, AUTH, SELECT, SCRIPT LOAD; reconnect
 * with a growing pause between process() calls after a failure; EVALSHA with a SCRIPT LOAD
 * fallback when Redis forgot the script (restart, SCRIPT FLUSH). Every message names
 * host:port and quotes Redis' own words.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "redis_sink.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rs_conn_init(struct rs_conn *k, const struct redis_sink_conf *c)
{
    memset(k, 0, sizeof(*k));
    k->host = c->host;
    k->port = (int)c->port;
    k->db = (int)c->db;
    k->password = c->password && *c->password ? c->password : NULL;
    k->timeout_ms = (int)c->timeout_ms;
    if (k->host[0] == '/')
        snprintf(k->where, sizeof(k->where), "%s", k->host);
    else if (strchr(k->host, ':'))
        snprintf(k->where, sizeof(k->where), "[%s]:%d", k->host, k->port);
    else
        snprintf(k->where, sizeof(k->where), "%s:%d", k->host, k->port);
}

void rs_conn_drop(struct rs_conn *k)
{
    if (k->c) {
        redisFree(k->c);
        k->c = NULL;
    }
}

/* Run a command given as words; the reply, or NULL with a message in why. */
static redisReply *cmd(struct rs_conn *k, int argc, const char **argv, char *why, size_t why_len)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(k->c, argc, argv, lens);
    if (!r) {
        snprintf(why, why_len, "%s", k->c->errstr[0] ? k->c->errstr : "connection lost");
        if (k->c->err == REDIS_ERR_IO && strstr(why, "temporarily unavailable"))
            snprintf(why, why_len, "no reply within redis.timeout = %d ms", k->timeout_ms);
        return NULL;
    }
    return r;
}

static int setup_failed(struct rs_conn *k, int code, struct sluice_err *err)
{
    rs_conn_drop(k);
    k->failures++;
    k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : RS_BACKOFF_MIN_MS;
    if (k->backoff_ms > RS_BACKOFF_MAX_MS)
        k->backoff_ms = RS_BACKOFF_MAX_MS;
    k->next_try_ms = mono_ms() + k->backoff_ms;
    snprintf(k->last_err, sizeof(k->last_err), "%s", err->msg);
    return code;
}

static int load_script(struct rs_conn *k, const struct sluice_host *h, struct sluice_err *err)
{
    char why[256];
    const char *argv[] = {"SCRIPT", "LOAD", rs_lua_script};
    redisReply *r = cmd(k, 3, argv, why, sizeof(why));
    if (!r)
        return h->err_set(err, SLUICE_EIO, "redis %s: SCRIPT LOAD failed: %s", k->where, why);
    int rc = SLUICE_OK;
    if (r->type == REDIS_REPLY_STRING && r->len < sizeof(k->sha)) {
        memcpy(k->sha, r->str, r->len);
        k->sha[r->len] = '\0';
    } else if (r->type == REDIS_REPLY_ERROR) {
        int noauth = strncmp(r->str, "NOAUTH", 6) == 0;
        rc = h->err_set(err, noauth ? SLUICE_ECONFIG : SLUICE_EIO, "redis %s: %s%s", k->where,
                        r->str, noauth ? " (set redis.password)" : "");
    } else {
        rc =
            h->err_set(err, SLUICE_EIO, "redis %s: SCRIPT LOAD gave an unexpected reply", k->where);
    }
    freeReplyObject(r);
    return rc;
}

int rs_conn_ensure(struct rs_conn *k, const struct sluice_host *h, struct sluice_ctx *ctx,
                   int ignore_backoff, struct sluice_err *err)
{
    if (k->c)
        return SLUICE_OK;
    if (!ignore_backoff && k->failures && mono_ms() < k->next_try_ms)
        return h->err_set(err, SLUICE_EIO, "%s (next attempt in %lld ms)", k->last_err,
                          (long long)(k->next_try_ms - mono_ms()));
    struct timeval tv = {.tv_sec = k->timeout_ms / 1000, .tv_usec = (k->timeout_ms % 1000) * 1000};
    k->c = k->host[0] == '/' ? redisConnectUnixWithTimeout(k->host, tv)
                             : redisConnectWithTimeout(k->host, k->port, tv);
    if (!k->c || k->c->err) {
        h->err_set(err, SLUICE_EIO, "redis %s: cannot connect: %s", k->where,
                   k->c ? k->c->errstr : "out of memory");
        h->counter_add(ctx, SLUICE_CTR_CONNECTION_FAILED, 1);
        return setup_failed(k, SLUICE_EIO, err);
    }
    redisSetTimeout(k->c, tv);
    if (k->host[0] != '/')
        redisEnableKeepAlive(k->c);
    char why[256];
    if (k->password) {
        const char *argv[] = {"AUTH", k->password};
        redisReply *r = cmd(k, 2, argv, why, sizeof(why));
        if (!r || r->type == REDIS_REPLY_ERROR) {
            h->err_set(err, r ? SLUICE_ECONFIG : SLUICE_EIO, "redis %s refused AUTH: %s", k->where,
                       r ? r->str : why);
            int code = r ? SLUICE_ECONFIG : SLUICE_EIO;
            freeReplyObject(r);
            h->counter_add(ctx, SLUICE_CTR_CONNECTION_FAILED, 1);
            return setup_failed(k, code, err);
        }
        freeReplyObject(r);
    }
    if (k->db != 0) {
        char db[24];
        snprintf(db, sizeof(db), "%d", k->db);
        const char *argv[] = {"SELECT", db};
        redisReply *r = cmd(k, 2, argv, why, sizeof(why));
        if (!r || r->type == REDIS_REPLY_ERROR) {
            int code = r ? SLUICE_ECONFIG : SLUICE_EIO;
            h->err_set(err, code, "redis %s: SELECT %d (redis.db) failed: %s", k->where, k->db,
                       r ? r->str : why);
            freeReplyObject(r);
            h->counter_add(ctx, SLUICE_CTR_CONNECTION_FAILED, 1);
            return setup_failed(k, code, err);
        }
        freeReplyObject(r);
    }
    int rc = load_script(k, h, err);
    if (rc != SLUICE_OK) {
        h->counter_add(ctx, SLUICE_CTR_CONNECTION_FAILED, 1);
        return setup_failed(k, rc, err);
    }
    h->counter_add(ctx, SLUICE_CTR_CONNECTION_CREATED, 1);
    if (!k->ever_connected)
        h->log(ctx, SLUICE_LOG_INFO, "connected to redis %s (db %d)", k->where, k->db);
    else
        h->log(ctx, SLUICE_LOG_INFO, "reconnected to redis %s (db %d) after %u failed attempt(s)",
               k->where, k->db, k->failures);
    k->ever_connected = 1;
    k->failures = 0;
    k->backoff_ms = 0;
    return SLUICE_OK;
}

/* The connection failed under a command: say why (a timeout named as such), drop it. */
static void io_failed(struct rs_conn *k, const struct sluice_host *h, struct sluice_err *err)
{
    char why[256];
    snprintf(why, sizeof(why), "%s", k->c->errstr[0] ? k->c->errstr : "connection lost");
    if (k->c->err == REDIS_ERR_IO && strstr(why, "temporarily unavailable"))
        snprintf(why, sizeof(why), "no reply within redis.timeout = %d ms", k->timeout_ms);
    h->err_set(err, SLUICE_EIO, "redis %s: %s", k->where, why);
    snprintf(k->last_err, sizeof(k->last_err), "%s", err->msg);
    rs_conn_drop(k);
    k->failures++;
}

int rs_conn_eval_send(struct rs_conn *k, const struct sluice_host *h, int argc, const char **argv,
                      size_t *lens, struct sluice_err *err)
{
    argv[0] = "EVALSHA";
    lens[0] = 7;
    argv[1] = k->sha;
    lens[1] = strlen(k->sha);
    argv[2] = "0";
    lens[2] = 1;
    if (redisAppendCommandArgv(k->c, argc, argv, lens) != REDIS_OK) {
        io_failed(k, h, err);
        return SLUICE_EIO;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(k->c, &done) != REDIS_OK) {
            io_failed(k, h, err);
            return SLUICE_EIO;
        }
    }
    return SLUICE_OK;
}

/* The reply to the command sent; NULL (err set) when there is none or it is an error. With
 * retry_noscript, a server that lost the script (restarted) gets it again and the same
 * command is run once more. */
static redisReply *eval_reply(struct rs_conn *k, const struct sluice_host *h, int argc,
                              const char **argv, size_t *lens, int retry_noscript,
                              struct sluice_err *err)
{
    void *reply = NULL;
    if (redisGetReply(k->c, &reply) != REDIS_OK || !reply) {
        io_failed(k, h, err);
        return NULL;
    }
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 && retry_noscript) {
        freeReplyObject(r);
        if (load_script(k, h, err) != SLUICE_OK) {
            rs_conn_drop(k);
            return NULL;
        }
        if (rs_conn_eval_send(k, h, argc, argv, lens, err) != SLUICE_OK)
            return NULL;
        return eval_reply(k, h, argc, argv, lens, 0, err);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        int noauth = strncmp(r->str, "NOAUTH", 6) == 0;
        int noscript = strncmp(r->str, "NOSCRIPT", 8) == 0;
        h->err_set(err, SLUICE_EIO, "redis %s: %s%s", k->where,
                   noscript ? "the script is not known even after SCRIPT LOAD" : r->str,
                   noauth ? " (set redis.password)" : "");
        freeReplyObject(r);
        if (noauth) /* e.g. the server restarted with requirepass: start over */
            rs_conn_drop(k);
        return NULL;
    }
    return r;
}

redisReply *rs_conn_eval_recv(struct rs_conn *k, const struct sluice_host *h, int argc,
                              const char **argv, size_t *lens, struct sluice_err *err)
{
    return eval_reply(k, h, argc, argv, lens, 1, err);
}

redisReply *rs_conn_eval(struct rs_conn *k, const struct sluice_host *h, int argc,
                         const char **argv, size_t *lens, struct sluice_err *err)
{
    if (rs_conn_eval_send(k, h, argc, argv, lens, err) != SLUICE_OK)
        return NULL;
    return rs_conn_eval_recv(k, h, argc, argv, lens, err);
}
