/*
 * The exec source's `charset`: Flume decodes the child's output with it (bad input becomes
 * U+FFFD) and encodes each line back with it for the body. UTF-8, ISO-8859-1 and US-ASCII are
 * done here (UTF-8 replacing malformed input exactly as the JDK decoder does); any other
 * charset goes through iconv both ways.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec_source.h"

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

int exec_charset_open(struct exec_charset *cs, const char *name, char *msg, size_t msg_len)
{
    memset(cs, 0, sizeof(*cs));
    cs->dec = cs->enc = (iconv_t)-1;
    if (!name || name_in(name, utf8_names)) {
        cs->kind = EXEC_CS_UTF8;
    } else if (name_in(name, latin1_names)) {
        cs->kind = EXEC_CS_LATIN1;
    } else if (name_in(name, ascii_names)) {
        cs->kind = EXEC_CS_ASCII;
    } else {
        cs->kind = EXEC_CS_ICONV;
        cs->dec = iconv_open("UTF-8", name);
        if (cs->dec != (iconv_t)-1)
            cs->enc = iconv_open(name, "UTF-8");
        if (cs->dec == (iconv_t)-1 || cs->enc == (iconv_t)-1) {
            snprintf(msg, msg_len, "charset: unknown or unsupported charset '%s'", name);
            exec_charset_close(cs);
            return SLUICE_ECONFIG;
        }
        /* lines are split on the bytes '\n' and '\r', so those and ASCII must be themselves:
         * true of ISO-8859-x, windows-125x, EUC-*, GBK, Big5, Shift_JIS; not of UTF-16/32 */
        const uint8_t *out;
        size_t out_len;
        if (exec_charset_body(cs, (const uint8_t *)"Az\r\n", 4, &out, &out_len) != 0 ||
            out_len != 4 || memcmp(out, "Az\r\n", 4) != 0) {
            snprintf(msg, msg_len,
                     "charset: '%s' is not ASCII-compatible; the exec source splits lines on "
                     "bytes and cannot read it",
                     name);
            exec_charset_close(cs);
            return SLUICE_ECONFIG;
        }
    }
    return 0;
}

void exec_charset_close(struct exec_charset *cs)
{
    if (cs->dec != (iconv_t)-1)
        iconv_close(cs->dec);
    if (cs->enc != (iconv_t)-1)
        iconv_close(cs->enc);
    cs->dec = cs->enc = (iconv_t)-1;
    free(cs->tmp);
    free(cs->out);
    cs->tmp = cs->out = NULL;
    cs->tmp_cap = cs->out_cap = 0;
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint8_t *b = realloc(*buf, c);
    if (!b)
        return SLUICE_ENOMEM;
    *buf = b;
    *cap = c;
    return 0;
}

/* ---- UTF-8 ----------------------------------------------------------------------------------
 * The JDK decoder replaces the "maximal subpart" of a malformed sequence with one U+FFFD
 * (Unicode's recommended practice), with one quirk: an encoded surrogate (ED A0..BF xx) is
 * structurally accepted and then replaced as a whole, by ONE U+FFFD for its 3 bytes.
 */

/* Length of the well-formed sequence at p (1-4), or 0 with *bad = bytes to replace. */
static size_t utf8_seq(const uint8_t *p, size_t n, size_t *bad)
{
    uint8_t c = p[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= n || p[i] < l || p[i] > h) {
            *bad = i;
            return 0;
        }
    }
    if (c == 0xED && p[1] >= 0xA0) {
        *bad = 3; /* a surrogate code point */
        return 0;
    }
    return need;
}

static int ascii8(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return (w & 0x8080808080808080ull) == 0;
}

/* Length of the all-ASCII prefix of p[0..n), rounded down to 8 bytes: 32 bytes per step. */
static size_t ascii_run(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 32 <= n) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof(w));
        if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull)
            break;
        i += 32;
    }
    while (i + 8 <= n && ascii8(p + i))
        i += 8;
    return i;
}

int exec_charset_ascii_identity(const struct exec_charset *cs)
{
    return cs->kind != EXEC_CS_ICONV;
}

int exec_ascii_only(const uint8_t *p, size_t n)
{
    size_t i = 0;
    /* 64 bytes per step, OR-ed together: the compiler keeps it in vector registers */
    while (i + 64 <= n) {
        uint64_t w[8], acc = 0;
        memcpy(w, p + i, sizeof(w));
        for (int k = 0; k < 8; k++)
            acc |= w[k];
        if (acc & 0x8080808080808080ull)
            return 0;
        i += 64;
    }
    uint8_t acc = 0;
    for (; i < n; i++)
        acc |= p[i];
    return acc < 0x80;
}

size_t exec_utf8_valid_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0, bad;
    while (i < n) {
        size_t run = ascii_run(p + i, n - i);
        if (run) {
            i += run;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i, &bad);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

size_t exec_utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0, bad = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i, &bad);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = 0xEF;
            out[o++] = 0xBF;
            out[o++] = 0xBD;
            i += bad;
        }
    }
    return o;
}

static int utf8_clean(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    size_t ok = exec_utf8_valid_prefix(in, n);
    if (ok == n) {
        *out = in;
        *out_len = n;
        return 0;
    }
    if (reserve(&cs->out, &cs->out_cap, 3 * (n - ok) + ok + 1))
        return SLUICE_ENOMEM;
    memcpy(cs->out, in, ok);
    *out_len = ok + exec_utf8_sanitize(in + ok, n - ok, cs->out + ok);
    *out = cs->out;
    return 0;
}

/* ---- single-byte charsets ---------------------------------------------------------------- */

static size_t first_high(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 8 <= n && ascii8(p + i))
        i += 8;
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}

/* Bytes >= 0x80 become `rep` (rep_len bytes); latin1 text maps them to their 2-byte UTF-8. */
static int map_high(struct exec_charset *cs, const uint8_t *in, size_t n, int latin1,
                    const uint8_t *rep, size_t rep_len, const uint8_t **out, size_t *out_len)
{
    size_t i = first_high(in, n);
    if (i == n) {
        *out = in;
        *out_len = n;
        return 0;
    }
    if (reserve(&cs->out, &cs->out_cap, i + 3 * (n - i) + 1))
        return SLUICE_ENOMEM;
    uint8_t *o = cs->out;
    memcpy(o, in, i);
    o += i;
    for (; i < n; i++) {
        uint8_t b = in[i];
        if (b < 0x80) {
            *o++ = b;
        } else if (latin1) {
            *o++ = (uint8_t)(0xC0 | (b >> 6));
            *o++ = (uint8_t)(0x80 | (b & 0x3F));
        } else {
            memcpy(o, rep, rep_len);
            o += rep_len;
        }
    }
    *out = cs->out;
    *out_len = (size_t)(o - cs->out);
    return 0;
}

/* ---- iconv ------------------------------------------------------------------------------- */

/* Convert with cd into *buf, then flush the shift state. Malformed input (decoding) becomes
 * U+FFFD for one byte; an unmappable character (encoding) becomes '?', Java's replacement. */
static int iconv_all(iconv_t cd, const uint8_t *in, size_t n, uint8_t **buf, size_t *cap,
                     size_t *len, int encoding)
{
    static const uint8_t fffd[] = {0xEF, 0xBF, 0xBD};
    char *ip = (char *)(uintptr_t)in;
    size_t il = n, o = 0;
    int flushing = 0;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (reserve(buf, cap, n * 2 + 16))
        return SLUICE_ENOMEM;
    for (;;) {
        char *op = (char *)*buf + o;
        size_t ol = *cap - o;
        size_t r = flushing ? iconv(cd, NULL, NULL, &op, &ol) : iconv(cd, &ip, &il, &op, &ol);
        o = (size_t)((uint8_t *)op - *buf);
        if (r != (size_t)-1) {
            if (flushing)
                break;
            flushing = 1; /* all input consumed */
            continue;
        }
        int e = errno;
        if (e == E2BIG || *cap - o < 16) {
            if (reserve(buf, cap, *cap * 2))
                return SLUICE_ENOMEM;
            if (e == E2BIG)
                continue;
        }
        if (flushing || il == 0)
            break; /* nothing sensible left to do */
        if (!encoding) {
            memcpy(*buf + o, fffd, 3);
            o += 3;
            ip++;
            il--;
            continue;
        }
        char q = '?', *qp = &q, *qo = (char *)*buf + o;
        size_t ql = 1, qol = *cap - o;
        if (iconv(cd, &qp, &ql, &qo, &qol) != (size_t)-1)
            o = (size_t)((uint8_t *)qo - *buf);
        uint8_t lead = (uint8_t)*ip;
        size_t bad = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (bad > il)
            bad = il;
        ip += bad;
        il -= bad;
    }
    *len = o;
    return 0;
}

static int iconv_text(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    int rc = iconv_all(cs->dec, in, n, &cs->tmp, &cs->tmp_cap, out_len, 0);
    *out = cs->tmp;
    return rc;
}

int exec_charset_text(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    static const uint8_t fffd[] = {0xEF, 0xBF, 0xBD};
    switch (cs->kind) {
    case EXEC_CS_UTF8:
        return utf8_clean(cs, in, n, out, out_len);
    case EXEC_CS_LATIN1:
        return map_high(cs, in, n, 1, NULL, 0, out, out_len);
    case EXEC_CS_ASCII:
        return map_high(cs, in, n, 0, fffd, 3, out, out_len);
    case EXEC_CS_ICONV:
        break;
    }
    return iconv_text(cs, in, n, out, out_len);
}

int exec_charset_body(struct exec_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    static const uint8_t qmark[] = {'?'};
    switch (cs->kind) {
    case EXEC_CS_UTF8:
        return utf8_clean(cs, in, n, out, out_len);
    case EXEC_CS_LATIN1:
        *out = in; /* every byte decodes and encodes back to itself */
        *out_len = n;
        return 0;
    case EXEC_CS_ASCII:
        return map_high(cs, in, n, 0, qmark, 1, out, out_len);
    case EXEC_CS_ICONV:
        break;
    }
    const uint8_t *text;
    size_t text_len;
    int rc = iconv_text(cs, in, n, &text, &text_len);
    if (rc == 0)
        rc = iconv_all(cs->enc, text, text_len, &cs->out, &cs->out_cap, out_len, 1);
    *out = cs->out;
    return rc;
}
