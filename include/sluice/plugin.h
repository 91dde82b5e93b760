/*
 * sluice plugin ABI: the one header an out-of-tree plugin needs.
 *
 * A plugin is a shared object that exports one const data symbol, `sluice_plugin`, describing
 * its kind, its Flume names, its typed option table and its callbacks. The agent parses and
 * validates every option from the table, so a plugin receives a filled conf struct. Services
 * the plugin needs from the agent (logging, events, channel transactions, counters) come
 * through `struct sluice_host`, so a plugin never links against the agent.
 *
 * Compatibility: SLUICE_ABI_MAJOR must match exactly; a plugin whose minor is newer than the
 * agent's is refused. Structs only grow by appending within a major, guarded by struct_size.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_ABI_MAJOR 1
#define SLUICE_ABI_MINOR 1

/* Minor 1: a sink may keep up to SLUICE_SINK_TX_MAX transactions open on its channel at once
 * (host->tx_begin returns NULL when all are in use), host->tx_take_nowait, and the optional
 * channel op take_nowait. */
#define SLUICE_SINK_TX_MAX 8

#if defined(__GNUC__)
#define SLUICE_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SLUICE_PRINTF(a, b)  __attribute__((format(printf, a, b)))
#else
#define SLUICE_PLUGIN_EXPORT
#define SLUICE_PRINTF(a, b)
#endif

/* ---- Results and errors ------------------------------------------------------------------ */

/* Flow results are never negative; errors always are. */
#define SLUICE_OK      0
#define SLUICE_READY   0 /* a pollable source or sink did work */
#define SLUICE_BACKOFF 1 /* nothing to do right now */

/* One error space for the whole agent: XX(name, number, text). */
#define SLUICE_ERRNO_MAP(XX)                                                                       \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EFULL, -3, "channel full")                                                                  \
    XX(EEMPTY, -4, "channel empty")                                                                \
    XX(EIO, -5, "input/output error")                                                              \
    XX(EABI, -6, "plugin ABI mismatch")                                                            \
    XX(ECONFIG, -7, "configuration error")                                                         \
    XX(EDELIVERY, -8, "delivery failed")                                                           \
    XX(ESTOPPED, -9, "component stopping")                                                         \
    XX(ETOOBIG, -10, "larger than the channel can ever hold")                                      \
    XX(ETXCAP, -11, "transaction capacity exceeded")                                               \
    XX(ESTATE, -12, "transaction used out of order")                                               \
    XX(ENOTSUP, -13, "not supported")

enum sluice_errno {
#define SLUICE_XX(name, num, text) SLUICE_##name = num,
    SLUICE_ERRNO_MAP(SLUICE_XX)
#undef SLUICE_XX
};

#define SLUICE_ERR_MSG_MAX 512

/* Details of a failure. Fill with host->err_set() (or snprintf into msg). */
struct sluice_err {
    int code;
    char msg[SLUICE_ERR_MSG_MAX];
};

/* ---- Events --------------------------------------------------------------------------------- */

struct sluice_header {
    char *key;
    char *value;
};

/*
 * An event: headers plus an opaque body. Create and free only through the host, which owns the
 * allocation strategy. A plugin may read every field and may rewrite body bytes in place; to
 * change the body length or headers use the host functions.
 */
struct sluice_event {
    uint8_t *body;
    size_t body_len;
    struct sluice_header *headers; /* NULL when n_headers == 0 */
    uint32_t n_headers;
    uint32_t cap_headers;
};

/* ---- Option tables ----------------------------------------------------------------------------
 */

enum sluice_opt_type {
    SLUICE_OPT_STRING = 1, /* char *        (NULL when unset with no default) */
    SLUICE_OPT_INT,        /* int64_t       decimal, checked against min/max */
    SLUICE_OPT_BOOL,       /* int           true/false, any case */
    SLUICE_OPT_DOUBLE,     /* double */
    SLUICE_OPT_ENUM,       /* int           index into choices, matched without case */
    SLUICE_OPT_PREFIX,     /* struct sluice_kvlist: every key "name*" (name is the prefix) */
    SLUICE_OPT_UNSUPPORTED /* known Flume key with no effect here: accepted with a note */
};

enum sluice_opt_flags {
    SLUICE_OPT_REQUIRED = 1u << 0,
    SLUICE_OPT_SECRET = 1u << 1,     /* value never logged */
    SLUICE_OPT_BATCH_SIZE = 1u << 2, /* an INT compared with the channel's transactionCapacity */
    SLUICE_OPT_TX_CAPACITY = 1u << 3 /* a channel's transactionCapacity */
};

struct sluice_kv {
    const char *key;    /* the part after the prefix */
    const char *value;  /* trimmed, as in Flume */
    const char *origin; /* "file:line" for messages */
};

struct sluice_kvlist {
    size_t n;
    const struct sluice_kv *items;
};

struct sluice_option {
    const char *name; /* the Flume key: "capacity", "kafka.producer." (PREFIX) */
    enum sluice_opt_type type;
    const char *def;            /* default as text, parsed like user input; NULL = none */
    const char *desc;           /* one sentence for `sluice describe` */
    const char *deprecated;     /* an older key accepted with a warning naming `name` */
    unsigned flags;             /* enum sluice_opt_flags */
    int64_t min, max;           /* bounds for INT when min < max */
    const char *const *choices; /* ENUM: NULL-terminated */
    size_t offset;              /* offsetof(conf struct, field); ignored for UNSUPPORTED */
};

/* ---- Host services ------------------------------------------------------------------------- */

enum sluice_level { SLUICE_LOG_ERROR = 0, SLUICE_LOG_WARN, SLUICE_LOG_INFO, SLUICE_LOG_DEBUG };

/* Flume's counter names; the agent publishes the ones a component moves. */
#define SLUICE_COUNTER_MAP(XX)                                                                     \
    XX(EVENT_RECEIVED, "EventReceivedCount")                                                       \
    XX(EVENT_ACCEPTED, "EventAcceptedCount")                                                       \
    XX(APPEND_RECEIVED, "AppendReceivedCount")                                                     \
    XX(APPEND_ACCEPTED, "AppendAcceptedCount")                                                     \
    XX(APPEND_BATCH_RECEIVED, "AppendBatchReceivedCount")                                          \
    XX(APPEND_BATCH_ACCEPTED, "AppendBatchAcceptedCount")                                          \
    XX(OPEN_CONNECTION, "OpenConnectionCount")                                                     \
    XX(EVENT_READ_FAIL, "EventReadFail")                                                           \
    XX(CHANNEL_WRITE_FAIL, "ChannelWriteFail")                                                     \
    XX(GENERIC_PROCESSING_FAIL, "GenericProcessingFail")                                           \
    XX(CHANNEL_SIZE, "ChannelSize")                                                                \
    XX(CHANNEL_CAPACITY, "ChannelCapacity")                                                        \
    XX(EVENT_PUT_ATTEMPT, "EventPutAttemptCount")                                                  \
    XX(EVENT_PUT_SUCCESS, "EventPutSuccessCount")                                                  \
    XX(EVENT_TAKE_ATTEMPT, "EventTakeAttemptCount")                                                \
    XX(EVENT_TAKE_SUCCESS, "EventTakeSuccessCount")                                                \
    XX(CONNECTION_CREATED, "ConnectionCreatedCount")                                               \
    XX(CONNECTION_CLOSED, "ConnectionClosedCount")                                                 \
    XX(CONNECTION_FAILED, "ConnectionFailedCount")                                                 \
    XX(BATCH_EMPTY, "BatchEmptyCount")                                                             \
    XX(BATCH_UNDERFLOW, "BatchUnderflowCount")                                                     \
    XX(BATCH_COMPLETE, "BatchCompleteCount")                                                       \
    XX(EVENT_DRAIN_ATTEMPT, "EventDrainAttemptCount")                                              \
    XX(EVENT_DRAIN_SUCCESS, "EventDrainSuccessCount")                                              \
    XX(EVENT_WRITE_FAIL, "EventWriteFail")                                                         \
    XX(CHANNEL_READ_FAIL, "ChannelReadFail")                                                       \
    XX(ROLLBACK, "RollbackCount")                                                                  \
    XX(KAFKA_EVENT_SEND_TIMER, "KafkaEventSendTimer")                                              \
    XX(KAFKA_EVENT_GET_TIMER, "KafkaEventGetTimer")                                                \
    XX(KAFKA_COMMIT_TIMER, "KafkaCommitTimer")                                                     \
    XX(KAFKA_EMPTY, "KafkaEmptyCount")                                                             \
    XX(EVENT_DROPPED, "EventDroppedCount")                                                         \
    XX(EVENT_UNMATCHED, "EventUnmatchedCount")                                                     \
    XX(EVENT_LATE, "EventLateCount")

enum sluice_counter {
#define SLUICE_XX(name, text) SLUICE_CTR_##name,
    SLUICE_COUNTER_MAP(SLUICE_XX)
#undef SLUICE_XX
        SLUICE_CTR__COUNT
};

struct sluice_ctx;     /* the agent's handle for one component instance */
struct sluice_channel; /* a channel as a sink sees it */
struct sluice_tx;      /* a channel transaction as a sink sees it */

struct sluice_host {
    uint32_t struct_size; /* sizeof(struct sluice_host) in the agent */
    uint32_t abi_minor;

    /* Logging, prefixed by the agent with the component ("[sink:k1]"). Any thread. */
    void (*log)(struct sluice_ctx *ctx, enum sluice_level level, const char *fmt, ...)
        SLUICE_PRINTF(3, 4);
    int (*log_enabled)(struct sluice_ctx *ctx, enum sluice_level level);
    /* Fill err (code + formatted message); returns code. */
    int (*err_set)(struct sluice_err *err, int code, const char *fmt, ...) SLUICE_PRINTF(3, 4);

    /* Events. event_new copies len bytes of body (body may be NULL when len is 0). */
    struct sluice_event *(*event_new)(const void *body, size_t len);
    void (*event_free)(struct sluice_event *ev);
    struct sluice_event *(*event_dup)(const struct sluice_event *ev);
    /* Set (replace) a header; returns SLUICE_OK or SLUICE_ENOMEM. */
    int (*event_header_set)(struct sluice_event *ev, const char *key, const char *value);
    const char *(*event_header_get)(const struct sluice_event *ev, const char *key);
    void (*event_header_remove)(struct sluice_event *ev, const char *key);
    /* Replace the body (copies). */
    int (*event_body_set)(struct sluice_event *ev, const void *body, size_t len);

    /*
     * Sources: hand a batch to the channel processor (interceptors, selector, one channel
     * transaction per required channel). Ownership of every event passes to the agent,
     * whatever the result. Blocks while a channel is full (never drops); returns SLUICE_OK once
     * every required channel committed, or SLUICE_ESTOPPED if the agent is stopping first.
     */
    int (*emit)(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                struct sluice_err *err);

    /* Sinks: one transaction on the sink's channel. take() waits up to the channel's keep-alive
     * for the first event, then returns what is there (up to max) without waiting more.
     * Taken events stay owned by the transaction: use them until commit (which frees them) or
     * rollback (which returns them to the channel, in order); a sink never frees them. */
    struct sluice_tx *(*tx_begin)(struct sluice_channel *ch);
    int (*tx_take)(struct sluice_tx *tx, struct sluice_event **evs, size_t max, size_t *n_out);
    int (*tx_commit)(struct sluice_tx *tx, struct sluice_err *err);
    void (*tx_rollback)(struct sluice_tx *tx);
    void (*tx_end)(struct sluice_tx *tx); /* after commit or rollback */

    /* Counters and cooperative stop. */
    void (*counter_add)(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t by);
    void (*counter_set)(struct sluice_ctx *ctx, enum sluice_counter c, uint64_t value);
    int (*stopping)(struct sluice_ctx *ctx);
    /* Sleep up to ms, returning early (non-zero) when the agent is stopping. */
    int (*sleep_ms)(struct sluice_ctx *ctx, int64_t ms);
    /* The component's name ("r1") and the agent's ("a1"). */
    const char *(*component_name)(struct sluice_ctx *ctx);
    const char *(*agent_name)(struct sluice_ctx *ctx);

    /* ABI minor >= 1 (check abi_minor and struct_size first). Like tx_take, but returns at
     * once with what the channel holds, possibly nothing; SLUICE_ENOTSUP when the channel
     * cannot take without waiting. For a sink that keeps several transactions in flight and
     * must not sit in a channel's keep-alive while earlier ones could be committed. */
    int (*tx_take_nowait)(struct sluice_tx *tx, struct sluice_event **evs, size_t max,
                          size_t *n_out);
};

/* ---- Per-kind operations --------------------------------------------------------------------
 * Every callback returns SLUICE_OK (or a flow result) or a negative SLUICE_E* code with err
 * filled. create() receives the conf struct the agent filled from the option table; the agent
 * frees that struct (and its strings) after destroy(), so keep pointers into it if you like.
 * stop() must return within a bounded time; destroy() must accept a half-built object.
 */
struct sluice_source_ops {
    int (*create)(void **self, const void *conf, const struct sluice_host *host,
                  struct sluice_ctx *ctx, struct sluice_err *err);
    int (*start)(void *self, struct sluice_err *err);
    /* Pollable sources: called in a loop by the agent's source thread. Return SLUICE_READY or
     * SLUICE_BACKOFF; block at most ~100 ms without checking host->stopping(). NULL for
     * event-driven sources, which run their own threads between start() and stop(). */
    int (*process)(void *self, struct sluice_err *err);
    void (*stop)(void *self);
    void (*destroy)(void *self);
};

struct sluice_channel_ops {
    int (*create)(void **self, const void *conf, const struct sluice_host *host,
                  struct sluice_ctx *ctx, struct sluice_err *err);
    int (*start)(void *self, struct sluice_err *err);
    void (*stop)(void *self);
    void (*destroy)(void *self);
    /* Transactions. The agent wraps these with Flume's state machine and counters and never
     * lets two threads share a transaction. */
    void *(*tx_begin)(void *self);
    /* Queue n events for commit; on success the channel owns them. ETXCAP when the
     * transaction would exceed transactionCapacity (the channel then owns none of them). */
    int (*put)(void *tx, struct sluice_event **evs, size_t n, struct sluice_err *err);
    /* Take up to max; wait up to keep-alive for the first; *n_out may be 0. The transaction
     * keeps ownership of taken events: commit frees them, rollback requeues them. */
    int (*take)(void *tx, struct sluice_event **evs, size_t max, size_t *n_out);
    /* EFULL (no room within keep-alive: the transaction stays open and unchanged, so commit may
     * be called again or rolled back), ETOOBIG (this batch can never fit), or OK. */
    int (*commit)(void *tx, struct sluice_err *err);
    /* Taken events return to the head of the queue in their order; puts are freed. */
    void (*rollback)(void *tx);
    void (*tx_free)(void *tx);
    /* Current number of events, and the configured capacity. */
    void (*size)(void *self, uint64_t *size, uint64_t *capacity);
    /* ABI minor >= 1, optional (NULL): take as take() does, but never wait. */
    int (*take_nowait)(void *tx, struct sluice_event **evs, size_t max, size_t *n_out);
};

struct sluice_sink_ops {
    int (*create)(void **self, const void *conf, const struct sluice_host *host,
                  struct sluice_ctx *ctx, struct sluice_err *err);
    int (*start)(void *self, struct sluice_err *err);
    /* One batch in one transaction on ch; commit only after the destination acknowledged.
     * SLUICE_READY, SLUICE_BACKOFF (channel was empty), or an error after rolling back. */
    int (*process)(void *self, struct sluice_channel *ch, struct sluice_err *err);
    void (*stop)(void *self);
    void (*destroy)(void *self);
};

struct sluice_interceptor_ops {
    int (*create)(void **self, const void *conf, const struct sluice_host *host,
                  struct sluice_ctx *ctx, struct sluice_err *err);
    /* Filter or rewrite evs[0..n) in place, keeping order; free dropped events with
     * host->event_free; return how many remain at the front of evs. Source thread only. */
    size_t (*intercept)(void *self, struct sluice_event **evs, size_t n);
    void (*destroy)(void *self);
};

/* ---- The descriptor ------------------------------------------------------------------------- */

enum sluice_kind {
    SLUICE_KIND_SOURCE = 1,
    SLUICE_KIND_CHANNEL = 2,
    SLUICE_KIND_SINK = 3,
    SLUICE_KIND_INTERCEPTOR = 4
};

struct sluice_plugin {
    uint16_t abi_major, abi_minor;
    uint32_t struct_size;                /* sizeof(struct sluice_plugin) as the plugin saw it */
    uint32_t kind;                       /* enum sluice_kind */
    const char *name;                    /* short Flume type: "memory", "regex_filter" */
    const char *const *aliases;          /* NULL-terminated: Flume class names, other spellings */
    const char *summary;                 /* one line for `sluice plugins` */
    const struct sluice_option *options; /* terminated by an entry with name == NULL */
    size_t conf_size;                    /* size of the conf struct the options fill */
    const void *ops;                     /* struct sluice_<kind>_ops */
};

#define SLUICE_PLUGIN_INIT(kind_, name_)                                                           \
    .abi_major = SLUICE_ABI_MAJOR, .abi_minor = SLUICE_ABI_MINOR,                                  \
    .struct_size = sizeof(struct sluice_plugin), .kind = (kind_), .name = (name_)

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */
