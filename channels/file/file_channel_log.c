/*
 * The file channel's on-disk record format (see file_channel.h): CRC32C, encoding and
 * decoding of file and record headers and of put payloads, and a sequential reader that
 * verifies every record. It touches no channel state, so replay and the fuzz harness share it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_channel.h"

#define FC_READ_WINDOW (256u * 1024u)

/* ---- CRC32C (Castagnoli), slicing-by-8, with SSE4.2 when the CPU has it -------------------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static int crc_hw;
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_hw_run(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t fc_crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (crc_hw)
        return ~crc_hw_run(c, p, n);
#endif
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
            crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

/* ---- Little-endian helpers ------------------------------------------------------------------ */

void fc_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void fc_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t fc_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t fc_get_le64(const uint8_t *p)
{
    return (uint64_t)fc_get_le32(p) | (uint64_t)fc_get_le32(p + 4) << 32;
}

/* ---- Headers -------------------------------------------------------------------------------- */

void fc_file_hdr_encode(uint8_t out[FC_FILE_HDR_SIZE], uint32_t fid)
{
    memcpy(out, FC_FILE_MAGIC, 8);
    fc_put_le32(out + 8, FC_FILE_VERSION);
    fc_put_le32(out + 12, fid);
    fc_put_le32(out + 16, 0);
    fc_put_le32(out + 20, fc_crc32c(0, out, 20));
}

int fc_file_hdr_check(const uint8_t *in, size_t n, uint32_t fid, const char **why)
{
    if (n < FC_FILE_HDR_SIZE) {
        *why = "file shorter than its 24-byte header";
        return -1;
    }
    if (memcmp(in, FC_FILE_MAGIC, 8) != 0) {
        *why = "not a sluice file channel log (bad magic; Flume's own log format is not read)";
        return -1;
    }
    if (fc_get_le32(in + 20) != fc_crc32c(0, in, 20)) {
        *why = "file header checksum mismatch";
        return -1;
    }
    if (fc_get_le32(in + 8) != FC_FILE_VERSION) {
        *why = "unknown log format version";
        return -1;
    }
    if (fc_get_le32(in + 12) != fid) {
        *why = "file id in the header differs from the file name";
        return -1;
    }
    return 0;
}

void fc_rec_hdr_encode(uint8_t out[FC_REC_HDR_SIZE], const struct fc_rec_hdr *h)
{
    fc_put_le32(out, FC_REC_MAGIC);
    out[4] = h->type;
    out[5] = 0;
    out[6] = 0;
    out[7] = 0;
    fc_put_le32(out + 8, h->len);
    fc_put_le32(out + 12, h->crc);
    fc_put_le64(out + 16, h->txid);
    fc_put_le32(out + 24, 0);
    fc_put_le32(out + 28, fc_crc32c(0, out, 28));
}

int fc_rec_hdr_decode(const uint8_t *in, struct fc_rec_hdr *h, const char **why)
{
    if (fc_get_le32(in) != FC_REC_MAGIC) {
        *why = "bad record magic";
        return -1;
    }
    if (fc_get_le32(in + 28) != fc_crc32c(0, in, 28)) {
        *why = "record header checksum mismatch";
        return -1;
    }
    h->type = in[4];
    h->len = fc_get_le32(in + 8);
    h->crc = fc_get_le32(in + 12);
    h->txid = fc_get_le64(in + 16);
    if (h->type < FC_REC_PUT || h->type > FC_REC_ROLLBACK || in[5] || in[6] || in[7] ||
        fc_get_le32(in + 24) != 0) {
        *why = "unknown record type";
        return -1;
    }
    if (h->txid == 0) {
        *why = "record without a transaction id";
        return -1;
    }
    uint32_t want = h->type == FC_REC_TAKE       ? FC_TAKE_PAYLOAD
                    : h->type == FC_REC_COMMIT   ? FC_COMMIT_PAYLOAD
                    : h->type == FC_REC_ROLLBACK ? 0
                                                 : h->len;
    if (h->len != want || h->len > FC_REC_PAYLOAD_MAX) {
        *why = "record length out of range for its type";
        return -1;
    }
    return 0;
}

/* ---- Put payloads -----------------------------------------------------------------------------
 */

size_t fc_put_payload_size(const struct sluice_event *ev)
{
    uint64_t n = 8 + (uint64_t)ev->body_len;
    for (uint32_t i = 0; i < ev->n_headers; i++)
        n += 8 + (uint64_t)strlen(ev->headers[i].key) + strlen(ev->headers[i].value);
    return n > FC_REC_PAYLOAD_MAX ? 0 : (size_t)n;
}

void fc_put_payload_encode(uint8_t *out, const struct sluice_event *ev)
{
    fc_put_le32(out, ev->n_headers);
    out += 4;
    for (uint32_t i = 0; i < ev->n_headers; i++) {
        size_t kl = strlen(ev->headers[i].key), vl = strlen(ev->headers[i].value);
        fc_put_le32(out, (uint32_t)kl);
        memcpy(out + 4, ev->headers[i].key, kl);
        out += 4 + kl;
        fc_put_le32(out, (uint32_t)vl);
        memcpy(out + 4, ev->headers[i].value, vl);
        out += 4 + vl;
    }
    fc_put_le32(out, (uint32_t)ev->body_len);
    if (ev->body_len)
        memcpy(out + 4, ev->body, ev->body_len);
}

/* A NUL-terminated copy of s[0..n) in stack space when small, else on the heap. */
static char *dup_str(const uint8_t *s, size_t n, char *small, size_t small_len)
{
    char *d = n < small_len ? small : malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int fc_put_payload_decode(const struct sluice_host *host, const uint8_t *p, size_t n,
                          struct sluice_event **out, const char **why)
{
    *out = NULL;
    if (n < 8) {
        *why = "put payload shorter than 8 bytes";
        return SLUICE_EIO;
    }
    uint32_t nh = fc_get_le32(p);
    if (nh > (n - 8) / 8) {
        *why = "put payload header count larger than the payload";
        return SLUICE_EIO;
    }
    /* validate the layout before building anything */
    size_t off = 4;
    for (uint32_t i = 0; i < nh; i++) {
        for (int part = 0; part < 2; part++) {
            if (n - off < 4) {
                *why = "put payload truncated in a header";
                return SLUICE_EIO;
            }
            uint32_t len = fc_get_le32(p + off);
            off += 4;
            if (len > n - off) {
                *why = "put payload header longer than the payload";
                return SLUICE_EIO;
            }
            if (memchr(p + off, '\0', len)) {
                *why = "put payload header contains a NUL byte";
                return SLUICE_EIO;
            }
            if (part == 0 && len == 0) {
                *why = "put payload header with an empty key";
                return SLUICE_EIO;
            }
            off += len;
        }
    }
    if (n - off < 4 || fc_get_le32(p + off) != n - off - 4) {
        *why = "put payload body length does not match the record length";
        return SLUICE_EIO;
    }
    size_t body_off = off + 4;
    struct sluice_event *ev = host->event_new(p + body_off, n - body_off);
    if (!ev)
        return SLUICE_ENOMEM;
    off = 4;
    for (uint32_t i = 0; i < nh; i++) {
        uint32_t kl = fc_get_le32(p + off);
        const uint8_t *k = p + off + 4;
        off += 4 + kl;
        uint32_t vl = fc_get_le32(p + off);
        const uint8_t *v = p + off + 4;
        off += 4 + vl;
        char ks[128], vs[256];
        char *key = dup_str(k, kl, ks, sizeof(ks));
        char *val = dup_str(v, vl, vs, sizeof(vs));
        int rc = key && val ? host->event_header_set(ev, key, val) : SLUICE_ENOMEM;
        if (key != ks)
            free(key);
        if (val != vs)
            free(val);
        if (rc != SLUICE_OK) {
            host->event_free(ev);
            return SLUICE_ENOMEM;
        }
    }
    *out = ev;
    return SLUICE_OK;
}

/* ---- Sequential reader ---------------------------------------------------------------------- */

const uint8_t *fc_reader_view(struct fc_reader *r, uint64_t off, size_t len)
{
    if (len > r->cap || off > r->size || len > r->size - off)
        return NULL;
    if (off >= r->win_off && off + len <= r->win_off + r->win_len)
        return r->buf + (off - r->win_off);
    size_t want = r->size - off < r->cap ? (size_t)(r->size - off) : r->cap;
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r->io_err = errno;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    r->win_off = off;
    r->win_len = got;
    return got >= len ? r->buf : NULL;
}

int fc_reader_open(struct fc_reader *r, int fd, uint32_t fid, uint64_t start, const char **why)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->fid = fid;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return FC_RD_IOERR;
    r->size = (uint64_t)end;
    r->cap = r->size < FC_READ_WINDOW ? (size_t)r->size : FC_READ_WINDOW;
    if (r->cap < 64)
        r->cap = 64; /* a record header always fits */
    r->buf = malloc(r->cap);
    if (!r->buf) {
        errno = ENOMEM;
        return FC_RD_IOERR;
    }
    const uint8_t *h = fc_reader_view(r, 0, FC_FILE_HDR_SIZE);
    if (!h && r->io_err) {
        errno = r->io_err;
        return FC_RD_IOERR;
    }
    if (fc_file_hdr_check(h, h ? FC_FILE_HDR_SIZE : 0, fid, why) != 0)
        return FC_RD_BAD;
    if (start < FC_FILE_HDR_SIZE)
        start = FC_FILE_HDR_SIZE;
    if (start > r->size) {
        *why = "file is shorter than the position to start from";
        return FC_RD_BAD;
    }
    r->off = start;
    return FC_RD_OK;
}

/* CRC of the payload [off, off+len), read through the window in chunks. */
static int payload_crc(struct fc_reader *r, uint64_t off, uint32_t len, uint32_t *crc)
{
    uint32_t c = 0;
    while (len > 0) {
        size_t chunk = len < r->cap ? len : r->cap;
        const uint8_t *p = fc_reader_view(r, off, chunk);
        if (!p)
            return -1;
        c = fc_crc32c(c, p, chunk);
        off += chunk;
        len -= (uint32_t)chunk;
    }
    *crc = c;
    return 0;
}

int fc_reader_next(struct fc_reader *r, struct fc_rec *rec, const char **why)
{
    if (r->off == r->size)
        return FC_RD_END;
    if (r->size - r->off < FC_REC_HDR_SIZE) {
        *why = "incomplete record header at the end of the file";
        return FC_RD_BAD;
    }
    const uint8_t *h = fc_reader_view(r, r->off, FC_REC_HDR_SIZE);
    if (!h) {
        *why = "cannot read the record header";
        return r->io_err ? FC_RD_IOERR : FC_RD_BAD;
    }
    memset(rec, 0, sizeof(*rec));
    if (fc_rec_hdr_decode(h, &rec->h, why) != 0)
        return FC_RD_BAD;
    uint64_t pay = r->off + FC_REC_HDR_SIZE;
    if (rec->h.len > r->size - pay) {
        *why = "record extends past the end of the file";
        return FC_RD_BAD;
    }
    uint32_t crc;
    if (payload_crc(r, pay, rec->h.len, &crc) != 0) {
        *why = "cannot read the record payload";
        return r->io_err ? FC_RD_IOERR : FC_RD_BAD;
    }
    if (crc != rec->h.crc) {
        *why = "record payload checksum mismatch";
        return FC_RD_BAD;
    }
    if (rec->h.type == FC_REC_TAKE || rec->h.type == FC_REC_COMMIT) {
        const uint8_t *p = fc_reader_view(r, pay, 8);
        if (!p) {
            *why = "cannot read the record payload";
            return r->io_err ? FC_RD_IOERR : FC_RD_BAD;
        }
        if (rec->h.type == FC_REC_TAKE) {
            rec->take_pos = fc_get_le64(p);
            if (FC_POS_FID(rec->take_pos) == 0 || FC_POS_OFF(rec->take_pos) < FC_FILE_HDR_SIZE ||
                rec->take_pos >= FC_POS(r->fid, r->off)) {
                *why = "take record names a position that is not before it";
                return FC_RD_BAD;
            }
        } else {
            rec->commit_kind = p[0];
            rec->commit_count = fc_get_le32(p + 4);
            if ((p[0] != FC_COMMIT_KIND_PUT && p[0] != FC_COMMIT_KIND_TAKE) || p[1] || p[2] ||
                p[3] || rec->commit_count == 0) {
                *why = "malformed commit record";
                return FC_RD_BAD;
            }
        }
    }
    rec->off = r->off;
    r->off = pay + rec->h.len;
    return FC_RD_OK;
}

int fc_reader_valid_after(struct fc_reader *r, uint64_t from)
{
    for (uint64_t off = from + 1; off + FC_REC_HDR_SIZE <= r->size;) {
        size_t span = r->size - off < r->cap ? (size_t)(r->size - off) : r->cap;
        const uint8_t *p = fc_reader_view(r, off, span);
        if (!p)
            return 0;
        for (size_t i = 0; i + FC_REC_HDR_SIZE <= span; i++) {
            if (p[i] != (FC_REC_MAGIC & 0xff) || fc_get_le32(p + i) != FC_REC_MAGIC)
                continue;
            struct fc_rec_hdr h;
            const char *why;
            if (fc_rec_hdr_decode(p + i, &h, &why) == 0 &&
                h.len <= r->size - (off + i + FC_REC_HDR_SIZE))
                return 1;
        }
        if (span <= FC_REC_HDR_SIZE)
            break;
        off += span - FC_REC_HDR_SIZE + 1;
    }
    return 0;
}

void fc_reader_close(struct fc_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}
