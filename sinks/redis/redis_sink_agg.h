/*
 * Turning a batch of events into the redis sink's aggregate, without Redis: PCRE2 matching
 * (JIT, one match block reused), the groupBy and timeGroup captures, processing or event time
 * windows with lateness, and Kafka topic/partition/offset slices with re-delivery skipping.
 */
#ifndef SLUICE_REDIS_SINK_AGG_H
#define SLUICE_REDIS_SINK_AGG_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../../interceptors/common/newline_scan.h"
#include "../../interceptors/common/regex_ascii.h"
#include "../../interceptors/common/regex_literals.h"
#include "redis_sink_map.h"
#include "redis_sink_time.h"
#include "sluice/plugin.h"

#define RS_TP_MAX     320 /* "topic/partition": topics are at most 249 characters */
#define RS_FLOORS_MAX 256
#define RS_SAMPLE_MAX 160

struct rs_agg_conf {
    const char *regex;
    const char *group_by;   /* number or name; NULL: 1 */
    int event_time;         /* 0: processing time */
    const char *time_group; /* number or name; needed for event time */
    const char *time_format;
    int64_t window_ms;
    int64_t lateness_ms;
    int late_newest; /* 0: drop late events */
    size_t batch_size;
};

enum rs_unmatched_why { RS_UM_NONE, RS_UM_NOMATCH, RS_UM_GROUP, RS_UM_TIME, RS_UM_ERROR };

/* Offsets known to be applied (learned from a PARTIAL reply); skip events at or below. */
struct rs_floor {
    char tp[RS_TP_MAX];
    int64_t floor;
};

/* What one thread needs to run the regex: match data and a JIT stack (the compiled pattern
 * is shared, PCRE2 allows that). */
struct rs_match_block {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
};

struct rs_agg {
    struct rs_agg_conf c;
    pcre2_code *re;                 /* UTF-8 bodies only (the JIT does not check) */
    pcre2_code *re_lf;              /* re compiled with NEWLINE_LF (newline_scan.h), or NULL */
    pcre2_code *re_ascii;           /* for ASCII bodies (regex_ascii.h), or NULL */
    pcre2_code *re_invalid;         /* MATCH_INVALID_UTF, interpreter only: bodies not UTF-8 */
    struct regex_literals required; /* strings every match contains: a cheap reject first */
    struct rs_match_block mb;       /* the sink thread's; helper threads have their own */
    int jit;
    uint32_t group, time_group, n_groups;
    struct rs_tfmt tf;
    struct rs_tzcache tz;
    struct rs_map map;
    struct rs_floor floors[RS_FLOORS_MAX];
    size_t n_floors;
    /* event time: newest window start seen, as committed and within the current batch */
    int have_newest, batch_have_newest;
    int64_t newest_ws, batch_newest_ws;
    /* the batch's totals */
    uint64_t counted, unmatched, late, dups, bad_headers;
    /* the first unmatched event of the batch, for the log */
    enum rs_unmatched_why first_why;
    char first_sample[RS_SAMPLE_MAX];
    int first_pcre_rc;
};

/* Compile the regex, resolve the groups, compile the time format, size the map. Non-zero with
 * a message naming the regex and group on failure; rs_agg_free() accepts a half-built agg. */
int rs_agg_init(struct rs_agg *a, const struct rs_agg_conf *c, char *why, size_t why_len);
void rs_agg_free(struct rs_agg *a);

/* Start (or restart) aggregating a batch from the committed state. */
void rs_agg_begin(struct rs_agg *a);
/* What the regex found in one event: a pure function of its body, so it can be worked out
 * ahead of time (while Redis applies the previous batch) and counted later. */
#define RS_MATCH_UNSET SIZE_MAX
struct rs_match {
    int rc;              /* < 0: PCRE2's no-match or error code */
    size_t g_off, g_len; /* the groupBy capture; g_off RS_MATCH_UNSET when it did not take part */
    size_t t_off, t_len; /* the timeGroup capture (event time only), likewise */
};

/* Match one event. Uses the agg's match block: one thread at a time. */
void rs_agg_match(struct rs_agg *a, const struct sluice_event *ev, struct rs_match *m);
/* The same with a match block of the calling thread's own; the agg is only read, so several
 * threads can match events of one batch at once. */
void rs_agg_match_with(const struct rs_agg *a, struct rs_match_block *mb,
                       const struct sluice_event *ev, struct rs_match *m);
/* A match block for another thread; 0, or -1 when out of memory (mb is then empty). */
int rs_match_block_init(struct rs_match_block *mb, const struct rs_agg *a);
void rs_match_block_free(struct rs_match_block *mb);
/* Count one event from its match; now_ms is the processing time. Non-zero only when out of
 * memory. Events re-delivered from Kafka are skipped here, before the match is looked at. */
int rs_agg_add_matched(struct rs_agg *a, const struct sluice_event *ev, const struct rs_match *m,
                       int64_t now_ms);
/* Both in one: match, then count. */
int rs_agg_add(struct rs_agg *a, const struct sluice_event *ev, int64_t now_ms);
/* The batch was applied: keep its watermark and forget the floors. */
void rs_agg_commit(struct rs_agg *a);

/* Remember that tp is applied up to floor (kept until the batch commits). */
int rs_agg_set_floor(struct rs_agg *a, const char *tp, size_t len, int64_t floor);

/* The event-time watermark after the current batch: windows ending at or before it are
 * complete. 0 when no event time has been seen yet. */
int rs_agg_watermark(const struct rs_agg *a, int64_t *wm_ms);

const char *rs_unmatched_text(enum rs_unmatched_why w);

#endif
