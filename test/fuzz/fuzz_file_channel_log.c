/*
 * libFuzzer harness for the file channel's log reader (channels/file/file_channel_log.c): the
 * input is taken as a log file (log-1) and read record by record as replay does, put payloads
 * are rebuilt into events, and a bad record is searched past as the torn-tail check does.
 * Each input is read twice: as it is, and with its checksums fixed up so the fuzzer also
 * reaches the record structure behind them. Built only with -Dfuzz=true (clang).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file_channel.h"
#include "test_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_fd = -1;

/* Two events with the same headers, in the same order, and the same body. */
static int same_event(const struct sluice_event *a, const struct sluice_event *b)
{
    if (a->n_headers != b->n_headers || a->body_len != b->body_len ||
        (a->body_len && memcmp(a->body, b->body, a->body_len) != 0))
        return 0;
    for (uint32_t i = 0; i < a->n_headers; i++)
        if (strcmp(a->headers[i].key, b->headers[i].key) != 0 ||
            strcmp(a->headers[i].value, b->headers[i].value) != 0)
            return 0;
    return 1;
}

/* What decoded must encode back to the same bytes. The one exception is a payload that repeats
 * a header key (the agent never writes one): it decodes to one header per key, the last value
 * winning as in Flume's header map, so it encodes shorter; that shorter form must be stable. */
static void decode_put(struct fc_reader *r, const struct fc_rec *rec)
{
    const uint8_t *p = fc_reader_view(r, rec->off + FC_REC_HDR_SIZE, rec->h.len);
    if (!p)
        return;
    struct sluice_event *ev = NULL;
    const char *why = NULL;
    if (fc_put_payload_decode(&test_host, p, rec->h.len, &ev, &why) != SLUICE_OK)
        return;
    size_t n = fc_put_payload_size(ev);
    uint8_t *again = malloc(n ? n : 1);
    if (!again)
        abort();
    fc_put_payload_encode(again, ev);
    if (n != rec->h.len || memcmp(again, p, n) != 0) {
        if (fc_get_le32(p) <= ev->n_headers)
            abort(); /* no key was repeated, yet the bytes changed */
        struct sluice_event *ev2 = NULL;
        if (fc_put_payload_decode(&test_host, again, n, &ev2, &why) != SLUICE_OK ||
            !same_event(ev, ev2))
            abort();
        test_host.event_free(ev2);
    }
    free(again);
    test_host.event_free(ev);
}

/* Recompute the file header checksum and, record by record while the layout holds, the
 * payload and header checksums. */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (size < FC_FILE_HDR_SIZE)
        return;
    fc_put_le32(d + 20, fc_crc32c(0, d, 20));
    size_t off = FC_FILE_HDR_SIZE;
    while (size - off >= FC_REC_HDR_SIZE && fc_get_le32(d + off) == FC_REC_MAGIC) {
        uint32_t len = fc_get_le32(d + off + 8);
        if (len > size - off - FC_REC_HDR_SIZE)
            break;
        fc_put_le32(d + off + 12, fc_crc32c(0, d + off + FC_REC_HDR_SIZE, len));
        fc_put_le32(d + off + 28, fc_crc32c(0, d + off, 28));
        off += FC_REC_HDR_SIZE + len;
    }
}

static void read_log(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_log(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed)
        abort();
    memcpy(fixed, data, size);
    fix_checksums(fixed, size);
    read_log(fixed, size);
    free(fixed);
    return 0;
}

static void read_log(const uint8_t *data, size_t size)
{
    if (log_fd < 0) {
        log_fd = memfd_create("fuzz-log", MFD_CLOEXEC);
        if (log_fd < 0)
            abort();
    }
    if (ftruncate(log_fd, 0) != 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t k = pwrite(log_fd, data + done, size - done, (off_t)done);
        if (k <= 0)
            abort();
        done += (size_t)k;
    }

    /* the raw input as a record header and as a put payload, too */
    struct fc_rec_hdr h;
    const char *why = NULL;
    if (size >= FC_REC_HDR_SIZE)
        (void)fc_rec_hdr_decode(data, &h, &why);
    struct sluice_event *ev = NULL;
    if (fc_put_payload_decode(&test_host, data, size, &ev, &why) == SLUICE_OK)
        test_host.event_free(ev);

    struct fc_reader r;
    int st = fc_reader_open(&r, log_fd, 1, 0, &why);
    size_t records = 0;
    while (st == FC_RD_OK) {
        struct fc_rec rec;
        st = fc_reader_next(&r, &rec, &why);
        if (st != FC_RD_OK)
            break;
        if (rec.off < FC_FILE_HDR_SIZE || rec.off + FC_REC_HDR_SIZE + rec.h.len > r.size)
            abort(); /* the reader returned a record outside the file */
        if (rec.h.type == FC_REC_PUT)
            decode_put(&r, &rec);
        records++;
    }
    if (st == FC_RD_BAD && r.off < r.size)
        (void)fc_reader_valid_after(&r, r.off);
    fc_reader_close(&r);
    (void)records;
}
