/*
 * The redis sink's pure logic, no Redis: durations, epoch-aligned windows, the SimpleDateFormat
 * subset in a real local time zone (Europe/Berlin, with DST), groupBy by number and name with
 * the errors naming regex and group, late events, and Kafka re-delivery skipping in a batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "event.h"
#include "redis_sink_agg.h"
#include "redis_sink_matcher.h"

#define SEED_RE                                                                                    \
    "(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/"                                   \
    "(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)"

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* ---- durations and windows ---------------------------------------------------------------- */

static void test_durations(void **state)
{
    (void)state;
    char why[200];
    int64_t ms;
    assert_int_equal(rs_duration_parse("15s", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 15000);
    assert_int_equal(rs_duration_parse("1m", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(rs_duration_parse("500ms", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(rs_duration_parse("2h", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(rs_duration_parse("1d", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(rs_duration_parse("30 S", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(rs_duration_parse("0", &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, 0);
    assert_int_not_equal(rs_duration_parse("15", &ms, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "no unit"));
    assert_int_not_equal(rs_duration_parse("15x", &ms, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "unknown unit 'x'"));
    assert_int_not_equal(rs_duration_parse("", &ms, why, sizeof(why)), 0);
    assert_int_not_equal(rs_duration_parse("-5s", &ms, why, sizeof(why)), 0);
    assert_int_not_equal(rs_duration_parse("99999999999999999999d", &ms, why, sizeof(why)), 0);
}

static void test_window_boundaries(void **state)
{
    (void)state;
    assert_int_equal(rs_window_start(0, 15000), 0);
    assert_int_equal(rs_window_start(14999, 15000), 0);
    assert_int_equal(rs_window_start(15000, 15000), 15000);
    assert_int_equal(rs_window_start(1764057614999, 15000), 1764057600000);
    assert_int_equal(rs_window_start(1764057615000, 15000), 1764057615000);
    assert_int_equal(rs_window_start(-1, 15000), -15000);
    assert_int_equal(rs_window_start(1499, 500), 1000);
    char id[32];
    rs_window_id(1764057600000, id, sizeof(id));
    assert_string_equal(id, "1764057600");
    rs_window_id(1764057600500, id, sizeof(id));
    assert_string_equal(id, "1764057600.500");
    rs_window_id(-15000, id, sizeof(id));
    assert_string_equal(id, "-15");
}

/* ---- time formats ------------------------------------------------------------------------ */

static int64_t parse(const char *pattern, const char *text, int *rc)
{
    struct rs_tfmt tf;
    char why[200];
    assert_int_equal(rs_tfmt_compile(&tf, pattern, why, sizeof(why)), 0);
    struct rs_tzcache tz = {0};
    int64_t ms = 0;
    *rc = rs_tfmt_parse(&tf, &tz, text, strlen(text), &ms);
    return ms;
}

static void test_time_format_utc(void **state)
{
    (void)state;
    set_tz("UTC");
    int rc;
    /* 2026-11-25 08:00:00 UTC = 1795593600 */
    assert_int_equal(parse("yyyy-MM-dd HH:mm:ss,SSS", "2026-11-25 08:00:00,123", &rc),
                     1795593600123);
    assert_int_equal(rc, 0);
    assert_int_equal(parse("yyyy-MM-dd HH:mm:ss,SSS", "2026-11-25 08:00:07,5", &rc), 1795593607005);
    assert_int_equal(rc, 0);
    assert_int_equal(parse("yyyyMMddHHmmssSSS", "20261125080000999", &rc), 1795593600999);
    assert_int_equal(rc, 0);
    assert_int_equal(parse("yyyy-MM-dd'T'HH:mm:ss", "2026-11-25T08:00:01", &rc), 1795593601000);
    assert_int_equal(rc, 0);
    assert_int_equal(parse("dd/MM/yyyy HH:mm", "25/11/2026 08:01", &rc), 1795593660000);
    assert_int_equal(rc, 0);
    assert_int_equal(parse("yyyy-MM-dd 'o''clock' HH", "2026-11-25 o'clock 08", &rc),
                     1795593600000);
    assert_int_equal(rc, 0);
    /* leap day */
    assert_int_equal(parse("yyyy-MM-dd", "2024-02-29", &rc), 1709164800000);
    assert_int_equal(rc, 0);
    static const char *const bad[] = {"2026-13-25 08:00:00,000",
                                      "2026-02-30 08:00:00,000",
                                      "2025-02-29 08:00:00,000",
                                      "2026-11-25 24:00:00,000",
                                      "2026-11-25 08:60:00,000",
                                      "2026-11-25 08:00:60,000",
                                      "2026-11-25 08:00:00,1000",
                                      "2026-11-25 08:00:00",
                                      "2026-11-25 08:00:00,000x",
                                      "2026-11-25T08:00:00,000",
                                      "",
                                      "x026-11-25 08:00:00,000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parse("yyyy-MM-dd HH:mm:ss,SSS", bad[i], &rc);
        if (rc == 0)
            fail_msg("'%s' parsed", bad[i]);
    }
    parse("yyyyMMdd", "20261", &rc); /* adjacent fields take exactly their width */
    assert_int_not_equal(rc, 0);
    assert_int_equal(parse("yyyyMMdd", "2026112", &rc), 1793577600000); /* as Java: 2026-11-02 */
    assert_int_equal(rc, 0);
}

static void test_time_format_local_zone(void **state)
{
    (void)state;
    set_tz("Europe/Berlin");
    int rc;
    /* winter: CET = UTC+1 */
    assert_int_equal(parse("yyyy-MM-dd HH:mm:ss,SSS", "2026-11-25 09:00:00,250", &rc),
                     1795593600250);
    assert_int_equal(rc, 0);
    /* summer: CEST = UTC+2; 2026-07-01 10:00:00 local = 08:00:00 UTC = 1782892800 */
    assert_int_equal(parse("yyyy-MM-dd HH:mm:ss,SSS", "2026-07-01 10:00:00,000", &rc),
                     1782892800000);
    assert_int_equal(rc, 0);
    /* across the spring-forward change (2026-03-29 02:00 CET -> 03:00 CEST): 01:59:59 and
     * 03:00:00 local are one second apart */
    int64_t a = parse("yyyy-MM-dd HH:mm:ss", "2026-03-29 01:59:59", &rc);
    int64_t b = parse("yyyy-MM-dd HH:mm:ss", "2026-03-29 03:00:00", &rc);
    assert_int_equal(b - a, 1000);
    char buf[32];
    rs_format_local(1795593615000, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-25 09:00:15");
    set_tz("Asia/Kolkata"); /* UTC+5:30 */
    assert_int_equal(parse("yyyy-MM-dd HH:mm:ss,SSS", "2026-11-25 13:30:00,000", &rc),
                     1795593600000);
    rs_format_local(1795593600000, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-25 13:30:00");
    set_tz("UTC");
}

static void test_time_format_errors(void **state)
{
    (void)state;
    struct rs_tfmt tf;
    char why[200];
    assert_int_not_equal(rs_tfmt_compile(&tf, "yy-MM-dd", why, sizeof(why)), 0);
    assert_non_null(strstr(why, "yy"));
    assert_int_not_equal(rs_tfmt_compile(&tf, "dd MMM yyyy", why, sizeof(why)), 0);
    assert_non_null(strstr(why, "MMM"));
    assert_int_not_equal(rs_tfmt_compile(&tf, "yyyy-MM-dd hh:mm a", why, sizeof(why)), 0);
    assert_non_null(strstr(why, "'h'"));
    assert_int_not_equal(rs_tfmt_compile(&tf, "yyyy-MM-dd'T", why, sizeof(why)), 0);
    assert_non_null(strstr(why, "unterminated"));
    assert_int_not_equal(rs_tfmt_compile(&tf, "yyyy yyyy", why, sizeof(why)), 0);
    assert_int_not_equal(rs_tfmt_compile(&tf, "", why, sizeof(why)), 0);
    assert_int_not_equal(rs_tfmt_compile(&tf, "'just text'", why, sizeof(why)), 0);
    assert_int_equal(rs_tfmt_compile(&tf, "HH:mm:ss", why, sizeof(why)), 0);
    assert_false(tf.has_date);
}

/* ---- aggregation ------------------------------------------------------------------------- */

struct fx {
    struct rs_agg a;
    struct sluice_event *evs[64];
    size_t n;
};

static void agg_init_ok(struct rs_agg *a, const struct rs_agg_conf *c)
{
    char why[512];
    if (rs_agg_init(a, c, why, sizeof(why)) != 0)
        fail_msg("rs_agg_init: %s", why);
}

static int agg_err(const struct rs_agg_conf *c, char *why, size_t len)
{
    struct rs_agg a;
    int rc = rs_agg_init(&a, c, why, len);
    rs_agg_free(&a);
    return rc;
}

/* Add an event (body, then "k", "v" header pairs, NULL) and free it. */
static void add(struct rs_agg *a, int64_t now, const char *body, ...)
{
    struct sluice_event *ev = event_new(body, strlen(body));
    va_list ap;
    va_start(ap, body);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;)
        event_header_set(ev, k, va_arg(ap, const char *));
    va_end(ap);
    assert_int_equal(rs_agg_add(a, ev, now), 0);
    event_free(ev);
}

/* Count of (window start, group) in the aggregate, over all slices. */
static int64_t count_of(const struct rs_agg *a, int64_t ws, const char *g)
{
    int64_t n = 0;
    const struct rs_map *m = &a->map;
    for (uint32_t i = 0; i < m->ne; i++) {
        const struct rs_entry *e = &m->e[i];
        if (m->w[e->win].start_ms == ws && e->glen == strlen(g) &&
            memcmp(rs_map_str(m, e->goff), g, e->glen) == 0)
            n += e->count;
    }
    return n;
}

static void test_group_by_number_and_name(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {
        .regex = SEED_RE, .group_by = "2", .window_ms = 15000, .batch_size = 16};
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    const char *l1 = "2026-11-25 08:00:00,001 INFO x: ugi=hive\tip=/10.0.0.1\tcmd=get_table : "
                     "db=d tbl=t1\t";
    const char *l2 = "2026-11-25 08:00:00,002 INFO x: ugi=hive\tip=/10.0.0.2\tcmd=get_table : "
                     "db=d tbl=t2\t";
    add(&a, 1000, l1, NULL);
    add(&a, 2000, l1, NULL);
    add(&a, 16000, l2, NULL);
    add(&a, 3000, "no ip here", NULL);
    assert_int_equal(a.counted, 3);
    assert_int_equal(a.unmatched, 1);
    assert_int_equal(a.first_why, RS_UM_NOMATCH);
    assert_string_equal(a.first_sample, "no ip here");
    assert_int_equal(count_of(&a, 0, "10.0.0.1"), 2);
    assert_int_equal(count_of(&a, 15000, "10.0.0.2"), 1);
    rs_agg_free(&a);

    c.regex = "ip=/(?<ip>[0-9.]+).*tbl=(?<tbl>\\w+)";
    c.group_by = "tbl";
    agg_init_ok(&a, &c);
    assert_int_equal(a.group, 2);
    rs_agg_begin(&a);
    add(&a, 1000, l1, NULL);
    add(&a, 1000, l2, NULL);
    add(&a, 1000, l2, NULL);
    assert_int_equal(count_of(&a, 0, "t2"), 2);
    assert_int_equal(count_of(&a, 0, "t1"), 1);
    rs_agg_free(&a);
}

/* Bodies that are not ASCII: valid UTF-8 takes the UTF compile, where \S matches "ö" (the
 * JIT with MATCH_INVALID_UTF would miss it), and a body that is not valid UTF-8 is matched by
 * the interpreter, its malformed bytes matching nothing. */
static void test_non_ascii_bodies(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {
        .regex = "user=(\\S+) x", .group_by = "1", .window_ms = 15000, .batch_size = 16};
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    add(&a, 1000, "user=J\xc3\xb6rg x", NULL);
    add(&a, 1000, "user=J\xc3\xb6rg x\r\xe2\x80\xa8", NULL);
    add(&a, 1000, "user=bob x", NULL);
    add(&a, 1000, "user=bob x\r", NULL);
    add(&a, 1000, "\xff user=al x", NULL);
    add(&a, 1000, "user=J\xffrg x", NULL);
    assert_int_equal(count_of(&a, 0, "J\xc3\xb6rg"), 2);
    assert_int_equal(count_of(&a, 0, "bob"), 2);
    assert_int_equal(count_of(&a, 0, "al"), 1);
    assert_int_equal(a.counted, 5);
    assert_int_equal(a.unmatched, 1);
    rs_agg_free(&a);
}

static void test_group_errors(void **state)
{
    (void)state;
    char why[512];
    struct rs_agg_conf c = {
        .regex = SEED_RE, .group_by = "4", .window_ms = 15000, .batch_size = 16};
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "groupBy = 4"));
    assert_non_null(strstr(why, "tbl=([a-zA-Z0-9_]+)")); /* the regex is quoted */
    assert_non_null(strstr(why, "only 3 capture groups"));
    c.group_by = "ip";
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "no group named 'ip'"));
    assert_non_null(strstr(why, "no named groups"));
    c.regex = "(?<addr>[0-9.]+) (?<t>x)";
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "its named groups: addr, t"));
    c.regex = "(unclosed";
    c.group_by = "1";
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "does not compile"));
    assert_non_null(strstr(why, "(unclosed"));
    c.regex = SEED_RE;
    c.event_time = 1;
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "timeGroup"));
    c.time_group = "9";
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "timeGroup = 9"));
    c.time_group = "1";
    c.time_format = "yyyy-MM-dd hh";
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "timeFormat"));
    c.time_format = NULL;
    c.window_ms = 0;
    assert_int_not_equal(agg_err(&c, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "window"));
}

static void test_group_not_participating(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {
        .regex = "ip=(\\S+)|host=(\\S+)", .group_by = "2", .window_ms = 1000, .batch_size = 8};
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    add(&a, 0, "ip=1.2.3.4", NULL);
    add(&a, 0, "host=h1", NULL);
    assert_int_equal(a.counted, 1);
    assert_int_equal(a.unmatched, 1);
    assert_int_equal(a.first_why, RS_UM_GROUP);
    assert_int_equal(count_of(&a, 0, "h1"), 1);
    rs_agg_free(&a);
}

static const char *line_at(char *buf, size_t len, const char *ts, const char *ip)
{
    snprintf(buf, len, "%s INFO a: ugi=u\tip=/%s\tcmd=get_table : db=d tbl=t\t", ts, ip);
    return buf;
}

static void test_event_time_and_late(void **state)
{
    (void)state;
    set_tz("UTC");
    struct rs_agg a;
    char b[256];
    struct rs_agg_conf c = {.regex = SEED_RE,
                            .group_by = "2",
                            .event_time = 1,
                            .time_group = "1",
                            .window_ms = 15000,
                            .batch_size = 16};
    agg_init_ok(&a, &c);
    const int64_t base = 1795593600000; /* 2026-11-25 08:00:00 UTC */
    rs_agg_begin(&a);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:14,999", "1.1.1.1"), NULL);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:15,000", "1.1.1.1"), NULL);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:31,000", "1.1.1.1"), NULL);
    /* newest window starts 08:00:30: 08:00:29,999 is late (allowedLateness 0) */
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:29,999", "1.1.1.1"), NULL);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:30,000", "2.2.2.2"), NULL);
    add(&a, 0, line_at(b, sizeof(b), "2026-13-25 08:00:30,000", "2.2.2.2"), NULL); /* month 13 */
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:3x,000", "2.2.2.2"), NULL); /* no match */
    assert_int_equal(count_of(&a, base, "1.1.1.1"), 1);
    assert_int_equal(count_of(&a, base + 15000, "1.1.1.1"), 1);
    assert_int_equal(count_of(&a, base + 30000, "1.1.1.1"), 1);
    assert_int_equal(count_of(&a, base + 30000, "2.2.2.2"), 1);
    assert_int_equal(a.late, 1);
    assert_int_equal(a.unmatched, 2);
    assert_int_equal(a.first_why, RS_UM_TIME);
    int64_t wm;
    assert_true(rs_agg_watermark(&a, &wm));
    assert_int_equal(wm, base + 30000);
    /* a retry of the batch starts from the committed watermark, not from this batch's */
    rs_agg_begin(&a);
    assert_false(rs_agg_watermark(&a, &wm));
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:29,999", "1.1.1.1"), NULL);
    assert_int_equal(a.late, 0);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:31,000", "1.1.1.1"), NULL);
    rs_agg_commit(&a);
    rs_agg_begin(&a);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:10,000", "1.1.1.1"), NULL);
    assert_int_equal(a.late, 1); /* the committed watermark carries over */
    rs_agg_free(&a);

    /* allowedLateness 20s, late events go to the newest window */
    c.lateness_ms = 20000;
    c.late_newest = 1;
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:01:00,000", "1.1.1.1"), NULL);
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:40,000", "1.1.1.1"), NULL); /* in time */
    add(&a, 0, line_at(b, sizeof(b), "2026-11-25 08:00:39,999", "1.1.1.1"), NULL); /* late */
    assert_int_equal(a.late, 1);
    assert_int_equal(count_of(&a, base + 30000, "1.1.1.1"), 1);
    assert_int_equal(count_of(&a, base + 60000, "1.1.1.1"), 2);
    assert_true(rs_agg_watermark(&a, &wm));
    assert_int_equal(wm, base + 40000);
    rs_agg_free(&a);
}

static void test_processing_time_windows(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {.regex = "ip=(\\S+)", .window_ms = 15000, .batch_size = 8};
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    add(&a, 1795593614999, "ip=a", NULL);
    add(&a, 1795593615000, "ip=a", NULL);
    assert_int_equal(count_of(&a, 1795593600000, "a"), 1);
    assert_int_equal(count_of(&a, 1795593615000, "a"), 1);
    assert_int_equal(a.map.nw, 2);
    rs_agg_free(&a);
}

static void test_kafka_slices(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {.regex = "ip=(\\S+)", .window_ms = 15000, .batch_size = 32};
    agg_init_ok(&a, &c);
    rs_agg_begin(&a);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "10", NULL);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "11", NULL);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "11", NULL); /* again */
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "9", NULL);  /* older */
    add(&a, 0, "ip=b", "topic", "t", "partition", "1", "offset", "5", NULL);
    add(&a, 0, "no", "topic", "t", "partition", "1", "offset", "6", NULL);
    add(&a, 0, "ip=c", NULL);                                                /* no headers */
    add(&a, 0, "ip=c", "topic", "t", "partition", "x", "offset", "1", NULL); /* malformed */
    assert_int_equal(a.dups, 2);
    assert_int_equal(a.bad_headers, 1);
    assert_int_equal(count_of(&a, 0, "a"), 2);
    assert_int_equal(count_of(&a, 0, "c"), 2);
    assert_int_equal(a.map.ns, 3);
    const struct rs_slice *s0 = &a.map.s[0], *s1 = &a.map.s[1];
    assert_int_equal(s0->lo, 10);
    assert_int_equal(s0->hi, 11);
    assert_int_equal(s1->lo, 5);
    assert_int_equal(s1->hi, 6); /* the unmatched event's offset is consumed too */
    assert_int_equal(s1->unmatched, 1);
    assert_int_equal(s1->n_entries, 1);
    /* a floor learned from Redis: t/0 is applied up to 10 */
    assert_int_equal(rs_agg_set_floor(&a, "t/0", 3, 10), 0);
    rs_agg_begin(&a);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "9", NULL);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "10", NULL);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "11", NULL);
    assert_int_equal(count_of(&a, 0, "a"), 1);
    assert_int_equal(a.map.s[0].lo, 11);
    rs_agg_commit(&a); /* floors are per batch */
    rs_agg_begin(&a);
    add(&a, 0, "ip=a", "topic", "t", "partition", "0", "offset", "9", NULL);
    assert_int_equal(count_of(&a, 0, "a"), 1);
    rs_agg_free(&a);
}

/* A batch matched by 4 threads gives, event for event, what one thread gives: the parts meet
 * without a gap or overlap whatever the remainder, and a short batch stays on one thread. */
static void test_matcher_threads_agree(void **state)
{
    (void)state;
    struct rs_agg a;
    struct rs_agg_conf c = {
        .regex = SEED_RE, .group_by = "2", .window_ms = 15000, .batch_size = 4096};
    agg_init_ok(&a, &c);
    enum { N = 1003 };
    struct sluice_event **evs = calloc(N, sizeof(*evs));
    struct rs_match *one = calloc(N, sizeof(*one)), *four = calloc(N + 1, sizeof(*four));
    assert_non_null(evs);
    assert_non_null(one);
    assert_non_null(four);
    char b[256];
    for (int i = 0; i < N; i++) {
        if (i % 10 == 3)
            snprintf(b, sizeof(b), "2026-11-25 08:00:00,%03d no match %d", i % 1000, i);
        else
            snprintf(b, sizeof(b),
                     "2026-11-25 08:00:00,%03d INFO x: ugi=u\tip=/10.%d.%d.%d\tcmd=c : db=d "
                     "tbl=t%d\t",
                     i % 1000, i % 3, i % 7, i % 251, i);
        evs[i] = event_new(b, strlen(b));
    }
    for (int i = 0; i < N; i++)
        rs_agg_match(&a, evs[i], &one[i]);
    char why[200];
    struct rs_matcher mt;
    assert_int_equal(rs_matcher_start(&mt, &a, 4, why, sizeof(why)), 4);
    for (size_t n = N; n >= 1; n = n > 300 ? n - 299 : n / 2) {
        memset(four, 0xA5, (N + 1) * sizeof(*four));
        rs_matcher_run(&mt, &a, evs, four, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(four[i].rc, one[i].rc);
            if (one[i].rc >= 0) {
                assert_int_equal(four[i].g_off, one[i].g_off);
                assert_int_equal(four[i].g_len, one[i].g_len);
            }
        }
        assert_int_equal(four[n].rc, (int)0xA5A5A5A5); /* nothing past the batch written */
    }
    rs_matcher_stop(&mt);
    assert_int_equal(rs_matcher_start(&mt, &a, 1, why, sizeof(why)), 1); /* no helpers */
    rs_matcher_run(&mt, &a, evs, four, N);
    assert_int_equal(four[N - 1].rc, one[N - 1].rc);
    rs_matcher_stop(&mt);
    for (int i = 0; i < N; i++)
        event_free(evs[i]);
    free(evs);
    free(one);
    free(four);
    rs_agg_free(&a);
}

static void test_map_capacity_and_reset(void **state)
{
    (void)state;
    struct rs_map m;
    assert_int_equal(rs_map_init(&m, 100), 0);
    for (int round = 0; round < 3; round++) {
        rs_map_reset(&m);
        uint32_t w, s;
        int created;
        assert_int_equal(rs_map_window(&m, 15000, &w), 0);
        assert_int_equal(rs_map_slice(&m, "", 0, &s, &created), 0);
        assert_int_equal(created, 1);
        char g[32];
        for (int i = 0; i < 100; i++) {
            int n = snprintf(g, sizeof(g), "group-%d-%d", round, i);
            assert_int_equal(rs_map_add(&m, s, w, g, (size_t)n, 1), 0);
        }
        assert_int_equal(m.ne, 100);
        int n = snprintf(g, sizeof(g), "group-%d-%d", round, 7);
        assert_int_equal(rs_map_add(&m, s, w, g, (size_t)n, 5), 0);
        assert_int_equal(m.ne, 100);
        assert_int_equal(rs_map_add(&m, s, w, "one too many", 12, 1), -1); /* bounded */
        int64_t total = 0;
        for (uint32_t e = m.s[s].first; e; e = m.e[e - 1].next)
            total += m.e[e - 1].count;
        assert_int_equal(total, 105);
    }
    /* group texts far beyond the initial arena */
    rs_map_reset(&m);
    uint32_t w, s;
    int created;
    assert_int_equal(rs_map_window(&m, 0, &w), 0);
    assert_int_equal(rs_map_slice(&m, "", 0, &s, &created), 0);
    char *big = malloc(200000);
    memset(big, 'x', 200000);
    for (int i = 0; i < 10; i++) {
        big[0] = (char)('a' + i);
        assert_int_equal(rs_map_add(&m, s, w, big, 200000, 1), 0);
    }
    assert_int_equal(m.ne, 10);
    assert_int_equal(rs_map_str(&m, m.e[9].goff)[0], 'j');
    free(big);
    rs_map_free(&m);
}

int main(void)
{
    set_tz("UTC");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_window_boundaries),
        cmocka_unit_test(test_time_format_utc),
        cmocka_unit_test(test_time_format_local_zone),
        cmocka_unit_test(test_time_format_errors),
        cmocka_unit_test(test_group_by_number_and_name),
        cmocka_unit_test(test_non_ascii_bodies),
        cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_group_not_participating),
        cmocka_unit_test(test_event_time_and_late),
        cmocka_unit_test(test_processing_time_windows),
        cmocka_unit_test(test_kafka_slices),
        cmocka_unit_test(test_map_capacity_and_reset),
        cmocka_unit_test(test_matcher_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
