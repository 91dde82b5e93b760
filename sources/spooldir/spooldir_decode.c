/*
 * Characters for the spooldir source's LINE deserializer: inputCharset decoded one character
 * at a time so every line end maps to an exact byte offset (the position the tracker keeps),
 * and the finished line encoded with outputCharset. UTF-8 is decoded here (malformed input
 * found per maximal subpart, as Java's decoder does); other charsets go through iconv.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/utf8.h"
#include "spooldir_source.h"

static int is_utf8(const char *name)
{
    return !name || !strcasecmp(name, "UTF-8") || !strcasecmp(name, "UTF8");
}

int sd_decoder_open(struct sd_decoder *d, const char *in_cs, const char *out_cs, char *msg,
                    size_t msg_len)
{
    memset(d, 0, sizeof(*d));
    d->dec = d->enc = (iconv_t)-1;
    d->utf8_in = is_utf8(in_cs);
    d->utf8_out = is_utf8(out_cs);
    if (!d->utf8_in) {
        d->dec = iconv_open("UTF-32LE", in_cs);
        if (d->dec == (iconv_t)-1) {
            snprintf(msg, msg_len, "inputCharset: unknown or unsupported charset '%s'", in_cs);
            return SLUICE_ECONFIG;
        }
        /* lines end at the character '\n': the charset must encode it (and ASCII) as itself */
        uint32_t cp;
        size_t used;
        if (sd_decode_char(d, (const uint8_t *)"\n", 1, 1, &cp, &used) != 1 || cp != '\n' ||
            used != 1) {
            snprintf(msg, msg_len,
                     "inputCharset: '%s' is not ASCII-compatible (UTF-16 and UTF-32 files are "
                     "not supported)",
                     in_cs);
            sd_decoder_close(d);
            return SLUICE_ECONFIG;
        }
    }
    if (!d->utf8_out) {
        d->enc = iconv_open(out_cs, "UTF-8");
        if (d->enc == (iconv_t)-1) {
            snprintf(msg, msg_len,
                     "deserializer.outputCharset: unknown or unsupported charset '%s'", out_cs);
            sd_decoder_close(d);
            return SLUICE_ECONFIG;
        }
    }
    return 0;
}

void sd_decoder_close(struct sd_decoder *d)
{
    if (d->dec != (iconv_t)-1)
        iconv_close(d->dec);
    if (d->enc != (iconv_t)-1)
        iconv_close(d->enc);
    d->dec = d->enc = (iconv_t)-1;
    free(d->obuf);
    d->obuf = NULL;
    d->ocap = 0;
}

static uint32_t utf8_cp(const uint8_t *p, int k)
{
    switch (k) {
    case 1:
        return p[0];
    case 2:
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default:
        return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
               ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
}

int sd_decode_char(struct sd_decoder *d, const uint8_t *p, size_t n, int at_eof, uint32_t *cp,
                   size_t *used)
{
    if (n == 0)
        return 0;
    if (d->utf8_in) {
        if (p[0] < 0x80) {
            *cp = p[0];
            *used = 1;
            return 1;
        }
        int k = utf8_seq(p, n);
        if (k > 0) {
            *cp = utf8_cp(p, k);
            *used = (size_t)k;
            return 1;
        }
        if (k == 0 && !at_eof)
            return 0;
        *used = k == 0 ? n : (size_t)-k;
        return -1;
    }
    uint8_t out[4];
    char *ip = (char *)(uintptr_t)p, *op = (char *)out;
    size_t il = n, ol = sizeof(out);
    size_t r = iconv(d->dec, &ip, &il, &op, &ol);
    int e = r == (size_t)-1 ? errno : 0;
    size_t took = (size_t)(ip - (const char *)p);
    if (ol == 0) { /* one character out */
        *cp = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
              (uint32_t)out[3] << 24;
        *used = took;
        return 1;
    }
    iconv(d->dec, NULL, NULL, NULL, NULL);
    if (e == EINVAL || (e == 0 && il == 0)) { /* a sequence continues past p[n) */
        if (!at_eof)
            return 0;
        *used = n;
        return -1;
    }
    /* EILSEQ, or one input character that is several code points (E2BIG) */
    *used = took > 0 ? took : 1;
    return -1;
}

int sd_encode_line(struct sd_decoder *d, const uint8_t *line, size_t n, const uint8_t **out,
                   size_t *out_len)
{
    if (d->utf8_out) {
        *out = line;
        *out_len = n;
        return 0;
    }
    size_t need = 4 * n + 16;
    if (need > d->ocap) {
        uint8_t *b = realloc(d->obuf, need);
        if (!b)
            return SLUICE_ENOMEM;
        d->obuf = b;
        d->ocap = need;
    }
    iconv(d->enc, NULL, NULL, NULL, NULL);
    char *ip = (char *)(uintptr_t)line, *op = (char *)d->obuf;
    size_t il = n, ol = d->ocap;
    while (il > 0) {
        if (iconv(d->enc, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG || ol == 0)
            return SLUICE_ENOMEM; /* cannot happen at 4x */
        int k = utf8_seq((const uint8_t *)ip, il);
        size_t skip = k > 0 ? (size_t)k : k < 0 ? (size_t)-k : il;
        *op++ = '?';
        ol--;
        ip += skip;
        il -= skip;
    }
    iconv(d->enc, NULL, NULL, &op, &ol);
    *out = d->obuf;
    *out_len = (size_t)(op - (char *)d->obuf);
    return 0;
}
