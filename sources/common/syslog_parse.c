/*
 * Flume's SyslogUtils in C (see syslog_parse.h): the START/PRIO/DATA byte machine, then the
 * RFC 5424 and RFC 3164 regular expressions (the same ones, compiled with PCRE2 and anchored
 * at both ends like Java's matches()), the headers and the body Flume builds. Differences,
 * all deliberate: priority/version headers never leak from the previous message (Flume keeps
 * them across messages of a connection), a partial message at the end of input becomes an
 * event instead of being lost, and an empty priority at end of input is Invalid instead of an
 * exception that drops the event.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "syslog_parse.h"

#include <ctype.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/plugin.h"
#include "utf8.h"

/* Flume's SYSLOG_MSG_RFC5424_0 and SYSLOG_MSG_RFC3164_0. Java's '.' never matches \r, \n,
 * U+0085, U+2028, U+2029: the body group is [^\r\n]* and the three others are checked after
 * the match. */
static const char RE_5424[] =
    "<(\\d{1,3})>(?:(\\d?)\\s?)"
    "(?:(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,6})?(?:[+-]\\d{2}:\\d{2}|Z)?)|-)"
    "\\s(?:([\\w][\\w\\d.@\\-]*)|-)\\s([^\\r\\n]*)";
static const char RE_3164[] = "<(\\d{1,3})>(?:(\\d)?\\s?)"
                              "([A-Z][a-z][a-z]\\s{1,2}\\d{1,2}\\s\\d{2}:\\d{2}:\\d{2})"
                              "\\s([\\w][\\w\\d.@-]*)\\s([^\\r\\n]*)";

static pcre2_code *re_code[2];
static char re_error[160];
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void re_compile(void)
{
    const char *src[2] = {RE_5424, RE_3164};
    for (int i = 0; i < 2; i++) {
        int ec;
        PCRE2_SIZE off;
        re_code[i] = pcre2_compile((PCRE2_SPTR)src[i], PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &off, NULL);
        if (!re_code[i]) {
            PCRE2_UCHAR m[120];
            pcre2_get_error_message(ec, m, sizeof(m));
            snprintf(re_error, sizeof(re_error), "syslog pattern %d at %zu: %s", i, (size_t)off,
                     (const char *)m);
            return;
        }
        pcre2_jit_compile(re_code[i], PCRE2_JIT_COMPLETE); /* optional speed-up */
    }
}

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned syslog_keep_fields(const char *value, char *unknown, size_t unknown_len)
{
    static const char *const names[] = {"priority", "version", "timestamp", "hostname"};
    if (unknown_len)
        unknown[0] = '\0';
    if (!value)
        return 0;
    char low[512];
    size_t n = 0;
    while (*value == ' ' || *value == '\t')
        value++;
    for (; value[n] && n + 1 < sizeof(low); n++)
        low[n] = (char)tolower((unsigned char)value[n]);
    while (n > 0 && (low[n - 1] == ' ' || low[n - 1] == '\t'))
        n--;
    low[n] = '\0';
    if (!strcmp(low, "none") || !strcmp(low, "false") || n == 0)
        return 0;
    if (!strcmp(low, "all") || !strcmp(low, "true"))
        return SYSLOG_KEEP_ALL;
    unsigned mask = 0;
    for (unsigned i = 0; i < 4; i++)
        if (strstr(low, names[i]))
            mask |= 1u << i;
    /* words that are none of the four, for the caller's warning */
    size_t u = 0;
    for (char *save = NULL, *w = strtok_r(low, " \t,;", &save); w;
         w = strtok_r(NULL, " \t,;", &save)) {
        int known = 0;
        for (unsigned i = 0; i < 4; i++)
            known |= strstr(w, names[i]) != NULL;
        if (!known && u + strlen(w) + 2 < unknown_len) {
            u += (size_t)snprintf(unknown + u, unknown_len - u, "%s%s", u ? " " : "", w);
        }
    }
    return mask;
}

int syslog_parser_init(struct syslog_parser *p, size_t max_size, unsigned keep, int octet_framing,
                       char *msg, size_t msg_len)
{
    memset(p, 0, sizeof(*p));
    pthread_once(&re_once, re_compile);
    if (!re_code[0] || !re_code[1]) {
        snprintf(msg, msg_len, "%s", re_error);
        return SLUICE_EINVAL;
    }
    p->max_size = max_size ? max_size : 1;
    p->keep = keep;
    p->octet_framing = octet_framing;
    p->now_ms = real_now_ms;
    p->cap = p->max_size + 8; /* the priority part may pass max_size by a few bytes */
    p->buf = malloc(p->cap);
    p->match = pcre2_match_data_create(8, NULL);
    if (!p->buf || !p->match) {
        syslog_parser_free(p);
        snprintf(msg, msg_len, "out of memory for eventSize %zu", max_size);
        return SLUICE_ENOMEM;
    }
    return 0;
}

void syslog_parser_free(struct syslog_parser *p)
{
    free(p->buf);
    free(p->text);
    free(p->body);
    if (p->match)
        pcre2_match_data_free(p->match);
    p->buf = p->text = p->body = NULL;
    p->match = NULL;
}

void syslog_parser_reset(struct syslog_parser *p)
{
    p->mode = SP_START;
    p->len = p->prio_len = p->octlen = p->frame_left = 0;
    p->bad = p->incomplete = p->in_frame = 0;
}

static int grow(uint8_t **b, size_t *cap, size_t need)
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

/* Java's '.' would not match these: the message does not match the pattern. */
static int has_java_line_sep(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == 0xC2 && p[i + 1] == 0x85)
            return 1;
        if (p[i] == 0xE2 && i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9))
            return 1;
    }
    return 0;
}

struct group {
    const char *p; /* NULL when the group did not take part */
    size_t n;
};

/* Flume's addFieldsToBody: prepend kept fields; a field that is null prints "null". */
static int kept_body(struct syslog_parser *p, const struct group g[6], const uint8_t **body,
                     size_t *body_len)
{
    size_t need = g[5].n + g[1].n + g[2].n + g[3].n + g[4].n + 32;
    if (grow(&p->body, &p->body_cap, need))
        return SLUICE_ENOMEM;
    size_t o = 0;
#define PUT(s, n)                                                                                  \
    do {                                                                                           \
        memcpy(p->body + o, (s), (n));                                                             \
        o += (n);                                                                                  \
    } while (0)
#define PUT_FIELD(gr)                                                                              \
    do {                                                                                           \
        if ((gr).p)                                                                                \
            PUT((gr).p, (gr).n);                                                                   \
        else                                                                                       \
            PUT("null", 4);                                                                        \
        PUT(" ", 1);                                                                               \
    } while (0)
    if (p->keep & SYSLOG_KEEP_PRIORITY) {
        PUT("<", 1);
        PUT(g[1].p ? g[1].p : "null", g[1].p ? g[1].n : 4);
        PUT(">", 1);
    }
    if ((p->keep & SYSLOG_KEEP_VERSION) && g[2].p && g[2].n > 0)
        PUT_FIELD(g[2]);
    if (p->keep & SYSLOG_KEEP_TIMESTAMP)
        PUT_FIELD(g[3]);
    if (p->keep & SYSLOG_KEEP_HOSTNAME)
        PUT_FIELD(g[4]);
    PUT(g[5].p, g[5].n);
#undef PUT_FIELD
#undef PUT
    *body = p->body;
    *body_len = o;
    return 0;
}

/* buildEvent(): one message from buf[0..len). */
static int build(struct syslog_parser *p, syslog_msg_fn fn, void *arg)
{
    struct syslog_msg m = {0};
    char prio[4] = "", version[4] = "", host[256] = "";
    m.body = p->buf;
    m.body_len = p->len;
    if (!p->bad && p->prio_len == 0)
        p->bad = 1; /* "<" alone: Flume's parseInt("") throws and loses the event */
    if (p->bad) {
        m.status = "Invalid";
    } else {
        int pri = atoi(p->prio);
        m.facility = pri / 8;
        m.severity = pri % 8;
        if (p->incomplete)
            m.status = "Incomplete";
        /* the String Java matches: malformed UTF-8 replaced */
        const uint8_t *text = p->buf;
        size_t text_len = p->len;
        if (!utf8_valid(p->buf, p->len)) {
            if (grow(&p->text, &p->text_cap, 3 * p->len + 1))
                return SLUICE_ENOMEM;
            text_len = utf8_sanitize(p->buf, p->len, p->text);
            text = p->text;
        }
        for (int f = 0; f < 2; f++) {
            int rc = pcre2_match(re_code[f], text, text_len, 0, 0, p->match, NULL);
            if (rc < 0)
                continue;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->match);
            struct group g[6] = {{0}};
            for (int k = 1; k < 6 && k < rc; k++)
                if (ov[2 * k] != PCRE2_UNSET)
                    g[k] =
                        (struct group){(const char *)text + ov[2 * k], ov[2 * k + 1] - ov[2 * k]};
            if (has_java_line_sep((const uint8_t *)g[5].p, g[5].n))
                break; /* the body is the same bytes for both patterns: neither matches */
            if (g[1].p && g[1].n < sizeof(prio)) {
                memcpy(prio, g[1].p, g[1].n);
                prio[g[1].n] = '\0';
                m.priority = prio[0] ? prio : NULL;
            }
            if (g[2].p && g[2].n > 0 && g[2].n < sizeof(version)) {
                memcpy(version, g[2].p, g[2].n);
                version[g[2].n] = '\0';
                m.version = version;
            }
            if (g[3].p)
                m.has_timestamp =
                    f == 0 ? syslog_time_5424(g[3].p, g[3].n, &m.timestamp_ms)
                           : syslog_time_3164(g[3].p, g[3].n, p->now_ms(), &m.timestamp_ms);
            if (g[4].p && g[4].n > 0) {
                size_t hn = g[4].n < sizeof(host) - 1 ? g[4].n : sizeof(host) - 1;
                memcpy(host, g[4].p, hn);
                host[hn] = '\0';
                m.hostname = host;
            }
            /* the body: the message part (with kept fields), unless keepFields is all or the
             * message part is empty, where Flume keeps the whole raw message */
            if (!(p->keep & SYSLOG_KEEP_ALL)) {
                const uint8_t *b = (const uint8_t *)g[5].p;
                size_t bl = g[5].n;
                if (p->keep && kept_body(p, g, &b, &bl))
                    return SLUICE_ENOMEM;
                if (bl > 0) {
                    m.body = b;
                    m.body_len = bl;
                }
            }
            break;
        }
    }
    int rc = fn(arg, &m);
    p->len = p->prio_len = 0;
    p->prio[0] = '\0';
    p->bad = p->incomplete = 0;
    p->mode = SP_START;
    return rc;
}

static void put(struct syslog_parser *p, uint8_t b)
{
    if (p->len < p->cap)
        p->buf[p->len++] = b;
}

/* One byte through Flume's machine; *done when a message was built. */
static int step(struct syslog_parser *p, uint8_t b, int newline_ends, syslog_msg_fn fn, void *arg)
{
    switch (p->mode) {
    case SP_START:
        if (b == '<') {
            put(p, b);
            p->mode = SP_PRIO;
        } else if (b == '\n' && newline_ends) {
            /* an empty line, or the delimiter after a message cut at eventSize: skipped */
        } else if (p->octet_framing && !p->in_frame && b >= '1' && b <= '9') {
            put(p, b);
            p->octlen = (size_t)(b - '0');
            p->mode = SP_OCTLEN;
        } else {
            p->bad = 1;
            put(p, b);
            p->mode = SP_DATA;
        }
        return 0;
    case SP_OCTLEN:
        if (b >= '0' && b <= '9' && p->len < 9) {
            put(p, b);
            p->octlen = p->octlen * 10 + (size_t)(b - '0');
            return 0;
        }
        if (b == ' ') { /* RFC 6587: "LEN SP MSG" */
            p->len = 0;
            p->in_frame = 1;
            p->frame_left = p->octlen;
            p->mode = SP_START;
            return 0;
        }
        p->bad = 1; /* digits that are not a frame length: an invalid message, as in Flume */
        p->mode = SP_DATA;
        return step(p, b, newline_ends, fn, arg);
    case SP_PRIO:
        put(p, b);
        if (b == '>') {
            if (p->prio_len == 0)
                p->bad = 1;
            p->mode = SP_DATA;
        } else {
            if (p->prio_len < 3)
                p->prio[p->prio_len] = (char)b;
            p->prio_len++;
            if (p->prio_len <= 3)
                p->prio[p->prio_len] = '\0';
            if (!isdigit(b) || p->prio_len > 3) {
                p->bad = 1;
                p->mode = SP_DATA;
            }
        }
        return 0;
    case SP_DATA:
        if (b == '\n' && newline_ends)
            return build(p, fn, arg);
        put(p, b);
        if (p->len >= p->max_size) {
            p->incomplete = 1;
            return build(p, fn, arg);
        }
        return 0;
    }
    return 0;
}

int syslog_feed(struct syslog_parser *p, const uint8_t *data, size_t n, syslog_msg_fn fn, void *arg)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (p->in_frame) {
            /* inside an octet-counted frame newlines are data and the frame's end ends it */
            rc = step(p, data[i], 0, fn, arg);
            if (rc == 0 && --p->frame_left == 0) {
                p->in_frame = 0;
                if (p->len > 0 || p->mode != SP_START)
                    rc = build(p, fn, arg);
            }
        } else {
            rc = step(p, data[i], 1, fn, arg);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int syslog_flush(struct syslog_parser *p, syslog_msg_fn fn, void *arg)
{
    p->in_frame = 0;
    p->frame_left = 0;
    if (p->mode == SP_OCTLEN)
        p->bad = 1; /* digits only: not a frame after all */
    if (p->len == 0 && p->mode == SP_START)
        return 0;
    return build(p, fn, arg);
}
