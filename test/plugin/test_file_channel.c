/*
 * The file channel driven in-process through its ops, on real directories: round trips with
 * headers and binary bodies, limits, rollback order, replay (with and without a checkpoint,
 * dual checkpoints), crashes (a forked child SIGKILLed at random moments), torn and corrupt
 * logs, log file removal, directory locks, minimumRequiredSpace, takes served from read
 * windows (alone and concurrently), and 200,000 events through concurrent threads with
 * throughput printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../channels/file/file_channel.h"
#include "log_capture.h"
#include "test_host.h"

extern const struct sluice_plugin sluice_plugin; /* file_channel.c, compiled in */

static struct sluice_host host;

static const struct sluice_channel_ops *ops(void)
{
    return sluice_plugin.ops;
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- Helpers -------------------------------------------------------------------------------- */

struct fixture {
    struct sluice_ctx ctx;
    char dir[256]; /* a fresh directory per test */
    char cp[300], data[300];
    void *ch;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The conf struct from the option table: defaults, the fixture's dirs, then kv pairs. */
static void *conf_build(struct fixture *f, const char *const *kv)
{
    void *conf = calloc(1, sluice_plugin.conf_size);
    assert_non_null(conf);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        const struct sluice_option *o = sluice_plugin.options;
        while (o->name && strcmp(o->name, kv[i]) != 0)
            o++;
        assert_non_null(o->name); /* a typo in a test key */
    }
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        if (o->type == SLUICE_OPT_UNSUPPORTED)
            continue;
        const char *v = o->def;
        if (strcmp(o->name, "checkpointDir") == 0)
            v = f->cp;
        if (strcmp(o->name, "dataDirs") == 0)
            v = f->data;
        if (strcmp(o->name, "minimumRequiredSpace") == 0)
            v = "1048576";
        for (size_t i = 0; kv && kv[i]; i += 2)
            if (strcmp(kv[i], o->name) == 0)
                v = kv[i + 1];
        char *field = (char *)conf + o->offset;
        if (o->type == SLUICE_OPT_STRING) {
            char *s = v ? strdup(v) : NULL;
            memcpy(field, &s, sizeof(s));
        } else if (o->type == SLUICE_OPT_BOOL) {
            assert_non_null(v);
            int b = strcmp(v, "true") == 0;
            memcpy(field, &b, sizeof(b));
        } else {
            assert_int_equal(o->type, SLUICE_OPT_INT);
            assert_non_null(v);
            char *end;
            errno = 0;
            long long x = strtoll(v, &end, 10);
            assert_true(errno == 0 && *end == '\0');
            assert_true(x >= o->min && x <= o->max);
            int64_t x64 = x;
            memcpy(field, &x64, sizeof(x64));
        }
    }
    return conf;
}

static void conf_free(void *conf)
{
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++)
        if (o->type == SLUICE_OPT_STRING) {
            char *s;
            memcpy(&s, (char *)conf + o->offset, sizeof(s));
            free(s);
        }
    free(conf);
}

static int ch_create(struct fixture *f, void **ch, const char *const *kv, struct sluice_err *err)
{
    void *conf = conf_build(f, kv);
    int rc = ops()->create(ch, conf, &host, &f->ctx, err);
    conf_free(conf);
    return rc;
}

static void *ch_open(struct fixture *f, const char *const *kv)
{
    struct sluice_err err = {0};
    void *ch = NULL;
    int rc = ch_create(f, &ch, kv, &err);
    if (rc != SLUICE_OK)
        fail_msg("create: %d %s", rc, err.msg);
    rc = ops()->start(ch, &err);
    if (rc != SLUICE_OK)
        fail_msg("start: %d %s", rc, err.msg);
    return ch;
}

static void ch_close(void *ch)
{
    ops()->stop(ch);
    ops()->destroy(ch);
}

static void reopen(struct fixture *f, const char *const *kv)
{
    ch_close(f->ch);
    f->ch = ch_open(f, kv);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    test_ctx_init(&f->ctx, "c1");
    snprintf(f->dir, sizeof(f->dir), "%s/sluice-fc.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cp, sizeof(f->cp), "%s/cp", f->dir);
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    log_capture_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->ch)
        ch_close(f->ch);
    test_ctx_destroy(&f->ctx);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    log_capture_reset();
    free(f);
    return 0;
}

/* An event whose body is len bytes (len >= 8): the first 8 carry id, the rest a pattern that
 * includes NUL bytes. */
static struct sluice_event *ev_make(uint64_t id, size_t len)
{
    uint8_t *body = malloc(len ? len : 1);
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(i * 7 + id);
    if (len >= sizeof(id))
        memcpy(body, &id, sizeof(id));
    struct sluice_event *ev = host.event_new(body, len);
    free(body);
    assert_non_null(ev);
    return ev;
}

static uint64_t ev_id(const struct sluice_event *ev)
{
    uint64_t id;
    assert_true(ev->body_len >= sizeof(id));
    memcpy(&id, ev->body, sizeof(id));
    return id;
}

static int put_batch(void *ch, uint64_t first, size_t n, size_t len, struct sluice_err *err)
{
    struct sluice_event **evs = calloc(n ? n : 1, sizeof(*evs));
    assert_non_null(evs);
    for (size_t i = 0; i < n; i++)
        evs[i] = ev_make(first + i, len);
    void *tx = ops()->tx_begin(ch);
    assert_non_null(tx);
    int rc = ops()->put(tx, evs, n, err);
    assert_int_equal(rc, SLUICE_OK);
    rc = ops()->commit(tx, err);
    if (rc != SLUICE_OK)
        ops()->rollback(tx);
    ops()->tx_free(tx);
    free(evs);
    return rc;
}

static void put_ok(void *ch, uint64_t first, size_t n, size_t len)
{
    struct sluice_err err = {0};
    int rc = put_batch(ch, first, n, len, &err);
    if (rc != SLUICE_OK)
        fail_msg("put_batch: %d %s", rc, err.msg);
}

/* Take up to max in one transaction, check ids are first.. (first >= 0), commit. */
static size_t take_commit(void *ch, size_t max, int64_t first)
{
    struct sluice_event *evs[512];
    assert_true(max <= 512);
    size_t n = 0;
    void *tx = ops()->tx_begin(ch);
    assert_int_equal(ops()->take(tx, evs, max, &n), SLUICE_OK);
    for (size_t i = 0; first >= 0 && i < n; i++)
        assert_int_equal(ev_id(evs[i]), (uint64_t)first + i);
    struct sluice_err err = {0};
    int rc = ops()->commit(tx, &err);
    if (rc != SLUICE_OK)
        fail_msg("take commit: %d %s", rc, err.msg);
    ops()->tx_free(tx);
    return n;
}

/* Take everything, checking the ids are exactly first..first+n-1 in order. */
static void drain_expect(void *ch, uint64_t first, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t k = take_commit(ch, n - got < 100 ? n - got : 100, (int64_t)(first + got));
        if (k == 0)
            fail_msg("channel ran dry after %zu of %zu events", got, n);
        got += k;
    }
    assert_int_equal(got, n);
    assert_int_equal(take_commit(ch, 100, -1), 0);
}

static uint64_t ch_size(void *ch)
{
    uint64_t size, cap;
    ops()->size(ch, &size, &cap);
    return size;
}

static size_t count_logs(const char *dir, uint32_t *last)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    uint32_t max = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "log-", 4) == 0) {
            n++;
            uint32_t v = (uint32_t)strtoul(de->d_name + 4, NULL, 10);
            if (v > max)
                max = v;
        }
    }
    closedir(d);
    if (last)
        *last = max;
    return n;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* ---- Descriptor ------------------------------------------------------------------------------ */

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(sluice_plugin.kind, SLUICE_KIND_CHANNEL);
    assert_string_equal(sluice_plugin.name, "file");
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.channel.file.FileChannel");
    struct {
        const char *name, *def;
    } defs[] = {{"checkpointDir", "~/.flume/file-channel/checkpoint"},
                {"dataDirs", "~/.flume/file-channel/data"},
                {"capacity", "1000000"},
                {"transactionCapacity", "10000"},
                {"checkpointInterval", "30000"},
                {"maxFileSize", "2146435071"},
                {"minimumRequiredSpace", "524288000"},
                {"useDualCheckpoints", "false"},
                {"keep-alive", "3"},
                {"checkpointOnClose", "true"},
                {"fsyncPerTransaction", "true"},
                {"fsyncInterval", "5"}};
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        const struct sluice_option *o = sluice_plugin.options;
        while (o->name && strcmp(o->name, defs[i].name) != 0)
            o++;
        assert_non_null(o->name);
        assert_string_equal(o->def, defs[i].def);
    }
    int txcap = 0, unsupported = 0;
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        if (o->flags & SLUICE_OPT_TX_CAPACITY) {
            assert_string_equal(o->name, "transactionCapacity");
            txcap++;
        }
        if (o->type == SLUICE_OPT_UNSUPPORTED) {
            assert_non_null(o->desc);
            unsupported++;
        }
    }
    assert_int_equal(txcap, 1);
    assert_true(unsupported >= 9); /* encryption.* (6), use-log-replay-v1, use-fast-replay, ... */
}

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(fc_crc32c(0, "123456789", 9), 0xe3069283u); /* the standard check value */
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31);
    /* incremental == one shot */
    assert_int_equal(fc_crc32c(fc_crc32c(0, big, 333), big + 333, 667), fc_crc32c(0, big, 1000));
}

/* ---- Round trip, limits, rollback --------------------------------------------------------- */

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    /* headers, a body full of NUL bytes, an empty body, and one bigger than a single read */
    uint8_t nul_body[300] = {0};
    nul_body[150] = 'x';
    struct sluice_event *evs[4];
    evs[0] = host.event_new(nul_body, sizeof(nul_body));
    assert_int_equal(host.event_header_set(evs[0], "host", "web-1"), SLUICE_OK);
    assert_int_equal(host.event_header_set(evs[0], "k\xc3\xa9y", "v=1, {x}"), SLUICE_OK);
    evs[1] = host.event_new(NULL, 0);
    assert_int_equal(host.event_header_set(evs[1], "empty", ""), SLUICE_OK);
    evs[2] = ev_make(42, 1 << 20);
    evs[3] = ev_make(43, 5000);
    struct sluice_event *copy[4];
    for (int i = 0; i < 4; i++)
        copy[i] = host.event_dup(evs[i]);
    struct sluice_err err = {0};
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, evs, 4, &err), SLUICE_OK);
    assert_int_equal(ch_size(f->ch), 0); /* not before commit */
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 4);

    for (int pass = 0; pass < 2; pass++) { /* live, then after a restart */
        struct sluice_event *got[8];
        size_t n = 0;
        tx = ops()->tx_begin(f->ch);
        assert_int_equal(ops()->take(tx, got, 8, &n), SLUICE_OK);
        assert_int_equal(n, 4);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(got[i]->body_len, copy[i]->body_len);
            if (copy[i]->body_len)
                assert_memory_equal(got[i]->body, copy[i]->body, copy[i]->body_len);
            assert_int_equal(got[i]->n_headers, copy[i]->n_headers);
            for (uint32_t h = 0; h < copy[i]->n_headers; h++)
                assert_string_equal(host.event_header_get(got[i], copy[i]->headers[h].key),
                                    copy[i]->headers[h].value);
        }
        if (pass == 0) {
            ops()->rollback(tx);
            ops()->tx_free(tx);
            reopen(f, KV("keep-alive", "0"));
            assert_int_equal(ch_size(f->ch), 4);
        } else {
            assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
            ops()->tx_free(tx);
        }
    }
    assert_int_equal(ch_size(f->ch), 0);
    for (int i = 0; i < 4; i++)
        host.event_free(copy[i]);
}

static void test_create_errors(void **state)
{
    struct fixture *f = *state;
    struct sluice_err err = {0};
    void *ch = &err;
    assert_int_equal(ch_create(f, &ch, KV("capacity", "10", "transactionCapacity", "11"), &err),
                     SLUICE_ECONFIG);
    assert_null(ch);
    assert_string_equal(err.msg, "transactionCapacity 11 is larger than capacity 10");
    assert_int_equal(ch_create(f, &ch, KV("useDualCheckpoints", "true"), &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "backupCheckpointDir is not set"));
    assert_int_equal(
        ch_create(f, &ch, KV("useDualCheckpoints", "true", "backupCheckpointDir", f->cp), &err),
        SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "backupCheckpointDir must differ from checkpointDir"));
    assert_int_equal(ch_create(f, &ch, KV("dataDirs", " , ,"), &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "names no directory"));
    /* a directory that cannot be created is found by create() already */
    char file[600], below[700];
    snprintf(file, sizeof(file), "%s/plain-file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(below, sizeof(below), "%s/data", file);
    assert_int_equal(ch_create(f, &ch, KV("dataDirs", below), &err), SLUICE_ECONFIG);
    char want[1500];
    snprintf(want, sizeof(want), "cannot create directory %s: %s is not a directory", below, file);
    if (!strstr(err.msg, want))
        fail_msg("unexpected message: %s", err.msg);

    /* create() has no side effects (`sluice check` calls it): no directory, no lock */
    assert_int_equal(ch_create(f, &ch, NULL, &err), SLUICE_OK);
    struct stat st;
    assert_int_equal(stat(f->cp, &st), -1);
    assert_int_equal(stat(f->data, &st), -1);
    ops()->destroy(ch);

    /* the same directory spelled otherwise is found when start() resolves the paths */
    char same[600];
    snprintf(same, sizeof(same), "%s/../cp", f->cp);
    assert_int_equal(mkdir(f->cp, 0755), 0);
    assert_int_equal(
        ch_create(f, &ch, KV("useDualCheckpoints", "true", "backupCheckpointDir", same), &err),
        SLUICE_OK);
    assert_int_equal(ops()->start(ch, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "backupCheckpointDir must differ from checkpointDir"));
    ops()->destroy(ch);
}

static void test_capacity_limits(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("capacity", "5", "transactionCapacity", "3", "keep-alive", "0"));
    struct sluice_err err = {0};
    struct sluice_event *evs[4];
    for (int i = 0; i < 4; i++)
        evs[i] = ev_make((uint64_t)i, 16);
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, evs, 4, &err), SLUICE_ETXCAP); /* owns none of them */
    assert_non_null(strstr(err.msg, "capacity 3 full"));
    assert_int_equal(ops()->put(tx, evs, 3, &err), SLUICE_OK);
    assert_int_equal(ops()->put(tx, evs + 3, 1, &err), SLUICE_ETXCAP);
    host.event_free(evs[3]);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);

    /* 3 queued, capacity 5: a commit of 3 more does not fit, and stays open for a retry */
    for (int i = 0; i < 3; i++)
        evs[i] = ev_make((uint64_t)(3 + i), 16);
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, evs, 3, &err), SLUICE_OK);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_EFULL);
    assert_non_null(strstr(err.msg, "capacity 5"));
    assert_int_equal(ops()->commit(tx, &err), SLUICE_EFULL);
    assert_int_equal(take_commit(f->ch, 2, 0), 2); /* room for the retry */
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 4);

    /* takes: at most transactionCapacity per transaction */
    struct sluice_event *got[8];
    size_t n = 0;
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 8, &n), SLUICE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ops()->take(tx, got, 8, &n), SLUICE_ETXCAP);
    assert_int_equal(n, 0);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    drain_expect(f->ch, 5, 1);
}

static void test_mixing_refused(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    put_ok(f->ch, 0, 2, 16);
    struct sluice_err err = {0};
    struct sluice_event *got[2], *ev = ev_make(9, 16);
    size_t n = 0;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 1, &n), SLUICE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ops()->put(tx, &ev, 1, &err), SLUICE_ESTATE);
    assert_non_null(strstr(err.msg, "may not mix puts and takes"));
    ops()->rollback(tx);
    ops()->tx_free(tx);
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, &ev, 1, &err), SLUICE_OK);
    assert_int_equal(ops()->take(tx, got, 1, &n), SLUICE_ESTATE);
    assert_int_equal(n, 0);
    assert_true(log_capture_count(SLUICE_LOG_ERROR, "may not mix puts and takes") >= 1);
    ops()->rollback(tx);
    ops()->tx_free(tx);
    drain_expect(f->ch, 0, 2);
}

static void test_rollback_order(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    put_ok(f->ch, 0, 10, 32);
    struct sluice_event *got[10];
    size_t n = 0;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 3, &n), SLUICE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ops()->take(tx, got + 3, 2, &n), SLUICE_OK);
    assert_int_equal(ev_id(got[4]), 4);
    ops()->rollback(tx);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 10);
    /* an uncommitted take is void after a restart as well */
    tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 4, &n), SLUICE_OK);
    ops()->tx_free(tx); /* rolls back */
    reopen(f, KV("keep-alive", "0"));
    drain_expect(f->ch, 0, 10);
}

static void test_take_waits_for_first_event(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "1"));
    struct sluice_event *got[4];
    size_t n = 7;
    int64_t t0 = now_ms();
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 4, &n), SLUICE_OK);
    int64_t waited = now_ms() - t0;
    assert_int_equal(n, 0);
    assert_true(waited >= 900 && waited < 5000);
    put_ok(f->ch, 0, 2, 16);
    t0 = now_ms();
    assert_int_equal(ops()->take(tx, got, 4, &n), SLUICE_OK); /* returns what is there */
    assert_int_equal(n, 2);
    assert_true(now_ms() - t0 < 900);
    ops()->rollback(tx);
    ops()->tx_free(tx);
}

/* take_nowait (ABI 1.1): an empty channel answers at once despite keep-alive; two open
 * transactions of one taker take disjoint events, and rolling both back (newest first)
 * restores the order. */
static void test_take_nowait_two_transactions(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "3"));
    struct sluice_event *a[4], *b[4];
    size_t n = 7;
    void *t1 = ops()->tx_begin(f->ch);
    int64_t t0 = now_ms();
    assert_int_equal(ops()->take_nowait(t1, a, 4, &n), SLUICE_OK);
    assert_int_equal(n, 0);
    assert_true(now_ms() - t0 < 1000);
    put_ok(f->ch, 0, 6, 16);
    assert_int_equal(ops()->take_nowait(t1, a, 4, &n), SLUICE_OK);
    assert_int_equal(n, 4);
    void *t2 = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take_nowait(t2, b, 4, &n), SLUICE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev_id(b[0]), 4);
    ops()->rollback(t2);
    ops()->rollback(t1);
    ops()->tx_free(t2);
    ops()->tx_free(t1);
    drain_expect(f->ch, 0, 6);
}

/* ---- Replay ---------------------------------------------------------------------------------- */

static void test_replay_with_checkpoint(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    for (int i = 0; i < 10; i++)
        put_ok(f->ch, (uint64_t)i * 10, 10, 100);
    assert_int_equal(take_commit(f->ch, 30, 0), 30);
    log_capture_reset();
    reopen(f, KV("keep-alive", "0")); /* checkpoint on close */
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "70 from the checkpoint, 0 transactions"),
                     1);
    assert_int_equal(ch_size(f->ch), 70);
    drain_expect(f->ch, 30, 70);
}

static void test_replay_log_after_checkpoint(void **state)
{
    struct fixture *f = *state;
    const char *const *kv = KV("keep-alive", "0", "checkpointOnClose", "false");
    f->ch = ch_open(f, kv);
    for (int i = 0; i < 10; i++)
        put_ok(f->ch, (uint64_t)i * 10, 10, 100);
    assert_int_equal(take_commit(f->ch, 25, 0), 25);
    log_capture_reset();
    reopen(f, kv); /* the checkpoint from the start covers nothing: all from the log */
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "0 from the checkpoint, 11 transactions"),
                     1);
    drain_expect(f->ch, 25, 75);
}

static void test_replay_without_checkpoint(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0", "maxFileSize", "3000"));
    for (int i = 0; i < 10; i++)
        put_ok(f->ch, (uint64_t)i * 10, 10, 100);
    assert_int_equal(take_commit(f->ch, 45, 0), 45);
    ch_close(f->ch);
    char path[600];
    snprintf(path, sizeof(path), "%s/checkpoint", f->cp);
    assert_int_equal(unlink(path), 0);
    log_capture_reset();
    f->ch = ch_open(f, KV("keep-alive", "0", "maxFileSize", "3000"));
    assert_true(log_capture_count(SLUICE_LOG_INFO, "no checkpoint") >= 1);
    drain_expect(f->ch, 45, 55);
}

static void corrupt_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_dual_checkpoints(void **state)
{
    struct fixture *f = *state;
    char backup[600];
    snprintf(backup, sizeof(backup), "%s/backup", f->dir);
    const char *const *kv = KV("keep-alive", "0", "useDualCheckpoints", "true",
                               "backupCheckpointDir", backup, "maxFileSize", "2000");
    f->ch = ch_open(f, kv);
    for (int i = 0; i < 8; i++)
        put_ok(f->ch, (uint64_t)i * 10, 10, 50);
    assert_int_equal(take_commit(f->ch, 20, 0), 20);
    ch_close(f->ch);
    char primary[1100], second[1100];
    snprintf(primary, sizeof(primary), "%s/checkpoint", f->cp);
    snprintf(second, sizeof(second), "%s/checkpoint", backup);
    assert_int_equal(file_size(primary), file_size(second));
    corrupt_byte(primary, 60); /* inside the positions */

    log_capture_reset();
    f->ch = ch_open(f, kv);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "checksum mismatch"), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "using the backup checkpoint"), 1);
    assert_int_equal(ch_size(f->ch), 60);
    assert_int_equal(take_commit(f->ch, 10, 20), 10);
    ch_close(f->ch);

    /* both damaged: every log file is replayed, with the same result */
    corrupt_byte(primary, 60);
    corrupt_byte(second, 60);
    log_capture_reset();
    f->ch = ch_open(f, kv);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "no usable checkpoint"), 1);
    drain_expect(f->ch, 30, 50);
}

static void test_fsync_interval_mode(void **state)
{
    struct fixture *f = *state;
    const char *const *kv = KV("keep-alive", "0", "fsyncPerTransaction", "false", "fsyncInterval",
                               "1", "checkpointOnClose", "false");
    f->ch = ch_open(f, kv);
    for (int i = 0; i < 5; i++)
        put_ok(f->ch, (uint64_t)i * 20, 20, 64);
    struct fc_channel *c = f->ch;
    uint64_t syncs_before = atomic_load(&c->wal.n_syncs);
    int64_t deadline = now_ms() + 5000; /* the interval thread syncs by itself */
    while (atomic_load(&c->wal.n_syncs) == syncs_before && now_ms() < deadline)
        sleep_ms(20);
    assert_true(atomic_load(&c->wal.n_syncs) > syncs_before);
    reopen(f, kv);
    drain_expect(f->ch, 0, 100);
}

/* ---- Damage -------------------------------------------------------------------------------- */

static void test_torn_tail(void **state)
{
    struct fixture *f = *state;
    const char *const *kv = KV("keep-alive", "0", "checkpointOnClose", "false");
    f->ch = ch_open(f, kv);
    put_ok(f->ch, 0, 10, 100);
    put_ok(f->ch, 10, 5, 100);
    ch_close(f->ch);
    f->ch = NULL;
    uint32_t last;
    count_logs(f->data, &last);
    char path[600];
    snprintf(path, sizeof(path), "%s/log-%u", f->data, last);
    off_t size = file_size(path);
    assert_int_equal(truncate(path, size - 3), 0); /* the commit record of the second batch */

    log_capture_reset();
    f->ch = ch_open(f, kv);
    char want[1500];
    snprintf(want, sizeof(want), "%s: torn record at offset %lld", path, (long long)size - 40);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, want), 1);
    assert_int_equal(file_size(path), size - 40); /* cut off at the torn commit record */
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "ignored 5 records of 1 transactions"), 1);
    assert_int_equal(ch_size(f->ch), 10);
    put_ok(f->ch, 100, 3, 10); /* the log goes on after the repair */
    reopen(f, kv);
    assert_int_equal(take_commit(f->ch, 10, 0), 10);
    drain_expect(f->ch, 100, 3);
}

static void test_corruption_refuses_start(void **state)
{
    struct fixture *f = *state;
    const char *const *kv =
        KV("keep-alive", "0", "checkpointOnClose", "false", "maxFileSize", "500");
    f->ch = ch_open(f, kv);
    for (int i = 0; i < 4; i++)
        put_ok(f->ch, (uint64_t)i * 2, 2, 150); /* each commit fills its own file */
    ch_close(f->ch);
    f->ch = NULL;
    uint32_t last;
    assert_true(count_logs(f->data, &last) >= 4);
    char path[600];
    snprintf(path, sizeof(path), "%s/log-%u", f->data, last - 2);
    corrupt_byte(path, FC_FILE_HDR_SIZE + FC_REC_HDR_SIZE + 40); /* a body byte */

    struct sluice_err err = {0};
    void *ch = NULL;
    assert_int_equal(ch_create(f, &ch, kv, &err), SLUICE_OK);
    assert_int_equal(ops()->start(ch, &err), SLUICE_EIO);
    char want[1500];
    snprintf(want, sizeof(want),
             "log %s is corrupt at offset %u (record payload checksum "
             "mismatch) and later log files exist; refusing to start",
             path, FC_FILE_HDR_SIZE);
    if (!strstr(err.msg, want))
        fail_msg("unexpected message: %s", err.msg);
    ops()->stop(ch);
    ops()->destroy(ch); /* must not write a checkpoint over the damage */
    char cp[600];
    snprintf(cp, sizeof(cp), "%s/checkpoint", f->cp);
    struct stat st1, st2;
    assert_int_equal(stat(cp, &st1), 0);
    assert_int_equal(ch_create(f, &ch, kv, &err), SLUICE_OK);
    assert_int_equal(ops()->start(ch, &err), SLUICE_EIO);
    ops()->destroy(ch);
    assert_int_equal(stat(cp, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino); /* a checkpoint is a new file (rename) */
    assert_int_equal(st1.st_size, st2.st_size);

    /* damage in the newest file with valid records after it: also refused */
    corrupt_byte(path, FC_FILE_HDR_SIZE + FC_REC_HDR_SIZE + 40); /* repair */
    f->ch = ch_open(f, KV("keep-alive", "0", "checkpointOnClose", "false"));
    put_ok(f->ch, 100, 1, 20);
    put_ok(f->ch, 101, 1, 20);
    ch_close(f->ch);
    f->ch = NULL;
    count_logs(f->data, &last);
    snprintf(path, sizeof(path), "%s/log-%u", f->data, last);
    corrupt_byte(path, FC_FILE_HDR_SIZE + 2); /* the first record's magic */
    assert_int_equal(ch_create(f, &ch, kv, &err), SLUICE_OK);
    assert_int_equal(ops()->start(ch, &err), SLUICE_EIO);
    assert_non_null(strstr(err.msg, "valid records follow it"));
    ops()->destroy(ch);
}

static void test_corrupt_event_skipped_on_take(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    put_ok(f->ch, 0, 3, 100);
    uint32_t last;
    count_logs(f->data, &last);
    char path[600];
    snprintf(path, sizeof(path), "%s/log-%u", f->data, last);
    /* the second event's body */
    corrupt_byte(path, FC_FILE_HDR_SIZE + (FC_REC_HDR_SIZE + 108) + FC_REC_HDR_SIZE + 50);
    struct sluice_event *got[3];
    size_t n = 0;
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->take(tx, got, 3, &n), SLUICE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev_id(got[0]), 0);
    assert_int_equal(ev_id(got[1]), 2);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "payload checksum mismatch"), 1);
    struct sluice_err err = {0};
    assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
    ops()->tx_free(tx);
    assert_int_equal(ch_size(f->ch), 0);
}

/* ---- Files, locks, space --------------------------------------------------------------------- */

static uint32_t oldest_log(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    uint32_t min = UINT32_MAX;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "log-", 4) == 0) {
            uint32_t v = (uint32_t)strtoul(de->d_name + 4, NULL, 10);
            if (v < min)
                min = v;
        }
    closedir(d);
    return min;
}

static void test_log_files_removed(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0", "maxFileSize", "4096", "checkpointInterval", "50"));
    /* 10 events of 140 bytes of log per commit: two commits per file, events 20k..20k+19 in
     * log-(k+1) */
    for (int i = 0; i < 40; i++)
        put_ok(f->ch, (uint64_t)i * 10, 10, 100);
    size_t written = count_logs(f->data, NULL);
    assert_true(written >= 20);
    assert_int_equal(oldest_log(f->data), 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(take_commit(f->ch, 10, i * 10), 10);
    /* the files of the taken half go (at the next checkpoint), the others stay */
    int64_t deadline = now_ms() + 10000;
    while (oldest_log(f->data) < 11 && now_ms() < deadline)
        sleep_ms(20);
    assert_int_equal(oldest_log(f->data), 11); /* log-11 holds event 200 */
    print_message("log files: %zu written, %zu left after half was taken\n", written,
                  count_logs(f->data, NULL));
    drain_expect(f->ch, 200, 200);
    deadline = now_ms() + 10000;
    while (count_logs(f->data, NULL) > 1 && now_ms() < deadline)
        sleep_ms(20);
    assert_int_equal(count_logs(f->data, NULL), 1); /* only the file being written */
    reopen(f, KV("keep-alive", "0", "maxFileSize", "4096"));
    assert_int_equal(ch_size(f->ch), 0);
}

/* start() of a second channel on dirs the first holds: ECONFIG with the message */
static void start_refused(struct fixture *f, const char *const *kv, const char *want)
{
    struct sluice_err err = {0};
    void *ch = NULL;
    assert_int_equal(ch_create(f, &ch, kv, &err), SLUICE_OK); /* create() takes no lock */
    assert_int_equal(ops()->start(ch, &err), SLUICE_ECONFIG);
    if (!strstr(err.msg, want))
        fail_msg("unexpected message: %s", err.msg);
    ops()->stop(ch);
    ops()->destroy(ch);
}

static void test_directory_locked(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, NULL);
    char want[1500];
    snprintf(want, sizeof(want),
             "directory %s is already in use by another file channel (%s/in_use.lock is locked "
             "by this agent",
             f->cp, f->cp);
    start_refused(f, NULL, want);
    /* sharing only the data dir is refused too */
    char other[600];
    snprintf(other, sizeof(other), "%s/cp2", f->dir);
    snprintf(want, sizeof(want), "directory %s is already in use", f->data);
    start_refused(f, KV("checkpointDir", other), want);
    /* the first channel still works, and the directories are free again once it is gone */
    put_ok(f->ch, 0, 1, 16);
    ch_close(f->ch);
    f->ch = ch_open(f, NULL);
    drain_expect(f->ch, 0, 1);
}

static void test_minimum_required_space(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0"));
    put_ok(f->ch, 0, 5, 64);
    reopen(f, KV("keep-alive", "1", "minimumRequiredSpace", "9000000000000000000"));
    struct sluice_err err = {0};
    struct sluice_event *ev = ev_make(99, 64);
    void *tx = ops()->tx_begin(f->ch);
    assert_int_equal(ops()->put(tx, &ev, 1, &err), SLUICE_OK);
    int64_t t0 = now_ms();
    assert_int_equal(ops()->commit(tx, &err), SLUICE_EFULL);
    assert_true(now_ms() - t0 >= 900); /* waited keep-alive for space */
    char want[1500];
    snprintf(want, sizeof(want), "bytes free on %s, below minimumRequiredSpace 9000000000000000000",
             f->cp);
    if (!strstr(err.msg, want))
        fail_msg("unexpected message: %s", err.msg);
    assert_int_equal(ops()->commit(tx, &err), SLUICE_EFULL); /* still open, still refused */
    /* takes go on */
    assert_int_equal(take_commit(f->ch, 3, 0), 3);
    ops()->rollback(tx);
    ops()->tx_free(tx);
    reopen(f, KV("keep-alive", "0"));
    drain_expect(f->ch, 3, 2);
}

/* ---- Crash safety: a child commits and is killed at a random moment ----------------------- */

#define CRASH_KV                                                                                   \
    KV("keep-alive", "0", "capacity", "100000", "transactionCapacity", "64", "maxFileSize",        \
       "16384", "checkpointInterval", "25")

static void child_write(int fd, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (write(fd, line, (size_t)n) != n)
        _exit(3);
}

/* Never returns. Reports: "B first n" before a put commit, "C" after it returned OK, "X a b .."
 * before a take commit, "Y" after it returned OK. */
static void crash_child(struct fixture *f, uint64_t base, int wfd, unsigned seed)
{
    struct sluice_err err = {0};
    void *ch = NULL;
    void *conf = conf_build(f, CRASH_KV);
    if (ops()->create(&ch, conf, &host, &f->ctx, &err) != SLUICE_OK ||
        ops()->start(ch, &err) != SLUICE_OK) {
        child_write(wfd, "E %s\n", err.msg);
        _exit(2);
    }
    child_write(wfd, "R\n");
    uint64_t id = base;
    for (unsigned i = 0;; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 40;
        struct sluice_event *evs[64];
        for (size_t k = 0; k < n; k++) {
            size_t len = 8 + ((seed >> 8) + k * 13) % 400;
            uint8_t body[512];
            memset(body, (int)(k & 0xff), len);
            uint64_t v = id + k;
            memcpy(body, &v, 8);
            evs[k] = host.event_new(body, len);
        }
        void *tx = ops()->tx_begin(ch);
        if (ops()->put(tx, evs, n, &err) != SLUICE_OK)
            _exit(4);
        child_write(wfd, "B %" PRIu64 " %zu\n", id, n);
        if (ops()->commit(tx, &err) != SLUICE_OK) {
            child_write(wfd, "E commit: %s\n", err.msg);
            _exit(5);
        }
        child_write(wfd, "C\n");
        ops()->tx_free(tx);
        id += n;
        if ((seed >> 4) & 1) { /* consume some too, so take records are replayed */
            struct sluice_event *got[64];
            size_t m = 0;
            tx = ops()->tx_begin(ch);
            ops()->take(tx, got, 1 + (seed >> 20) % 30, &m);
            char line[1500];
            int len = snprintf(line, sizeof(line), "X");
            for (size_t k = 0; k < m; k++) {
                uint64_t v;
                memcpy(&v, got[k]->body, 8);
                len += snprintf(line + len, sizeof(line) - (size_t)len, " %" PRIu64, v);
            }
            child_write(wfd, "%s\n", line);
            if (ops()->commit(tx, &err) != SLUICE_OK)
                _exit(6);
            child_write(wfd, "Y\n");
            ops()->tx_free(tx);
        }
    }
}

enum { ST_NONE, ST_PUT, ST_MAYBE_PUT, ST_TAKEN, ST_MAYBE_TAKEN };

static void test_crash_safety(void **state)
{
    struct fixture *f = *state;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if (getenv("FC_CRASH_SEED"))
        seed = (unsigned)strtoul(getenv("FC_CRASH_SEED"), NULL, 10);
    print_message("crash test seed %u (FC_CRASH_SEED=%u repeats it)\n", seed, seed);
    const int iterations = 12;
    size_t total_committed = 0, total_found = 0, total_maybe = 0;
    for (int it = 0; it < iterations; it++) {
        uint64_t base = (uint64_t)it * 1000000;
        int p[2];
        assert_int_equal(pipe(p), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(f, base, p[1], seed + (unsigned)it);
        }
        close(p[1]);
        FILE *in = fdopen(p[0], "r");
        assert_non_null(in);
        char line[2048];
        assert_non_null(fgets(line, sizeof(line), in));
        if (line[0] != 'R')
            fail_msg("child could not open the channel: %s", line);
        seed = seed * 1103515245u + 12345u;
        sleep_ms(5 + (int)((seed >> 16) % 300));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* what the child said: per id, committed or maybe (commit running at the kill) */
        size_t cap = 1 << 20;
        uint8_t *st = calloc(cap, 1);
        assert_non_null(st);
        uint64_t max_id = base;
        uint64_t b_first = 0, b_n = 0;
        int open_put = 0, open_take = 0;
        uint64_t take_ids[64];
        size_t n_take = 0;
        while (fgets(line, sizeof(line), in)) {
            if (line[0] == 'E')
                fail_msg("child failed: %s", line);
            if (line[0] == 'B') {
                assert_int_equal(sscanf(line, "B %" SCNu64 " %" SCNu64, &b_first, &b_n), 2);
                assert_true(b_first - base + b_n < cap);
                for (uint64_t k = 0; k < b_n; k++)
                    st[b_first - base + k] = ST_MAYBE_PUT;
                open_put = 1;
                if (b_first + b_n > max_id)
                    max_id = b_first + b_n;
            } else if (line[0] == 'C') {
                for (uint64_t k = 0; k < b_n; k++)
                    st[b_first - base + k] = ST_PUT;
                open_put = 0;
            } else if (line[0] == 'X') {
                n_take = 0;
                char *s = line + 1;
                char *end;
                for (uint64_t v = strtoull(s, &end, 10); end != s;
                     s = end, v = strtoull(s, &end, 10)) {
                    assert_true(n_take < 64 && v >= base && v - base < cap);
                    assert_int_equal(st[v - base], ST_PUT);
                    st[v - base] = ST_MAYBE_TAKEN;
                    take_ids[n_take++] = v;
                }
                open_take = 1;
            } else if (line[0] == 'Y') {
                for (size_t k = 0; k < n_take; k++)
                    st[take_ids[k] - base] = ST_TAKEN;
                open_take = 0;
            }
        }
        fclose(in);

        /* reopen and read everything back */
        log_capture_reset();
        void *ch = ch_open(f, CRASH_KV);
        uint8_t *seen = calloc(cap, 1);
        assert_non_null(seen);
        int64_t last = -1;
        size_t found = 0, maybe_put_found = 0, maybe_taken_found = 0;
        for (;;) {
            struct sluice_event *got[100];
            size_t n = 0;
            void *tx = ops()->tx_begin(ch);
            assert_int_equal(ops()->take(tx, got, 100, &n), SLUICE_OK);
            for (size_t k = 0; k < n; k++) {
                uint64_t v = ev_id(got[k]);
                if (v < base || v - base >= cap || st[v - base] == ST_NONE ||
                    st[v - base] == ST_TAKEN)
                    fail_msg("iteration %d: event %" PRIu64 " should not be there (state %d)", it,
                             v, v >= base && v - base < cap ? st[v - base] : -1);
                if (seen[v - base]++)
                    fail_msg("iteration %d: event %" PRIu64 " twice", it, v);
                if ((int64_t)v <= last)
                    fail_msg("iteration %d: %" PRIu64 " after %" PRId64 ": order", it, v, last);
                last = (int64_t)v;
                if (st[v - base] == ST_MAYBE_PUT)
                    maybe_put_found++;
                if (st[v - base] == ST_MAYBE_TAKEN)
                    maybe_taken_found++;
                found++;
            }
            struct sluice_err err = {0};
            assert_int_equal(ops()->commit(tx, &err), SLUICE_OK);
            ops()->tx_free(tx);
            if (n == 0)
                break;
        }
        size_t committed = 0;
        for (uint64_t v = base; v < max_id; v++) {
            if (st[v - base] == ST_PUT) {
                committed++;
                if (!seen[v - base])
                    fail_msg("iteration %d: committed event %" PRIu64 " lost", it, v);
            }
        }
        /* the commit running at the kill: all of it or nothing */
        if (open_put)
            assert_true(maybe_put_found == 0 || maybe_put_found == b_n);
        else
            assert_int_equal(maybe_put_found, 0);
        if (open_take)
            assert_true(maybe_taken_found == 0 || maybe_taken_found == n_take);
        else
            assert_int_equal(maybe_taken_found, 0);
        assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, ""), 0);
        print_message("iteration %2d: %zu committed events present, %zu found, kill during %s "
                      "(%s), %u log files\n",
                      it, committed, found,
                      open_put    ? "a put commit"
                      : open_take ? "a take commit"
                                  : "no commit",
                      open_put    ? (maybe_put_found ? "it survived" : "it was void")
                      : open_take ? (maybe_taken_found ? "takes were void" : "takes survived")
                                  : "-",
                      (unsigned)count_logs(f->data, NULL));
        total_committed += committed;
        total_found += found;
        total_maybe += maybe_put_found + maybe_taken_found;
        ch_close(ch); /* empty now; the next child continues on the same directories */
        free(st);
        free(seen);
    }
    print_message("crash test: %zu committed events over %d kills, all present exactly once "
                  "(%zu more from commits interrupted after they were durable)\n",
                  total_committed, iterations, total_maybe);
    assert_true(total_committed > 0);
    assert_true(total_found >= total_committed);
}

/* ---- Takes read the log in blocks (read windows) ----------------------------------------------
 */

/* Body length of event id in the window tests: mostly small, every 97th larger than a window,
 * every 89th exactly filling one (its record is FC_READ_WINDOW bytes). */
static size_t rw_len(uint64_t id)
{
    if (id % 97 == 50)
        return FC_READ_WINDOW + 1000;
    if (id % 89 == 40)
        return FC_READ_WINDOW - FC_REC_HDR_SIZE - 8; /* payload: u32 0 headers, u32 length */
    return 8 + (size_t)(id * 37 % 700);
}

/* The whole body of ev is ev_make(id, len)'s. */
static void rw_check(const struct sluice_event *ev, uint64_t id)
{
    size_t len = rw_len(id);
    assert_int_equal(ev->body_len, len);
    assert_int_equal(ev_id(ev), id);
    const uint8_t *b = ev->body;
    for (size_t i = sizeof(id); i < len; i++)
        if (b[i] != (uint8_t)(i * 7 + id))
            fail_msg("event %" PRIu64 ": body byte %zu differs", id, i);
}

static void rw_put(void *ch, uint64_t first, size_t n)
{
    struct sluice_event *evs[100];
    assert_true(n <= 100);
    for (size_t i = 0; i < n; i++)
        evs[i] = ev_make(first + i, rw_len(first + i));
    struct sluice_err err = {0};
    void *tx = ops()->tx_begin(ch);
    assert_int_equal(ops()->put(tx, evs, n, &err), SLUICE_OK);
    if (ops()->commit(tx, &err) != SLUICE_OK)
        fail_msg("commit: %s", err.msg);
    ops()->tx_free(tx);
}

/* Take up to max, check ids from first and contents; roll back when asked, else commit. */
static size_t rw_take(void *ch, size_t max, uint64_t first, int rollback)
{
    struct sluice_event *evs[100];
    assert_true(max <= 100);
    size_t n = 0;
    void *tx = ops()->tx_begin(ch);
    assert_int_equal(ops()->take(tx, evs, max, &n), SLUICE_OK);
    for (size_t i = 0; i < n; i++)
        rw_check(evs[i], first + i);
    struct sluice_err err = {0};
    if (rollback)
        ops()->rollback(tx);
    else if (ops()->commit(tx, &err) != SLUICE_OK)
        fail_msg("take commit: %s", err.msg);
    ops()->tx_free(tx);
    return n;
}

/* Puts and takes interleaved: windows are cut at the end of the last append and events land
 * after them; events straddle window ends, fill one exactly, or are larger than one. Every byte
 * comes back, few reads serve many events, and only the oversized events are read alone. */
static void test_take_windows(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "0", "maxFileSize", "3000000"));
    struct fc_channel *c = f->ch;
    const uint64_t total = 3000;
    uint64_t put = 0, taken = 0, big = 0;
    uint64_t fills0 = atomic_load(&c->wal.n_window_fills);
    uint64_t direct0 = atomic_load(&c->wal.n_direct_reads);
    while (taken < total) {
        if (put < total) {
            rw_put(f->ch, put, 100);
            put += 100;
        }
        size_t want = put < total ? 70 : 100;
        if (taken % 3 == 1) /* a rolled-back take reads the same events again */
            assert_int_equal(rw_take(f->ch, want, taken, 1),
                             want < put - taken ? want : put - taken);
        size_t n = rw_take(f->ch, want, taken, 0);
        assert_true(n > 0);
        taken += n;
    }
    assert_int_equal(ch_size(f->ch), 0);
    for (uint64_t id = 0; id < total; id++)
        big += rw_len(id) > FC_READ_WINDOW;
    uint64_t fills = atomic_load(&c->wal.n_window_fills) - fills0;
    uint64_t direct = atomic_load(&c->wal.n_direct_reads) - direct0;
    print_message("read windows: %" PRIu64 " events (and rolled-back rereads) with %" PRIu64
                  " block reads and %" PRIu64 " single reads\n",
                  total, fills, direct);
    assert_true(direct >= big);
    assert_true(direct <= 2 * big); /* an oversized event is read alone, once per take */
    assert_true(fills < total / 5);
    uint32_t last;
    assert_true(count_logs(f->data, &last) >= 1);
    assert_true(last >= 2); /* the log rolled: windows of several files were read */
}

/* Several takers at once (more than there are windows) with rollbacks, one producer: every
 * event arrives exactly once, whole. */
#define RW_EVENTS 12000
#define RW_TAKERS (FC_READ_WINDOWS + 2)

struct rw_arg {
    void *ch;
    unsigned seed;
    uint8_t *seen; /* RW_EVENTS flags, shared (rw_mu) */
    pthread_mutex_t *mu;
    size_t *received;
    int failed;
    char why[700];
};

static void *rw_produce(void *arg_)
{
    struct rw_arg *a = arg_;
    for (uint64_t id = 0; id < RW_EVENTS && !a->failed; id += 100) {
        struct sluice_event *evs[100];
        for (size_t i = 0; i < 100; i++)
            evs[i] = ev_make(id + i, 8 + (id + i) * 13 % 400);
        struct sluice_err err = {0};
        void *tx = ops()->tx_begin(a->ch);
        int rc = ops()->put(tx, evs, 100, &err);
        while (rc == SLUICE_OK && (rc = ops()->commit(tx, &err)) == SLUICE_EFULL)
            ;
        if (rc != SLUICE_OK) {
            snprintf(a->why, sizeof(a->why), "producer: %s", err.msg);
            a->failed = 1;
            ops()->rollback(tx);
        }
        ops()->tx_free(tx);
    }
    return NULL;
}

static void *rw_consume(void *arg_)
{
    struct rw_arg *a = arg_;
    int64_t deadline = now_ms() + 120000;
    for (;;) {
        pthread_mutex_lock(a->mu);
        size_t got = *a->received;
        pthread_mutex_unlock(a->mu);
        if (got >= RW_EVENTS || a->failed || now_ms() > deadline)
            break;
        struct sluice_event *evs[50];
        size_t n = 0;
        void *tx = ops()->tx_begin(a->ch);
        ops()->take(tx, evs, 1 + rand_r(&a->seed) % 50, &n);
        uint64_t ids[50]; /* commit frees the events */
        for (size_t k = 0; k < n && !a->failed; k++) {
            uint64_t id = ids[k] = ev_id(evs[k]);
            const uint8_t *b = evs[k]->body;
            int ok = id < RW_EVENTS && evs[k]->body_len == 8 + id * 13 % 400;
            for (size_t i = 8; ok && i < evs[k]->body_len; i++)
                ok = b[i] == (uint8_t)(i * 7 + id);
            if (!ok) {
                snprintf(a->why, sizeof(a->why), "event %" PRIu64 " came back damaged", id);
                a->failed = 1;
            }
        }
        if (n > 0 && rand_r(&a->seed) % 4 == 0) {
            ops()->rollback(tx);
            ops()->tx_free(tx);
            continue;
        }
        struct sluice_err err = {0};
        if (ops()->commit(tx, &err) != SLUICE_OK) {
            snprintf(a->why, sizeof(a->why), "consumer commit: %s", err.msg);
            a->failed = 1;
        }
        pthread_mutex_lock(a->mu);
        for (size_t k = 0; k < n && !a->failed; k++) {
            uint64_t id = ids[k];
            if (a->seen[id]++) {
                snprintf(a->why, sizeof(a->why), "event %" PRIu64 " delivered twice", id);
                a->failed = 1;
            }
        }
        *a->received += n;
        pthread_mutex_unlock(a->mu);
        ops()->tx_free(tx);
    }
    return NULL;
}

static void test_take_windows_concurrent(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("keep-alive", "1", "maxFileSize", "1000000"));
    uint8_t *seen = calloc(RW_EVENTS, 1);
    assert_non_null(seen);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    size_t received = 0;
    struct rw_arg prod = {.ch = f->ch}, cons[RW_TAKERS];
    pthread_t tp, tc[RW_TAKERS];
    for (int i = 0; i < RW_TAKERS; i++) {
        cons[i] = (struct rw_arg){
            .ch = f->ch, .seed = 7u + (unsigned)i, .seen = seen, .mu = &mu, .received = &received};
        assert_int_equal(pthread_create(&tc[i], NULL, rw_consume, &cons[i]), 0);
    }
    assert_int_equal(pthread_create(&tp, NULL, rw_produce, &prod), 0);
    pthread_join(tp, NULL);
    for (int i = 0; i < RW_TAKERS; i++)
        pthread_join(tc[i], NULL);
    if (prod.failed)
        fail_msg("%s", prod.why);
    for (int i = 0; i < RW_TAKERS; i++)
        if (cons[i].failed)
            fail_msg("%s", cons[i].why);
    assert_int_equal(received, RW_EVENTS);
    for (size_t i = 0; i < RW_EVENTS; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(ch_size(f->ch), 0);
    free(seen);
}

/* ---- 200,000 events through concurrent producers and a consumer --------------------------- */

#define TP_EVENTS    200000
#define TP_PRODUCERS 2
#define TP_BATCH     500

struct tp_arg {
    void *ch;
    int producer;
    size_t received;
    int failed;
    char why[700];
};

static void *tp_produce(void *arg_)
{
    struct tp_arg *a = arg_;
    uint64_t per = TP_EVENTS / TP_PRODUCERS;
    for (uint64_t seq = 0; seq < per && !a->failed; seq += TP_BATCH) {
        struct sluice_event *evs[TP_BATCH];
        for (size_t k = 0; k < TP_BATCH; k++) {
            uint8_t body[100];
            memset(body, 'a' + (int)(k % 26), sizeof(body));
            uint64_t v = ((uint64_t)a->producer << 56) | (seq + k);
            memcpy(body, &v, 8);
            body[20] = 0;
            evs[k] = host.event_new(body, sizeof(body));
            host.event_header_set(evs[k], "producer", a->producer ? "p1" : "p0");
        }
        struct sluice_err err = {0};
        void *tx = ops()->tx_begin(a->ch);
        int rc = ops()->put(tx, evs, TP_BATCH, &err);
        while (rc == SLUICE_OK && (rc = ops()->commit(tx, &err)) == SLUICE_EFULL)
            ;
        if (rc != SLUICE_OK) {
            snprintf(a->why, sizeof(a->why), "producer %d: %s", a->producer, err.msg);
            a->failed = 1;
            ops()->rollback(tx);
        }
        ops()->tx_free(tx);
    }
    return NULL;
}

static void *tp_consume(void *arg_)
{
    struct tp_arg *a = arg_;
    uint64_t next[TP_PRODUCERS] = {0};
    int64_t deadline = now_ms() + 120000;
    while (a->received < TP_EVENTS && now_ms() < deadline && !a->failed) {
        struct sluice_event *evs[TP_BATCH];
        size_t n = 0;
        void *tx = ops()->tx_begin(a->ch);
        ops()->take(tx, evs, TP_BATCH, &n);
        for (size_t k = 0; k < n; k++) {
            uint64_t v = ev_id(evs[k]);
            unsigned p = (unsigned)(v >> 56);
            uint64_t seq = v & ((1ull << 56) - 1);
            if (p >= TP_PRODUCERS || seq != next[p] || evs[k]->body_len != 100) {
                snprintf(a->why, sizeof(a->why), "producer %u: got %" PRIu64 ", expected %" PRIu64,
                         p, seq, p < TP_PRODUCERS ? next[p] : 0);
                a->failed = 1;
                break;
            }
            next[p]++;
        }
        struct sluice_err err = {0};
        if (ops()->commit(tx, &err) != SLUICE_OK) {
            snprintf(a->why, sizeof(a->why), "consumer commit: %s", err.msg);
            a->failed = 1;
        }
        ops()->tx_free(tx);
        a->received += n;
    }
    return NULL;
}

static void test_throughput(void **state)
{
    struct fixture *f = *state;
    f->ch = ch_open(f, KV("capacity", "20000", "transactionCapacity", "500", "keep-alive", "1",
                          "maxFileSize", "8000000", "checkpointInterval", "1000"));
    struct fc_channel *c = f->ch;
    uint64_t appends0 = atomic_load(&c->wal.n_appends), syncs0 = atomic_load(&c->wal.n_syncs);
    struct tp_arg prod[TP_PRODUCERS], cons = {.ch = f->ch};
    pthread_t tp[TP_PRODUCERS], tc;
    int64_t t0 = now_ms();
    assert_int_equal(pthread_create(&tc, NULL, tp_consume, &cons), 0);
    for (int i = 0; i < TP_PRODUCERS; i++) {
        prod[i] = (struct tp_arg){.ch = f->ch, .producer = i};
        assert_int_equal(pthread_create(&tp[i], NULL, tp_produce, &prod[i]), 0);
    }
    for (int i = 0; i < TP_PRODUCERS; i++)
        pthread_join(tp[i], NULL);
    pthread_join(tc, NULL);
    int64_t ms = now_ms() - t0;
    for (int i = 0; i < TP_PRODUCERS; i++)
        if (prod[i].failed)
            fail_msg("%s", prod[i].why);
    if (cons.failed)
        fail_msg("%s", cons.why);
    assert_int_equal(cons.received, TP_EVENTS);
    assert_int_equal(ch_size(f->ch), 0);
    uint64_t commits = atomic_load(&c->wal.n_appends) - appends0;
    uint64_t syncs = atomic_load(&c->wal.n_syncs) - syncs0;
    print_message("file channel: %d events (100-byte bodies, %d producers, 1 consumer, batches of "
                  "%d) in %.2f s = %.0f events/s; %" PRIu64 " commits shared %" PRIu64
                  " fdatasyncs; none lost, order kept\n",
                  TP_EVENTS, TP_PRODUCERS, TP_BATCH, (double)ms / 1000.0,
                  (double)TP_EVENTS * 1000.0 / (double)(ms ? ms : 1), commits, syncs);
    assert_true(syncs <= commits);
}

int main(void)
{
    host = log_capture_host();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixing_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_waits_for_first_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_nowait_two_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_with_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_log_after_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_without_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dual_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_interval_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_refuses_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_event_skipped_on_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_files_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimum_required_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_windows_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
