/*
 * The `taildir` source (org.apache.flume.source.taildir.TaildirSource): tails every file whose
 * name matches a group's regex, line by line, and remembers how far it got in Flume's JSON
 * position file. Pollable: process() waits at most 100 ms on inotify, then reads each file
 * with new bytes (oldest mtime first) in batches of batchSize lines handed to host->emit(); a
 * file's position moves only once emit returned OK, i.e. every required channel committed.
 * Flume's behaviour is in flume-reference.md section 4.2; the differences are in README.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taildir_source.h"

#define TD_READ_BUDGET_BYTES (16LL << 20) /* per read call; a 100 MB line takes a few calls */

/* ---- events ------------------------------------------------------------------------------ */

struct rctx {
    struct td_source *s;
    struct td_file *f;
    size_t limit;
};

static void free_batch(struct td_source *s)
{
    for (size_t i = 0; i < s->n_batch; i++)
        s->host->event_free(s->batch[i]);
    s->n_batch = 0;
}

static int add_event(struct td_source *s, struct td_file *f, const struct td_line_out *l)
{
    const struct sluice_host *h = s->host;
    struct sluice_event *ev = h->event_new(l->body, l->len);
    if (!ev)
        return SLUICE_ENOMEM;
    const struct td_group *g = &s->groups[f->group];
    int rc = 0;
    for (size_t i = 0; i < g->n_headers && !rc; i++)
        rc = h->event_header_set(ev, g->headers[i].key, g->headers[i].value);
    if (!rc && s->conf->file_header)
        rc = h->event_header_set(ev, s->file_header_key, f->path);
    if (!rc && s->conf->byte_offset_header) {
        char num[24];
        snprintf(num, sizeof(num), "%" PRId64, l->offset);
        rc = h->event_header_set(ev, TD_BYTEOFFSET_HEADER, num);
    }
    if (!rc && l->overflow)
        rc = h->event_header_set(ev, TD_TRUNCATED_HEADER, "true");
    if (rc) {
        h->event_free(ev);
        return SLUICE_ENOMEM;
    }
    s->batch[s->n_batch++] = ev;
    return 0;
}

static void note_overflow(struct td_source *s, struct td_file *f, const struct td_line_out *l)
{
    uint64_t sup = 0;
    s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
    if (!td_ratelimit_ok(&f->overflow_log, td_now_ms(), &sup))
        return;
    char more[96] = "";
    if (sup)
        snprintf(more, sizeof(more), " (%" PRIu64 " more such lines since the last message)", sup);
    if (l->body)
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "line at byte offset %" PRId64 " of %s is %" PRId64
                     " bytes, longer than maxLineLength %zu: sent its first %zu bytes with "
                     "header %s=true%s",
                     l->offset, f->path, l->raw_len, s->max_line, l->len, TD_TRUNCATED_HEADER,
                     more);
    else
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "line at byte offset %" PRId64 " of %s is %" PRId64
                     " bytes, longer than maxLineLength %zu: skipped (lineOverflowPolicy = "
                     "skip)%s",
                     l->offset, f->path, l->raw_len, s->max_line, more);
}

static int on_line(void *arg, const struct td_line_out *l)
{
    struct rctx *r = arg;
    struct td_source *s = r->s;
    if (l->overflow)
        note_overflow(s, r->f, l);
    s->batch_end = l->end;
    if (l->body) {
        int rc = add_event(s, r->f, l);
        if (rc)
            return rc;
    }
    return s->n_batch >= r->limit;
}

/* Hand the batch over; move f's committed position only when every required channel took it.
 * On failure the lines are read again from the committed position next time. */
static int commit_batch(struct td_source *s, struct td_file *f)
{
    size_t n = s->n_batch;
    s->n_batch = 0; /* ownership passes to the agent whatever emit returns */
    if (n > 0) {
        struct sluice_err e = {0};
        int rc = s->host->emit(s->ctx, s->batch, n, &e);
        if (rc != SLUICE_OK) {
            td_line_reset(&f->line, f->pos);
            if (rc == SLUICE_ESTOPPED)
                return rc;
            if (rc == SLUICE_ETOOBIG && n == 1) {
                /* one line no channel can ever hold: retrying would stall the file forever */
                s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
                s->host->log(s->ctx, SLUICE_LOG_ERROR,
                             "line at byte offset %" PRId64 " of %s can never fit the channel "
                             "(%s): skipped; lower maxLineLength below the channel's byte "
                             "capacity",
                             f->pos, f->path, e.msg);
                f->pos = s->batch_end;
                td_line_reset(&f->line, f->pos);
                return 0;
            }
            if (rc == SLUICE_ETOOBIG) {
                f->batch_cap = n / 2; /* smaller batches until one goes through */
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "a batch of %zu lines from %s does not fit the channel (%s): "
                             "trying %zu",
                             n, f->path, e.msg, f->batch_cap);
                return 0;
            }
            uint64_t sup = 0;
            if (td_ratelimit_ok(&s->emit_log, td_now_ms(), &sup))
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "The channel is full or unexpected failure. The source will try "
                             "again later, from pos %" PRId64 " of %s: %s",
                             f->pos, f->path, e.msg[0] ? e.msg : "no detail");
            s->emit_err = e;
            return rc;
        }
    }
    f->pos = s->batch_end;
    f->batch_cap = s->batch_size;
    return 0;
}

/* Read f from where its line reader stands: full batches until EOF, the byte budget, the
 * deadline or maxBatchCount. */
static int read_file(struct td_source *s, struct td_file *f, int64_t deadline, int *more)
{
    int skip = s->conf->line_overflow_policy == TD_OVERFLOW_SKIP;
    for (int64_t batches = 0;;) {
        struct rctx r = {.s = s, .f = f};
        r.limit = f->batch_cap < s->batch_size && f->batch_cap ? f->batch_cap : s->batch_size;
        int64_t budget = TD_READ_BUDGET_BYTES;
        int e = 0;
        s->n_batch = 0;
        s->batch_end = f->pos;
        int rc = td_read_lines(f->fd, &f->line, s->max_line, skip, s->rbuf, TD_READ_BLOCK, &budget,
                               on_line, &r, &e);
        if (rc < 0 || rc == TD_READ_ERR) {
            free_batch(s);
            td_line_reset(&f->line, f->pos);
            if (rc < 0)
                return rc;
            uint64_t sup;
            s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
            if (td_ratelimit_ok(&f->read_log, td_now_ms(), &sup))
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "reading %s at pos %" PRId64 ": %s; the other files keep flowing",
                             f->path, f->pos, strerror(e));
            return e == ENOMEM ? SLUICE_ENOMEM : 0;
        }
        int crc = commit_batch(s, f);
        if (crc != 0)
            return crc;
        td_file_fingerprint(f);
        if (rc == TD_READ_EOF)
            return 0;
        if (rc == TD_READ_BUDGET || ++batches >= s->max_batch_count || td_now_ms() >= deadline ||
            s->host->stopping(s->ctx)) {
            *more = 1;
            return 0;
        }
    }
}

/* The file closes (idle or deleted): its last line without '\n' is a line, as in Flume. */
static int flush_final(struct td_source *s, struct td_file *f)
{
    struct td_line_out l;
    if (!td_line_final(&f->line, s->max_line, s->conf->line_overflow_policy == TD_OVERFLOW_SKIP,
                       &l))
        return 0;
    struct rctx r = {.s = s, .f = f, .limit = SIZE_MAX};
    s->n_batch = 0;
    s->batch_end = f->pos;
    int rc = on_line(&r, &l);
    if (rc < 0) {
        free_batch(s);
        return rc;
    }
    if ((rc = commit_batch(s, f)) == 0)
        td_line_reset(&f->line, f->pos);
    return rc;
}

static int cmp_mtime(const void *a, const void *b)
{
    const struct td_file *x = *(const struct td_file *const *)a;
    const struct td_file *y = *(const struct td_file *const *)b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* One pass over the open files, oldest mtime first. */
static int read_round(struct td_source *s, int64_t now, int *more)
{
    struct td_file **order = malloc((s->n_files ? s->n_files : 1) * sizeof(*order));
    if (!order)
        return SLUICE_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i]->fd >= 0)
            order[n++] = s->files[i];
    qsort(order, n, sizeof(*order), cmp_mtime);
    int64_t deadline = now + TD_WORK_BUDGET_MS;
    int result = 0;
    for (size_t i = 0; i < n && result == 0; i++) {
        struct td_file *f = order[i];
        if (s->host->stopping(s->ctx))
            break;
        if (td_now_ms() >= deadline) {
            *more = 1;
            break;
        }
        if (td_file_check(s, f, now) != 0)
            continue;
        if (f->size > f->line.scanned) {
            result = read_file(s, f, deadline, more);
            if (result != 0 || f->size > f->line.scanned)
                continue; /* more to read (or failed): not idle */
        }
        int64_t quiet = now - f->last_data_ms;
        int idle = quiet >= s->conf->idle_timeout;
        /* a deleted file is closed once drained and quiet for a moment: a writer may still
         * flush into it between the unlink and reopening its log */
        int gone = f->deleted && (quiet >= TD_DELETED_GRACE_MS || idle);
        if (gone || idle) {
            if ((result = flush_final(s, f)) != 0)
                break;
            s->host->log(s->ctx, SLUICE_LOG_INFO, "Closed file: %s, inode: %ju, pos: %" PRId64 "%s",
                         f->path, (uintmax_t)f->ino, f->pos,
                         f->deleted ? " (deleted)"
                         : !f->seen ? " (idle, renamed away from that name)"
                                    : " (idle)");
            td_file_fingerprint(f);
            td_file_close(f);
        }
    }
    free(order);
    /* a closed file that was deleted or no longer matches is forgotten */
    for (size_t i = s->n_files; i-- > 0;) {
        struct td_file *f = s->files[i];
        if (f->fd < 0 && (f->deleted || !f->seen))
            td_file_drop(s, i);
    }
    return result;
}

/* ---- the position file ------------------------------------------------------------------- */

int td_positions_json(struct td_source *s, struct td_buf *b)
{
    size_t k = 0;
    b->len = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        struct td_file *f = s->files[i];
        char head[96];
        size_t mark = b->len;
        snprintf(head, sizeof(head),
                 "%s{\"inode\":%ju,\"pos\":%" PRId64 ",\"file\":", k ? "," : "[", (uintmax_t)f->ino,
                 f->pos);
        if (td_buf_add(b, head, strlen(head)))
            return SLUICE_ENOMEM;
        if (td_json_string(b, f->path) != 0 || td_buf_add(b, "}", 1) != 0) {
            uint64_t sup;
            if (b->cap < mark + 1) /* out of memory */
                return SLUICE_ENOMEM;
            b->len = mark;
            b->p[mark] = 0;
            if (td_ratelimit_ok(&s->pos_log, td_now_ms(), &sup))
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "%s is not valid UTF-8: its position cannot be saved in the JSON "
                             "position file (it is read again from 0 after a restart)",
                             f->path);
            continue;
        }
        k++;
    }
    if (k && td_buf_add(b, "]", 1))
        return SLUICE_ENOMEM;
    return 0;
}

int td_positions_write(struct td_source *s)
{
    struct td_buf b = {0};
    if (td_positions_json(s, &b) != 0) {
        free(b.p);
        return SLUICE_ENOMEM;
    }
    if (s->pos_written && b.len == s->last_pos_len &&
        (b.len == 0 || memcmp(b.p, s->last_pos_json, b.len) == 0)) {
        free(b.p);
        return 0;
    }
    char msg[600];
    if (td_pos_write_atomic(s->pos_path, b.p ? b.p : "", b.len, msg, sizeof(msg)) != 0) {
        uint64_t sup;
        free(b.p);
        s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
        if (td_ratelimit_ok(&s->pos_log, td_now_ms(), &sup))
            s->host->log(s->ctx, SLUICE_LOG_ERROR, "Failed writing positionFile: %s", msg);
        return SLUICE_EIO;
    }
    free(s->last_pos_json);
    s->last_pos_json = b.p;
    s->last_pos_len = b.len;
    s->pos_written = 1;
    return 0;
}

/* ---- ops ----------------------------------------------------------------------------------- */

static char *expand_home(const char *p)
{
    if (p[0] != '~' || (p[1] != '/' && p[1] != 0))
        return strdup(p);
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    size_t n = strlen(home) + strlen(p);
    char *out = malloc(n + 1);
    if (out)
        snprintf(out, n + 1, "%s%s", home, p + 1);
    return out;
}

static int taildir_create(void **self, const void *conf_, const struct sluice_host *host,
                          struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct taildir_conf *conf = conf_;
    struct td_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->watch.fd = -1;
    int rc = td_groups_parse(conf, host, ctx, &s->groups, &s->n_groups, err);
    if (rc != 0)
        return rc;
    if (!conf->position_file || !conf->position_file[0])
        return host->err_set(err, SLUICE_ECONFIG, "positionFile: must not be empty");
    s->file_header_key =
        conf->file_header_key && conf->file_header_key[0] ? conf->file_header_key : "file";
    s->max_line = conf->max_line_length > 0 ? (size_t)conf->max_line_length : TD_DEFAULT_MAX_LINE;
    s->batch_size = conf->batch_size > 0 ? (size_t)conf->batch_size : 100;
    s->max_batch_count = conf->max_batch_count > 0 ? conf->max_batch_count : INT64_MAX;
    s->pos_path = expand_home(conf->position_file);
    s->batch = calloc(s->batch_size, sizeof(*s->batch));
    s->rbuf = malloc(TD_READ_BLOCK);
    if (!s->pos_path || !s->batch || !s->rbuf)
        return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory for batchSize %zu",
                             s->batch_size);
    return SLUICE_OK;
}

static int taildir_start(void *self, struct sluice_err *err)
{
    struct td_source *s = self;
    const struct sluice_host *h = s->host;
    char msg[600];
    if (td_mkdir_parents(s->pos_path, msg, sizeof(msg)) != 0)
        return h->err_set(err, SLUICE_EIO, "positionFile %s: %s", s->pos_path, msg);
    struct td_stat pst;
    s->pos_mtime_ns = td_stat_path(s->pos_path, &pst) == 0 ? pst.mtime_ns : 0;
    int rc = td_pos_load(s->pos_path, h, s->ctx, &s->start_pos, &s->n_start_pos);
    if (rc != 0)
        return h->err_set(err, rc, "taildir: out of memory reading %s", s->pos_path);
    if (td_watch_open(&s->watch) != 0)
        h->log(s->ctx, SLUICE_LOG_INFO, "inotify is not available (%s): polling every %d ms",
               s->watch.disabled ? "disabled" : strerror(errno), TD_POLL_INTERVAL_MS);
    int64_t now = td_now_ms();
    s->initial_scan = 1;
    td_scan(s, now);
    s->initial_scan = 0;
    td_pos_entries_free(s->start_pos, s->n_start_pos);
    s->start_pos = NULL;
    s->n_start_pos = 0;
    s->next_poll_ms = now + TD_POLL_INTERVAL_MS;
    s->next_pos_write_ms = now + s->conf->write_pos_interval;
    s->started = 1;
    h->log(s->ctx, SLUICE_LOG_INFO,
           "taildir source started: %zu file groups, %zu files, positionFile %s", s->n_groups,
           s->n_files, s->pos_path);
    return SLUICE_OK;
}

static int taildir_process(void *self, struct sluice_err *err)
{
    struct td_source *s = self;
    const struct sluice_host *h = s->host;
    if (!s->started || h->stopping(s->ctx))
        return SLUICE_READY;
    int64_t now = td_now_ms();
    int timeout = 0;
    if (!s->busy) {
        int64_t left = s->next_poll_ms - now;
        timeout = left <= 0 ? 0 : left > TD_WAIT_MAX_MS ? TD_WAIT_MAX_MS : (int)left;
    }
    td_watch_wait(s, timeout);
    if (h->stopping(s->ctx))
        return SLUICE_READY;
    now = td_now_ms();
    int relist = 0;
    for (size_t i = 0; i < s->n_groups; i++)
        relist |= s->groups[i].relist;
    if (relist || now >= s->next_poll_ms) {
        td_scan(s, now);
        s->next_poll_ms = now + TD_POLL_INTERVAL_MS;
    }
    int more = 0;
    int rc = read_round(s, now, &more);
    s->busy = more;
    now = td_now_ms();
    if (now >= s->next_pos_write_ms) {
        td_positions_write(s);
        s->next_pos_write_ms = now + s->conf->write_pos_interval;
    }
    if (rc == SLUICE_ESTOPPED || rc == 0)
        return SLUICE_READY;
    if (rc == SLUICE_ENOMEM)
        return h->err_set(err, rc, "taildir: out of memory");
    /* emit failed (logged): back off like Flume, then read the same lines again */
    s->busy = 0;
    return SLUICE_BACKOFF;
}

static void taildir_stop(void *self)
{
    struct td_source *s = self;
    if (!s->started)
        return;
    s->started = 0;
    if (td_positions_write(s) == 0)
        s->host->log(s->ctx, SLUICE_LOG_INFO, "taildir source stopped; positions saved in %s",
                     s->pos_path);
    td_files_free(s);
    td_watch_close(&s->watch);
    for (size_t i = 0; i < s->n_groups; i++) {
        s->groups[i].wd = -1;
        s->groups[i].listed = 0;
        s->groups[i].dir_missing = 0;
    }
    free(s->last_pos_json);
    s->last_pos_json = NULL;
    s->pos_written = 0;
}

static void taildir_destroy(void *self)
{
    struct td_source *s = self;
    if (!s)
        return;
    if (s->started)
        taildir_stop(s);
    free_batch(s);
    td_files_free(s);
    td_watch_close(&s->watch);
    td_groups_free(s->groups, s->n_groups);
    td_pos_entries_free(s->start_pos, s->n_start_pos);
    free(s->batch);
    free(s->rbuf);
    free(s->pos_path);
    free(s->last_pos_json);
    free(s);
}

const struct sluice_source_ops taildir_source_ops = {
    .create = taildir_create,
    .start = taildir_start,
    .process = taildir_process,
    .stop = taildir_stop,
    .destroy = taildir_destroy,
};

/* ---- descriptor ---------------------------------------------------------------------------- */

static const char *const overflow_choices[] = {"truncate", "skip", NULL};

static const struct sluice_option taildir_options[] = {
    {.name = "filegroups",
     .type = SLUICE_OPT_STRING,
     .desc = "Space-separated names of file groups",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct taildir_conf, filegroups)},
    {.name = "filegroups.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "filegroups.<g> = absolute path: the directory part is literal (a missing one is "
             "waited for), the file-name part a regex that must match the whole name",
     .offset = offsetof(struct taildir_conf, filegroup_paths)},
    {.name = "positionFile",
     .type = SLUICE_OPT_STRING,
     .def = "~/.flume/taildir_position.json",
     .desc = "JSON file holding the inode, position and path of every tailed file (Flume's "
             "format); parent directories are created; replaced atomically",
     .offset = offsetof(struct taildir_conf, position_file)},
    {.name = "headers.",
     .type = SLUICE_OPT_PREFIX,
     .desc = "headers.<g>.<key> = value: a static header on every event of file group g",
     .offset = offsetof(struct taildir_conf, headers)},
    {.name = "byteOffsetHeader",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Add header byteoffset: the offset of the line's first byte in its file",
     .offset = offsetof(struct taildir_conf, byte_offset_header)},
    {.name = "skipToEnd",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Files present at start and not in the position file start at their end",
     .offset = offsetof(struct taildir_conf, skip_to_end)},
    {.name = "idleTimeout",
     .type = SLUICE_OPT_INT,
     .def = "120000",
     .desc = "Milliseconds without new bytes before a file is closed (its last line without a "
             "newline is then sent)",
     .min = 0,
     .max = INT64_C(31536000000),
     .offset = offsetof(struct taildir_conf, idle_timeout)},
    {.name = "writePosInterval",
     .type = SLUICE_OPT_INT,
     .def = "3000",
     .desc = "Milliseconds between writes of the position file (also written on stop)",
     .min = 0,
     .max = INT64_C(86400000),
     .offset = offsetof(struct taildir_conf, write_pos_interval)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Lines per batch handed to the channel",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct taildir_conf, batch_size)},
    {.name = "maxBatchCount",
     .type = SLUICE_OPT_INT,
     .def = "9223372036854775807",
     .desc = "Full batches read from one file before moving on to the next (0 or less: no "
             "limit)",
     .offset = offsetof(struct taildir_conf, max_batch_count)},
    {.name = "backoffSleepIncrement",
     .type = SLUICE_OPT_INT,
     .def = "1000",
     .desc = "Accepted for Flume compatibility; sluice waits on inotify (at most 100 ms) "
             "instead of backing off when files are quiet",
     .min = 0,
     .max = INT64_C(86400000),
     .offset = offsetof(struct taildir_conf, backoff_sleep_increment)},
    {.name = "maxBackoffSleep",
     .type = SLUICE_OPT_INT,
     .def = "5000",
     .desc = "Accepted for Flume compatibility (see backoffSleepIncrement)",
     .min = 0,
     .max = INT64_C(86400000),
     .offset = offsetof(struct taildir_conf, max_backoff_sleep)},
    {.name = "cachePatternMatching",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "List a directory again only when it changed (inotify or its mtime)",
     .offset = offsetof(struct taildir_conf, cache_pattern_matching)},
    {.name = "fileHeader",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Add a header holding the file's absolute path",
     .offset = offsetof(struct taildir_conf, file_header)},
    {.name = "fileHeaderKey",
     .type = SLUICE_OPT_STRING,
     .def = "file",
     .desc = "Name of the fileHeader header",
     .offset = offsetof(struct taildir_conf, file_header_key)},
    {.name = "maxLineLength",
     .type = SLUICE_OPT_INT,
     .def = "1048576",
     .desc = "Longest line in bytes sent whole; longer lines follow lineOverflowPolicy and only "
             "this many bytes are ever held per line (sluice only)",
     .min = 1,
     .max = INT64_C(268435456),
     .offset = offsetof(struct taildir_conf, max_line_length)},
    {.name = "lineOverflowPolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "truncate",
     .desc = "truncate: send the first maxLineLength bytes with header truncated=true; skip: "
             "drop the line. Both count EventReadFail and log a warning (sluice only)",
     .choices = overflow_choices,
     .offset = offsetof(struct taildir_conf, line_overflow_policy)},
    {.name = NULL},
};

static const char *const taildir_aliases[] = {
    "TAILDIR", "org.apache.flume.source.taildir.TaildirSource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "taildir"),
    .aliases = taildir_aliases,
    .summary = "Tails files matching per-group regexes, keeping positions in Flume's JSON "
               "position file",
    .options = taildir_options,
    .conf_size = sizeof(struct taildir_conf),
    .ops = &taildir_source_ops,
};
