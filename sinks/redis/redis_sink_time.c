/*
 * Time for the redis sink (see redis_sink_time.h): durations, epoch-aligned windows, a
 * SimpleDateFormat subset parsed in the local time zone, and local-time texts. Pure code, so
 * test/redis can check window boundaries and time parsing without a Redis server.
 */
#include "redis_sink_time.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int rs_duration_parse(const char *s, int64_t *ms, char *why, size_t why_len)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},    {"sec", 1000},  {"m", 60000},
                 {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p)) {
        snprintf(why, why_len, "'%s' is not a duration (a number and a unit: 500ms, 15s, 1m, 2h)",
                 s);
        return -1;
    }
    int64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_C(1) << 40)) {
            snprintf(why, why_len, "'%s' is too long a duration", s);
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    while (*p == ' ')
        p++;
    size_t ulen = strlen(p);
    while (ulen > 0 && p[ulen - 1] == ' ')
        ulen--;
    if (ulen == 0) {
        if (v == 0) {
            *ms = 0;
            return 0;
        }
        snprintf(why, why_len, "'%s' has no unit: write e.g. %" PRId64 "s or %" PRId64 "ms", s, v,
                 v);
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].unit) == ulen && strncasecmp(p, units[i].unit, ulen) == 0) {
            if (v > (INT64_C(1) << 40) / units[i].ms * 1000) {
                snprintf(why, why_len, "'%s' is too long a duration", s);
                return -1;
            }
            *ms = v * units[i].ms;
            return 0;
        }
    }
    snprintf(why, why_len, "'%s': unknown unit '%.*s' (use ms, s, m, h or d)", s, (int)ulen, p);
    return -1;
}

int64_t rs_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t rs_window_start(int64_t t_ms, int64_t window_ms)
{
    return rs_floor_div(t_ms, window_ms) * window_ms;
}

int rs_window_id(int64_t start_ms, char *buf, size_t len)
{
    int64_t s = rs_floor_div(start_ms, 1000);
    int64_t frac = start_ms - s * 1000;
    if (frac == 0)
        return snprintf(buf, len, "%" PRId64, s);
    return snprintf(buf, len, "%" PRId64 ".%03" PRId64, s, frac);
}

int rs_format_local(int64_t epoch_ms, char *buf, size_t len)
{
    time_t t = (time_t)rs_floor_div(epoch_ms, 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return snprintf(buf, len, "@%" PRId64, (int64_t)t);
    return snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- SimpleDateFormat subset ------------------------------------------------------------- */

static int add_lit(struct rs_tfmt *tf, char c, char *why, size_t why_len)
{
    struct rs_tf_field *f = tf->n > 0 ? &tf->f[tf->n - 1] : NULL;
    if (!f || f->kind != RS_TF_LIT) {
        if (tf->n == RS_TF_MAX_FIELDS) {
            snprintf(why, why_len, "more than %d fields", RS_TF_MAX_FIELDS);
            return -1;
        }
        f = &tf->f[tf->n++];
        memset(f, 0, sizeof(*f));
        f->kind = RS_TF_LIT;
    }
    if (f->width + 1 >= RS_TF_LIT_MAX) {
        snprintf(why, why_len, "a literal longer than %d characters", RS_TF_LIT_MAX - 1);
        return -1;
    }
    f->lit[f->width++] = c;
    return 0;
}

int rs_tfmt_compile(struct rs_tfmt *tf, const char *pattern, char *why, size_t why_len)
{
    memset(tf, 0, sizeof(*tf));
    unsigned seen = 0;
    const char *p = pattern;
    while (*p) {
        char c = *p;
        if (c == '\'') {
            if (p[1] == '\'') { /* '' is one quote */
                if (add_lit(tf, '\'', why, why_len))
                    return -1;
                p += 2;
                continue;
            }
            p++;
            for (;;) {
                if (!*p) {
                    snprintf(why, why_len, "unterminated quote in '%s'", pattern);
                    return -1;
                }
                if (*p == '\'' && p[1] == '\'') {
                    if (add_lit(tf, '\'', why, why_len))
                        return -1;
                    p += 2;
                    continue;
                }
                if (*p == '\'') {
                    p++;
                    break;
                }
                if (add_lit(tf, *p++, why, why_len))
                    return -1;
            }
            continue;
        }
        if (!isalpha((unsigned char)c)) {
            if (add_lit(tf, c, why, why_len))
                return -1;
            p++;
            continue;
        }
        int count = 0;
        while (p[count] == c)
            count++;
        enum rs_tf_kind k;
        switch (c) {
        case 'y':
            k = RS_TF_YEAR;
            break;
        case 'M':
            k = RS_TF_MONTH;
            break;
        case 'd':
            k = RS_TF_DAY;
            break;
        case 'H':
            k = RS_TF_HOUR;
            break;
        case 'm':
            k = RS_TF_MIN;
            break;
        case 's':
            k = RS_TF_SEC;
            break;
        case 'S':
            k = RS_TF_MILLI;
            break;
        default:
            snprintf(why, why_len,
                     "pattern letter '%c' in '%s' is not supported (only yyyy MM dd HH mm ss SSS "
                     "and literals; quote text as 'T')",
                     c, pattern);
            return -1;
        }
        if (k == RS_TF_YEAR && count == 2) {
            snprintf(why, why_len, "two-digit years (yy) in '%s' are not supported: use yyyy",
                     pattern);
            return -1;
        }
        if (k == RS_TF_MONTH && count > 2) {
            snprintf(why, why_len, "month names (MMM) in '%s' are not supported: use MM", pattern);
            return -1;
        }
        if (seen & (1u << k)) {
            snprintf(why, why_len, "'%c' appears twice in '%s'", c, pattern);
            return -1;
        }
        seen |= 1u << k;
        if (tf->n == RS_TF_MAX_FIELDS) {
            snprintf(why, why_len, "more than %d fields in '%s'", RS_TF_MAX_FIELDS, pattern);
            return -1;
        }
        struct rs_tf_field *f = &tf->f[tf->n++];
        memset(f, 0, sizeof(*f));
        f->kind = k;
        f->width = count;
        p += count;
    }
    if (tf->n == 0) {
        snprintf(why, why_len, "empty pattern");
        return -1;
    }
    if (!seen) {
        snprintf(why, why_len, "'%s' has no date or time field", pattern);
        return -1;
    }
    for (int i = 0; i + 1 < tf->n; i++)
        if (tf->f[i].kind != RS_TF_LIT && tf->f[i + 1].kind != RS_TF_LIT)
            tf->f[i].fixed = 1;
    tf->has_date =
        (seen & (1u << RS_TF_YEAR)) && (seen & (1u << RS_TF_MONTH)) && (seen & (1u << RS_TF_DAY));
    return 0;
}

static int days_in(int y, int mo)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : dm[mo - 1];
}

int64_t rs_local_to_epoch(struct rs_tzcache *tz, int y, int mo, int d, int h, int mi, int s)
{
    if (!tz->valid || tz->y != y || tz->mo != mo || tz->d != d || tz->h != h) {
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_isdst = -1;
        tz->base_s = (int64_t)mktime(&tm);
        tz->y = y;
        tz->mo = mo;
        tz->d = d;
        tz->h = h;
        tz->valid = 1;
    }
    return tz->base_s + mi * 60 + s;
}

int rs_tfmt_parse(const struct rs_tfmt *tf, struct rs_tzcache *tz, const char *s, size_t len,
                  int64_t *ms)
{
    int v[8] = {0};
    v[RS_TF_YEAR] = 1970; /* Java's defaults for fields the pattern lacks */
    v[RS_TF_MONTH] = 1;
    v[RS_TF_DAY] = 1;
    size_t pos = 0;
    for (int i = 0; i < tf->n; i++) {
        const struct rs_tf_field *f = &tf->f[i];
        if (f->kind == RS_TF_LIT) {
            if (len - pos < (size_t)f->width || memcmp(s + pos, f->lit, (size_t)f->width) != 0)
                return -1;
            pos += (size_t)f->width;
            continue;
        }
        int max = f->fixed ? f->width : 9;
        int val = 0, nd = 0;
        while (nd < max && pos < len && s[pos] >= '0' && s[pos] <= '9') {
            val = val * 10 + (s[pos++] - '0');
            nd++;
        }
        if (nd == 0 || (f->fixed && nd != f->width))
            return -1;
        v[f->kind] = val;
    }
    if (pos != len)
        return -1;
    if (v[RS_TF_YEAR] < 1 || v[RS_TF_YEAR] > 9999 || v[RS_TF_MONTH] < 1 || v[RS_TF_MONTH] > 12 ||
        v[RS_TF_DAY] < 1 || v[RS_TF_DAY] > days_in(v[RS_TF_YEAR], v[RS_TF_MONTH]) ||
        v[RS_TF_HOUR] > 23 || v[RS_TF_MIN] > 59 || v[RS_TF_SEC] > 59 || v[RS_TF_MILLI] > 999)
        return -1;
    int64_t sec = rs_local_to_epoch(tz, v[RS_TF_YEAR], v[RS_TF_MONTH], v[RS_TF_DAY], v[RS_TF_HOUR],
                                    v[RS_TF_MIN], v[RS_TF_SEC]);
    *ms = sec * 1000 + v[RS_TF_MILLI];
    return 0;
}
