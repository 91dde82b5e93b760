/*
 * The taildir tests' fixture (see taildir_harness.h).
 */
#include "taildir_harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "log_capture.h"

struct sluice_host tdh_host;
int tdh_fail_emit;
size_t tdh_emit_calls;
size_t tdh_toobig_min;

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    tdh_emit_calls++;
    if (tdh_fail_emit || (tdh_toobig_min && n >= tdh_toobig_min)) {
        for (size_t i = 0; i < n; i++)
            event_free(evs[i]);
        return test_host.err_set(err, tdh_fail_emit ? tdh_fail_emit : SLUICE_ETOOBIG,
                                 "emit refused by the test");
    }
    return test_host.emit(ctx, evs, n, err);
}

int64_t tdh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tdh_init(struct tdh *t)
{
    memset(t, 0, sizeof(*t));
    tdh_host = log_capture_host();
    tdh_host.emit = wrap_emit;
    tdh_fail_emit = 0;
    tdh_emit_calls = 0;
    tdh_toobig_min = 0;
    log_capture_reset();
    test_ctx_init(&t->ctx, "r1");
    snprintf(t->dir, sizeof(t->dir), "%s/sluice-taildir.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->pos, sizeof(t->pos), "%s/state/pos.json", t->dir);
    struct taildir_conf *c = &t->conf;
    c->filegroups = t->groups;
    c->filegroup_paths.items = t->fg;
    c->headers.items = t->hdr;
    c->position_file = t->pos;
    c->idle_timeout = 120000;
    c->write_pos_interval = 3000;
    c->batch_size = 100;
    c->max_batch_count = INT64_MAX;
    c->cache_pattern_matching = 1;
    c->file_header_key = "file";
    c->max_line_length = TD_DEFAULT_MAX_LINE;
    c->line_overflow_policy = TD_OVERFLOW_TRUNCATE;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(p, 0700);
    return remove(p);
}

void tdh_fini(struct tdh *t)
{
    if (t->src)
        tdh_stop(t);
    for (size_t i = 0; i < t->conf.filegroup_paths.n; i++) {
        free((char *)t->fg[i].key);
        free((char *)t->fg[i].value);
    }
    for (size_t i = 0; i < t->conf.headers.n; i++) {
        free((char *)t->hdr[i].key);
        free((char *)t->hdr[i].value);
    }
    nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    test_ctx_destroy(&t->ctx);
    log_capture_reset();
}

void tdh_group(struct tdh *t, const char *name, const char *sub, const char *regex)
{
    size_t i = t->conf.filegroup_paths.n++;
    assert_true(i < TDH_MAX_KV);
    char *v = NULL;
    assert_true(asprintf(&v, "%s%s%s/%s", t->dir, *sub ? "/" : "", sub, regex) > 0);
    t->fg[i].key = strdup(name);
    t->fg[i].value = v;
    t->fg[i].origin = "test:1";
    size_t len = strlen(t->groups);
    snprintf(t->groups + len, sizeof(t->groups) - len, "%s%s", len ? " " : "", name);
}

void tdh_header(struct tdh *t, const char *key, const char *value)
{
    size_t i = t->conf.headers.n++;
    assert_true(i < TDH_MAX_KV);
    t->hdr[i].key = strdup(key);
    t->hdr[i].value = strdup(value);
    t->hdr[i].origin = "test:2";
}

int tdh_start(struct tdh *t)
{
    struct sluice_err err = {0};
    void *self = NULL;
    int rc = taildir_source_ops.create(&self, &t->conf, &tdh_host, &t->ctx, &err);
    t->src = self;
    if (rc != SLUICE_OK) {
        fprintf(stderr, "create: %s\n", err.msg);
        return rc;
    }
    t->src->watch.disabled = t->no_inotify;
    rc = taildir_source_ops.start(self, &err);
    if (rc != SLUICE_OK)
        fprintf(stderr, "start: %s\n", err.msg);
    t->started = rc == SLUICE_OK;
    return rc;
}

void tdh_stop(struct tdh *t)
{
    if (!t->src)
        return;
    if (t->started)
        taildir_source_ops.stop(t->src);
    taildir_source_ops.destroy(t->src);
    t->src = NULL;
    t->started = 0;
}

size_t tdh_run_until(struct tdh *t, size_t n, int timeout_ms)
{
    int64_t end = tdh_now_ms() + timeout_ms;
    struct sluice_err err;
    while (t->ctx.n_emitted < n && tdh_now_ms() < end)
        assert_true(taildir_source_ops.process(t->src, &err) >= 0);
    return t->ctx.n_emitted;
}

void tdh_run_for(struct tdh *t, int ms)
{
    int64_t end = tdh_now_ms() + ms;
    struct sluice_err err;
    while (tdh_now_ms() < end)
        assert_true(taildir_source_ops.process(t->src, &err) >= 0);
}

int tdh_run_until_pred(struct tdh *t, int (*pred)(struct tdh *), int timeout_ms)
{
    int64_t end = tdh_now_ms() + timeout_ms;
    struct sluice_err err;
    int ok;
    while (!(ok = pred(t)) && tdh_now_ms() < end)
        assert_true(taildir_source_ops.process(t->src, &err) >= 0);
    return ok;
}

const char *tdh_path(struct tdh *t, const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", t->dir, name);
    return buf[k];
}

void tdh_append(struct tdh *t, const char *name, const void *data, size_t len)
{
    int fd = open(tdh_path(t, name), O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

void tdh_appends(struct tdh *t, const char *name, const char *text)
{
    tdh_append(t, name, text, strlen(text));
}

uint64_t tdh_inode(struct tdh *t, const char *name)
{
    struct stat st;
    assert_int_equal(stat(tdh_path(t, name), &st), 0);
    return (uint64_t)st.st_ino;
}

char *tdh_read_pos(struct tdh *t)
{
    FILE *f = fopen(t->pos, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

void tdh_write_pos(struct tdh *t, const char *text)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/state", t->dir);
    mkdir(dir, 0755);
    FILE *f = fopen(t->pos, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

size_t tdh_n(struct tdh *t)
{
    return t->ctx.n_emitted;
}

struct sluice_event *tdh_ev(struct tdh *t, size_t i)
{
    assert_true(i < t->ctx.n_emitted);
    return t->ctx.emitted[i];
}

const char *tdh_body(struct tdh *t, size_t i)
{
    static char buf[4096];
    struct sluice_event *ev = tdh_ev(t, i);
    size_t n = ev->body_len < sizeof(buf) - 1 ? ev->body_len : sizeof(buf) - 1;
    memcpy(buf, ev->body, n);
    buf[n] = 0;
    return buf;
}

int tdh_body_is(struct tdh *t, size_t i, const char *want)
{
    struct sluice_event *ev = tdh_ev(t, i);
    return ev->body_len == strlen(want) && memcmp(ev->body, want, ev->body_len) == 0;
}

size_t tdh_count(struct tdh *t, const char *body)
{
    size_t c = 0;
    for (size_t i = 0; i < t->ctx.n_emitted; i++)
        c += tdh_body_is(t, i, body);
    return c;
}

void tdh_clear(struct tdh *t)
{
    for (size_t i = 0; i < t->ctx.n_emitted; i++)
        event_free(t->ctx.emitted[i]);
    t->ctx.n_emitted = 0;
}

struct td_file *tdh_file(struct tdh *t, const char *name)
{
    const char *p = tdh_path(t, name);
    for (size_t i = 0; t->src && i < t->src->n_files; i++)
        if (strcmp(t->src->files[i]->path, p) == 0)
            return t->src->files[i];
    return NULL;
}
