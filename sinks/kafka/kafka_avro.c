/*
 * The Avro binary encoding of Flume's AvroFlumeEvent{headers: map<string,string>, body: bytes},
 * which the kafka sink sends as the record value when useFlumeEventFormat is true: zig-zag
 * varint lengths, the map as one block (count, entries, then 0), then the body.
 */
#include <string.h>

#include "kafka_sink.h"

/* Bytes of the zig-zag varint encoding of a non-negative long. */
static size_t varint_len(uint64_t n)
{
    uint64_t z = n << 1; /* zig-zag of n >= 0 */
    size_t len = 1;
    while (z >= 0x80) {
        z >>= 7;
        len++;
    }
    return len;
}

static uint8_t *put_long(uint8_t *p, uint64_t n)
{
    uint64_t z = n << 1;
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

static uint8_t *put_bytes(uint8_t *p, const void *b, size_t len)
{
    p = put_long(p, len);
    if (len)
        memcpy(p, b, len);
    return p + len;
}

size_t ks_avro_size(const struct sluice_event *ev)
{
    size_t size = 0;
    if (ev->n_headers) {
        size += varint_len(ev->n_headers);
        for (uint32_t i = 0; i < ev->n_headers; i++) {
            size_t k = strlen(ev->headers[i].key), v = strlen(ev->headers[i].value);
            size += varint_len(k) + k + varint_len(v) + v;
        }
    }
    size += 1; /* the map's end marker */
    size += varint_len(ev->body_len) + ev->body_len;
    return size;
}

size_t ks_avro_encode(const struct sluice_event *ev, uint8_t *out)
{
    uint8_t *p = out;
    if (ev->n_headers) {
        p = put_long(p, ev->n_headers);
        for (uint32_t i = 0; i < ev->n_headers; i++) {
            p = put_bytes(p, ev->headers[i].key, strlen(ev->headers[i].key));
            p = put_bytes(p, ev->headers[i].value, strlen(ev->headers[i].value));
        }
    }
    p = put_long(p, 0);
    p = put_bytes(p, ev->body, ev->body_len);
    return (size_t)(p - out);
}
