/*
 * The syslog parser shared by syslogtcp and syslogudp against Flume's SyslogUtils behaviour:
 * RFC 5424 and RFC 3164 examples (the RFCs' and Flume's own test cases) with exact headers and
 * timestamps, the RFC 3164 year guess, malformed messages (Invalid), eventSize (Incomplete),
 * keepFields, octet-counted framing, framing across feeds and malformed UTF-8.
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

#include "../../sources/common/syslog_parse.h"

struct got {
    int facility, severity;
    char priority[8], version[8], host[256], status[16];
    int has_ts;
    int64_t ts;
    char body[4096];
    size_t body_len;
};

static struct got msgs[32];
static size_t n_msgs;
static int64_t fake_now;

static int64_t now_fn(void)
{
    return fake_now;
}

static int collect(void *arg, const struct syslog_msg *m)
{
    (void)arg;
    assert_true(n_msgs < 32);
    struct got *g = &msgs[n_msgs++];
    memset(g, 0, sizeof(*g));
    g->facility = m->facility;
    g->severity = m->severity;
    snprintf(g->priority, sizeof(g->priority), "%s", m->priority ? m->priority : "-");
    snprintf(g->version, sizeof(g->version), "%s", m->version ? m->version : "-");
    snprintf(g->host, sizeof(g->host), "%s", m->hostname ? m->hostname : "-");
    snprintf(g->status, sizeof(g->status), "%s", m->status ? m->status : "-");
    g->has_ts = m->has_timestamp;
    g->ts = m->timestamp_ms;
    assert_true(m->body_len < sizeof(g->body));
    memcpy(g->body, m->body, m->body_len);
    g->body_len = m->body_len;
    return 0;
}

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int setup(void **state)
{
    (void)state;
    n_msgs = 0;
    fake_now = 1730419200000; /* 2024-11-01T00:00:00Z */
    set_tz("UTC");
    return 0;
}

/* Feed text as a TCP stream (then end of input) with the given settings. */
static void parse_opts(const char *text, size_t len, size_t max, unsigned keep, int octet)
{
    struct syslog_parser p;
    char msg[128];
    assert_int_equal(syslog_parser_init(&p, max, keep, octet, msg, sizeof(msg)), 0);
    p.now_ms = now_fn;
    assert_int_equal(syslog_feed(&p, (const uint8_t *)text, len, collect, NULL), 0);
    assert_int_equal(syslog_flush(&p, collect, NULL), 0);
    syslog_parser_free(&p);
}

static void parse(const char *text)
{
    parse_opts(text, strlen(text), 2500, 0, 1);
}

static void expect(size_t i, int fac, int sev, const char *prio, const char *ver, const char *host,
                   const char *status, int64_t ts, const char *body)
{
    assert_true(i < n_msgs);
    struct got *g = &msgs[i];
    assert_int_equal(g->facility, fac);
    assert_int_equal(g->severity, sev);
    assert_string_equal(g->priority, prio);
    assert_string_equal(g->version, ver);
    assert_string_equal(g->host, host);
    assert_string_equal(g->status, status);
    if (ts < 0) {
        assert_false(g->has_ts);
    } else {
        assert_true(g->has_ts);
        assert_int_equal(g->ts, ts);
    }
    assert_int_equal(g->body_len, strlen(body));
    assert_memory_equal(g->body, body, g->body_len);
}

static void test_rfc5424_examples(void **state)
{
    (void)state;
    parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed "
          "for lonvick on /dev/pts/8\n"
          "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
          "make the do-nuts.\n"
          "<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg\n"
          "<10>1 2012-04-13T11:11:11 ubuntu-11.cloudera.com some msg\n"
          "<10>1 - ubuntu-11.cloudera.com some msg\n"
          "<10>1 2012-04-13T11:11:11Z - some msg\n");
    assert_int_equal(n_msgs, 6);
    expect(0, 4, 2, "34", "1", "mymachine.example.com", "-", 1065910455003,
           "su - ID47 - 'su root' failed for lonvick on /dev/pts/8");
    /* fraction: micro-seconds cut to 3 digits and, as in Flume, the offset is not applied */
    expect(1, 20, 5, "165", "1", "192.0.2.1", "-", 1061702055000,
           "myproc 8710 - - %% It's time to make the do-nuts.");
    expect(2, 1, 2, "10", "-", "ubuntu-11.cloudera.com", "-", 1334286671000, "some msg");
    expect(3, 1, 2, "10", "1", "ubuntu-11.cloudera.com", "-", 1334315471000, "some msg");
    expect(4, 1, 2, "10", "1", "ubuntu-11.cloudera.com", "-", -1, "some msg");
    expect(5, 1, 2, "10", "1", "-", "-", 1334315471000, "some msg");
}

static void test_rfc5424_local_time_like_flume(void **state)
{
    (void)state;
    set_tz("CET-1");                                /* UTC+1, no DST */
    parse("<34>1 2003-10-11T22:14:15.003Z host a\n" /* fraction: read as local time */
          "<34>1 2003-10-11T22:14:15Z host b\n"     /* no fraction: the zone counts */
          "<34>1 2003-10-11T22:14:15 host c\n");    /* no zone: local time */
    assert_int_equal(n_msgs, 3);
    assert_int_equal(msgs[0].ts, 1065910455003 - 3600000);
    assert_int_equal(msgs[1].ts, 1065910455000);
    assert_int_equal(msgs[2].ts, 1065910455000 - 3600000);
}

static void test_rfc3164_examples(void **state)
{
    (void)state;
    parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n"
          "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!\n"
          "<10>Oct 11 22:14:15 ubuntu-11.cloudera.com - hyphen_null_breaks_5424_pattern "
          "[07/Jun/2012:14:46:44 -0600]\n");
    assert_int_equal(n_msgs, 3);
    expect(0, 4, 2, "34", "-", "mymachine", "-", 1728684855000,
           "su: 'su root' failed for lonvick on /dev/pts/8");
    expect(1, 1, 5, "13", "-", "10.0.0.99", "-", 1707154338000, "Use the BFG!");
    expect(2, 1, 2, "10", "-", "ubuntu-11.cloudera.com", "-", 1728684855000,
           "- hyphen_null_breaks_5424_pattern [07/Jun/2012:14:46:44 -0600]");
}

static void test_rfc3164_year(void **state)
{
    (void)state;
    fake_now = 1736035200000; /* 2025-01-05: December is last year's */
    parse("<13>Dec 20 10:00:00 h m\n");
    fake_now = 1704844800000; /* 2024-01-10 */
    parse("<13>Dec 31 23:00:00 h m\n");
    fake_now = 1735689540000; /* 2024-12-31T23:59: a clock a little ahead: next year's */
    parse("<13>Jan  1 00:00:10 h m\n");
    assert_int_equal(n_msgs, 3);
    assert_int_equal(msgs[0].ts, 1734688800000);
    assert_int_equal(msgs[1].ts, 1704063600000);
    assert_int_equal(msgs[2].ts, 1735689610000);
}

static void test_invalid(void **state)
{
    (void)state;
    parse("<10F> bad bad data\n"
          "hi guys! <10> bad bad data\n"
          "<> bad bad data\n"
          "<123123123123> bad bad data\n");
    assert_int_equal(n_msgs, 4);
    expect(0, 0, 0, "-", "-", "-", "Invalid", -1, "<10F> bad bad data");
    expect(1, 0, 0, "-", "-", "-", "Invalid", -1, "hi guys! <10> bad bad data");
    expect(2, 0, 0, "-", "-", "-", "Invalid", -1, "<> bad bad data");
    expect(3, 0, 0, "-", "-", "-", "Invalid", -1, "<123123123123> bad bad data");
}

static void test_no_header_match_keeps_raw(void **state)
{
    (void)state;
    /* a valid priority but neither format: Facility/Severity, no status, the raw message */
    parse("<10>Good good good data\n<13>Oct 11 22:14:15 host msg\r\n"
          "<13>Oct 11 22:14:15 host\r\n");
    assert_int_equal(n_msgs, 3);
    expect(0, 1, 2, "-", "-", "-", "-", -1, "<10>Good good good data");
    /* Java's '.' does not take the \r of a CRLF line: no match */
    expect(1, 1, 5, "-", "-", "-", "-", -1, "<13>Oct 11 22:14:15 host msg\r");
    /* but \s does: a match with an empty message part, so the body is the raw message */
    expect(2, 1, 5, "13", "-", "host", "-", 1728684855000, "<13>Oct 11 22:14:15 host\r");
}

static void test_incomplete(void **state)
{
    (void)state;
    const char *in = "<10>abcdefghijklmn\n<11>x\n";
    parse_opts(in, strlen(in), 10, 0, 1);
    assert_int_equal(n_msgs, 3);
    expect(0, 1, 2, "-", "-", "-", "Incomplete", -1, "<10>abcdef");
    expect(1, 0, 0, "-", "-", "-", "Invalid", -1, "ghijklmn"); /* the rest, as Flume */
    expect(2, 1, 3, "-", "-", "-", "-", -1, "<11>x");
}

static void test_keep_fields(void **state)
{
    (void)state;
    const char *in = "<34>1 2003-10-11T22:14:15.003Z mymachine su - - hello\n";
    parse_opts(in, strlen(in), 2500, SYSLOG_KEEP_ALL, 1);
    parse_opts(in, strlen(in), 2500, SYSLOG_KEEP_TIMESTAMP | SYSLOG_KEEP_HOSTNAME, 1);
    parse_opts(in, strlen(in), 2500, SYSLOG_KEEP_PRIORITY | SYSLOG_KEEP_VERSION, 1);
    const char *in2 = "<34>Oct 11 22:14:15 mymachine su: x\n";
    parse_opts(in2, strlen(in2), 2500, SYSLOG_KEEP_PRIORITY | SYSLOG_KEEP_VERSION, 1);
    const char *in3 = "<34>1 - - msg\n";
    parse_opts(in3, strlen(in3), 2500, SYSLOG_KEEP_TIMESTAMP | SYSLOG_KEEP_HOSTNAME, 1);
    assert_int_equal(n_msgs, 5);
    assert_string_equal(msgs[0].body, "<34>1 2003-10-11T22:14:15.003Z mymachine su - - hello");
    assert_string_equal(msgs[0].host, "mymachine"); /* headers are still set */
    assert_string_equal(msgs[1].body, "2003-10-11T22:14:15.003Z mymachine su - - hello");
    assert_string_equal(msgs[2].body, "<34>1 su - - hello");
    assert_string_equal(msgs[3].body, "<34>su: x");     /* no version in RFC 3164 */
    assert_string_equal(msgs[4].body, "null null msg"); /* Java's "" + null */
}

static void test_keep_fields_parse(void **state)
{
    (void)state;
    char unknown[64];
    assert_int_equal(syslog_keep_fields("none", unknown, sizeof(unknown)), 0);
    assert_int_equal(syslog_keep_fields(" False ", unknown, sizeof(unknown)), 0);
    assert_int_equal(syslog_keep_fields("ALL", unknown, sizeof(unknown)), SYSLOG_KEEP_ALL);
    assert_int_equal(syslog_keep_fields("true", unknown, sizeof(unknown)), SYSLOG_KEEP_ALL);
    assert_int_equal(syslog_keep_fields("hostname Timestamp", unknown, sizeof(unknown)),
                     SYSLOG_KEEP_HOSTNAME | SYSLOG_KEEP_TIMESTAMP);
    assert_string_equal(unknown, "");
    assert_int_equal(syslog_keep_fields("host priority", unknown, sizeof(unknown)),
                     SYSLOG_KEEP_PRIORITY);
    assert_string_equal(unknown, "host");
}

static void test_octet_counting(void **state)
{
    (void)state;
    char in[256];
    const char *m1 = "<13>1 - h app - two\nlines";
    const char *m2 = "<14>Oct 11 22:14:15 h x";
    int n =
        snprintf(in, sizeof(in), "%zu %s%zu %s<15>plain line\n", strlen(m1), m1, strlen(m2), m2);
    parse_opts(in, (size_t)n, 2500, 0, 1);
    assert_int_equal(n_msgs, 3);
    /* a newline inside a frame is data, so the 5424 pattern does not match: raw body */
    expect(0, 1, 5, "-", "-", "-", "-", -1, m1);
    expect(1, 1, 6, "14", "-", "h", "-", 1728684855000, "x");
    expect(2, 1, 7, "-", "-", "-", "-", -1, "<15>plain line");
    /* with framing off, a leading digit is just an invalid message */
    n_msgs = 0;
    parse_opts("12 x\n", 5, 2500, 0, 0);
    assert_int_equal(n_msgs, 1);
    expect(0, 0, 0, "-", "-", "-", "Invalid", -1, "12 x");
    /* digits not followed by a space are not a frame either */
    n_msgs = 0;
    parse_opts("12x\n", 4, 2500, 0, 1);
    assert_int_equal(n_msgs, 1);
    expect(0, 0, 0, "-", "-", "-", "Invalid", -1, "12x");
}

static void test_split_feeds_and_eof(void **state)
{
    (void)state;
    struct syslog_parser p;
    char msg[128];
    const char *in = "\n\n<13>Oct 11 22:14:15 host one\n<13>Oct 11 22:14:15 host two";
    assert_int_equal(syslog_parser_init(&p, 2500, 0, 1, msg, sizeof(msg)), 0);
    p.now_ms = now_fn;
    for (size_t i = 0; in[i]; i++) /* one byte at a time */
        assert_int_equal(syslog_feed(&p, (const uint8_t *)in + i, 1, collect, NULL), 0);
    assert_int_equal(n_msgs, 1);
    assert_int_equal(syslog_flush(&p, collect, NULL), 0); /* end of input: the last one */
    assert_int_equal(syslog_flush(&p, collect, NULL), 0); /* nothing pending: nothing */
    syslog_parser_free(&p);
    assert_int_equal(n_msgs, 2);
    assert_string_equal(msgs[0].body, "one");
    assert_string_equal(msgs[1].body, "two");
}

static void test_malformed_utf8(void **state)
{
    (void)state;
    parse("<13>Oct 11 22:14:15 host caf\xe9 \xe2\x82\n" /* matched: replaced */
          "<13>Oct 11 22:14:15 host sep\xe2\x80\xa8x\n" /* U+2028: Java's . stops */
          "<13>raw \xff\n");                            /* unmatched: raw bytes */
    assert_int_equal(n_msgs, 3);
    assert_string_equal(msgs[0].body, "caf\xef\xbf\xbd \xef\xbf\xbd");
    assert_string_equal(msgs[1].host, "-");
    assert_string_equal(msgs[1].body, "<13>Oct 11 22:14:15 host sep\xe2\x80\xa8x");
    assert_string_equal(msgs[2].body, "<13>raw \xff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_rfc5424_examples, setup),
        cmocka_unit_test_setup(test_rfc5424_local_time_like_flume, setup),
        cmocka_unit_test_setup(test_rfc3164_examples, setup),
        cmocka_unit_test_setup(test_rfc3164_year, setup),
        cmocka_unit_test_setup(test_invalid, setup),
        cmocka_unit_test_setup(test_no_header_match_keeps_raw, setup),
        cmocka_unit_test_setup(test_incomplete, setup),
        cmocka_unit_test_setup(test_keep_fields, setup),
        cmocka_unit_test_setup(test_keep_fields_parse, setup),
        cmocka_unit_test_setup(test_octet_counting, setup),
        cmocka_unit_test_setup(test_split_feeds_and_eof, setup),
        cmocka_unit_test_setup(test_malformed_utf8, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
