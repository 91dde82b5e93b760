/*
 * The subset of Joda-Time's DateTimeFormat patterns that regex_extractor's millis serializer
 * needs: y/yyyy (yy with Joda's pivot), M/MM, MMM/MMMM (English month names), d, H, m, s,
 * S (fraction of second), quoted text and literal punctuation. A value is parsed as
 * DateTimeFormatter.parseDateTime() does (whole text, case-insensitive literals, fields
 * checked, missing fields from 1970-01-01T00:00:00.000) in the local time zone.
 */
#ifndef SLUICE_JODA_PATTERN_H
#define SLUICE_JODA_PATTERN_H

#include <stddef.h>
#include <stdint.h>

enum jp_kind {
    JP_LITERAL,
    JP_YEAR,
    JP_YEAR2, /* two-digit year with a pivot */
    JP_MONTH,
    JP_MONTH_TEXT,
    JP_DAY,
    JP_HOUR,
    JP_MINUTE,
    JP_SECOND,
    JP_FRACTION
};

struct jp_token {
    enum jp_kind kind;
    int max_digits; /* numbers: most digits read */
    int is_signed;  /* a leading + or - is accepted */
    int lenient;    /* JP_YEAR2: a value that is not exactly two digits is a full year */
    size_t lit_off, lit_len;
};

struct joda_pattern {
    struct jp_token *t;
    size_t n;
    char *lits;
    int pivot; /* JP_YEAR2: this year - 30, as Joda's parser */
    /* the last local minute converted, so one mktime() serves a whole minute of lines */
    int c_ok, c_year, c_mon, c_day, c_hour, c_min;
    int64_t c_sec;
};

/* 0, or -1 with msg saying what is wrong (-2: out of memory). */
int joda_pattern_parse(struct joda_pattern *p, const char *pattern, char *msg, size_t msg_len);
void joda_pattern_free(struct joda_pattern *p);
/* Epoch milliseconds of text[0..n) read with p in local time; 0, or -1 with msg. */
int joda_pattern_millis(struct joda_pattern *p, const char *text, size_t n, int64_t *ms, char *msg,
                        size_t msg_len);

#endif
