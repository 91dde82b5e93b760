/*
 * Shared between the redis sink's files (not part of the plugin ABI): the conf struct the agent
 * fills from the option table, the connection (hiredis), the command builder, the Lua script,
 * and the sink's state. The pure aggregation lives in redis_sink_agg.h / _map.h / _time.h.
 */
#ifndef SLUICE_REDIS_SINK_H
#define SLUICE_REDIS_SINK_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "redis_sink_agg.h"
#include "redis_sink_matcher.h"
#include "sluice/plugin.h"

#define RS_CLOSE_GRACE_MS 1000  /* processing time: a window closes 1 s after its end */
#define RS_STAGE_TTL_S    86400 /* stage keys live a day unless ttl says otherwise */
#define RS_PARTIAL_MAX    16    /* PARTIAL replies handled in one process() call */
#define RS_LOG_EVERY_MS   60000 /* repeated warnings: at most once a minute */
#define RS_BACKOFF_MIN_MS 100
#define RS_BACKOFF_MAX_MS 5000

enum { RS_TIME_PROCESSING = 0, RS_TIME_EVENT = 1 };
enum { RS_LATE_DROP = 0, RS_LATE_NEWEST = 1 };
enum { RS_MODE_SEED = 0, RS_MODE_HINCRBY = 1 };

/* Filled by the agent from redis_sink_options (redis_sink.c). */
struct redis_sink_conf {
    char *host;
    int64_t port;
    int64_t db;
    char *password;
    int64_t timeout_ms;
    char *regex;
    char *group_by;
    char *window;
    int time_mode;
    char *time_group;
    char *time_format;
    char *allowed_lateness;
    int late_policy;
    int mode;
    char *key;
    int64_t ttl;
    int64_t batch_size;
    int64_t match_threads;
};

/* ---- connection (redis_sink_conn.c) ---------------------------------------------------------- */

struct rs_conn {
    redisContext *c;
    char sha[48];
    const char *host, *password;
    int port, db, timeout_ms;
    char where[300]; /* "host:port" for messages */
    int64_t next_try_ms, backoff_ms;
    unsigned failures;
    int ever_connected;
    char last_err[SLUICE_ERR_MSG_MAX];
};

void rs_conn_init(struct rs_conn *k, const struct redis_sink_conf *c);
/* Connected, authenticated, db selected, script loaded; or an error naming host:port. */
int rs_conn_ensure(struct rs_conn *k, const struct sluice_host *h, struct sluice_ctx *ctx,
                   int ignore_backoff, struct sluice_err *err);
void rs_conn_drop(struct rs_conn *k);
/* EVALSHA (SCRIPT LOAD again on NOSCRIPT). argv[0..2] are filled here (EVALSHA sha 0). The
 * reply (free with freeReplyObject) or NULL with err set; I/O errors drop the connection. */
redisReply *rs_conn_eval(struct rs_conn *k, const struct sluice_host *h, int argc,
                         const char **argv, size_t *lens, struct sluice_err *err);
/* rs_conn_eval in two halves, so the sink can work while Redis runs the script: send the
 * command (argv and lens must stay as they are until the reply is read), then read its reply. */
int rs_conn_eval_send(struct rs_conn *k, const struct sluice_host *h, int argc, const char **argv,
                      size_t *lens, struct sluice_err *err);
redisReply *rs_conn_eval_recv(struct rs_conn *k, const struct sluice_host *h, int argc,
                              const char **argv, size_t *lens, struct sluice_err *err);

/* ---- command building (redis_sink_flush.c) ----------------------------------------------------
 */

struct rs_cmd {
    char *txt;
    size_t len, cap;
    size_t *off, *lens;
    const char **argv;
    size_t n, cap_args;
    uint32_t *sent; /* slice index of each slice sent, in order */
    size_t n_sent, cap_sent;
};

struct rs_flush_args {
    int seed;
    const char *key;
    const char *inst;
    uint64_t seq; /* 0: no flush (only close windows) */
    int64_t ttl_s;
    int64_t now_s;
    int has_due;
    int64_t due_ms;
    int64_t window_ms;
};

int rs_cmd_init(struct rs_cmd *c, size_t batch_size);
void rs_cmd_free(struct rs_cmd *c);
/* The EVALSHA argument vector for this flush (argv[0..2] left for rs_conn_eval). */
int rs_flush_build(struct rs_cmd *c, const struct rs_flush_args *fa, const struct rs_map *m);

extern const char rs_lua_script[];

/* ---- the sink (redis_sink.c) -------------------------------------------------------------- */

struct rs_rate_log {
    int64_t last_ms;
    uint64_t since;
    int logged_once;
};

struct redis_sink {
    const struct redis_sink_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    struct rs_agg agg;
    struct rs_matcher matcher; /* matchThreads > 1: helpers matching parts of each batch */
    int matcher_started;
    struct rs_conn conn;
    struct rs_cmd cmd;
    struct sluice_event **evs;       /* the batch being flushed (batchSize slots) */
    struct rs_match *m;              /* its events' matches */
    struct sluice_event **ahead_evs; /* the next batch, taken while Redis runs the script */
    struct rs_match *ahead_m;
    struct sluice_tx *ahead_tx; /* its open transaction, NULL when none is held */
    size_t ahead_n;
    int no_ahead; /* the channel cannot be read without waiting */
    int seed, event_time;
    int64_t window_ms, lateness_ms, ttl_s;
    char inst[256];
    uint64_t seq;     /* the sequence number of the next flush */
    size_t pending_n; /* events of a flush that failed: taken again, same sequence */
    uint64_t pending_fp;
    int64_t next_close_ms; /* seed, processing time: when an idle call checks for due windows */
    uint64_t open_windows; /* as the last reply said */
    struct rs_rate_log log_unmatched, log_late, log_dups, log_headers, log_close;
};

#endif
