/*
 * Counting one batch for the redis sink (see redis_sink_agg.h): match, pick the groups, place
 * the event in a window (processing or event time, lateness), and skip Kafka re-deliveries
 * whose offsets are already applied. Pure: the sink and test/redis drive it the same way.
 */
#include "redis_sink_agg.h"

#include "../../sources/common/utf8.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Valid UTF-8 bodies (checked first) use a plain UTF compile; PCRE2_MATCH_INVALID_UTF is kept
 * for the interpreter's compile (re_invalid) of bodies that are not: with PCRE2 10.42's JIT
 * that option makes \S, \D and \W miss non-ASCII characters ("user=(\S+) x" would not match
 * "user=J\u00f6rg x"), which the interpreter gets right. */
#define RS_COMPILE_OPTIONS (PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C)
#define RS_INVALID_OPTIONS (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C)
#define RS_JIT_STACK_MAX   (1024 * 1024)
#define RS_REGEX_SHOWN     200

const char *rs_unmatched_text(enum rs_unmatched_why w)
{
    switch (w) {
    case RS_UM_NOMATCH:
        return "the regex does not match";
    case RS_UM_GROUP:
        return "the group did not take part in the match";
    case RS_UM_TIME:
        return "the time does not fit timeFormat";
    case RS_UM_ERROR:
        return "the regex match failed";
    default:
        return "";
    }
}

/* Names of the regex's named groups, for an error message. */
static void group_names(const pcre2_code *re, char *out, size_t len)
{
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    out[0] = '\0';
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
    size_t o = 0;
    for (uint32_t i = 0; i < count && table; i++) {
        const char *name = (const char *)table + i * entry + 2;
        int n = snprintf(out + o, len - o, "%s%s", i ? ", " : "", name);
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
}

/* A group given by number or name; the option's name and the regex are in the message. */
static int resolve_group(struct rs_agg *a, const char *opt, const char *spec, uint32_t *out,
                         char *why, size_t why_len)
{
    size_t rlen = strlen(a->c.regex);
    int shown = (int)(rlen > RS_REGEX_SHOWN ? RS_REGEX_SHOWN : rlen);
    const char *more = rlen > RS_REGEX_SHOWN ? "..." : "";
    if (!*spec) {
        snprintf(why, why_len, "%s is empty: give a capture group number or name", opt);
        return -1;
    }
    int numeric = 1;
    for (const char *p = spec; *p; p++)
        numeric &= isdigit((unsigned char)*p) != 0;
    if (numeric) {
        unsigned long n = strlen(spec) > 6 ? 999999ul : strtoul(spec, NULL, 10);
        if (n > a->n_groups) {
            snprintf(why, why_len,
                     "%s = %s: the regex \"%.*s%s\" has %s%" PRIu32 " capture group%s", opt, spec,
                     shown, a->c.regex, more, a->n_groups ? "only " : "", a->n_groups,
                     a->n_groups == 1 ? "" : "s");
            return -1;
        }
        *out = (uint32_t)n;
        return 0;
    }
    int n = pcre2_substring_number_from_name(a->re, (PCRE2_SPTR)spec);
    if (n < 0) {
        char names[256];
        group_names(a->re, names, sizeof(names));
        snprintf(why, why_len, "%s = %s: the regex \"%.*s%s\" has no group named '%s' (%s%s)", opt,
                 spec, shown, a->c.regex, more, spec,
                 names[0] ? "its named groups: " : "it has no named groups", names);
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

int rs_agg_init(struct rs_agg *a, const struct rs_agg_conf *c, char *why, size_t why_len)
{
    memset(a, 0, sizeof(*a));
    a->c = *c;
    if (!c->regex || !*c->regex) {
        snprintf(why, why_len, "regex is required (e.g. ip=/([0-9.]+) with groupBy = 1)");
        return -1;
    }
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANY);
    int code;
    PCRE2_SIZE off;
    a->re = pcre2_compile((PCRE2_SPTR)c->regex, PCRE2_ZERO_TERMINATED, RS_COMPILE_OPTIONS, &code,
                          &off, cctx);
    if (a->re)
        a->re_invalid = pcre2_compile((PCRE2_SPTR)c->regex, PCRE2_ZERO_TERMINATED,
                                      RS_INVALID_OPTIONS, &code, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (a->re && !a->re_invalid) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    if (!a->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        size_t len = strlen(c->regex);
        snprintf(why, why_len, "regex \"%.*s%s\" does not compile: %s at offset %zu",
                 (int)(len > RS_REGEX_SHOWN ? RS_REGEX_SHOWN : len), c->regex,
                 len > RS_REGEX_SHOWN ? "..." : "", (const char *)msg, (size_t)off);
        return -1;
    }
    pcre2_pattern_info(a->re, PCRE2_INFO_CAPTURECOUNT, &a->n_groups);
    if (regex_literals_find(c->regex, 2, &a->required) != 0) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    if (resolve_group(a, "groupBy", c->group_by ? c->group_by : "1", &a->group, why, why_len))
        return -1;
    if (c->event_time) {
        if (!c->time_group || !*c->time_group) {
            snprintf(why, why_len,
                     "time = event needs timeGroup (the capture group, by number or "
                     "name, that holds the event time)");
            return -1;
        }
        if (resolve_group(a, "timeGroup", c->time_group, &a->time_group, why, why_len))
            return -1;
    }
    char tw[200];
    if (rs_tfmt_compile(&a->tf, c->time_format ? c->time_format : "yyyy-MM-dd HH:mm:ss,SSS", tw,
                        sizeof(tw))) {
        snprintf(why, why_len, "timeFormat: %s", tw);
        return -1;
    }
    if (c->window_ms <= 0) {
        snprintf(why, why_len, "window must be longer than 0");
        return -1;
    }
    if (pcre2_jit_compile(a->re, PCRE2_JIT_COMPLETE) == 0) {
        a->jit = 1;
        /* the same pattern with only \n as a newline, for bodies without rare terminators
         * (newline_scan.h); used only when it JIT-compiles too */
        if (!newline_scan_rare((const uint8_t *)c->regex, strlen(c->regex))) {
            pcre2_compile_context *lctx = pcre2_compile_context_create(NULL);
            if (lctx) {
                pcre2_set_newline(lctx, PCRE2_NEWLINE_LF);
                a->re_lf = pcre2_compile((PCRE2_SPTR)c->regex, PCRE2_ZERO_TERMINATED,
                                         RS_COMPILE_OPTIONS, &code, &off, lctx);
                pcre2_compile_context_free(lctx);
            }
            if (a->re_lf && pcre2_jit_compile(a->re_lf, PCRE2_JIT_COMPLETE) != 0) {
                pcre2_code_free(a->re_lf);
                a->re_lf = NULL;
            }
        }
        a->re_ascii = regex_ascii_compile(c->regex, strlen(c->regex), RS_COMPILE_OPTIONS);
    }
    if (rs_match_block_init(&a->mb, a) != 0 || rs_map_init(&a->map, c->batch_size) != 0) {
        snprintf(why, why_len, "out of memory for a batch of %zu events", c->batch_size);
        return -1;
    }
    return 0;
}

int rs_match_block_init(struct rs_match_block *mb, const struct rs_agg *a)
{
    memset(mb, 0, sizeof(*mb));
    mb->md = pcre2_match_data_create_from_pattern(a->re, NULL);
    if (a->jit) {
        mb->jit_stack = pcre2_jit_stack_create(32 * 1024, RS_JIT_STACK_MAX, NULL);
        mb->mctx = pcre2_match_context_create(NULL);
        if (mb->jit_stack && mb->mctx)
            pcre2_jit_stack_assign(mb->mctx, NULL, mb->jit_stack);
    }
    if (!mb->md || (a->jit && (!mb->jit_stack || !mb->mctx))) {
        rs_match_block_free(mb);
        return -1;
    }
    return 0;
}

void rs_match_block_free(struct rs_match_block *mb)
{
    pcre2_match_data_free(mb->md);
    pcre2_match_context_free(mb->mctx);
    pcre2_jit_stack_free(mb->jit_stack);
    memset(mb, 0, sizeof(*mb));
}

void rs_agg_free(struct rs_agg *a)
{
    rs_match_block_free(&a->mb);
    pcre2_code_free(a->re);
    pcre2_code_free(a->re_lf);
    pcre2_code_free(a->re_ascii);
    pcre2_code_free(a->re_invalid);
    regex_literals_free(&a->required);
    rs_map_free(&a->map);
    memset(a, 0, sizeof(*a));
}

void rs_agg_begin(struct rs_agg *a)
{
    rs_map_reset(&a->map);
    a->batch_have_newest = a->have_newest;
    a->batch_newest_ws = a->newest_ws;
    a->counted = a->unmatched = a->late = a->dups = a->bad_headers = 0;
    a->first_why = RS_UM_NONE;
    a->first_sample[0] = '\0';
    a->first_pcre_rc = 0;
}

void rs_agg_commit(struct rs_agg *a)
{
    a->have_newest = a->batch_have_newest;
    a->newest_ws = a->batch_newest_ws;
    a->n_floors = 0;
}

int rs_agg_set_floor(struct rs_agg *a, const char *tp, size_t len, int64_t floor)
{
    if (len >= RS_TP_MAX)
        return -1;
    for (size_t i = 0; i < a->n_floors; i++) {
        if (strlen(a->floors[i].tp) == len && memcmp(a->floors[i].tp, tp, len) == 0) {
            if (floor > a->floors[i].floor)
                a->floors[i].floor = floor;
            return 0;
        }
    }
    if (a->n_floors == RS_FLOORS_MAX)
        return -1;
    memcpy(a->floors[a->n_floors].tp, tp, len);
    a->floors[a->n_floors].tp[len] = '\0';
    a->floors[a->n_floors++].floor = floor;
    return 0;
}

int rs_agg_watermark(const struct rs_agg *a, int64_t *wm_ms)
{
    if (!a->batch_have_newest)
        return 0;
    *wm_ms = a->batch_newest_ws - a->c.lateness_ms;
    return 1;
}

static int parse_i64(const char *s, int64_t *v)
{
    if (!s || !*s)
        return -1;
    int64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || x > (INT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (*p - '0');
    }
    *v = x;
    return 0;
}

/* The Kafka position of an event: 1 with "topic/partition" in tp and the offset, 0 when the
 * event carries none, -1 when the headers are there but malformed. */
static int kafka_pos(const struct sluice_event *ev, char *tp, size_t *tp_len, int64_t *offset)
{
    const char *topic = NULL, *part = NULL, *off = NULL;
    for (uint32_t i = 0; i < ev->n_headers; i++) {
        const char *k = ev->headers[i].key;
        if (k[0] == 't' && strcmp(k, "topic") == 0)
            topic = ev->headers[i].value;
        else if (k[0] == 'p' && strcmp(k, "partition") == 0)
            part = ev->headers[i].value;
        else if (k[0] == 'o' && strcmp(k, "offset") == 0)
            off = ev->headers[i].value;
    }
    if (!part && !off)
        return 0;
    int64_t p;
    if (!topic || !*topic || parse_i64(part, &p) || p > INT32_MAX || parse_i64(off, offset))
        return -1;
    int n = snprintf(tp, RS_TP_MAX, "%s/%" PRId64, topic, p);
    if (n < 0 || n >= RS_TP_MAX)
        return -1;
    *tp_len = (size_t)n;
    return 1;
}

static void unmatched(struct rs_agg *a, struct rs_slice *s, const struct sluice_event *ev,
                      enum rs_unmatched_why why, int rc)
{
    a->unmatched++;
    s->unmatched++;
    if (a->first_why != RS_UM_NONE)
        return;
    a->first_why = why;
    a->first_pcre_rc = rc;
    size_t n = ev->body_len < RS_SAMPLE_MAX - 1 ? ev->body_len : RS_SAMPLE_MAX - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = ev->body[i];
        a->first_sample[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    a->first_sample[n] = '\0';
}

void rs_agg_match(struct rs_agg *a, const struct sluice_event *ev, struct rs_match *m)
{
    rs_agg_match_with(a, &a->mb, ev, m);
}

void rs_agg_match_with(const struct rs_agg *a, struct rs_match_block *mb,
                       const struct sluice_event *ev, struct rs_match *m)
{
    static const uint8_t empty[1];
    const uint8_t *body = ev->body ? ev->body : empty;
    m->rc = 0;
    m->g_off = m->t_off = RS_MATCH_UNSET;
    m->g_len = m->t_len = 0;
    /* a string that every match contains is missing: no match, without PCRE2's backtracking */
    int rc;
    if (!regex_literals_present(&a->required, body, ev->body_len))
        rc = PCRE2_ERROR_NOMATCH;
    else if (!a->jit)
        rc = pcre2_match(a->re_invalid, body, ev->body_len, 0, 0, mb->md, mb->mctx);
    else {
        /* the cheapest compile that gives this body the same answer (newline_scan.h) */
        enum newline_kind kind = newline_scan_kind(body, ev->body_len);
        if (kind == NEWLINE_KIND_ASCII && a->re_ascii)
            rc = pcre2_jit_match(a->re_ascii, body, ev->body_len, 0, 0, mb->md, mb->mctx);
        else if (kind != NEWLINE_KIND_ASCII && !utf8_valid(body, ev->body_len))
            rc = pcre2_match(a->re_invalid, body, ev->body_len, 0, 0, mb->md, mb->mctx);
        else /* the JIT does not check UTF-8: only valid bodies get here */
            rc = pcre2_jit_match(kind != NEWLINE_KIND_RARE && a->re_lf ? a->re_lf : a->re, body,
                                 ev->body_len, 0, 0, mb->md, mb->mctx);
    }
    if (rc < 0) {
        m->rc = rc;
        return;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mb->md);
    if (ov[2 * a->group] != PCRE2_UNSET) {
        m->g_off = ov[2 * a->group];
        m->g_len = ov[2 * a->group + 1] - ov[2 * a->group];
    }
    if (a->c.event_time && ov[2 * a->time_group] != PCRE2_UNSET) {
        m->t_off = ov[2 * a->time_group];
        m->t_len = ov[2 * a->time_group + 1] - ov[2 * a->time_group];
    }
}

int rs_agg_add(struct rs_agg *a, const struct sluice_event *ev, int64_t now_ms)
{
    struct rs_match m;
    rs_agg_match(a, ev, &m);
    return rs_agg_add_matched(a, ev, &m, now_ms);
}

int rs_agg_add_matched(struct rs_agg *a, const struct sluice_event *ev, const struct rs_match *m,
                       int64_t now_ms)
{
    char tp[RS_TP_MAX];
    size_t tp_len = 0;
    int64_t offset = 0;
    int kp = kafka_pos(ev, tp, &tp_len, &offset);
    if (kp < 0) {
        a->bad_headers++;
        kp = 0;
        tp_len = 0;
    }
    uint32_t si;
    int created;
    if (rs_map_slice(&a->map, kp ? tp : "", kp ? tp_len : 0, &si, &created))
        return -1;
    struct rs_slice *s = &a->map.s[si];
    if (created && kp) {
        for (size_t i = 0; i < a->n_floors; i++)
            if (strlen(a->floors[i].tp) == tp_len && memcmp(a->floors[i].tp, tp, tp_len) == 0)
                s->running = a->floors[i].floor;
    }
    if (kp) {
        if (s->running != RS_NO_OFFSET && offset <= s->running) {
            s->dups++;
            a->dups++;
            return 0;
        }
        s->running = offset;
        if (s->lo == RS_NO_OFFSET)
            s->lo = offset;
        s->hi = offset;
    }

    static const uint8_t empty[1];
    const uint8_t *body = ev->body ? ev->body : empty;
    if (m->rc < 0) {
        unmatched(a, s, ev, m->rc == PCRE2_ERROR_NOMATCH ? RS_UM_NOMATCH : RS_UM_ERROR, m->rc);
        return 0;
    }
    if (m->g_off == RS_MATCH_UNSET) {
        unmatched(a, s, ev, RS_UM_GROUP, 0);
        return 0;
    }
    int64_t ws;
    if (a->c.event_time) {
        if (m->t_off == RS_MATCH_UNSET) {
            unmatched(a, s, ev, RS_UM_GROUP, 0);
            return 0;
        }
        int64_t t;
        if (rs_tfmt_parse(&a->tf, &a->tz, (const char *)body + m->t_off, m->t_len, &t)) {
            unmatched(a, s, ev, RS_UM_TIME, 0);
            return 0;
        }
        ws = rs_window_start(t, a->c.window_ms);
        if (a->batch_have_newest && t < a->batch_newest_ws - a->c.lateness_ms) {
            a->late++;
            s->late++;
            if (!a->c.late_newest)
                return 0;
            ws = a->batch_newest_ws;
        } else if (!a->batch_have_newest || ws > a->batch_newest_ws) {
            a->batch_newest_ws = ws;
            a->batch_have_newest = 1;
        }
    } else {
        ws = rs_window_start(now_ms, a->c.window_ms);
    }
    uint32_t wi;
    if (rs_map_window(&a->map, ws, &wi))
        return -1;
    if (rs_map_add(&a->map, si, wi, (const char *)body + m->g_off, m->g_len, 1))
        return -1;
    a->counted++;
    s->counted++;
    return 0;
}
