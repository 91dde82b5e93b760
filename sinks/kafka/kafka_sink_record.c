/*
 * One Flume event -> the fields of one Kafka record, following Flume's KafkaSink: the topic
 * (topic header when allowed, else kafka.topic with %{header} substituted), the `key` header as
 * the key, the partition (partitionIdHeader, else defaultPartitionId), the timestamp header,
 * the header.* copies, and the value (the body, or the Avro envelope).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_sink.h"

/* Strict decimal integer within [lo, hi] (like Java's parseInt: no spaces, no junk). */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!*s || *s == ' ' || *s == '\t' || *s == '+')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* kafka.topic with every %{name} replaced by that header's value ("" when absent, as Flume's
 * BucketPath does). Other % sequences are copied as they are. */
static int expand_topic(struct kafka_sink *ks, const struct sluice_event *ev, char *out, size_t cap,
                        struct sluice_err *err)
{
    const char *s = ks->topic;
    size_t n = 0;
    while (*s) {
        const char *piece = s;
        size_t len = 1;
        const char *close = s[0] == '%' && s[1] == '{' ? strchr(s + 2, '}') : NULL;
        if (close) {
            char name[256];
            size_t nl = (size_t)(close - (s + 2));
            if (nl >= sizeof(name))
                return ks->host->err_set(err, SLUICE_EDELIVERY,
                                         "kafka.topic %s: header name in %%{...} too long",
                                         ks->topic);
            memcpy(name, s + 2, nl);
            name[nl] = '\0';
            piece = ks->host->event_header_get(ev, name);
            if (!piece)
                piece = "";
            len = strlen(piece);
            s = close + 1;
        } else {
            s++;
        }
        if (n + len >= cap)
            return ks->host->err_set(err, SLUICE_EDELIVERY,
                                     "kafka.topic %s expands to more than Kafka's %d characters "
                                     "for an event",
                                     ks->topic, KS_TOPIC_MAX);
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return SLUICE_OK;
}

static const char *pick_topic(struct kafka_sink *ks, const struct sluice_event *ev,
                              struct ks_record *r, struct sluice_err *err, int *rc)
{
    const struct kafka_sink_conf *c = ks->conf;
    *rc = SLUICE_OK;
    if (!c->allow_topic_override)
        return ks->topic;
    const char *t = c->topic_header ? ks->host->event_header_get(ev, c->topic_header) : NULL;
    if (t) {
        size_t len = strlen(t);
        if (len > 0 && len <= KS_TOPIC_MAX)
            return t;
        /* Flume would fail the batch for ever; the event still goes somewhere visible */
        ks->host->log(ks->ctx, SLUICE_LOG_ERROR,
                      "header %s holds no valid topic name (%zu characters, Kafka allows "
                      "1..%d): sending the event to %s instead",
                      c->topic_header, len, KS_TOPIC_MAX, ks->topic);
    }
    if (!ks->topic_has_escapes)
        return ks->topic;
    *rc = expand_topic(ks, ev, r->topic_buf, sizeof(r->topic_buf), err);
    return r->topic_buf;
}

static void pick_partition(struct kafka_sink *ks, const struct sluice_event *ev,
                           struct ks_record *r)
{
    const struct kafka_sink_conf *c = ks->conf;
    r->partition =
        c->default_partition_id >= 0 ? (int32_t)c->default_partition_id : RD_KAFKA_PARTITION_UA;
    r->partition_from_header = 0;
    if (!c->partition_id_header)
        return;
    const char *v = ks->host->event_header_get(ev, c->partition_id_header);
    if (!v)
        return;
    long long p;
    if (parse_int(v, 0, INT32_MAX, &p) == 0) {
        r->partition = (int32_t)p;
        r->partition_from_header = 1;
        return;
    }
    /* Flume rolls the whole batch back, so one such event blocks the sink for ever. */
    ks->host->log(ks->ctx, SLUICE_LOG_ERROR,
                  "Non integer partition id specified in header %s: '%.64s'; the event goes to "
                  "the %s partition instead",
                  c->partition_id_header, v,
                  c->default_partition_id >= 0 ? "defaultPartitionId" : "partitioner's");
}

static int64_t pick_timestamp(struct kafka_sink *ks, const struct sluice_event *ev)
{
    const char *h = ks->conf->timestamp_header;
    const char *v = h ? ks->host->event_header_get(ev, h) : NULL;
    long long ts;
    if (!v)
        return 0;
    if (parse_int(v, 0, INT64_MAX, &ts) == 0)
        return ts;
    ks->host->log(ks->ctx, SLUICE_LOG_WARN, "Invalid timestamp in header %s - %.64s", h, v);
    return 0;
}

static int pick_headers(struct kafka_sink *ks, const struct sluice_event *ev, struct ks_record *r,
                        struct sluice_err *err)
{
    const struct sluice_kvlist *map = &ks->conf->headers;
    r->headers = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const char *v = ks->host->event_header_get(ev, map->items[i].key);
        if (!v)
            continue;
        if (!r->headers && !(r->headers = rd_kafka_headers_new(map->n)))
            return ks->host->err_set(err, SLUICE_ENOMEM, "out of memory for Kafka headers");
        rd_kafka_header_add(r->headers, map->items[i].value, -1, v, -1);
    }
    return SLUICE_OK;
}

static int pick_value(struct kafka_sink *ks, const struct sluice_event *ev, struct ks_record *r,
                      struct sluice_err *err)
{
    if (!ks->conf->use_flume_event_format) {
        /* a non-NULL pointer keeps an empty body an empty value, not a null (tombstone) */
        r->value = ev->body ? (const void *)ev->body : "";
        r->value_len = ev->body_len;
        return SLUICE_OK;
    }
    size_t need = ks_avro_size(ev);
    if (need > ks->avro_cap) {
        uint8_t *b = realloc(ks->avro_buf, need);
        if (!b)
            return ks->host->err_set(err, SLUICE_ENOMEM, "out of memory for a %zu-byte Avro event",
                                     need);
        ks->avro_buf = b;
        ks->avro_cap = need;
    }
    r->value = ks->avro_buf;
    r->value_len = ks_avro_encode(ev, ks->avro_buf);
    return SLUICE_OK;
}

int ks_record_build(struct kafka_sink *ks, const struct sluice_event *ev, struct ks_record *r,
                    struct sluice_err *err)
{
    int rc;
    r->headers = NULL;
    r->topic = pick_topic(ks, ev, r, err, &rc);
    if (rc != SLUICE_OK)
        return rc;
    pick_partition(ks, ev, r);
    r->key = ks->host->event_header_get(ev, "key");
    r->timestamp_ms = pick_timestamp(ks, ev);
    rc = pick_value(ks, ev, r, err);
    if (rc == SLUICE_OK)
        rc = pick_headers(ks, ev, r, err);
    return rc;
}
