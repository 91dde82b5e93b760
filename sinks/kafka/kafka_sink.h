/*
 * Shared between the kafka sink's files (not part of the plugin ABI): the conf struct the agent
 * fills from the option table, the sink's state, and the helpers each file provides
 * (producer configuration, per-event record building, the Avro envelope).
 */
#ifndef SLUICE_KAFKA_SINK_H
#define SLUICE_KAFKA_SINK_H

#include <pthread.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "sluice/plugin.h"

#define KS_DEFAULT_TOPIC  "default-flume-topic"
#define KS_TOPIC_MAX      249 /* Kafka's limit on a topic name */
#define KS_MSG_TIMEOUT_MS "30000"
#define KS_STOP_GRACE_MS  2000 /* how long process() still waits once the agent stops */
#define KS_WAIT_MARGIN_MS 5000 /* beyond message.timeout.ms before a batch is abandoned */

/* Filled by the agent from kafka_sink_options (kafka_sink.c). */
struct kafka_sink_conf {
    char *bootstrap_servers;
    char *topic; /* NULL: default-flume-topic, with Flume's warning */
    int64_t batch_size;
    int64_t inflight_batches;
    char *acks; /* NULL: not set by the user */
    int use_flume_event_format;
    int64_t default_partition_id; /* -1: unset */
    char *partition_id_header;
    int allow_topic_override;
    char *topic_header;
    char *timestamp_header;
    struct sluice_kvlist producer; /* kafka.producer.* */
    struct sluice_kvlist headers;  /* header.<flumeHeader> = <kafkaHeader> */
};

enum ks_idempotence { KS_IDEM_AUTO = -1, KS_IDEM_OFF = 0, KS_IDEM_ON = 1 };

#define KS_INFLIGHT_MAX SLUICE_SINK_TX_MAX

/* One channel batch in flight (kafka_sink_batches.c): its transaction, its events and the
 * delivery state written by the report callback. No lock: the callback runs only inside this
 * sink's own rd_kafka_poll/flush calls, all made on its runner thread (process()), or in
 * stop(), which the agent calls only after that thread has ended. */
struct ks_batch {
    uintptr_t id; /* every message of the batch carries it as its opaque */
    struct sluice_tx *tx;
    struct sluice_event **evs; /* batch_size slots */
    size_t n;
    /* reset for every batch from here on */
    size_t outstanding, ok, failed, possibly_persisted;
    rd_kafka_resp_err_t first_err;
    char first_errstr[256];
    int produce_rc; /* a produce call failed: the batch is rolled back whole */
    char produce_err[SLUICE_ERR_MSG_MAX];
    int64_t t0, deadline;
};

struct kafka_sink {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const struct kafka_sink_conf *conf;
    const char *topic;       /* resolved static topic */
    int topic_has_escapes;   /* contains %{header} (substituted when override is allowed) */
    rd_kafka_conf_t *rkconf; /* validated template; rd_kafka_new gets a copy */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;  /* the static topic on rk (NULL with %{header} escapes) */
    int64_t msg_timeout_ms; /* as librdkafka will apply it; 0 = infinite */
    int idem_mode;          /* enum ks_idempotence as the user set it */
    int idem_resolved;      /* what the template asks for */
    int idempotent;         /* what the current producer uses */
    int fallback;           /* brokers refused idempotence: producers are made without it */
    char acks_user[16];     /* the user's acks ("" when unset), for the non-idempotent fallback */

    uint8_t *avro_buf;
    size_t avro_cap;
    rd_kafka_message_t *run; /* plain records of a batch, produced together (batch_size) */
    size_t *run_ev;          /* the event index of each */

    struct ks_batch slots[KS_INFLIGHT_MAX]; /* a ring: head is the oldest, count in flight */
    size_t head, count, ring_size;          /* ring_size: slots allocated (inflightBatches) */
    size_t inflight_max; /* the limit; 1 when the channel cannot take without waiting */
    uintptr_t next_id;
    uint64_t stale_reports, stale_delivered; /* reports for batches already rolled back */
};

/* kafka_sink_conf.c: build and validate ks->rkconf from the conf (passthrough, Java-name
 * translation, acks/idempotence, timeouts). SLUICE_ECONFIG with a message naming the key. */
int ks_conf_build(struct kafka_sink *ks, struct sluice_err *err);
/* rd_kafka_new from the template; with idempotence forced off when fallback is set. */
int ks_producer_new(struct kafka_sink *ks, int fallback, struct sluice_err *err);

/* The topic handle and the producer, destroyed; ks->rk and ks->rkt are NULL after. */
void ks_producer_destroy(struct kafka_sink *ks);

/* kafka_sink.c: a producer that works (a new one after a fatal error, or a retried creation). */
int ks_ensure_producer(struct kafka_sink *ks, struct sluice_err *err);

/* kafka_sink_batches.c: the delivery report callback (registered by ks_conf_build), the
 * sink's process(), and settling what is in flight at stop(). */
void ks_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
int ks_process(void *self, struct sluice_channel *ch, struct sluice_err *err);
void ks_settle_on_stop(struct kafka_sink *ks);

/* kafka_sink_record.c: one event -> one rd_kafka_producev call. */
struct ks_record {
    const char *topic;
    char topic_buf[KS_TOPIC_MAX + 1];
    int32_t partition;
    int partition_from_header;
    const char *key;
    int64_t timestamp_ms; /* 0: now */
    const void *value;
    size_t value_len;
    rd_kafka_headers_t *headers; /* NULL when none; owned until produced */
};
int ks_record_build(struct kafka_sink *ks, const struct sluice_event *ev, struct ks_record *r,
                    struct sluice_err *err);

/* kafka_avro.c: Avro binary encoding of AvroFlumeEvent{headers: map<string,string>,
 * body: bytes} (no container, no schema), as Flume's useFlumeEventFormat writes it. */
size_t ks_avro_size(const struct sluice_event *ev);
size_t ks_avro_encode(const struct sluice_event *ev, uint8_t *out);

#endif
