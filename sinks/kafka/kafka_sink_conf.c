/*
 * The kafka sink's librdkafka configuration: sluice's defaults, then every `kafka.producer.*`
 * key (librdkafka's own names pass through; Java producer names are translated where librdkafka
 * has an equivalent and refused with a hint where it has none), then acks and idempotence, then
 * bootstrap.servers last, as Flume does. Every error names the user's key and where it was set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka_sink.h"

enum jaction {
    J_RENAME,     /* same meaning, librdkafka name in rd */
    J_KBYTES,     /* bytes -> kilobytes (rounded up) into rd */
    J_IGNORE,     /* no effect here: accepted with a note */
    J_SERIALIZER, /* Flume's own serializers are what sluice does anyway; others refused */
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

/* Java producer keys whose name librdkafka does not know (or knows with another meaning).
 * Keys with the same name and meaning in both (acks, linger.ms, batch.size, retries,
 * delivery.timeout.ms, request.timeout.ms, compression.type, client.id, security.protocol,
 * sasl.mechanism, ssl.keystore.location, ...) are not listed: they pass straight through. */
static const struct jkey java_keys[] = {
    {"buffer.memory", J_KBYTES, "queue.buffering.max.kbytes", NULL},
    {"max.request.size", J_RENAME, "message.max.bytes", NULL},
    {"send.buffer.bytes", J_RENAME, "socket.send.buffer.bytes", NULL},
    {"receive.buffer.bytes", J_RENAME, "socket.receive.buffer.bytes", NULL},
    {"max.block.ms", J_IGNORE, NULL,
     "librdkafka never blocks a send; a batch waits at most message.timeout.ms "
     "(delivery.timeout.ms) for its delivery reports"},
    {"key.serializer", J_SERIALIZER, NULL, "the key header is sent as its UTF-8 bytes"},
    {"value.serializer", J_SERIALIZER, NULL, "the event body is sent as bytes"},
    {"ssl.disableTLSHostnameVerification", J_TLS_NOVERIFY, "ssl.endpoint.identification.algorithm",
     NULL},
    {"ssl.keystore.type", J_KEYSTORE_TYPE, NULL,
     "librdkafka reads a PKCS#12 keystore (ssl.keystore.location) or PEM files "
     "(ssl.certificate.location, ssl.key.location); convert a JKS keystore with keytool"},
    {"ssl.truststore.location", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.producer.ssl.ca.location"},
    {"ssl.truststore.password", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.producer.ssl.ca.location"},
    {"ssl.truststore.type", J_REFUSE, NULL,
     "librdkafka reads trusted CA certificates from PEM: use kafka.producer.ssl.ca.location"},
    {"sasl.jaas.config", J_REFUSE, NULL,
     "JAAS is Java-only: use kafka.producer.sasl.username and kafka.producer.sasl.password "
     "(PLAIN, SCRAM) or kafka.producer.sasl.kerberos.* (GSSAPI)"},
    {"partitioner.class", J_REFUSE, NULL,
     "Java partitioners cannot run here: use kafka.producer.partitioner (murmur2_random "
     "behaves like Java's default partitioner)"},
    {"interceptor.classes", J_REFUSE, NULL, "Java producer interceptors cannot run here"},
    {"metric.reporters", J_REFUSE, NULL,
     "Java metric reporters cannot run here; the sink's counters go to sluice's monitoring"},
    {"sasl.login.callback.handler.class", J_REFUSE, NULL, "Java classes cannot run here"},
    {"sasl.client.callback.handler.class", J_REFUSE, NULL, "Java classes cannot run here"},
    {"ssl.engine.factory.class", J_REFUSE, NULL, "Java classes cannot run here"},
    {"transactional.id", J_REFUSE, NULL,
     "this sink does not use Kafka transactions (Flume 1.11 has none either); it produces "
     "idempotently and commits the channel only after every delivery report"},
    {"transaction.timeout.ms", J_REFUSE, NULL, "this sink does not use Kafka transactions"},
};

static const char *const flume_serializers[] = {
    "org.apache.kafka.common.serialization.ByteArraySerializer",
    "org.apache.kafka.common.serialization.StringSerializer",
    NULL,
};

static int set(struct kafka_sink *ks, rd_kafka_conf_t *rc, const char *user_key,
               const struct sluice_kv *kv, const char *name, const char *value,
               struct sluice_err *err)
{
    char errstr[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(rc, name, value, errstr, sizeof(errstr));
    if (res == RD_KAFKA_CONF_OK)
        return SLUICE_OK;
    const char *origin = kv && kv->origin ? kv->origin : "sluice default";
    if (res == RD_KAFKA_CONF_UNKNOWN)
        return ks->host->err_set(err, SLUICE_ECONFIG,
                                 "%s (%s): librdkafka %s has no such property and it is not a "
                                 "Java producer property sluice translates: %s",
                                 user_key, origin, rd_kafka_version_str(), errstr);
    return ks->host->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): librdkafka rejects %s: %s",
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

/* One kafka.producer.<key> = value. */
static int apply_kv(struct kafka_sink *ks, rd_kafka_conf_t *rc, const struct sluice_kv *kv,
                    const char **acks, struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    char user_key[256];
    snprintf(user_key, sizeof(user_key), "kafka.producer.%s", kv->key);
    const char *origin = kv->origin ? kv->origin : "?";

    if (!strcmp(kv->key, "acks")) {
        if (!*acks) /* the agent normally fills the acks option itself */
            *acks = kv->value;
        return SLUICE_OK;
    }
    if (!strcmp(kv->key, "enable.idempotence")) {
        int b;
        if (parse_bool(kv->value, &b))
            return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): expected true or false", user_key,
                              kv->value, origin);
        ks->idem_mode = b ? KS_IDEM_ON : KS_IDEM_OFF;
        return SLUICE_OK;
    }
    if (!strcmp(kv->key, "bootstrap.servers")) {
        h->log(ks->ctx, SLUICE_LOG_WARN,
               "%s (%s) is ignored: kafka.bootstrap.servers always sets the brokers, as in Flume",
               user_key, origin);
        return SLUICE_OK;
    }
    const struct jkey *j = java_key(kv->key);
    if (!j)
        return set(ks, rc, user_key, kv, kv->key, kv->value, err);

    switch (j->act) {
    case J_RENAME:
        return set(ks, rc, user_key, kv, j->rd, kv->value, err);
    case J_KBYTES: {
        char *end, buf[32];
        errno = 0;
        long long bytes = strtoll(kv->value, &end, 10);
        if (errno || end == kv->value || *end || bytes < 1)
            return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): expected a number of bytes",
                              user_key, kv->value, origin);
        snprintf(buf, sizeof(buf), "%lld", (bytes + 1023) / 1024);
        h->log(ks->ctx, SLUICE_LOG_INFO, "%s = %s (%s) applied as librdkafka's %s = %s", user_key,
               kv->value, origin, j->rd, buf);
        return set(ks, rc, user_key, kv, j->rd, buf, err);
    }
    case J_IGNORE:
        h->log(ks->ctx, SLUICE_LOG_WARN, "%s (%s) has no effect in sluice: %s", user_key, origin,
               j->note);
        return SLUICE_OK;
    case J_SERIALIZER:
        for (size_t i = 0; flume_serializers[i]; i++)
            if (!strcmp(kv->value, flume_serializers[i])) {
                h->log(ks->ctx, SLUICE_LOG_INFO, "%s (%s) is not needed in sluice: %s", user_key,
                       origin, j->note);
                return SLUICE_OK;
            }
        return h->err_set(err, SLUICE_ECONFIG,
                          "%s = %s (%s): Java serializers cannot run in sluice; %s (the same as "
                          "Flume's ByteArraySerializer/StringSerializer)",
                          user_key, kv->value, origin, j->note);
    case J_TLS_NOVERIFY: {
        int b;
        if (parse_bool(kv->value, &b))
            return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): expected true or false", user_key,
                              kv->value, origin);
        return b ? set(ks, rc, user_key, kv, j->rd, "none", err) : SLUICE_OK;
    }
    case J_KEYSTORE_TYPE:
        if (!strcasecmp(kv->value, "PKCS12"))
            return SLUICE_OK;
        return h->err_set(err, SLUICE_ECONFIG, "%s = %s (%s): %s", user_key, kv->value, origin,
                          j->note);
    case J_REFUSE:
        break;
    }
    return h->err_set(err, SLUICE_ECONFIG,
                      "%s (%s) is a Java producer property with no "
                      "librdkafka equivalent: %s",
                      user_key, origin, j->note);
}

/* acks as -1 (all), 0 or 1; -2 when not a valid value. */
static int parse_acks(const char *v)
{
    if (!strcasecmp(v, "all") || !strcmp(v, "-1"))
        return -1;
    if (!strcmp(v, "0"))
        return 0;
    if (!strcmp(v, "1"))
        return 1;
    return -2;
}

/*
 * Idempotence is on unless the user turns it off or asks for acks=0: it is what keeps
 * librdkafka's own retries (after a lost acknowledgement) from writing a record twice, and it
 * needs acks=all. Flume's acks=1 (the seed's requiredAcks=1) is raised to all: on a
 * single-replica topic that is the same guarantee, elsewhere it is stronger.
 */
static int resolve_acks(struct kafka_sink *ks, rd_kafka_conf_t *rc, const char *acks,
                        struct sluice_err *err)
{
    const struct sluice_host *h = ks->host;
    const char *key = "kafka.producer.acks";
    int a = 1; /* Flume's default */
    if (acks) {
        a = parse_acks(acks);
        if (a == -2)
            return h->err_set(err, SLUICE_ECONFIG,
                              "%s (or requiredAcks) = %s: expected all, -1, 0 or 1", key, acks);
        snprintf(ks->acks_user, sizeof(ks->acks_user), "%d", a);
    }
    int idem;
    if (ks->idem_mode == KS_IDEM_ON) {
        if (acks && a != -1)
            return h->err_set(err, SLUICE_ECONFIG,
                              "kafka.producer.enable.idempotence = true needs %s = all, not %s",
                              key, acks);
        idem = 1;
    } else if (ks->idem_mode == KS_IDEM_OFF) {
        idem = 0;
        h->log(ks->ctx, SLUICE_LOG_INFO,
               "idempotent producing is off (kafka.producer.enable.idempotence = false), acks=%s: "
               "a retry after a lost acknowledgement can write a record twice",
               acks ? acks : "1");
    } else if (a == 0) {
        idem = 0;
        h->log(ks->ctx, SLUICE_LOG_INFO,
               "acks=0: the broker confirms nothing, so a batch counts as delivered once sent, "
               "and idempotent producing is off");
    } else {
        idem = 1;
        if (a == 1)
            h->log(ks->ctx, SLUICE_LOG_INFO,
                   "%s = 1 raised to all: idempotent producing (no duplicates from retries) "
                   "needs acks=all, the same guarantee on single-replica topics; set "
                   "kafka.producer.enable.idempotence = false to keep acks=1",
                   acks ? "acks (kafka.producer.acks or requiredAcks)" : "Flume's default acks");
        else
            h->log(ks->ctx, SLUICE_LOG_INFO, "idempotent producing on, acks=all");
    }
    ks->idem_resolved = idem;
    char acks_s[8];
    snprintf(acks_s, sizeof(acks_s), "%d", idem ? -1 : a);
    int rcode = set(ks, rc, key, NULL, "acks", acks_s, err);
    if (rcode == SLUICE_OK)
        rcode = set(ks, rc, "kafka.producer.enable.idempotence", NULL, "enable.idempotence",
                    idem ? "true" : "false", err);
    return rcode;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct kafka_sink *ks = rd_kafka_opaque(rk);
    /* syslog levels; connection failures come at 3 and are expected while a broker is down */
    enum sluice_level l = level <= 2   ? SLUICE_LOG_ERROR
                          : level <= 4 ? SLUICE_LOG_WARN
                          : level <= 6 ? SLUICE_LOG_INFO
                                       : SLUICE_LOG_DEBUG;
    if (ks && ks->host->log_enabled(ks->ctx, l))
        ks->host->log(ks->ctx, l, "librdkafka %s: %s", fac, buf);
}

/* With an error callback set, librdkafka stops logging each error a second time. Transport
 * errors are already in the log (FAIL lines); the rest is worth a warning. */
static void error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    (void)rk;
    struct kafka_sink *ks = opaque;
    if (e == RD_KAFKA_RESP_ERR__TRANSPORT)
        return;
    ks->host->log(ks->ctx, e == RD_KAFKA_RESP_ERR__FATAL ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN,
                  "Kafka: %s", reason);
}

int ks_conf_build(struct kafka_sink *ks, struct sluice_err *err)
{
    const struct kafka_sink_conf *c = ks->conf;
    const struct sluice_host *h = ks->host;
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    if (!rc)
        return h->err_set(err, SLUICE_ENOMEM, "out of memory for the Kafka configuration");
    ks->idem_mode = KS_IDEM_AUTO;

    /* sluice's defaults first, so the user's keys win */
    char client_id[128];
    snprintf(client_id, sizeof(client_id), "sluice-%s-%s", h->agent_name(ks->ctx),
             h->component_name(ks->ctx));
    int rcode = set(ks, rc, "client.id", NULL, "client.id", client_id, err);
    if (rcode == SLUICE_OK)
        rcode =
            set(ks, rc, "message.timeout.ms", NULL, "message.timeout.ms", KS_MSG_TIMEOUT_MS, err);

    const char *acks = c->acks;
    for (size_t i = 0; rcode == SLUICE_OK && i < c->producer.n; i++)
        rcode = apply_kv(ks, rc, &c->producer.items[i], &acks, err);
    if (rcode == SLUICE_OK)
        rcode = resolve_acks(ks, rc, acks, err);
    if (rcode == SLUICE_OK)
        rcode = set(ks, rc, "kafka.bootstrap.servers", NULL, "bootstrap.servers",
                    c->bootstrap_servers, err);
    if (rcode != SLUICE_OK) {
        rd_kafka_conf_destroy(rc);
        return rcode;
    }

    char buf[32];
    size_t sz = sizeof(buf);
    ks->msg_timeout_ms = 30000;
    if (rd_kafka_conf_get(rc, "message.timeout.ms", buf, &sz) == RD_KAFKA_CONF_OK)
        ks->msg_timeout_ms = strtoll(buf, NULL, 10);

    rd_kafka_conf_set_opaque(rc, ks);
    rd_kafka_conf_set_dr_msg_cb(rc, ks_dr_cb);
    rd_kafka_conf_set_log_cb(rc, log_cb);
    rd_kafka_conf_set_error_cb(rc, error_cb);
    ks->rkconf = rc;
    return SLUICE_OK;
}

void ks_producer_destroy(struct kafka_sink *ks)
{
    if (ks->rkt)
        rd_kafka_topic_destroy(ks->rkt);
    ks->rkt = NULL;
    if (ks->rk)
        rd_kafka_destroy(ks->rk);
    ks->rk = NULL;
}

int ks_producer_new(struct kafka_sink *ks, int fallback, struct sluice_err *err)
{
    char errstr[512];
    rd_kafka_conf_t *rc = rd_kafka_conf_dup(ks->rkconf);
    if (!rc)
        return ks->host->err_set(err, SLUICE_ENOMEM, "out of memory for the Kafka producer");
    int idem = ks->idem_resolved && !fallback;
    if (!idem && ks->idem_resolved) {
        const char *acks = ks->acks_user[0] ? ks->acks_user : "1";
        if (rd_kafka_conf_set(rc, "enable.idempotence", "false", errstr, sizeof(errstr)) ||
            rd_kafka_conf_set(rc, "acks", acks, errstr, sizeof(errstr))) {
            rd_kafka_conf_destroy(rc);
            return ks->host->err_set(err, SLUICE_ECONFIG, "Kafka producer: %s", errstr);
        }
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(rc);
        return ks->host->err_set(err, SLUICE_ECONFIG, "cannot create the Kafka producer: %s",
                                 errstr);
    }
    ks->rk = rk;
    ks->idempotent = idem;
    /* Make the static topic known now, so librdkafka asks for its metadata as soon as it is
     * connected. A topic first named by the first record waited for the next periodic
     * metadata scan: the first records reached Kafka about 1 s after start, not 0.1 s. */
    /* The handle also serves rd_kafka_produce_batch (kafka_sink_batches.c); without it every
     * record goes through rd_kafka_producev. */
    if (!ks->topic_has_escapes)
        ks->rkt = rd_kafka_topic_new(rk, ks->topic, NULL);
    return SLUICE_OK;
}
