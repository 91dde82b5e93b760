/*
 * Decoding and encoding for search_replace's `charset` (see sr_charset.h), with Java's
 * replacement rules: a malformed input sequence becomes U+FFFD when decoding, a character the
 * charset cannot hold becomes '?' when encoding (one '?' for a character outside the BMP, which
 * Java holds as a surrogate pair and replaces as one).
 */
#include "sr_charset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const utf8_names[] = {"UTF-8", "UTF8", "unicode-1-1-utf-8", NULL};
static const char *const latin1_names[] = {
    "ISO-8859-1", "ISO8859-1",   "ISO8859_1",  "ISO_8859_1", "ISO_8859-1", "ISO_8859-1:1987",
    "8859_1",     "latin1",      "l1",         "IBM819",     "IBM-819",    "cp819",
    "819",        "csISOLatin1", "ISO-IR-100", NULL};
static const char *const ascii_names[] = {
    "US-ASCII",         "ASCII",   "ascii7",  "646",      "iso646-us",      "us",
    "IBM367",           "cp367",   "csASCII", "iso-ir-6", "ANSI_X3.4-1968", "ANSI_X3.4-1986",
    "ISO_646.irv:1991", "default", NULL};

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(name, *list) == 0)
            return 1;
    return 0;
}

int sr_charset_open(struct sr_charset *cs, const char *name, char *msg, size_t msg_len)
{
    memset(cs, 0, sizeof(*cs));
    cs->dec = cs->enc = (iconv_t)-1;
    if (!name || name_in(name, utf8_names)) {
        cs->kind = SR_CS_UTF8;
        return 0;
    }
    if (name_in(name, latin1_names)) {
        cs->kind = SR_CS_LATIN1;
        return 0;
    }
    if (name_in(name, ascii_names)) {
        cs->kind = SR_CS_ASCII;
        return 0;
    }
    cs->kind = SR_CS_ICONV;
    if (!strchr(name, '/')) { /* no iconv suffixes such as //TRANSLIT: not Java names */
        cs->dec = iconv_open("UTF-8", name);
        if (cs->dec != (iconv_t)-1)
            cs->enc = iconv_open(name, "UTF-8");
    }
    if (cs->dec == (iconv_t)-1 || cs->enc == (iconv_t)-1) {
        snprintf(msg, msg_len,
                 "unknown or unsupported charset '%.*s%s' (UTF-8, ISO-8859-1, US-ASCII and the "
                 "names iconv knows work)",
                 JSHOW(name));
        sr_charset_close(cs);
        return -1;
    }
    return 0;
}

void sr_charset_close(struct sr_charset *cs)
{
    if (cs->dec != (iconv_t)-1)
        iconv_close(cs->dec);
    if (cs->enc != (iconv_t)-1)
        iconv_close(cs->enc);
    cs->dec = cs->enc = (iconv_t)-1;
}

const char *sr_charset_kind_name(const struct sr_charset *cs)
{
    switch (cs->kind) {
    case SR_CS_UTF8:
        return "UTF-8";
    case SR_CS_LATIN1:
        return "ISO-8859-1";
    case SR_CS_ASCII:
        return "US-ASCII";
    case SR_CS_ICONV:
        break;
    }
    return "iconv";
}

static int all_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80)
            return 0;
    return 1;
}

/* Run iconv over in[0..n) into out, replacing what it cannot convert with bad[0..bad_len). */
static int iconv_all(iconv_t cd, const uint8_t *in, size_t n, struct jbuf *out, const char *bad,
                     size_t bad_len, int in_is_utf8)
{
    out->len = 0;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (n > SIZE_MAX / 8)
        return -1;
    char *ip = (char *)in;
    size_t left = n, want = n * 4 + 16;
    for (;;) {
        if (jbuf_reserve(out, want) != 0)
            return -1;
        char *op = (char *)out->p + out->len;
        size_t room = out->cap - out->len;
        size_t r = left ? iconv(cd, &ip, &left, &op, &room) : iconv(cd, NULL, NULL, &op, &room);
        out->len = (size_t)(op - (char *)out->p);
        if (r != (size_t)-1) {
            if (left == 0 && ip != NULL) {
                ip = NULL; /* now flush the shift state */
                continue;
            }
            return 0;
        }
        if (errno == E2BIG) {
            want = (out->cap - out->len) * 2 + 64;
            continue;
        }
        want = left * 4 + 16;
        /* EILSEQ or EINVAL (cut short at the end): one replacement, skip what was bad */
        if (jbuf_append(out, bad, bad_len) != 0)
            return -1;
        if (errno == EINVAL) {
            left = 0;
            ip = NULL; /* flush next */
            continue;
        }
        size_t skip = in_is_utf8 ? jtext_char_len((const uint8_t *)ip, left) : 1;
        ip += skip;
        left -= skip;
    }
}

int sr_charset_decode(struct sr_charset *cs, const uint8_t *body, size_t n, struct jbuf *scratch,
                      const uint8_t **text, size_t *text_len, int *same)
{
    static const uint8_t empty[1];
    if (!body)
        body = empty;
    switch (cs->kind) {
    case SR_CS_UTF8: {
        int changed;
        if (jtext_utf8(body, n, scratch, text, text_len, &changed) != 0)
            return -1;
        *same = !changed;
        return 0;
    }
    case SR_CS_LATIN1:
    case SR_CS_ASCII:
        *same = cs->kind == SR_CS_LATIN1 || all_ascii(body, n);
        if (all_ascii(body, n)) {
            *text = body;
            *text_len = n;
            return 0;
        }
        scratch->len = 0;
        if (n > SIZE_MAX / 4 || jbuf_reserve(scratch, 3 * n) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            uint8_t b = body[i];
            uint8_t *o = scratch->p + scratch->len;
            if (b < 0x80) {
                o[0] = b;
                scratch->len += 1;
            } else if (cs->kind == SR_CS_LATIN1) {
                o[0] = (uint8_t)(0xC0 | (b >> 6));
                o[1] = (uint8_t)(0x80 | (b & 0x3F));
                scratch->len += 2;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                scratch->len += 3;
            }
        }
        *text = scratch->p;
        *text_len = scratch->len;
        return 0;
    case SR_CS_ICONV:
        *same = 0;
        if (iconv_all(cs->dec, body, n, scratch, "\xEF\xBF\xBD", 3, 0) != 0)
            return -1;
        *text = scratch->p;
        *text_len = scratch->len;
        return 0;
    }
    return -1;
}

/* The code point of the valid UTF-8 sequence at s of length len. */
static uint32_t utf8_cp(const uint8_t *s, size_t len)
{
    if (len == 1)
        return s[0];
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

int sr_charset_encode(struct sr_charset *cs, const uint8_t *text, size_t n, struct jbuf *out,
                      const uint8_t **bytes, size_t *len)
{
    if (cs->kind == SR_CS_UTF8 || all_ascii(text, n)) {
        *bytes = text;
        *len = n;
        return 0;
    }
    if (cs->kind == SR_CS_ICONV) {
        if (iconv_all(cs->enc, text, n, out, "?", 1, 1) != 0)
            return -1;
    } else {
        uint32_t max = cs->kind == SR_CS_LATIN1 ? 0xFF : 0x7F;
        out->len = 0;
        if (jbuf_reserve(out, n) != 0)
            return -1;
        for (size_t i = 0; i < n;) {
            size_t l = jtext_char_len(text + i, n - i);
            uint32_t cp = utf8_cp(text + i, l);
            out->p[out->len++] = cp <= max ? (uint8_t)cp : '?';
            i += l;
        }
    }
    *bytes = out->p;
    *len = out->len;
    return 0;
}
