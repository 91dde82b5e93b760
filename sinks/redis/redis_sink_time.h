/*
 * Time for the redis sink, free of Redis and of the agent: durations ("15s"), window math
 * (epoch-aligned, floor division), a compiled subset of Java's SimpleDateFormat for parsing
 * event times in the local time zone, and the local-time texts the seed's hash uses.
 */
#ifndef SLUICE_REDIS_SINK_TIME_H
#define SLUICE_REDIS_SINK_TIME_H

#include <stddef.h>
#include <stdint.h>

/* "15s", "1m", "500ms", "2h", "1d", or "0": milliseconds in *ms. Non-zero on error, with a
 * reason in why. */
int rs_duration_parse(const char *s, int64_t *ms, char *why, size_t why_len);

/* floor(a / b) for b > 0, also for negative a. */
int64_t rs_floor_div(int64_t a, int64_t b);

/* Start of the window holding t: floor(t / window) * window (epoch aligned, as Spark's batches). */
int64_t rs_window_start(int64_t t_ms, int64_t window_ms);

/* The window part of a key: epoch seconds ("1764057600"), or "<seconds>.<millis>" when the
 * start is not a whole second. Returns the length (buf needs 32 bytes). */
int rs_window_id(int64_t start_ms, char *buf, size_t len);

/* yyyy-MM-dd HH:mm:ss of the second holding epoch_ms in the local time zone (buf >= 32). */
int rs_format_local(int64_t epoch_ms, char *buf, size_t len);

/* ---- SimpleDateFormat subset: yyyy MM dd HH mm ss SSS, 'quoted' and other literals ---------- */

enum rs_tf_kind {
    RS_TF_LIT,
    RS_TF_YEAR,
    RS_TF_MONTH,
    RS_TF_DAY,
    RS_TF_HOUR,
    RS_TF_MIN,
    RS_TF_SEC,
    RS_TF_MILLI
};

#define RS_TF_MAX_FIELDS 32
#define RS_TF_LIT_MAX    64

struct rs_tf_field {
    enum rs_tf_kind kind;
    int width; /* pattern letters (numeric) or literal length */
    int fixed; /* numeric field followed directly by another numeric one: exactly width */
    char lit[RS_TF_LIT_MAX];
};

struct rs_tfmt {
    struct rs_tf_field f[RS_TF_MAX_FIELDS];
    int n;
    int has_date; /* yyyy, MM and dd all present */
};

/* Local time of an hour, cached: the hour's epoch comes from mktime() once per hour of input. */
struct rs_tzcache {
    int valid;
    int y, mo, d, h;
    int64_t base_s;
};

int rs_tfmt_compile(struct rs_tfmt *tf, const char *pattern, char *why, size_t why_len);

/* Parse s[0..len) completely; epoch milliseconds in *ms. Non-zero when the text does not fit
 * the pattern or a value is out of range (month 13, 25:00, Feb 30, ...). */
int rs_tfmt_parse(const struct rs_tfmt *tf, struct rs_tzcache *tz, const char *s, size_t len,
                  int64_t *ms);

/* Epoch seconds of a local wall-clock time (mktime with the DST flag left to the C library). */
int64_t rs_local_to_epoch(struct rs_tzcache *tz, int y, int mo, int d, int h, int mi, int s);

#endif
