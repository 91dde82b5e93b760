/*
 * kafka_broker: a real Kafka protocol broker for tests and the demo, hosted by librdkafka's mock
 * cluster on loopback. It creates the topics asked for, prints `bootstrap=HOST:PORT[,..]`, and
 * runs until SIGTERM/SIGINT. SIGUSR1 takes every broker down and SIGUSR2 brings it back on the
 * same port, so a test can simulate an outage without losing what the mock holds.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS  64
#define MAX_BROKERS 16

struct topic_arg {
    char name[250]; /* Kafka's topic names are at most 249 characters */
    int partitions;
};

struct args {
    int brokers;
    struct topic_arg topics[MAX_TOPICS];
    int n_topics;
    const char *port_file;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kafka_broker [--brokers N] [--topic NAME:PARTITIONS]... "
               "[--port-file FILE]\n"
               "  Hosts librdkafka's mock Kafka cluster on loopback and prints\n"
               "  bootstrap=HOST:PORT[,...]. SIGUSR1: all brokers down; SIGUSR2: up again;\n"
               "  SIGTERM/SIGINT: exit. Keeps only the newest 100000 message sets or 5 MB\n"
               "  per partition.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_topic(const char *s, struct topic_arg *t)
{
    const char *colon = strrchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : 0;
    if (!colon || len == 0 || len >= sizeof(t->name)) {
        fprintf(stderr,
                "kafka_broker: --topic '%s': expected NAME:PARTITIONS "
                "(name 1..249 characters)\n",
                s);
        return -1;
    }
    if (parse_int(colon + 1, 1, 10000, &t->partitions) != 0) {
        fprintf(stderr, "kafka_broker: --topic '%s': partitions must be 1..10000\n", s);
        return -1;
    }
    memcpy(t->name, s, len);
    t->name[len] = '\0';
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    a->brokers = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kafka_broker: '%s' needs a value (or is unknown)\n", o);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(o, "--brokers")) {
            if (parse_int(v, 1, MAX_BROKERS, &a->brokers) != 0) {
                fprintf(stderr, "kafka_broker: --brokers '%s': must be 1..%d\n", v, MAX_BROKERS);
                return -1;
            }
        } else if (!strcmp(o, "--topic")) {
            if (a->n_topics == MAX_TOPICS) {
                fprintf(stderr, "kafka_broker: at most %d --topic options\n", MAX_TOPICS);
                return -1;
            }
            if (parse_topic(v, &a->topics[a->n_topics]) != 0)
                return -1;
            a->n_topics++;
        } else if (!strcmp(o, "--port-file")) {
            a->port_file = v;
        } else {
            fprintf(stderr, "kafka_broker: unknown option '%s'\n", o);
            return -1;
        }
    }
    return 0;
}

/* Write tmp + rename, so a reader never sees a half-written address. */
static int write_port_file(const char *path, const char *bootstrap)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "kafka_broker: --port-file path too long: %s\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "kafka_broker: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    int bad = fprintf(f, "%s\n", bootstrap) < 0;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "kafka_broker: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int set_all(rd_kafka_mock_cluster_t *mc, int brokers, int up)
{
    int rc = 0;
    for (int id = 1; id <= brokers; id++) {
        rd_kafka_resp_err_t err =
            up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (err) {
            fprintf(stderr, "kafka_broker: broker %d %s: %s\n", id, up ? "up" : "down",
                    rd_kafka_err2str(err));
            rc = -1;
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return 2;
    }

    /* Block the signals we serve before librdkafka starts its threads, so they inherit the
     * mask and only sigwait() below ever sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    char errstr[512], nbuf[16];
    snprintf(nbuf, sizeof(nbuf), "%d", a.brokers);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", nbuf, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_broker: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka_broker: cannot create the mock cluster: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
    if (!mc) {
        fprintf(stderr, "kafka_broker: librdkafka did not create a mock cluster\n");
        rd_kafka_destroy(rk);
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < a.n_topics && rc == 0; i++) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mc, a.topics[i].name, a.topics[i].partitions, 1);
        if (err) {
            fprintf(stderr, "kafka_broker: topic %s: %s\n", a.topics[i].name,
                    rd_kafka_err2str(err));
            rc = 2;
        } else {
            fprintf(stderr, "kafka_broker: topic %s with %d partition(s)\n", a.topics[i].name,
                    a.topics[i].partitions);
        }
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    if (rc == 0 && a.port_file && write_port_file(a.port_file, bootstrap) != 0)
        rc = 2;
    if (rc == 0) {
        printf("bootstrap=%s\n", bootstrap);
        fflush(stdout);
    }

    int down = 0;
    while (rc == 0) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            down = sig == SIGUSR1;
            if (set_all(mc, a.brokers, !down) != 0)
                rc = 2;
            /* a line a test can wait for (stdout is usually a file) */
            printf("brokers=%s\n", down ? "down" : "up");
            fflush(stdout);
            continue;
        }
        fprintf(stderr, "kafka_broker: %s, exiting\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    if (a.port_file)
        unlink(a.port_file);
    rd_kafka_destroy(rk); /* also destroys the mock cluster it owns */
    return rc;
}
