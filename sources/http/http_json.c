/*
 * Flume's JSONHandler for the http source: the request's charset (UTF-8, UTF-16 or UTF-32,
 * from Content-Type), the body decoded with it (malformed input replaced by U+FFFD, as Java's
 * reader does), parsed with jansson as a JSON array of events, and each event's body encoded
 * back into the request's charset, as JSONEvent.getBody() does. Unlike Gson, parsing is strict
 * JSON (no comments, single quotes or unquoted names).
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/utf8.h"
#include "http_source.h"

int http_json_charset(const char *content_type, enum http_charset *cs, char *msg, size_t len)
{
    *cs = HTTP_CS_UTF8;
    if (!content_type)
        return 0;
    const char *p = strcasestr(content_type, "charset=");
    if (!p)
        return 0;
    p += 8;
    char name[64];
    size_t n = 0;
    if (*p == '"')
        p++;
    while (*p && *p != ';' && *p != '"' && !isspace((unsigned char)*p) && n + 1 < sizeof(name))
        name[n++] = *p++;
    name[n] = '\0';
    if (!strcasecmp(name, "utf-8"))
        return 0;
    if (!strcasecmp(name, "utf-16")) {
        *cs = HTTP_CS_UTF16;
        return 0;
    }
    if (!strcasecmp(name, "utf-32")) {
        *cs = HTTP_CS_UTF32;
        return 0;
    }
    snprintf(msg, len,
             "Unsupported character set in request: %s. JSON handler supports UTF-8, UTF-16 "
             "and UTF-32 only.",
             name);
    return -1;
}

/* ---- UTF-16 / UTF-32 <-> UTF-8 -------------------------------------------------------- */

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode UTF-16/32 (BOM decides the byte order, big-endian without one) to UTF-8. */
static uint8_t *wide_to_utf8(enum http_charset cs, const uint8_t *p, size_t n, size_t *out_len)
{
    int unit = cs == HTTP_CS_UTF16 ? 2 : 4, le = 0;
    size_t i = 0;
    if (cs == HTTP_CS_UTF16 && n >= 2 &&
        ((p[0] == 0xFE && p[1] == 0xFF) || (p[0] == 0xFF && p[1] == 0xFE))) {
        le = p[0] == 0xFF;
        i = 2;
    } else if (cs == HTTP_CS_UTF32 && n >= 4 &&
               ((p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF) ||
                (p[0] == 0xFF && p[1] == 0xFE && p[2] == 0 && p[3] == 0))) {
        le = p[0] == 0xFF;
        i = 4;
    }
    uint8_t *out = malloc(n * 2 + 8);
    if (!out)
        return NULL;
    size_t o = 0;
#define U16(k) (le ? (uint32_t)p[k] | (uint32_t)p[(k) + 1] << 8 : (uint32_t)p[k] << 8 | p[(k) + 1])
    for (; i + (size_t)unit <= n; i += (size_t)unit) {
        uint32_t cp;
        if (unit == 4) {
            cp = le ? (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                          (uint32_t)p[i + 3] << 24
                    : (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 |
                          p[i + 3];
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = 0xFFFD;
        } else {
            cp = U16(i);
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 4 <= n && U16(i + 2) >= 0xDC00 &&
                U16(i + 2) <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (U16(i + 2) - 0xDC00);
                i += 2;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
        }
        o += put_utf8(out + o, cp);
    }
#undef U16
    if (i < n)
        o += put_utf8(out + o, 0xFFFD); /* a truncated unit at the end */
    *out_len = o;
    return out;
}

/* Java's String.getBytes("UTF-16") (BOM FE FF, big-endian) or ("UTF-32") (big-endian). */
static uint8_t *utf8_to_wide(enum http_charset cs, const uint8_t *p, size_t n, size_t *out_len)
{
    uint8_t *out = malloc(n * 4 + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    if (cs == HTTP_CS_UTF16 && n > 0) {
        out[o++] = 0xFE;
        out[o++] = 0xFF;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = utf8_seq(p + i, n - i); /* jansson gave us valid UTF-8 */
        if (k <= 0)
            k = 1;
        if (k == 1)
            cp = p[i];
        else if (k == 2)
            cp = (uint32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
        else if (k == 3)
            cp = (uint32_t)(p[i] & 0x0F) << 12 | (uint32_t)(p[i + 1] & 0x3F) << 6 |
                 (p[i + 2] & 0x3F);
        else
            cp = (uint32_t)(p[i] & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3F) << 12 |
                 (uint32_t)(p[i + 2] & 0x3F) << 6 | (p[i + 3] & 0x3F);
        i += (size_t)k;
        if (cs == HTTP_CS_UTF32) {
            out[o++] = (uint8_t)(cp >> 24);
            out[o++] = (uint8_t)(cp >> 16);
            out[o++] = (uint8_t)(cp >> 8);
            out[o++] = (uint8_t)cp;
        } else if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000, hi = 0xD800 | v >> 10, lo = 0xDC00 | (v & 0x3FF);
            out[o++] = (uint8_t)(hi >> 8);
            out[o++] = (uint8_t)hi;
            out[o++] = (uint8_t)(lo >> 8);
            out[o++] = (uint8_t)lo;
        } else {
            out[o++] = (uint8_t)(cp >> 8);
            out[o++] = (uint8_t)cp;
        }
    }
    *out_len = o;
    return out;
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* A scalar as the text Gson's String adapter gives it; NULL for other types. */
static const char *scalar_text(const json_t *v, char *buf, size_t len, size_t *out_len)
{
    if (json_is_string(v)) {
        *out_len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.17g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, len, "true");
    else if (json_is_false(v))
        snprintf(buf, len, "false");
    else
        return NULL;
    *out_len = strlen(buf);
    return buf;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_NULL:
        return "null";
    default:
        return "a value";
    }
}

static int one_event(const struct sluice_host *h, enum http_charset cs, json_t *o, size_t idx,
                     struct sluice_event **out, char *msg, size_t msg_len)
{
    char num[64];
    size_t blen = 0;
    const char *btext = "";
    if (!json_is_object(o)) {
        snprintf(msg, msg_len, "event %zu: expected an object, found %s", idx, type_name(o));
        return -1;
    }
    json_t *body = json_object_get(o, "body");
    if (body && !json_is_null(body) && !(btext = scalar_text(body, num, sizeof(num), &blen))) {
        snprintf(msg, msg_len, "event %zu: \"body\" must be a string, found %s", idx,
                 type_name(body));
        return -1;
    }
    json_t *hdrs = json_object_get(o, "headers");
    if (hdrs && !json_is_null(hdrs) && !json_is_object(hdrs)) {
        snprintf(msg, msg_len, "event %zu: \"headers\" must be an object, found %s", idx,
                 type_name(hdrs));
        return -1;
    }
    struct sluice_event *ev;
    if (cs == HTTP_CS_UTF8) {
        ev = h->event_new(btext, blen);
    } else {
        size_t wl = 0;
        uint8_t *w = utf8_to_wide(cs, (const uint8_t *)btext, blen, &wl);
        ev = w ? h->event_new(w, wl) : NULL;
        free(w);
    }
    if (!ev)
        return SLUICE_ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(hdrs, key, v)
    {
        size_t vl;
        const char *vt;
        if (json_is_null(v))
            continue; /* Gson keeps a null value; nothing downstream can use it */
        if (!(vt = scalar_text(v, num, sizeof(num), &vl))) {
            snprintf(msg, msg_len, "event %zu: header \"%s\" must be a string, found %s", idx, key,
                     type_name(v));
            h->event_free(ev);
            return -1;
        }
        if (memchr(vt, '\0', vl)) {
            snprintf(msg, msg_len, "event %zu: header \"%s\" contains a NUL character", idx, key);
            h->event_free(ev);
            return -1;
        }
        if (h->event_header_set(ev, key, vt) != SLUICE_OK) {
            h->event_free(ev);
            return SLUICE_ENOMEM;
        }
    }
    *out = ev;
    return 0;
}

long http_json_events(const struct sluice_host *h, enum http_charset cs, const uint8_t *body,
                      size_t len, struct sluice_event ***evs, char *msg, size_t msg_len)
{
    *evs = NULL;
    uint8_t *text = NULL;
    size_t tlen = len;
    const uint8_t *t = body;
    if (cs != HTTP_CS_UTF8) {
        if (!(text = wide_to_utf8(cs, body, len, &tlen)))
            return SLUICE_ENOMEM;
        t = text;
    } else if (!utf8_valid(body, len)) {
        if (!(text = malloc(3 * len + 1)))
            return SLUICE_ENOMEM;
        tlen = utf8_sanitize(body, len, text);
        t = text;
    }
    json_error_t jerr;
    json_t *root =
        json_loadb((const char *)t, tlen, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        snprintf(msg, msg_len, "Request has invalid JSON Syntax: %s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_array(root)) {
        snprintf(msg, msg_len,
                 "Request has invalid JSON Syntax: expected an array of events, found %s",
                 type_name(root));
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(root);
    struct sluice_event **v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        json_decref(root);
        return SLUICE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = one_event(h, cs, json_array_get(root, i), i, &v[i], msg, msg_len);
        if (rc != 0) {
            for (size_t k = 0; k < i; k++)
                h->event_free(v[k]);
            free(v);
            json_decref(root);
            return rc;
        }
    }
    json_decref(root);
    *evs = v;
    return (long)n;
}
