/*
 * One consumed Kafka record -> one Flume event, as Flume 1.11's KafkaSource builds it: the body
 * is the value (or the body of the Avro envelope with its headers), then `timestamp`, the
 * header.* copies of Kafka record headers, the topic header, `partition` and `offset` (each
 * only when the envelope did not carry it already), and `key` whenever the key is not null.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_source.h"

/* Header values are C strings: bytes up to a NUL are kept, and the cut is reported once. */
static char *text_copy(struct kafka_source *s, const void *p, size_t len, const char *what,
                       const rd_kafka_message_t *m)
{
    const char *nul = len ? memchr(p, '\0', len) : NULL;
    if (nul) {
        if (!s->warned_nul)
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "%s of the record at %s [%d] offset %" PRId64 " contains a NUL byte: "
                         "the header keeps the %zu bytes before it (reported once)",
                         what, rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset,
                         (size_t)(nul - (const char *)p));
        s->warned_nul = 1;
        len = (size_t)(nul - (const char *)p);
    }
    char *t = malloc(len + 1);
    if (t) {
        if (len)
            memcpy(t, p, len);
        t[len] = '\0';
    }
    return t;
}

static int set_bytes(struct kafka_source *s, struct sluice_event *ev, const char *key,
                     const void *p, size_t len, const char *what, const rd_kafka_message_t *m)
{
    char *t = text_copy(s, p, len, what, m);
    if (!t)
        return SLUICE_ENOMEM;
    int rc = s->host->event_header_set(ev, key, t);
    free(t);
    return rc;
}

static int set_if_absent(struct kafka_source *s, struct sluice_event *ev, const char *key,
                         const char *value)
{
    if (s->host->event_header_get(ev, key))
        return SLUICE_OK;
    return s->host->event_header_set(ev, key, value);
}

/* header.<flumeHeader> = <kafkaHeaderName>: the last Kafka header of that name wins. */
static int map_headers(struct kafka_source *s, struct sluice_event *ev, const rd_kafka_message_t *m)
{
    const struct sluice_kvlist *map = &s->conf->headers;
    rd_kafka_headers_t *hdrs = NULL;
    if (map->n == 0 || rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return SLUICE_OK;
    for (size_t i = 0; i < map->n; i++) {
        const void *v;
        size_t len;
        if (rd_kafka_header_get_last(hdrs, map->items[i].value, &v, &len) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            !v)
            continue;
        int rc = set_bytes(s, ev, map->items[i].key, v, len, "a Kafka header", m);
        if (rc != SLUICE_OK)
            return rc;
    }
    return SLUICE_OK;
}

static int add_headers(struct kafka_source *s, struct sluice_event *ev, const rd_kafka_message_t *m)
{
    char num[32];
    rd_kafka_timestamp_type_t tstype;
    /* Flume writes ConsumerRecord.timestamp(), which is -1 when the record has none */
    snprintf(num, sizeof(num), "%" PRId64, rd_kafka_message_timestamp(m, &tstype));
    int rc = set_if_absent(s, ev, "timestamp", num);
    if (rc == SLUICE_OK)
        rc = map_headers(s, ev, m);
    if (rc == SLUICE_OK && s->conf->set_topic_header)
        rc = set_if_absent(s, ev, s->conf->topic_header, rd_kafka_topic_name(m->rkt));
    snprintf(num, sizeof(num), "%d", (int)m->partition);
    if (rc == SLUICE_OK)
        rc = set_if_absent(s, ev, "partition", num);
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    if (rc == SLUICE_OK)
        rc = set_if_absent(s, ev, "offset", num);
    if (rc == SLUICE_OK && m->key)
        rc = set_bytes(s, ev, "key", m->key, m->key_len, "The key", m);
    return rc;
}

struct sluice_event *ksrc_record_event(struct kafka_source *s, const rd_kafka_message_t *m)
{
    const struct sluice_host *h = s->host;
    struct sluice_event *ev = NULL;
    if (s->conf->use_flume_event_format) {
        const char *why = "";
        int rc = ksrc_avro_decode(h, m->payload, m->len, &ev, &why);
        if (rc == SLUICE_ENOMEM)
            return NULL;
        if (rc != SLUICE_OK) {
            h->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
            h->log(s->ctx, SLUICE_LOG_ERROR,
                   "the record at %s [%d] offset %" PRId64 " (%zu bytes) is not an Avro "
                   "AvroFlumeEvent (%s); useFlumeEventFormat is true, so its value is delivered "
                   "as the body as it is",
                   rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset, m->len, why);
            ev = NULL;
        }
    }
    if (!ev && !(ev = h->event_new(m->payload, m->len)))
        return NULL;
    if (add_headers(s, ev, m) != SLUICE_OK) {
        h->event_free(ev);
        return NULL;
    }
    return ev;
}
