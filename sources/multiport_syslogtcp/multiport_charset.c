/*
 * The multiport_syslogtcp source's per-port charsets (see multiport_charset.h): a strict
 * decode to UTF-8 for parsing, and the encode back for the event body. UTF-8 needs neither
 * (only validation); any other charset goes through iconv both ways.
 */
#include "multiport_charset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/utf8.h"
#include "sluice/plugin.h"

static int is_utf8_name(const char *name)
{
    return !strcasecmp(name, "UTF-8") || !strcasecmp(name, "UTF8") ||
           !strcasecmp(name, "unicode-1-1-utf-8");
}

int mp_charset_open(struct mp_charset *cs, const char *name, char *msg, size_t msg_len)
{
    memset(cs, 0, sizeof(*cs));
    cs->dec = cs->enc = (iconv_t)-1;
    if (!name || is_utf8_name(name)) {
        cs->utf8 = 1;
        return 0;
    }
    cs->dec = iconv_open("UTF-8", name);
    if (cs->dec != (iconv_t)-1)
        cs->enc = iconv_open(name, "UTF-8");
    if (cs->dec == (iconv_t)-1 || cs->enc == (iconv_t)-1) {
        snprintf(msg, msg_len, "unknown or unsupported charset '%s'", name);
        mp_charset_close(cs);
        return SLUICE_ECONFIG;
    }
    /* lines are split on the byte '\n' and parsed as ASCII: the charset must keep ASCII */
    const uint8_t *out;
    size_t out_len;
    if (mp_charset_decode(cs, (const uint8_t *)"<13>Az", 6, &out, &out_len) != 1 || out_len != 6 ||
        memcmp(out, "<13>Az", 6) != 0) {
        snprintf(msg, msg_len,
                 "charset '%s' is not ASCII-compatible; syslog lines are split on the byte "
                 "'\\n'",
                 name);
        mp_charset_close(cs);
        return SLUICE_ECONFIG;
    }
    return 0;
}

void mp_charset_close(struct mp_charset *cs)
{
    if (cs->dec != (iconv_t)-1)
        iconv_close(cs->dec);
    if (cs->enc != (iconv_t)-1)
        iconv_close(cs->enc);
    cs->dec = cs->enc = (iconv_t)-1;
    free(cs->dbuf);
    free(cs->ebuf);
    cs->dbuf = cs->ebuf = NULL;
    cs->dcap = cs->ecap = 0;
}

static int reserve(uint8_t **b, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *n = realloc(*b, need);
    if (!n)
        return SLUICE_ENOMEM;
    *b = n;
    *cap = need;
    return 0;
}

int mp_charset_decode(struct mp_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    if (cs->utf8) {
        *out = in;
        *out_len = n;
        return utf8_valid(in, n);
    }
    if (reserve(&cs->dbuf, &cs->dcap, 4 * n + 16))
        return SLUICE_ENOMEM;
    iconv(cs->dec, NULL, NULL, NULL, NULL);
    char *ip = (char *)(uintptr_t)in, *op = (char *)cs->dbuf;
    size_t il = n, ol = cs->dcap;
    if (iconv(cs->dec, &ip, &il, &op, &ol) == (size_t)-1 ||
        iconv(cs->dec, NULL, NULL, &op, &ol) == (size_t)-1)
        return 0; /* EILSEQ, EINVAL (truncated) or E2BIG (cannot happen at 4x) */
    *out = cs->dbuf;
    *out_len = (size_t)(op - (char *)cs->dbuf);
    return 1;
}

int mp_charset_encode(struct mp_charset *cs, const uint8_t *in, size_t n, const uint8_t **out,
                      size_t *out_len)
{
    if (cs->utf8) {
        *out = in;
        *out_len = n;
        return 0;
    }
    if (reserve(&cs->ebuf, &cs->ecap, 4 * n + 16))
        return SLUICE_ENOMEM;
    iconv(cs->enc, NULL, NULL, NULL, NULL);
    char *ip = (char *)(uintptr_t)in, *op = (char *)cs->ebuf;
    size_t il = n, ol = cs->ecap;
    while (il > 0) {
        if (iconv(cs->enc, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG || ol == 0)
            return SLUICE_ENOMEM; /* cannot happen at 4x */
        /* not representable (or not UTF-8): one '?' per character, as Java's getBytes */
        int k = utf8_seq((const uint8_t *)ip, il);
        size_t skip = k > 0 ? (size_t)k : k < 0 ? (size_t)-k : il;
        *op++ = '?';
        ol--;
        ip += skip;
        il -= skip;
    }
    iconv(cs->enc, NULL, NULL, &op, &ol);
    *out = cs->ebuf;
    *out_len = (size_t)(op - (char *)cs->ebuf);
    return 0;
}
