/*
 * search_replace's `charset`: Flume decodes the body with it (malformed input becomes U+FFFD),
 * runs the regex on the text, and encodes the result with it (unmappable characters become
 * '?'). Text in between is UTF-8. UTF-8, ISO-8859-1 and US-ASCII (and their Java aliases) are
 * done here; any other name goes through iconv.
 */
#ifndef SLUICE_SR_CHARSET_H
#define SLUICE_SR_CHARSET_H

#include <iconv.h>

#include "../common/jregex.h"

enum sr_cs_kind { SR_CS_UTF8, SR_CS_LATIN1, SR_CS_ASCII, SR_CS_ICONV };

struct sr_charset {
    enum sr_cs_kind kind;
    iconv_t dec, enc; /* SR_CS_ICONV only */
};

/* 0, or -1 with msg naming the charset. */
int sr_charset_open(struct sr_charset *cs, const char *name, char *msg, size_t msg_len);
void sr_charset_close(struct sr_charset *cs);
/* A short name for the log ("UTF-8", "ISO-8859-1", "US-ASCII" or "iconv"). */
const char *sr_charset_kind_name(const struct sr_charset *cs);

/*
 * Decode body into UTF-8 text: *text is body itself or scratch's bytes. *same is 1 when
 * encoding the text unchanged is known to give body back byte for byte. 0, or -1 (no memory).
 */
int sr_charset_decode(struct sr_charset *cs, const uint8_t *body, size_t n, struct jbuf *scratch,
                      const uint8_t **text, size_t *text_len, int *same);
/* Encode UTF-8 text: *bytes is text itself (UTF-8) or out's bytes. 0, or -1 (no memory). */
int sr_charset_encode(struct sr_charset *cs, const uint8_t *text, size_t n, struct jbuf *out,
                      const uint8_t **bytes, size_t *len);

#endif
