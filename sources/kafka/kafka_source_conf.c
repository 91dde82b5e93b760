/*
 * The kafka source's consumer configuration: the topics or the pattern, sluice's defaults,
 * every `kafka.consumer.*` key (librdkafka's own names pass through; Java consumer names are
 * translated where librdkafka has an equivalent and refused with a hint where it has none),
 * then what Flume always sets last: bootstrap.servers, group.id and enable.auto.commit=false.
 * Every error names the user's key and where it was set.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka_source.h"

enum jaction {
    J_RENAME,       /* same meaning, librdkafka name in rd */
    J_IGNORE,       /* no effect here: accepted with a note */
    J_DESERIALIZER, /* Flume's own deserializers are what sluice does anyway; others refused */
    J_AUTO_COMMIT,  /* forced false: offsets follow the channel */
    J_OFFSET_RESET, /* Java's none is librdkafka's error */
    J_ASSIGNOR,     /* Java assignor classes -> librdkafka names */
    J_TLS_NOVERIFY,
    J_KEYSTORE_TYPE,
    J_REFUSE /* Java-only: an error with the note as the hint */
};

struct jkey {
    const char *java;
    enum jaction act;
    const char *rd;
    const char *note;
};

/* Java consumer keys whose name librdkafka does not know (or knows with another meaning).
 * Keys with the same name and meaning in both (auto.offset.reset, fetch.min.bytes,
 * fetch.max.bytes, max.partition.fetch.bytes, session.timeout.ms, heartbeat.interval.ms,
 * max.poll.interval.ms, client.id, isolation.level, security.protocol, ...) pass through. */
static const struct jkey java_keys[] = {
    {"fetch.max.wait.ms", J_RENAME, "fetch.wait.max.ms", NULL},
    {"send.buffer.bytes", J_RENAME, "socket.send.buffer.bytes", NULL},
    {"receive.buffer.bytes", J_RENAME, "socket.receive.buffer.bytes", NULL},
    {"max.poll.records", J_IGNORE, NULL,
     "librdkafka hands records over one at a time; batchSize bounds a batch"},
    {"default.api.timeout.ms", J_IGNORE, NULL,
     "librdkafka has no such timeout; commits wait for the coordinator's answer"},
    {"request.timeout.ms", J_IGNORE, NULL,
     "librdkafka's consumer has no per-request timeout (socket.timeout.ms is the closest)"},
    {"key.deserializer", J_DESERIALIZER, NULL, "the record key becomes the key header as it is"},
    {"value.deserializer", J_DESERIALIZER, NULL,
     "the record value becomes the event body as it is"},
    {"enable.auto.commit", J_AUTO_COMMIT, NULL, NULL},
    {"auto.offset.reset", J_OFFSET_RESET, NULL, NULL},
    {"partition.assignment.strategy", J_ASSIGNOR, NULL, NULL},
    {"ssl.disableTLSHostnameVerification", J_TLS_NOVERIFY, "ssl.endpoint.identification.algorithm",
     NULL},
    {"ssl.keystore.type", J_KEYSTORE_TYPE, NULL,
     "librdkafka reads a PKCS#12 keystore (ssl.keystore.location) or PEM files "
     "(ssl.certificate.location, ssl.key.location); convert a JKS keystore with keytool"},
    {"ssl.truststore.location", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.consumer.ssl.ca.location"},
    {"ssl.truststore.password", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.consumer.ssl.ca.location"},
    {"ssl.truststore.type", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.consumer.ssl.ca.location"},
    {"sasl.jaas.config", J_REFUSE, NULL,
     "JAAS is Java-only: use kafka.consumer.sasl.username and kafka.consumer.sasl.password "
     "(PLAIN, SCRAM) or kafka.consumer.sasl.kerberos.* (GSSAPI)"},
    {"interceptor.classes", J_REFUSE, NULL, "Java consumer interceptors cannot run here"},
    {"metric.reporters", J_REFUSE, NULL,
     "Java metric reporters cannot run here; the source's counters go to sluice's monitoring"},
    {"sasl.login.callback.handler.class", J_REFUSE, NULL, "Java classes cannot run here"},
    {"sasl.client.callback.handler.class", J_REFUSE, NULL, "Java classes cannot run here"},
    {"ssl.engine.factory.class", J_REFUSE, NULL, "Java classes cannot run here"},
};

static const char *const flume_deserializers[] = {
    "org.apache.kafka.common.serialization.ByteArrayDeserializer",
    "org.apache.kafka.common.serialization.StringDeserializer",
    NULL,
};

/* Java's assignors and librdkafka's names for them (StickyAssignor has none). */
static const char *const assignors[][2] = {
    {"org.apache.kafka.clients.consumer.RangeAssignor", "range"},
    {"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin"},
    {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "cooperative-sticky"},
    {"range", "range"},
    {"roundrobin", "roundrobin"},
    {"cooperative-sticky", "cooperative-sticky"},
};

static int set(struct kafka_source *s, rd_kafka_conf_t *rc, const char *user_key,
               const struct sluice_kv *kv, const char *name, const char *value,
               struct sluice_err *err)
{
    char errstr[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(rc, name, value, errstr, sizeof(errstr));
    if (res == RD_KAFKA_CONF_OK)
        return SLUICE_OK;
    const char *origin = kv && kv->origin ? kv->origin : "sluice default";
    if (res == RD_KAFKA_CONF_UNKNOWN)
        return s->host->err_set(err, SLUICE_ECONFIG,
                                "%s (%s): librdkafka %s has no such property and it is not a "
                                "Java consumer property sluice translates: %s",
                                user_key, origin, rd_kafka_version_str(), errstr);
    return s->host->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): librdkafka rejects %s: %s",
                            user_key, value, origin, name, errstr);
}

static const struct jkey *java_key(const char *key)
{
    for (size_t i = 0; i < sizeof(java_keys) / sizeof(java_keys[0]); i++)
        if (!strcmp(java_keys[i].java, key))
            return &java_keys[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true"))
        *out = 1;
    else if (!strcasecmp(v, "false"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* "org...RangeAssignor, org...CooperativeStickyAssignor" -> "range,cooperative-sticky". */
static int translate_assignors(struct kafka_source *s, const char *user_key,
                               const struct sluice_kv *kv, char *out, size_t cap,
                               struct sluice_err *err)
{
    size_t n = 0;
    const char *p = kv->value;
    out[0] = '\0';
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        if (!len)
            continue;
        const char *rd = NULL;
        for (size_t i = 0; i < sizeof(assignors) / sizeof(assignors[0]) && !rd; i++)
            if (strlen(assignors[i][0]) == len && !strncmp(assignors[i][0], start, len))
                rd = assignors[i][1];
        if (!rd)
            return s->host->err_set(err, SLUICE_ECONFIG,
                                    "%s = %s (%s): '%.*s' is not an assignor librdkafka has "
                                    "(range, roundrobin, cooperative-sticky, or Java's "
                                    "RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor)",
                                    user_key, kv->value, kv->origin, (int)len, start);
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", rd);
        if (w < 0 || (size_t)w >= cap - n)
            return s->host->err_set(err, SLUICE_ECONFIG, "%s (%s): too many assignors", user_key,
                                    kv->origin);
        n += (size_t)w;
    }
    if (!n)
        return s->host->err_set(err, SLUICE_ECONFIG, "%s (%s): no assignor named", user_key,
                                kv->origin);
    return SLUICE_OK;
}

/* One kafka.consumer.<key> = value. */
static int apply_kv(struct kafka_source *s, rd_kafka_conf_t *rc, const struct sluice_kv *kv,
                    struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    char user_key[256];
    snprintf(user_key, sizeof(user_key), "kafka.consumer.%s", kv->key);
    const char *origin = kv->origin ? kv->origin : "?";

    if (!strcmp(kv->key, "bootstrap.servers")) {
        h->log(s->ctx, SLUICE_LOG_WARN,
               "%s (%s) is ignored: kafka.bootstrap.servers always sets the brokers, as in Flume",
               user_key, origin);
        return SLUICE_OK;
    }
    const struct jkey *j = java_key(kv->key);
    if (!j)
        return set(s, rc, user_key, kv, kv->key, kv->value, err);

    int b;
    switch (j->act) {
    case J_RENAME:
        return set(s, rc, user_key, kv, j->rd, kv->value, err);
    case J_IGNORE:
        h->log(s->ctx, SLUICE_LOG_WARN, "%s (%s) has no effect in sluice: %s", user_key, origin,
               j->note);
        return SLUICE_OK;
    case J_DESERIALIZER:
        for (size_t i = 0; flume_deserializers[i]; i++)
            if (!strcmp(kv->value, flume_deserializers[i])) {
                h->log(s->ctx, SLUICE_LOG_INFO, "%s (%s) is not needed in sluice: %s", user_key,
                       origin, j->note);
                return SLUICE_OK;
            }
        return h->err_set(err, SLUICE_ECONFIG,
                          "%s = %s (%s): Java deserializers cannot run in sluice; %s (the same "
                          "as Flume's StringDeserializer/ByteArrayDeserializer)",
                          user_key, kv->value, origin, j->note);
    case J_AUTO_COMMIT:
        if (parse_bool(kv->value, &b))
            return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): expected true or false", user_key,
                              kv->value, origin);
        if (b)
            h->log(s->ctx, SLUICE_LOG_WARN,
                   "%s = true (%s) is overridden with false, as Flume does: offsets are committed "
                   "only after the channel accepted the batch",
                   user_key, origin);
        return SLUICE_OK;
    case J_OFFSET_RESET:
        if (!strcasecmp(kv->value, "none")) {
            h->log(s->ctx, SLUICE_LOG_INFO,
                   "%s = none (%s) applied as librdkafka's auto.offset.reset = error", user_key,
                   origin);
            return set(s, rc, user_key, kv, "auto.offset.reset", "error", err);
        }
        return set(s, rc, user_key, kv, "auto.offset.reset", kv->value, err);
    case J_ASSIGNOR: {
        char list[256];
        int rcode = translate_assignors(s, user_key, kv, list, sizeof(list), err);
        return rcode ? rcode : set(s, rc, user_key, kv, "partition.assignment.strategy", list, err);
    }
    case J_TLS_NOVERIFY:
        if (parse_bool(kv->value, &b))
            return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): expected true or false", user_key,
                              kv->value, origin);
        return b ? set(s, rc, user_key, kv, j->rd, "none", err) : SLUICE_OK;
    case J_KEYSTORE_TYPE:
        if (!strcasecmp(kv->value, "PKCS12"))
            return SLUICE_OK;
        return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): %s", user_key, kv->value, origin,
                          j->note);
    case J_REFUSE:
        break;
    }
    return h->err_set(err, SLUICE_ECONFIG,
                      "%s (%s) is a Java consumer property with no librdkafka equivalent: %s",
                      user_key, origin, j->note);
}

/* ---- topics ------------------------------------------------------------------------------ */

static int valid_topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* kafka.topics: comma-separated, blanks around names ignored (as Flume splits it). */
static int parse_topics(struct kafka_source *s, const char *list, struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t len = (size_t)(end - start);
        if (!len)
            continue;
        for (size_t i = 0; i < len; i++)
            if (!valid_topic_char(start[i]))
                return h->err_set(err, SLUICE_ECONFIG,
                                  "kafka.topics: '%.*s' is not a Kafka topic name (letters, "
                                  "digits, '.', '_' and '-' only)%s",
                                  (int)(len > 300 ? 300 : len), start,
                                  start[i] == ' ' ? "; separate topics with commas" : "");
        if (len > KSRC_TOPIC_MAX)
            return h->err_set(err, SLUICE_ECONFIG,
                              "kafka.topics: '%.64s...' is longer than Kafka's %d characters",
                              start, KSRC_TOPIC_MAX);
        char name[KSRC_TOPIC_MAX + 1];
        memcpy(name, start, len);
        name[len] = '\0';
        if (!rd_kafka_topic_partition_list_find(s->subscription, name, RD_KAFKA_PARTITION_UA))
            rd_kafka_topic_partition_list_add(s->subscription, name, RD_KAFKA_PARTITION_UA);
    }
    if (s->subscription->cnt == 0)
        return h->err_set(err, SLUICE_ECONFIG, "kafka.topics = '%s' names no topic", list);
    return SLUICE_OK;
}

/*
 * kafka.topics.regex is a Java Pattern that must match the whole topic name. librdkafka takes a
 * subscription starting with '^' as a POSIX extended regex that may match anywhere, so the
 * pattern is anchored as ^(...)$ and checked here, with a hint for Java-only syntax.
 */
static int parse_regex(struct kafka_source *s, const char *re, struct sluice_err *err)
{
    const struct sluice_host *h = s->host;
    static const char *const java_only[][2] = {
        {"(?", "(?...) groups and flags"}, {"\\d", "\\d (write [0-9])"},
        {"\\D", "\\D (write [^0-9])"},     {"\\p{", "\\p{...} classes"},
        {"\\Q", "\\Q...\\E quoting"},
    };
    for (size_t i = 0; i < sizeof(java_only) / sizeof(java_only[0]); i++)
        if (strstr(re, java_only[i][0]))
            return h->err_set(err, SLUICE_ECONFIG,
                              "kafka.topics.regex = %s: librdkafka matches topics with POSIX "
                              "extended regular expressions, which have no %s",
                              re, java_only[i][1]);
    size_t len = strlen(re);
    if (!(s->regex = malloc(len + 5)))
        return h->err_set(err, SLUICE_ENOMEM, "out of memory");
    snprintf(s->regex, len + 5, "^(%s)$", re);
    regex_t rx;
    int rc = regcomp(&rx, s->regex, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[256];
        regerror(rc, &rx, why, sizeof(why));
        return h->err_set(err, SLUICE_ECONFIG, "kafka.topics.regex = %s: %s", re, why);
    }
    regfree(&rx);
    rd_kafka_topic_partition_list_add(s->subscription, s->regex, RD_KAFKA_PARTITION_UA);
    return SLUICE_OK;
}

/* ---- callbacks shared by every consumer -------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct kafka_source *s = rd_kafka_opaque(rk);
    enum sluice_level l = level <= 2   ? SLUICE_LOG_ERROR
                          : level <= 4 ? SLUICE_LOG_WARN
                          : level <= 6 ? SLUICE_LOG_INFO
                                       : SLUICE_LOG_DEBUG;
    if (s && s->host->log_enabled(s->ctx, l))
        s->host->log(s->ctx, l, "librdkafka %s: %s", fac, buf);
}

/* Transport errors are already in the log (FAIL lines) and expected while a broker is down. */
static void error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    (void)rk;
    struct kafka_source *s = opaque;
    if (e == RD_KAFKA_RESP_ERR__TRANSPORT)
        return;
    s->host->log(s->ctx, e == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN,
                 "Kafka: %s", reason);
}

int ksrc_conf_build(struct kafka_source *s, struct sluice_err *err)
{
    const struct kafka_source_conf *c = s->conf;
    const struct sluice_host *h = s->host;
    if (!c->bootstrap_servers || !*c->bootstrap_servers)
        return h->err_set(err, SLUICE_ECONFIG,
                          "Bootstrap Servers must be specified "
                          "(kafka.bootstrap.servers)");
    if (!c->group_id || !*c->group_id)
        return h->err_set(err, SLUICE_ECONFIG, "kafka.consumer.group.id must not be empty");
    if (!(s->subscription = rd_kafka_topic_partition_list_new(4)))
        return h->err_set(err, SLUICE_ENOMEM, "out of memory");
    int rcode;
    if (c->topics_regex && *c->topics_regex) {
        if (c->topics && *c->topics)
            h->log(s->ctx, SLUICE_LOG_INFO,
                   "kafka.topics.regex takes precedence over kafka.topics (%s), as in Flume",
                   c->topics);
        rcode = parse_regex(s, c->topics_regex, err);
    } else if (c->topics && *c->topics) {
        rcode = parse_topics(s, c->topics, err);
    } else {
        rcode = h->err_set(err, SLUICE_ECONFIG,
                           "At least one Kafka topic must be specified (kafka.topics, the legacy "
                           "topic, or kafka.topics.regex)");
    }
    if (rcode != SLUICE_OK)
        return rcode;

    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    if (!rc)
        return h->err_set(err, SLUICE_ENOMEM, "out of memory for the Kafka configuration");
    char client_id[128];
    snprintf(client_id, sizeof(client_id), "sluice-%s-%s", h->agent_name(s->ctx),
             h->component_name(s->ctx));
    rcode = set(s, rc, "client.id", NULL, "client.id", client_id, err);
    for (size_t i = 0; rcode == SLUICE_OK && i < c->consumer.n; i++)
        rcode = apply_kv(s, rc, &c->consumer.items[i], err);
    /* what Flume always sets after the user's keys */
    if (rcode == SLUICE_OK)
        rcode = set(s, rc, "kafka.bootstrap.servers", NULL, "bootstrap.servers",
                    c->bootstrap_servers, err);
    if (rcode == SLUICE_OK)
        rcode = set(s, rc, "kafka.consumer.group.id", NULL, "group.id", c->group_id, err);
    if (rcode == SLUICE_OK)
        rcode = set(s, rc, "kafka.consumer.enable.auto.commit", NULL, "enable.auto.commit", "false",
                    err);
    if (rcode != SLUICE_OK) {
        rd_kafka_conf_destroy(rc);
        return rcode;
    }
    rd_kafka_conf_set_opaque(rc, s);
    rd_kafka_conf_set_log_cb(rc, log_cb);
    rd_kafka_conf_set_error_cb(rc, error_cb);
    rd_kafka_conf_set_rebalance_cb(rc, ksrc_rebalance_cb);
    s->rkconf = rc;
    return SLUICE_OK;
}
