/*
 * Syslog timestamps the way Flume's SyslogUtils turns them into the `timestamp` header: its
 * text replacements, then java.text.SimpleDateFormat patterns tried in order, where a pattern
 * only has to match a prefix of the text (so "…11.123+02:00" is read by the pattern without a
 * zone, in local time - Flume's behaviour, kept for drop-in parity), lenient field values, and
 * the RFC 3164 year guess. Local time is the process's TZ, as the JVM's default zone.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "syslog_parse.h"

/* ---- a tiny SimpleDateFormat ----------------------------------------------------------- */

struct cur {
    const char *s;
    size_t n, i;
};

/* A numeric field: blanks skipped (as SimpleDateFormat.subParse does), then all digits. */
static int num(struct cur *c, long *v)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
    size_t start = c->i;
    long x = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        if (c->i - start < 9)
            x = x * 10 + (c->s[c->i] - '0');
        c->i++;
    }
    if (c->i == start)
        return 0;
    *v = x;
    return 1;
}

static int lit(struct cur *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return 1;
    }
    return 0;
}

/* MMM with Locale.ENGLISH: full names first, then short ones, any case. */
static int month_name(struct cur *c, long *mon)
{
    static const char *const full[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
    size_t left = c->n - c->i;
    for (int pass = 0; pass < 2; pass++) {
        for (long m = 0; m < 12; m++) {
            size_t len = pass == 0 ? strlen(full[m]) : 3;
            if (len <= left && strncasecmp(c->s + c->i, full[m], len) == 0) {
                c->i += len;
                *mon = m;
                return 1;
            }
        }
    }
    return 0;
}

/* yyyy-MM-dd'T'HH:mm:ss */
static int date_time(struct cur *c, struct tm *tm)
{
    long y, mo, d, h, mi, se;
    if (!num(c, &y) || !lit(c, '-') || !num(c, &mo) || !lit(c, '-') || !num(c, &d) ||
        !lit(c, 'T') || !num(c, &h) || !lit(c, ':') || !num(c, &mi) || !lit(c, ':') || !num(c, &se))
        return 0;
    memset(tm, 0, sizeof(*tm));
    tm->tm_year = (int)(y - 1900);
    tm->tm_mon = (int)(mo - 1);
    tm->tm_mday = (int)d;
    tm->tm_hour = (int)h;
    tm->tm_min = (int)mi;
    tm->tm_sec = (int)se;
    return 1;
}

/* RFC 822 zone after Flume's replacements: [+-]hhmm, hours <= 23, minutes <= 59. */
static int zone(struct cur *c, long *offset_s)
{
    if (c->i >= c->n)
        return 0;
    int sign = c->s[c->i] == '+' ? 1 : c->s[c->i] == '-' ? -1 : 0;
    if (!sign || c->n - c->i < 5)
        return 0;
    const char *p = c->s + c->i + 1;
    for (int k = 0; k < 4; k++)
        if (p[k] < '0' || p[k] > '9')
            return 0;
    long hh = (p[0] - '0') * 10 + (p[1] - '0'), mm = (p[2] - '0') * 10 + (p[3] - '0');
    if (hh > 23 || mm > 59)
        return 0;
    *offset_s = sign * (hh * 3600 + mm * 60);
    c->i += 5;
    return 1;
}

/* Wall-clock fields in the local zone to epoch ms; normalises tm's fields (lenient, as
 * Java's calendar). Not mktime(): glibc's re-reads /etc/localtime on every call, which made
 * parsing ten times slower; localtime_r reads the zone once. */
static int64_t local_ms(struct tm *tm)
{
    time_t wall = timegm(tm); /* the fields as if they were UTC */
    struct tm lt;
    localtime_r(&wall, &lt);
    time_t t = wall - lt.tm_gmtoff;
    localtime_r(&t, &lt); /* the offset at the real instant (differs near a DST change) */
    t = wall - lt.tm_gmtoff;
    return (int64_t)t * 1000;
}

/* ---- RFC 5424 ---------------------------------------------------------------------------- */

/* Flume's three replaceAll()s: Z -> +0000; ([+-])(\d\d):(\d\d) -> $1$2$3;
 * (T\d\d:\d\d:\d\d\.\d{3})(\d*) -> $1. out holds 5 * n + 8 bytes. */
static size_t rewrite_5424(const char *s, size_t n, char *out)
{
    char *a = malloc(n * 5 + 8);
    if (!a)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 'Z') {
            memcpy(a + k, "+0000", 5);
            k += 5;
        } else {
            a[k++] = s[i];
        }
    }
#define D(x) ((x) >= '0' && (x) <= '9')
    size_t o = 0;
    for (size_t i = 0; i < k;) {
        if ((a[i] == '+' || a[i] == '-') && i + 5 < k && D(a[i + 1]) && D(a[i + 2]) &&
            a[i + 3] == ':' && D(a[i + 4]) && D(a[i + 5])) {
            out[o++] = a[i];
            out[o++] = a[i + 1];
            out[o++] = a[i + 2];
            out[o++] = a[i + 4];
            out[o++] = a[i + 5];
            i += 6;
            continue;
        }
        out[o++] = a[i++];
    }
    free(a);
    /* truncate fractional seconds after three digits: T\d\d:\d\d:\d\d\.\d{3} then digits */
    for (size_t i = 0; i + 13 <= o; i++) {
        const char *t = out + i;
        if (t[0] == 'T' && D(t[1]) && D(t[2]) && t[3] == ':' && D(t[4]) && D(t[5]) && t[6] == ':' &&
            D(t[7]) && D(t[8]) && t[9] == '.' && D(t[10]) && D(t[11]) && D(t[12])) {
            size_t j = i + 13, e = j;
            while (e < o && D(out[e]))
                e++;
            memmove(out + j, out + e, o - e);
            o -= e - j;
            i = j - 1;
        }
    }
#undef D
    return o;
}

int syslog_time_5424(const char *s, size_t n, int64_t *ms)
{
    char *v = malloc(n * 5 + 8);
    if (!v)
        return 0;
    size_t len = rewrite_5424(s, n, v);
    struct tm tm;
    long frac = 0, off = 0;
    int ok = 0;
    /* 1: yyyy-MM-dd'T'HH:mm:ss.S (prefix; local time) */
    struct cur c = {v, len, 0};
    if (date_time(&c, &tm) && lit(&c, '.') && num(&c, &frac)) {
        *ms = local_ms(&tm) + frac;
        ok = 1;
    }
    /* 2: ...ss.SZ can only match where 1 already did */
    /* 3: yyyy-MM-dd'T'HH:mm:ssZ */
    if (!ok) {
        c = (struct cur){v, len, 0};
        if (date_time(&c, &tm) && zone(&c, &off)) {
            *ms = ((int64_t)timegm(&tm) - off) * 1000;
            ok = 1;
        }
    }
    /* 4: yyyy-MM-dd'T'HH:mm:ss (prefix; local time) */
    if (!ok) {
        c = (struct cur){v, len, 0};
        if (date_time(&c, &tm)) {
            *ms = local_ms(&tm);
            ok = 1;
        }
    }
    free(v);
    return ok;
}

/* ---- RFC 3164 ---------------------------------------------------------------------------- */

static int days_in_month(int year, int mon)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return d[mon];
}

/* Java's Calendar.add(MONTH, k): same wall time, day pinned to the new month's length. */
static int64_t add_months(const struct tm *base, int k)
{
    struct tm t = *base;
    int m = t.tm_mon + k;
    int y = t.tm_year + (m >= 0 ? m / 12 : (m + 1) / 12 - 1);
    m = ((m % 12) + 12) % 12;
    t.tm_year = y;
    t.tm_mon = m;
    int dim = days_in_month(y + 1900, m);
    if (t.tm_mday > dim)
        t.tm_mday = dim;
    return local_ms(&t);
}

int syslog_time_3164(const char *s, size_t n, int64_t now_ms, int64_t *ms)
{
    /* replaceAll("  ", " ") */
    char v[64];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof(v); i++) {
        v[len++] = s[i];
        if (s[i] == ' ' && i + 1 < n && s[i + 1] == ' ')
            i++;
    }
    /* "yyyyMMM d HH:mm:ss" with the current year (UTC) in front */
    time_t now_s = (time_t)(now_ms / 1000);
    struct tm utc;
    gmtime_r(&now_s, &utc);
    struct cur c = {v, len, 0};
    long mon, d, h, mi, se;
    if (!month_name(&c, &mon) || !lit(&c, ' ') || !num(&c, &d) || !lit(&c, ' ') || !num(&c, &h) ||
        !lit(&c, ':') || !num(&c, &mi) || !lit(&c, ':') || !num(&c, &se))
        return 0;
    struct tm tm = {.tm_year = utc.tm_year,
                    .tm_mon = (int)mon,
                    .tm_mday = (int)d,
                    .tm_hour = (int)h,
                    .tm_min = (int)mi,
                    .tm_sec = (int)se};
    int64_t parsed = local_ms(&tm); /* normalises tm, as the lenient parse does */
    int64_t minus1 = add_months(&tm, -1), plus11 = add_months(&tm, 11);
    if (parsed > now_ms && minus1 > now_ms)
        parsed = add_months(&tm, -12);
    else if (parsed < now_ms && plus11 < now_ms)
        parsed = add_months(&tm, 12);
    *ms = parsed;
    return 1;
}
