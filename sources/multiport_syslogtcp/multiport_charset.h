/*
 * Per-port charsets of the multiport_syslogtcp source: Flume decodes each line with the port's
 * charset (a strict decoder: malformed input makes the line an Invalid event with its raw
 * bytes) and encodes the body back with the same charset. UTF-8 is done here, others by iconv.
 */
#ifndef SLUICE_MULTIPORT_CHARSET_H
#define SLUICE_MULTIPORT_CHARSET_H

#include <iconv.h>
#include <stddef.h>
#include <stdint.h>

struct mp_charset {
    int utf8;             /* no conversion: validate only */
    iconv_t dec, enc;     /* charset -> UTF-8, UTF-8 -> charset */
    uint8_t *dbuf, *ebuf; /* scratch, reused per line */
    size_t dcap, ecap;
};

/* 0, or SLUICE_ECONFIG with msg naming the charset when iconv does not know it. */
int mp_charset_open(struct mp_charset *cs, const char *name, char *msg, size_t msg_len);
void mp_charset_close(struct mp_charset *cs);
/* The line as UTF-8: 1 with *out (in itself or scratch valid until the next call), 0 when the
 * bytes are malformed in the charset, SLUICE_ENOMEM. */
int mp_charset_decode(struct mp_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len);
/* UTF-8 text back into the charset (Java's getBytes: an unmappable character becomes '?').
 * 0 or SLUICE_ENOMEM. */
int mp_charset_encode(struct mp_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len);

#endif
