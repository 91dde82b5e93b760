/*
 * Syslog message parsing as Flume's SyslogUtils does it, shared by syslogtcp and syslogudp:
 * the byte state machine that frames messages ('\n'-delimited, eventSize cut-off, Invalid /
 * Incomplete status), RFC 5424 and RFC 3164 header matching with Flume's regular expressions,
 * Flume's timestamp rules (syslog_time.c) and keepFields. RFC 6587 octet-counted framing
 * ("LEN SP MSG") is recognised too when enabled.
 */
#ifndef SLUICE_SYSLOG_PARSE_H
#define SLUICE_SYSLOG_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* keepFields as a mask */
#define SYSLOG_KEEP_PRIORITY  1u
#define SYSLOG_KEEP_VERSION   2u
#define SYSLOG_KEEP_TIMESTAMP 4u
#define SYSLOG_KEEP_HOSTNAME  8u
#define SYSLOG_KEEP_ALL       16u

/*
 * Flume's chooseFieldsToKeep: "none"/"false" -> 0, "all"/"true" -> ALL, otherwise each of
 * priority, version, timestamp, hostname that occurs in the (lower-cased) text. Words that name
 * none of them are copied to `unknown` (space-separated) so the caller can warn.
 */
unsigned syslog_keep_fields(const char *value, char *unknown, size_t unknown_len);

/* One parsed message; pointers are valid during the callback only. */
struct syslog_msg {
    int facility, severity;
    const char *priority; /* header "priority": the digits, or NULL */
    const char *version;  /* header "version", or NULL */
    int has_timestamp;
    int64_t timestamp_ms; /* header "timestamp" */
    const char *hostname; /* header "host", or NULL */
    const char *status;   /* header "flume.syslog.status": "Invalid", "Incomplete" or NULL */
    const uint8_t *body;
    size_t body_len;
};

/* Return 0 to go on; non-zero stops the feed and is returned from it. */
typedef int (*syslog_msg_fn)(void *arg, const struct syslog_msg *m);

enum syslog_mode { SP_START, SP_PRIO, SP_DATA, SP_OCTLEN };

struct syslog_parser {
    /* settings */
    size_t max_size; /* eventSize: a message is cut (Incomplete) at this many bytes */
    unsigned keep;
    int octet_framing;
    int64_t (*now_ms)(void); /* wall clock in ms; tests may replace it */
    /* framing state */
    enum syslog_mode mode;
    uint8_t *buf; /* the message so far, max_size (+ a little) bytes */
    size_t len, cap;
    char prio[4];
    size_t prio_len;
    int bad, incomplete;
    int in_frame; /* inside an octet-counted frame of frame_left more bytes */
    size_t frame_left, octlen;
    /* scratch for building one message */
    uint8_t *text; /* the message as Java's String sees it (malformed UTF-8 replaced) */
    uint8_t *body; /* the body with kept fields */
    size_t text_cap, body_cap;
    void *match; /* pcre2_match_data */
};

/* 0, or SLUICE_ENOMEM / SLUICE_EINVAL with msg. */
int syslog_parser_init(struct syslog_parser *p, size_t max_size, unsigned keep, int octet_framing,
                       char *msg, size_t msg_len);
void syslog_parser_free(struct syslog_parser *p);
/* Forget a partial message (a new connection). */
void syslog_parser_reset(struct syslog_parser *p);
/* Feed bytes of a stream; fn is called for every message they complete. 0, fn's non-zero
 * result, or SLUICE_ENOMEM. */
int syslog_feed(struct syslog_parser *p, const uint8_t *data, size_t n, syslog_msg_fn fn,
                void *arg);
/* End of input (connection closed, end of a datagram): a partial message becomes a message.
 * Nothing happens when no bytes are pending. */
int syslog_flush(struct syslog_parser *p, syslog_msg_fn fn, void *arg);

/* ---- syslog_time.c: Flume's timestamp rules ------------------------------------------- */

/* An RFC 5424 stamp as matched by Flume's regex ("2012-04-13T11:11:11.123+02:00", "...Z").
 * 1 with *ms, or 0 when Flume's formats do not parse it. As in Flume, a stamp with fractional
 * seconds is read in local time and its offset ignored (the first format matches a prefix). */
int syslog_time_5424(const char *s, size_t n, int64_t *ms);
/* An RFC 3164 stamp ("Oct 11 22:14:15", "Oct  1 22:14:15") in local time, with the year
 * chosen as Flume does: the current year, moved back one when the result is more than a month
 * ahead of now_ms, forward one when it is more than eleven months behind. */
int syslog_time_3164(const char *s, size_t n, int64_t now_ms, int64_t *ms);

#endif
