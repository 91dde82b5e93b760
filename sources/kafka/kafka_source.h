/*
 * Shared between the kafka source's files (not part of the plugin ABI): the conf struct the
 * agent fills from the option table, the source's state (the batch being read, the offsets
 * that still have to be committed), and what each file provides: consumer configuration,
 * record -> event, the Avro envelope decoder, offset bookkeeping and the rebalance callback.
 */
#ifndef SLUICE_KAFKA_SOURCE_H
#define SLUICE_KAFKA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "sluice/plugin.h"

#define KSRC_TOPIC_MAX        249   /* Kafka's limit on a topic name */
#define KSRC_POLL_SLICE_MS    100   /* longest wait inside process() between stop checks */
#define KSRC_CLOSE_TIMEOUT_MS 10000 /* stop(): leaving the group, at most */
#define KSRC_SEEK_TIMEOUT_MS  5000
#define KSRC_WARN_INTERVAL_MS 30000 /* repeated consumer errors are logged this often */

/* Filled by the agent from kafka_source_options (kafka_source.c). */
struct kafka_source_conf {
    char *bootstrap_servers;
    char *topics;       /* comma-separated */
    char *topics_regex; /* wins over topics */
    char *group_id;
    int64_t batch_size;
    int64_t batch_duration_ms;
    int use_flume_event_format;
    int set_topic_header;
    char *topic_header;
    struct sluice_kvlist headers;  /* header.<flumeHeader> = <kafkaHeaderName> */
    struct sluice_kvlist consumer; /* kafka.consumer.* */
};

/* One partition's share of a batch (first/next offsets) or of what waits for a commit. */
struct ksrc_tp {
    char *topic;
    int32_t partition;
    int64_t first; /* offset of the batch's first record from this partition */
    int64_t next;  /* last offset + 1: what a commit stores */
    int gone;      /* revoked while the batch was read: its records were dropped */
};

struct ksrc_tp_set {
    struct ksrc_tp *v;
    size_t n, cap;
};

/* A record turned into an event, waiting for the batch's emit. */
struct ksrc_pending {
    struct sluice_event *ev;
    size_t tp; /* index into the batch's ksrc_tp_set */
};

struct kafka_source {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const struct kafka_source_conf *conf;
    rd_kafka_conf_t *rkconf; /* validated template; rd_kafka_new gets a copy */
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *subscription;
    char *regex; /* the subscription pattern as librdkafka gets it ("^(...)$"), or NULL */

    /* the batch process() is building (never kept across calls) */
    struct ksrc_pending *batch; /* batch_size slots */
    struct sluice_event **evs;  /* batch_size slots: what emit() gets */
    size_t n_batch;
    struct ksrc_tp_set batch_tps;
    int rebalanced; /* set by the rebalance callback: the batch ends */

    /* emitted into the channel, offsets not yet committed (a commit that failed) */
    struct ksrc_tp_set uncommitted;

    /* rate-limited warnings */
    int64_t last_poll_warn_ms;
    int last_poll_err;
    int64_t last_commit_warn_ms;
    int warned_nul;
};

/* kafka_source_conf.c: validate the conf and build s->rkconf and the subscription. */
int ksrc_conf_build(struct kafka_source *s, struct sluice_err *err);

/* kafka_source_record.c: one consumed record -> one event with Flume's headers, or NULL when
 * out of memory. A value that is not a valid Avro AvroFlumeEvent (useFlumeEventFormat) is
 * delivered as it is, with an error logged and EventReadFail counted. */
struct sluice_event *ksrc_record_event(struct kafka_source *s, const rd_kafka_message_t *m);

/* kafka_source_avro.c: decode the Avro binary AvroFlumeEvent{headers: map<string,string>,
 * body: bytes} (as Flume's useFlumeEventFormat and sluice's kafka sink write it) into a new
 * event. Returns 0, SLUICE_ENOMEM, or SLUICE_EINVAL with *why naming the problem. */
int ksrc_avro_decode(const struct sluice_host *h, const uint8_t *p, size_t n,
                     struct sluice_event **out, const char **why);

/* kafka_source_offsets.c: partition sets, committing, and the rebalance callback. */
struct ksrc_tp *ksrc_tp_find(struct ksrc_tp_set *set, const char *topic, int32_t partition);
/* Index of (topic, partition) in set, adding it with first = next = offset when missing (or
 * gone); (size_t)-1 when out of memory. */
size_t ksrc_tp_get(struct ksrc_tp_set *set, const char *topic, int32_t partition, int64_t offset);
void ksrc_tp_clear(struct ksrc_tp_set *set);
/* Move every batch partition's next offset into s->uncommitted (the batch was emitted). */
int ksrc_tp_merge_uncommitted(struct kafka_source *s);
/* Commit s->uncommitted synchronously for the partitions assigned now; what is committed
 * leaves the set (the rest waits for the next assignment). SLUICE_OK, or SLUICE_EIO. */
int ksrc_commit(struct kafka_source *s, struct sluice_err *err);
/* The emit failed: rewind every batch partition to the batch's first offset, so the records
 * are read again instead of being covered by a later commit. */
void ksrc_rewind_batch(struct kafka_source *s);
/* Free the batch's events and forget its partitions. */
void ksrc_drop_batch(struct kafka_source *s);
void ksrc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t *parts, void *opaque);

#endif
