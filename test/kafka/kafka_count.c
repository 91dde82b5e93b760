/*
 * kafka_count: an independent view of what reached a Kafka topic, for tests and the demo. It is
 * a plain librdkafka consumer (no producer code, no consumer group): `watermarks` sums the high
 * watermarks (topics start at offset 0), `dump` prints every message value following the run,
 * `wait` polls the watermark total until it reaches a number.
 * Exit codes: 0 ok, 1 timeout, 2 usage or error (with a message on stderr).
 */
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

/* dump ends cleanly (everything read so far written out) on SIGTERM/SIGINT */
static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

#define EXIT_TIMEOUT 1
#define EXIT_ERROR   2
#define MAX_PARTS    10000

struct args {
    const char *bootstrap, *topic, *cmd;
    int from_beginning, with_partition;
    int64_t until_total; /* -1 = none */
    int64_t total;       /* wait --total */
    int64_t timeout_ms;
    int64_t interval_ms; /* wait: between two watermark queries */
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: kafka_count --bootstrap B --topic T COMMAND [options]\n"
        "  watermarks                   per-partition low/high watermarks and total=N\n"
        "  dump [--from-beginning] [--until-total N] [--timeout-ms MS] [--with-partition]\n"
        "                               message values, one per line (with\n"
        "                               --with-partition: PARTITION<TAB>OFFSET<TAB>value);\n"
        "                               ends at N messages or after MS without new ones\n"
        "  wait --total N [--timeout-ms MS] [--interval-ms MS]  until the watermark total reaches\n"
        "      N, asking every MS ms (default 100)\n"
        "exit: 0 ok, 1 timeout, 2 usage/error\n");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_i64(const char *opt, const char *s, int64_t lo, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo) {
        fprintf(stderr, "kafka_count: %s '%s': expected an integer >= %" PRId64 "\n", opt, s, lo);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    a->until_total = -1;
    a->total = -1;
    a->timeout_ms = 10000;
    a->interval_ms = 100;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(o, "--from-beginning")) {
            a->from_beginning = 1;
        } else if (!strcmp(o, "--with-partition")) {
            a->with_partition = 1;
        } else if (o[0] != '-') {
            if (a->cmd) {
                fprintf(stderr, "kafka_count: two commands: '%s' and '%s'\n", a->cmd, o);
                return -1;
            }
            a->cmd = o;
        } else if (!v) {
            fprintf(stderr, "kafka_count: '%s' needs a value (or is unknown)\n", o);
            return -1;
        } else {
            i++;
            if (!strcmp(o, "--bootstrap"))
                a->bootstrap = v;
            else if (!strcmp(o, "--topic"))
                a->topic = v;
            else if (!strcmp(o, "--until-total")) {
                if (parse_i64(o, v, 0, &a->until_total))
                    return -1;
            } else if (!strcmp(o, "--total")) {
                if (parse_i64(o, v, 0, &a->total))
                    return -1;
            } else if (!strcmp(o, "--timeout-ms")) {
                if (parse_i64(o, v, 1, &a->timeout_ms))
                    return -1;
            } else if (!strcmp(o, "--interval-ms")) {
                if (parse_i64(o, v, 1, &a->interval_ms))
                    return -1;
            } else {
                fprintf(stderr, "kafka_count: unknown option '%s'\n", o);
                return -1;
            }
        }
    }
    if (!a->bootstrap || !a->topic || !a->cmd) {
        fprintf(stderr, "kafka_count: --bootstrap, --topic and a command are required\n");
        return -1;
    }
    if (strcmp(a->cmd, "watermarks") && strcmp(a->cmd, "dump") && strcmp(a->cmd, "wait")) {
        fprintf(stderr, "kafka_count: unknown command '%s'\n", a->cmd);
        return -1;
    }
    if (!strcmp(a->cmd, "wait") && a->total < 0) {
        fprintf(stderr, "kafka_count: wait needs --total N\n");
        return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3) /* only real errors: connection retries are expected in tests */
        fprintf(stderr, "kafka_count: librdkafka %s: %s\n", fac, buf);
}

static rd_kafka_t *make_consumer(const struct args *a)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", a->bootstrap},
        {"group.id", "kafka_count"}, /* required by the consumer; never joined (assign only) */
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "false"},
        /* falling behind the mock's retention must be an error, not a silent skip */
        {"auto.offset.reset", "error"},
        {"log.connection.close", "false"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kafka_count: %s: %s\n", kv[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka_count: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Number of partitions of the topic; retries until the deadline. Returns -1 (message printed)
 * on error or timeout. */
static int partition_count(rd_kafka_t *rk, const char *topic, int64_t deadline, int *timed_out)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
    int cnt = -1;
    *timed_out = 0;
    while (cnt < 0) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "kafka_count: no metadata for topic %s: %s\n", topic,
                    last ? rd_kafka_err2str(last) : "timed out");
            *timed_out = 1;
            break;
        }
        last = rd_kafka_metadata(rk, 0, rkt, &md, (int)(left < 2000 ? left : 2000));
        if (!last && md->topic_cnt == 1) {
            last = md->topics[0].err;
            if (!last && md->topics[0].partition_cnt > 0)
                cnt = md->topics[0].partition_cnt;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (cnt < 0 && now_ms() < deadline) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    rd_kafka_topic_destroy(rkt);
    if (cnt > MAX_PARTS) {
        fprintf(stderr, "kafka_count: topic %s has %d partitions (max %d)\n", topic, cnt,
                MAX_PARTS);
        return -1;
    }
    return cnt;
}

/* Sum of high watermarks, or -1 on error (message printed when verbose). */
static int64_t watermark_total(rd_kafka_t *rk, const char *topic, int parts, int print,
                               int64_t deadline)
{
    int64_t total = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo = 0, hi = 0;
        int64_t left = deadline - now_ms();
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi,
                                                                   (int)(left < 1      ? 1
                                                                         : left > 5000 ? 5000
                                                                                       : left));
        if (err) {
            if (print)
                fprintf(stderr, "kafka_count: watermarks of %s [%d]: %s\n", topic, p,
                        rd_kafka_err2str(err));
            return -1;
        }
        if (print)
            printf("partition=%d low=%" PRId64 " high=%" PRId64 "\n", p, lo, hi);
        total += hi;
    }
    return total;
}

static int cmd_watermarks(rd_kafka_t *rk, const struct args *a, int parts, int64_t deadline)
{
    int64_t total = watermark_total(rk, a->topic, parts, 1, deadline);
    if (total < 0)
        return EXIT_ERROR;
    printf("total=%" PRId64 "\n", total);
    return 0;
}

static int cmd_wait(rd_kafka_t *rk, const struct args *a, int parts, int64_t deadline)
{
    int64_t total = -1;
    while (now_ms() < deadline) {
        total = watermark_total(rk, a->topic, parts, 0, deadline);
        if (total >= a->total) {
            printf("total=%" PRId64 "\n", total);
            return 0;
        }
        struct timespec ts = {a->interval_ms / 1000, (a->interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("total=%" PRId64 "\n", total);
    fprintf(stderr, "kafka_count: timed out waiting for total %" PRId64 " (last %" PRId64 ")\n",
            a->total, total);
    return EXIT_TIMEOUT;
}

/* Errors the consumer reports while a broker is unreachable (as in the outage test); it
 * reconnects and fetches on by itself, so the dump goes on. Anything else ends it. */
static int transient_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
           e == RD_KAFKA_RESP_ERR__RESOLVE || e == RD_KAFKA_RESP_ERR__TIMED_OUT;
}

#define OOR_RETRIES_MAX 100 /* "offset out of range" answers retried, 100 ms apart */

static void seek_to(rd_kafka_t *rk, const char *topic, int partition, int64_t offset)
{
    rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tpl, topic, partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, tpl, 5000);
    if (e) {
        fprintf(stderr, "kafka_count: seek %s [%d] to %" PRId64 ": %s\n", topic, partition, offset,
                rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(tpl);
}

static int cmd_dump(rd_kafka_t *rk, const struct args *a, int parts)
{
    rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tpl, a->topic, p)->offset =
            a->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (err) {
        fprintf(stderr, "kafka_count: assign %s: %s\n", a->topic, rd_kafka_err2str(err));
        return EXIT_ERROR;
    }
    int64_t *next = malloc(sizeof(*next) * (size_t)parts);
    if (!next) {
        fprintf(stderr, "kafka_count: out of memory\n");
        return EXIT_ERROR;
    }
    for (int p = 0; p < parts; p++)
        next[p] = -1;
    int64_t count = 0, last_msg = now_ms();
    int rc = 0, gaps = 0, oor_retries = 0;
    signal(SIGTERM, on_stop_signal);
    signal(SIGINT, on_stop_signal);
    while ((a->until_total < 0 || count < a->until_total) && !stop_requested) {
        if (now_ms() - last_msg > a->timeout_ms) {
            rc = a->until_total < 0 ? 0 : EXIT_TIMEOUT;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            fflush(stdout); /* idle: let a follower of the output see everything so far */
            continue;
        }
        if (m->err) {
            fprintf(stderr, "kafka_count: %s [%" PRId32 "]: %s\n", a->topic, m->partition,
                    rd_kafka_message_errstr(m));
            if (transient_error(m->err)) { /* a broker down for a while: the client retries */
                rd_kafka_message_destroy(m);
                continue;
            }
            int p = m->partition;
            /* with auto.offset.reset = error librdkafka reports it as _AUTO_OFFSET_RESET */
            int oor = m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                      m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
            if (oor && p >= 0 && p < parts && (next[p] >= 0 || a->from_beginning) &&
                oor_retries < OOR_RETRIES_MAX) {
                int64_t want = next[p] >= 0 ? next[p] : 0, lo = -1, hi = -1;
                rd_kafka_query_watermark_offsets(rk, a->topic, p, &lo, &hi, 5000);
                if (lo >= 0 && want >= lo) {
                    /* The offset is not below the log's start, so nothing is missing (a
                     * guard: the failures seen so far were all the case below): fetch again
                     * from exactly that offset. Below the start, records are gone (the mock's
                     * 5 MB retention): that ends the dump as an error naming the hole. */
                    rd_kafka_message_destroy(m);
                    oor_retries++;
                    fprintf(stderr,
                            "kafka_count: %s [%d]: fetching again from offset %" PRId64
                            " (log %" PRId64 "..%" PRId64 ")\n",
                            a->topic, p, want, lo, hi);
                    struct timespec ts = {0, 100 * 1000000L};
                    nanosleep(&ts, NULL);
                    seek_to(rk, a->topic, p, want);
                    continue;
                }
                fprintf(stderr,
                        "kafka_count: %s [%d]: offset %" PRId64 " is gone (log starts at %" PRId64
                        ")\n",
                        a->topic, p, want, lo);
            }
            rd_kafka_message_destroy(m);
            rc = EXIT_ERROR; /* e.g. fell behind the mock's retention: the dump has a hole */
            break;
        }
        int p = m->partition;
        if (p >= 0 && p < parts) {
            if (next[p] >= 0 && m->offset != next[p]) {
                fprintf(stderr,
                        "kafka_count: %s [%d]: offset jumped from %" PRId64 " to %" PRId64 "\n",
                        a->topic, p, next[p], m->offset);
                gaps++;
            }
            next[p] = m->offset + 1;
        }
        if (a->with_partition)
            printf("%" PRId32 "\t%" PRId64 "\t", m->partition, m->offset);
        fwrite(m->payload, 1, m->len, stdout);
        putchar('\n');
        count++;
        last_msg = now_ms();
        rd_kafka_message_destroy(m);
    }
    free(next);
    fflush(stdout);
    fprintf(stderr, "kafka_count: dumped %" PRId64 " message(s)%s\n", count,
            rc == EXIT_TIMEOUT ? " before the idle timeout" : "");
    if (rc == 0 && gaps) {
        fprintf(stderr, "kafka_count: %d offset gap(s)\n", gaps);
        rc = EXIT_ERROR;
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return EXIT_ERROR;
    }
    rd_kafka_t *rk = make_consumer(&a);
    if (!rk)
        return EXIT_ERROR;
    int64_t deadline = now_ms() + a.timeout_ms;
    int timed_out;
    int parts = partition_count(rk, a.topic, deadline, &timed_out);
    int rc;
    if (parts < 0)
        rc = timed_out && !strcmp(a.cmd, "wait") ? EXIT_TIMEOUT : EXIT_ERROR;
    else if (!strcmp(a.cmd, "watermarks"))
        rc = cmd_watermarks(rk, &a, parts, deadline);
    else if (!strcmp(a.cmd, "wait"))
        rc = cmd_wait(rk, &a, parts, deadline);
    else
        rc = cmd_dump(rk, &a, parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
