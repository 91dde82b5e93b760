/*
 * A Joda-Time DateTimeFormat subset for regex_extractor's millis serializer (see
 * joda_pattern.h). Tokens are cut as DateTimeFormat.parseToken() cuts them, numbers are read
 * as Joda's parsers read them (1 to max digits; a year takes up to 9 unless a number follows),
 * and the local time is turned into an instant the way Joda does: a time in a DST gap is an
 * error, a time in an overlap takes the earlier instant.
 */
#include "joda_pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define JP_YEAR_MIN (-292275054) /* Joda's ISO chronology limits */
#define JP_YEAR_MAX 292278993

static const char *const jp_months[12] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* DateTimeFormat.isNumericToken() for the token starting at pattern[i] */
static int numeric_token_at(const char *pattern, size_t i)
{
    char c = pattern[i];
    if (!c || !is_letter(c))
        return 0;
    if (c == 'M') {
        size_t len = 0;
        while (pattern[i + len] == 'M')
            len++;
        return len <= 2;
    }
    return strchr("cCxyYdhHmsSeDFwWkK", c) != NULL;
}

static int add_token(struct joda_pattern *p, size_t *cap, struct jp_token t)
{
    if (p->n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct jp_token *v = realloc(p->t, c * sizeof(*v));
        if (!v)
            return -2;
        p->t = v;
        *cap = c;
    }
    p->t[p->n++] = t;
    return 0;
}

int joda_pattern_parse(struct joda_pattern *p, const char *pattern, char *msg, size_t msg_len)
{
    memset(p, 0, sizeof(*p));
    size_t plen = strlen(pattern), cap = 0, lo = 0;
    p->lits = malloc(plen + 1);
    if (!p->lits)
        return -2;
    time_t now = time(NULL);
    struct tm tm_now;
    localtime_r(&now, &tm_now);
    p->pivot = tm_now.tm_year + 1900 - 30;
    size_t i = 0;
    while (i < plen) {
        char c = pattern[i];
        struct jp_token t = {.kind = JP_LITERAL};
        if (is_letter(c)) {
            size_t len = 1;
            while (pattern[i + len] == c)
                len++;
            int next_numeric = numeric_token_at(pattern, i + len);
            int digits = len > 2 ? (int)len : 2;
            switch (c) {
            case 'y':
            case 'Y':
                if (len == 2) {
                    t.kind = JP_YEAR2;
                    t.lenient = !next_numeric;
                } else {
                    t.kind = JP_YEAR;
                    t.max_digits = next_numeric ? (int)len : 9;
                    t.is_signed = c == 'y';
                }
                break;
            case 'M':
                t.kind = len >= 3 ? JP_MONTH_TEXT : JP_MONTH;
                t.max_digits = 2;
                break;
            case 'd':
                t.kind = JP_DAY;
                t.max_digits = digits;
                break;
            case 'H':
                t.kind = JP_HOUR;
                t.max_digits = digits;
                break;
            case 'm':
                t.kind = JP_MINUTE;
                t.max_digits = digits;
                break;
            case 's':
                t.kind = JP_SECOND;
                t.max_digits = digits;
                break;
            case 'S':
                t.kind = JP_FRACTION;
                t.max_digits = len > 9 ? 9 : (int)len;
                break;
            default:
                snprintf(msg, msg_len,
                         strchr("GCxeEDwWahkKzZ", c)
                             ? "pattern letter '%c' is not supported by sluice (supported: y Y M "
                               "d H m s S; put text in single quotes)"
                             : "'%c' is not a Joda-Time pattern letter (put text in single "
                               "quotes)",
                         c);
                return -1;
            }
            i += len;
        } else {
            /* a text token: non-letters and quoted parts, '' being one quote */
            int quoted = 0;
            t.lit_off = lo;
            for (; i < plen; i++) {
                c = pattern[i];
                if (c == '\'') {
                    if (pattern[i + 1] == '\'') {
                        p->lits[lo++] = '\'';
                        i++;
                    } else {
                        quoted = !quoted;
                    }
                } else if (!quoted && is_letter(c)) {
                    break;
                } else {
                    p->lits[lo++] = c;
                }
            }
            t.lit_len = lo - t.lit_off;
            if (t.lit_len == 0)
                continue;
        }
        if (add_token(p, &cap, t) != 0)
            return -2;
    }
    p->lits[lo] = 0;
    if (p->n == 0) {
        snprintf(msg, msg_len, "the pattern is empty");
        return -1;
    }
    return 0;
}

void joda_pattern_free(struct joda_pattern *p)
{
    free(p->t);
    free(p->lits);
    memset(p, 0, sizeof(*p));
}

/* ---- Parsing a value --------------------------------------------------------------------- */

struct jp_fields {
    int64_t year;
    int mon, day, hour, min, sec, ms;
};

/* Digits at text[*pos..n): at most max, optionally signed; -1 when there are none. */
static int read_number(const char *text, size_t n, size_t *pos, int max, int is_signed,
                       int64_t *value, int *digits)
{
    size_t i = *pos;
    int neg = 0;
    if (is_signed && i < n && (text[i] == '-' || text[i] == '+') && i + 1 < n &&
        text[i + 1] >= '0' && text[i + 1] <= '9') {
        neg = text[i] == '-';
        i++;
    }
    int64_t v = 0;
    int d = 0;
    while (d < max && i < n && text[i] >= '0' && text[i] <= '9') {
        v = v * 10 + (text[i] - '0');
        i++;
        d++;
    }
    if (d == 0)
        return -1;
    *value = neg ? -v : v;
    *digits = d;
    *pos = i;
    return 0;
}

/* English month name (full or short; as written, all lower or all upper case), longest first. */
static int read_month_text(const char *text, size_t n, size_t *pos, int *mon)
{
    size_t best = 0;
    for (int m = 0; m < 12; m++) {
        const char *full = jp_months[m];
        size_t lens[2] = {strlen(full), 3};
        for (int k = 0; k < 2; k++) {
            size_t len = lens[k];
            if (len <= best || *pos + len > n || strncasecmp(text + *pos, full, len) != 0)
                continue;
            int lower = 1, upper = 1, title = 1;
            for (size_t j = 0; j < len; j++) {
                char c = text[*pos + j];
                lower &= !(c >= 'A' && c <= 'Z');
                upper &= !(c >= 'a' && c <= 'z');
                title &= c == full[j];
            }
            if (lower || upper || title) {
                best = len;
                *mon = m + 1;
            }
        }
    }
    if (!best)
        return -1;
    *pos += best;
    return 0;
}

/* Joda's two-digit year: the year within 50 of the pivot. */
static int64_t pivot_year(int pivot, int64_t yy)
{
    int64_t low = pivot - 50, t = low >= 0 ? low % 100 : 99 + ((low + 1) % 100);
    return yy + low + (yy < t ? 100 : 0) - t;
}

static int jp_read(const struct joda_pattern *p, const char *text, size_t n, struct jp_fields *f,
                   size_t *fail_pos)
{
    size_t pos = 0;
    for (size_t k = 0; k < p->n; k++) {
        const struct jp_token *t = &p->t[k];
        int64_t v;
        int d;
        *fail_pos = pos;
        switch (t->kind) {
        case JP_LITERAL:
            if (pos + t->lit_len > n || strncasecmp(text + pos, p->lits + t->lit_off, t->lit_len))
                return -1;
            pos += t->lit_len;
            break;
        case JP_MONTH_TEXT:
            if (read_month_text(text, n, &pos, &f->mon) != 0)
                return -1;
            break;
        case JP_YEAR2:
            if (!t->lenient) {
                if (pos + 2 > n || read_number(text, n, &pos, 2, 0, &v, &d) != 0 || d != 2)
                    return -1;
                f->year = pivot_year(p->pivot, v);
                break;
            }
            if (read_number(text, n, &pos, 10, 1, &v, &d) != 0)
                return -1;
            f->year = d == 2 && text[*fail_pos] != '+' && text[*fail_pos] != '-'
                          ? pivot_year(p->pivot, v)
                          : v;
            break;
        default:
            if (read_number(text, n, &pos, t->max_digits, t->is_signed, &v, &d) != 0)
                return -1;
            switch (t->kind) {
            case JP_YEAR:
                f->year = v;
                break;
            case JP_MONTH:
                f->mon = (int)v;
                break;
            case JP_DAY:
                f->day = (int)v;
                break;
            case JP_HOUR:
                f->hour = (int)v;
                break;
            case JP_MINUTE:
                f->min = (int)v;
                break;
            case JP_SECOND:
                f->sec = (int)v;
                break;
            default: /* JP_FRACTION: the digits are a fraction of a second */
                while (d < 3) {
                    v *= 10;
                    d++;
                }
                while (d > 3) {
                    v /= 10;
                    d--;
                }
                f->ms = (int)v;
                break;
            }
        }
    }
    *fail_pos = pos;
    return pos == n ? 0 : -1;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Epoch seconds of local y-m-d h:mi:00; the earlier instant in an overlap; -1 in a gap. */
static int local_minute(int64_t y, int mo, int d, int h, int mi, int64_t *out)
{
    static const int tries[3] = {1, 0, -1};
    int found = 0;
    int64_t best = 0;
    for (int k = 0; k < 3; k++) {
        struct tm tm = {.tm_year = (int)(y - 1900),
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_isdst = tries[k]};
        time_t t = mktime(&tm);
        struct tm back;
        if (!localtime_r(&t, &back))
            continue;
        if (back.tm_year != (int)(y - 1900) || back.tm_mon != mo - 1 || back.tm_mday != d ||
            back.tm_hour != h || back.tm_min != mi || back.tm_sec != 0)
            continue;
        if (!found || (int64_t)t < best)
            best = (int64_t)t;
        found = 1;
    }
    *out = best;
    return found ? 0 : -1;
}

int joda_pattern_millis(struct joda_pattern *p, const char *text, size_t n, int64_t *ms, char *msg,
                        size_t msg_len)
{
    struct jp_fields f = {.year = 1970, .mon = 1, .day = 1};
    size_t fail = 0;
    int shown = n > 100 ? 100 : (int)n;
    if (jp_read(p, text, n, &f, &fail) != 0) {
        if (fail >= n)
            snprintf(msg, msg_len, "Invalid format: \"%.*s\" is too short", shown, text);
        else
            snprintf(msg, msg_len, "Invalid format: \"%.*s\" is malformed at \"%.*s\"", shown, text,
                     (int)(n - fail > 40 ? 40 : n - fail), text + fail);
        return -1;
    }
    const struct {
        const char *name;
        int64_t value, lo, hi;
    } checks[] = {
        {"year", f.year, JP_YEAR_MIN, JP_YEAR_MAX},
        {"monthOfYear", f.mon, 1, 12},
        {"dayOfMonth", f.day, 1, f.mon >= 1 && f.mon <= 12 ? days_in_month(f.year, f.mon) : 31},
        {"hourOfDay", f.hour, 0, 23},
        {"minuteOfHour", f.min, 0, 59},
        {"secondOfMinute", f.sec, 0, 59},
    };
    for (size_t k = 0; k < sizeof(checks) / sizeof(checks[0]); k++) {
        if (checks[k].value < checks[k].lo || checks[k].value > checks[k].hi) {
            snprintf(msg, msg_len,
                     "Cannot parse \"%.*s\": Value %lld for %s must be in the range [%lld,%lld]",
                     shown, text, (long long)checks[k].value, checks[k].name,
                     (long long)checks[k].lo, (long long)checks[k].hi);
            return -1;
        }
    }
    if (!p->c_ok || p->c_year != f.year || p->c_mon != f.mon || p->c_day != f.day ||
        p->c_hour != f.hour || p->c_min != f.min) {
        p->c_ok = 0;
        if (local_minute(f.year, f.mon, f.day, f.hour, f.min, &p->c_sec) != 0) {
            snprintf(msg, msg_len,
                     "Cannot parse \"%.*s\": Illegal instant due to time zone "
                     "offset transition (daylight savings time 'gap')",
                     shown, text);
            return -1;
        }
        p->c_ok = 1;
        p->c_year = (int)f.year;
        p->c_mon = f.mon;
        p->c_day = f.day;
        p->c_hour = f.hour;
        p->c_min = f.min;
    }
    *ms = (p->c_sec + f.sec) * 1000 + f.ms;
    return 0;
}
