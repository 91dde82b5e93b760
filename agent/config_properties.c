/*
 * Flume reads its agent file with java.util.Properties.load(); this reader reproduces that
 * method rule for rule (line terminators, continuations, comments, the key/value split and
 * the escapes), so a file means exactly the same thing to sluice as to Flume. Each entry also
 * remembers the line its logical line starts on.
 *
 * Deliberate differences, all documented in the README:
 * - Character set: Flume 1.10+ calls load(InputStream), i.e. reads ISO-8859-1. sluice treats
 *   files as UTF-8: bytes >= 0x80 pass through unchanged and \uXXXX escapes are stored as
 *   UTF-8 (a surrogate pair becomes one 4-byte character; a lone surrogate, which UTF-8
 *   cannot hold, becomes U+FFFD).
 * - NUL: a NUL byte or \u0000 inside a key or value is rejected (SLUICE_ECONFIG naming
 *   file:line) because keys and values are C strings; in a comment or blank line it is
 *   harmless and ignored. Other control bytes are kept as they are, like Properties does.
 * - A malformed \uXXXX escape is fatal for the whole load (as IllegalArgumentException is in
 *   Java) and leaves `out` unchanged.
 */
#include "config_properties.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* Properties' whitespace: space, tab and form feed only. */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly four hex digits at s (n bytes available), or -1. */
static long hex4(const char *s, size_t n)
{
    if (n < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Properties.loadConvert: resolve escapes of in[0..n) into out (never longer than the input:
 * every escape is at least as long as what it produces). Returns the output length, or
 * SIZE_MAX with *bad pointing at a malformed \u escape.
 */
static size_t unescape(const char *in, size_t n, char *out, const char **bad)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = in[i++];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (i == n) /* cannot happen: odd trailing backslashes were removed as continuations */
            break;
        c = in[i++];
        switch (c) {
        case 't':
            out[o++] = '\t';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'u': {
            long cp = hex4(in + i, n - i);
            if (cp < 0) {
                *bad = in + i - 2;
                return SIZE_MAX;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate pairs with an immediately following \uDC00-\uDFFF. */
                long lo = (n - i >= 6 && in[i] == '\\' && in[i + 1] == 'u')
                              ? hex4(in + i + 2, n - i - 2)
                              : -1;
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            o += put_utf8(out + o, (unsigned long)cp);
            break;
        }
        default: /* \\ \= \: \# \! \space ... and any other character: itself */
            out[o++] = c;
            break;
        }
    }
    return o;
}

struct parser {
    const char *file;
    struct conf_set *set;
    struct sluice_err *err;
    char *dec; /* unescape output, as large as the largest logical line */
    size_t dec_cap;
};

/* Properties.load0 for one logical line (continuations already joined). */
static int emit(struct parser *ps, const char *l, size_t n, int line)
{
    size_t key_len = 0, value_start = n;
    int has_sep = 0, backslash = 0;
    while (key_len < n) {
        char c = l[key_len];
        if ((c == '=' || c == ':') && !backslash) {
            value_start = key_len + 1;
            has_sep = 1;
            break;
        }
        if (is_ws(c) && !backslash) {
            value_start = key_len + 1;
            break;
        }
        backslash = c == '\\' ? !backslash : 0;
        key_len++;
    }
    while (value_start < n) {
        char c = l[value_start];
        if (!is_ws(c)) {
            if (!has_sep && (c == '=' || c == ':'))
                has_sep = 1;
            else
                break;
        }
        value_start++;
    }

    if (ps->dec_cap < n + 1) {
        char *d = realloc(ps->dec, n + 1);
        if (!d)
            return err_set(ps->err, SLUICE_ENOMEM, "%s:%d: out of memory", ps->file, line);
        ps->dec = d;
        ps->dec_cap = n + 1;
    }
    /* Key and value share one buffer: the key's output ends before the value's starts. */
    char *key = ps->dec, shown[160], shown2[40];
    const char *bad = NULL;
    size_t k = unescape(l, key_len, key, &bad);
    char *value = key + (k == SIZE_MAX ? 0 : k);
    size_t v = k == SIZE_MAX ? 0 : unescape(l + value_start, n - value_start, value, &bad);
    if (k == SIZE_MAX || v == SIZE_MAX) {
        size_t avail = (size_t)((k == SIZE_MAX ? l + key_len : l + n) - bad);
        return err_set(ps->err, SLUICE_ECONFIG, "%s:%d: malformed \\uxxxx encoding in %s: \"%s\"",
                       ps->file, line, k == SIZE_MAX ? "key" : "value",
                       conf_show_bytes(shown2, sizeof(shown2), bad, avail < 6 ? avail : 6));
    }
    if (memchr(key, '\0', k) || memchr(value, '\0', v))
        return err_set(ps->err, SLUICE_ECONFIG,
                       "%s:%d: NUL character in the %s of \"%s\" (keys and values cannot hold "
                       "NUL; remove it)",
                       ps->file, line, memchr(key, '\0', k) ? "key" : "value",
                       conf_show_bytes(shown, sizeof(shown), key, k));
    int rc = conf_set_put(ps->set, key, k, value, v, ps->file, line);
    if (rc != SLUICE_OK)
        return err_set(ps->err, rc, "%s:%d: %s", ps->file, line, sluice_strerror(rc));
    return SLUICE_OK;
}

/* The logical line being assembled: natural lines joined, continuation backslash dropped. */
struct linebuf {
    char *p;
    size_t n, cap;
};

static int lb_append(struct linebuf *lb, const char *s, size_t n)
{
    if (lb->cap - lb->n < n + 1) {
        size_t cap = lb->cap ? lb->cap : 256;
        while (cap - lb->n < n + 1) {
            if (cap > SIZE_MAX / 2)
                return SLUICE_ENOMEM;
            cap *= 2;
        }
        char *p = realloc(lb->p, cap);
        if (!p)
            return SLUICE_ENOMEM;
        lb->p = p;
        lb->cap = cap;
    }
    memcpy(lb->p + lb->n, s, n);
    lb->n += n;
    return SLUICE_OK;
}

/* Properties.LineReader over the whole buffer; every complete logical line goes to emit(). */
static int parse_lines(struct parser *ps, const char *data, size_t len)
{
    struct linebuf lb = {0};
    const char *p = data, *end = data + len;
    int lineno = 0, start_line = 0, in_logical = 0, rc = SLUICE_OK;
    while (p < end && rc == SLUICE_OK) {
        /* One natural line: up to \n, \r or \r\n. */
        const char *s = p;
        while (p < end && *p != '\n' && *p != '\r')
            p++;
        const char *e = p;
        if (p < end)
            p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
        if (lineno == INT_MAX) {
            rc = err_set(ps->err, SLUICE_ECONFIG, "%s: more than %d lines", ps->file, INT_MAX);
            break;
        }
        lineno++;

        while (s < e && is_ws(*s))
            s++;
        if (!in_logical) {
            if (s == e || *s == '#' || *s == '!')
                continue; /* blank or comment line (a trailing backslash does not continue it) */
            in_logical = 1;
            start_line = lineno;
            lb.n = 0;
        } else if (s == e) {
            /* An empty continuation line ends the logical line. */
            in_logical = 0;
            if (lb.n)
                rc = emit(ps, lb.p, lb.n, start_line);
            continue;
        }
        if (lb_append(&lb, s, (size_t)(e - s)) != SLUICE_OK) {
            rc = err_set(ps->err, SLUICE_ENOMEM, "%s:%d: out of memory", ps->file, lineno);
            break;
        }
        size_t bs = 0;
        while (bs < (size_t)(e - s) && e[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2) {
            lb.n--; /* an odd count continues: drop the last backslash, keep the others */
            continue;
        }
        in_logical = 0;
        rc = emit(ps, lb.p, lb.n, start_line);
    }
    if (rc == SLUICE_OK && in_logical && lb.n) /* file ended inside a continuation */
        rc = emit(ps, lb.p, lb.n, start_line);
    free(lb.p);
    return rc;
}

int props_parse_buffer(const char *data, size_t len, const char *file, struct conf_set *out,
                       struct sluice_err *err)
{
    if (!file)
        file = "(buffer)";
    if (!data && len)
        return err_set(err, SLUICE_EINVAL, "%s: no data", file);
    /* Parse into a private set first, so that a fatal error leaves `out` untouched. */
    struct conf_set tmp;
    conf_set_init(&tmp);
    struct parser ps = {.file = file, .set = &tmp, .err = err};
    int rc = parse_lines(&ps, data ? data : "", len);
    free(ps.dec);
    if (rc == SLUICE_OK && (rc = conf_set_merge(out, &tmp)) != SLUICE_OK)
        err_set(err, rc, "%s: %s", file, sluice_strerror(rc));
    conf_set_free(&tmp);
    return rc;
}

int props_parse_file(const char *path, struct conf_set *out, struct sluice_err *err)
{
    char *data;
    size_t len;
    int rc = conf_read_file(path, &data, &len, err);
    if (rc != SLUICE_OK)
        return rc;
    rc = props_parse_buffer(data, len, path, out, err);
    free(data);
    return rc;
}
