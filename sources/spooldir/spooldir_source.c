/*
 * The `spooldir` source (org.apache.flume.source.SpoolDirectorySource): reads every file put
 * into spoolDir line by line, one file at a time, and marks a file completed (renamed with
 * fileSuffix, recorded in trackerDir, or deleted) only after all its events were committed.
 * Pollable: each process() hands one batch of the current file to the channel, then saves the
 * position (spooldir_tracker.c) so a restart resumes after the last committed line. Files
 * must not change once placed; one that does, or whose name was already used, is reported and
 * skipped (Flume stops the whole source instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spooldir_source.h"

static const char *const policy_names[] = {"FAIL", "REPLACE", "IGNORE", NULL};

/* ---- completing and dropping files -------------------------------------------------------- */

static void drop_current(struct sd_source *s, int sticky)
{
    struct sd_file *f = s->cur;
    if (sticky >= 0)
        sd_skip_add(s, f->path, f->dev, f->ino, f->size, f->mtime_ns, sticky);
    sd_file_close(f);
    s->cur = NULL;
}

static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    struct stat st; /* a file system without RENAME_NOREPLACE */
    if (stat(to, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

/* Every line of the current file is committed: check it did not change, then complete it. */
static void complete_current(struct sd_source *s)
{
    struct sd_file *f = s->cur;
    struct stat st, pst;
    if (fstat(f->fd, &st) != 0 || st.st_size != f->size || sd_mtime_ns(&st) != f->mtime_ns) {
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: %s changed while being read (size %" PRId64 " -> %" PRId64
                     "); files must not change once placed in the spooling directory. Its "
                     "lines up to byte %" PRId64
                     " were sent; the file is left in place, not completed, and skipped until "
                     "the agent restarts",
                     f->path, f->size, (int64_t)st.st_size, f->committed);
        sd_tracker_clear(s);
        drop_current(s, 1);
        return;
    }
    if (stat(f->path, &pst) != 0 || pst.st_dev != f->dev || pst.st_ino != f->ino) {
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: %s was moved or removed while being read; its lines were sent "
                     "but it cannot be marked completed",
                     f->path);
        sd_tracker_clear(s);
        drop_current(s, -1);
        return;
    }
    char msg[4400];
    int ok = 1;
    if (s->conf->delete_policy == SD_DELETE_IMMEDIATE) {
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Preparing to delete file %s", f->path);
        if (unlink(f->path) != 0) {
            snprintf(msg, sizeof(msg), "cannot delete it: %s", strerror(errno));
            ok = 0;
        } else {
            sd_fsync_dir_of(f->path);
        }
    } else if (s->conf->tracking_policy == SD_TRACK_TRACKER_DIR) {
        ok = sd_marker_create(s, f->rel, msg, sizeof(msg)) == 0;
    } else {
        char to[4200];
        snprintf(to, sizeof(to), "%s%s", f->path, s->conf->file_suffix);
        s->host->log(s->ctx, SLUICE_LOG_INFO, "Preparing to move file %s to %s", f->path, to);
        if (rename_noreplace(f->path, to) != 0) {
            snprintf(msg, sizeof(msg), "cannot rename it to %s: %s%s", to, strerror(errno),
                     errno == EEXIST ? " (a file name was used twice; spooled file names "
                                       "must be unique)"
                                     : "");
            ok = 0;
        } else {
            sd_fsync_dir_of(to);
        }
    }
    if (!ok) {
        /* the position stays at the end: after a restart the file is completed, not re-sent */
        s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: all lines of %s were sent but %s; it is skipped until the "
                     "agent restarts",
                     f->path, msg);
        drop_current(s, 1);
        return;
    }
    sd_tracker_clear(s);
    if (f->cut_lines || f->replaced)
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "spooldir: %s had %" PRIu64 " lines longer than maxLineLength (%zu "
                     "characters; cut into several events) and %" PRIu64
                     " malformed input sequences (decodeErrorPolicy %s)",
                     f->path, f->cut_lines, s->max_units, f->replaced,
                     policy_names[s->conf->decode_error_policy]);
    s->files_done++;
    drop_current(s, -1);
}

/* ---- choosing and opening files ------------------------------------------------------------ */

/* The file the position file names, when it is still there unchanged: read it first. */
static int open_resumed(struct sd_source *s)
{
    struct sd_pos *r = &s->resume;
    if (!r->valid)
        return 0;
    r->valid = 0;
    struct stat st;
    size_t dl = strlen(s->dir);
    if (stat(r->path, &st) != 0 || st.st_dev != r->dev || st.st_ino != r->ino ||
        st.st_size != r->size || sd_mtime_ns(&st) != r->mtime_ns ||
        strncmp(r->path, s->dir, dl) != 0 || r->path[dl] != '/') {
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "spooldir: %s (in the position file) is gone or was completed; nothing to "
                     "resume",
                     r->path);
        return 0;
    }
    int rc = sd_file_open(s, r->path, r->path + dl + 1, r->offset, &s->cur);
    if (rc != 0)
        return 0;
    s->host->log(s->ctx, SLUICE_LOG_INFO, "spooldir: resuming %s at byte %" PRId64, r->path,
                 r->offset);
    return 1;
}

/* 1 when a file is open, 0 when there is none. */
static int open_next(struct sd_source *s)
{
    if (open_resumed(s))
        return 1;
    for (;;) {
        char *path = NULL, *rel = NULL;
        int rc = sd_next_file(s, &path, &rel);
        if (rc <= 0) {
            if (rc < 0) {
                s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
                s->host->log(s->ctx, SLUICE_LOG_ERROR,
                             "spooldir: cannot list the spooling directory %s: %s", s->dir,
                             strerror(errno));
            }
            return 0;
        }
        rc = sd_file_open(s, path, rel, 0, &s->cur);
        if (rc == 0) {
            s->host->log(s->ctx, SLUICE_LOG_INFO, "spooldir: reading %s (%" PRId64 " bytes)", path,
                         s->cur->size);
        } else {
            struct stat st;
            s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
            s->host->log(s->ctx, SLUICE_LOG_ERROR,
                         "spooldir: cannot open %s: %s; skipped until it changes or the agent "
                         "restarts",
                         path, strerror(-rc));
            if (stat(path, &st) == 0)
                sd_skip_add(s, path, st.st_dev, st.st_ino, st.st_size, sd_mtime_ns(&st), 0);
        }
        free(path);
        free(rel);
        if (rc == 0)
            return 1;
    }
}

/* ---- process ----------------------------------------------------------------------------------
 */

static struct sluice_event *line_event(struct sd_source *s, struct sd_file *f)
{
    const uint8_t *body;
    size_t len;
    if (sd_encode_line(&s->dec, f->line, f->line_len, &body, &len) != 0)
        return NULL;
    struct sluice_event *ev = s->host->event_new(body, len);
    if (!ev)
        return NULL;
    int rc = SLUICE_OK;
    if (s->conf->file_header)
        rc |= s->host->event_header_set(ev, s->conf->file_header_key, f->path);
    if (s->conf->basename_header)
        rc |= s->host->event_header_set(ev, s->conf->basename_header_key, f->base);
    if (rc != SLUICE_OK) {
        s->host->event_free(ev);
        return NULL;
    }
    return ev;
}

static int sd_process(void *self, struct sluice_err *err)
{
    struct sd_source *s = self;
    if (!s->cur && !open_next(s)) {
        s->host->sleep_ms(s->ctx, s->conf->poll_delay);
        return SLUICE_READY; /* pollDelay was the wait; no extra agent backoff */
    }
    struct sd_file *f = s->cur;
    size_t n = 0;
    int r = SD_LINE;
    while (n < s->batch_size) {
        int64_t end;
        r = sd_next_line(s, f, &end);
        if (r != SD_LINE)
            break;
        if (f->cut_lines > 0 && !f->cut_warned) {
            f->cut_warned = 1;
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "Line length exceeds max (%zu), truncating line! (%s, byte %" PRId64
                         "; the rest of the line becomes the next event)",
                         s->max_units, f->path, end);
        }
        struct sluice_event *ev = line_event(s, f);
        f->line_len = 0;
        f->units = 0;
        if (!ev) {
            for (size_t i = 0; i < n; i++)
                s->host->event_free(s->batch[i]);
            sd_file_rewind(f);
            return s->host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory for an event");
        }
        s->batch[n] = ev;
        s->batch_end[n++] = end;
    }
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            s->host->event_free(s->batch[i]);
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: cannot read %s: %s; skipped until it changes or the agent "
                     "restarts",
                     f->path, strerror(-r));
        drop_current(s, 0);
        return SLUICE_READY;
    }
    if (n > 0) {
        struct sluice_err eerr = {0};
        int rc = s->host->emit(s->ctx, s->batch, n, &eerr);
        if (rc != SLUICE_OK) {
            sd_file_rewind(f);
            if (rc == SLUICE_ESTOPPED)
                return SLUICE_BACKOFF;
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "The channel threw an exception, and cannot write data now (%s). The "
                         "source will try again after %" PRId64 " ms",
                         eerr.msg, s->backoff_ms);
            s->host->sleep_ms(s->ctx, s->backoff_ms);
            s->backoff_ms =
                s->backoff_ms * 2 > s->conf->max_backoff ? s->conf->max_backoff : s->backoff_ms * 2;
            return SLUICE_READY;
        }
        s->backoff_ms =
            SD_BACKOFF_START < s->conf->max_backoff ? SD_BACKOFF_START : s->conf->max_backoff;
        f->committed = s->batch_end[n - 1];
        sd_tracker_save(s, f);
        return SLUICE_READY;
    }
    if (r == SD_BAD) {
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: %s: the bytes at offset %" PRId64
                     " are not valid %s (decodeErrorPolicy = FAIL). The lines before them "
                     "were sent; the file is left in place, not completed, and skipped until "
                     "it changes or the agent restarts",
                     f->path, f->bad_off, s->conf->input_charset);
        drop_current(s, 0);
        return SLUICE_READY;
    }
    complete_current(s);
    return SLUICE_READY;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static char *absolute(const char *base, const char *p)
{
    char cwd[PATH_MAX];
    if (p[0] == '/')
        return strdup(p);
    if (!base) {
        if (!getcwd(cwd, sizeof(cwd)))
            return NULL;
        base = cwd;
    }
    size_t n = strlen(base) + strlen(p) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", base, p);
    return out;
}

static void strip_slashes(char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
}

static int compile_re(struct sd_source *s, const char *key, const char *pat, pcre2_code **out,
                      struct sluice_err *err)
{
    int ec;
    PCRE2_SIZE off;
    *out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &ec, &off, NULL);
    if (!*out) {
        PCRE2_UCHAR m[160];
        pcre2_get_error_message(ec, m, sizeof(m));
        return s->host->err_set(err, SLUICE_ECONFIG, "%s: '%s' is not a valid regex at %zu: %s",
                                key, pat, (size_t)off, (const char *)m);
    }
    return SLUICE_OK;
}

static int deserializer_ok(const char *d)
{
    return !strcasecmp(d, "LINE") || !strcmp(d, "org.apache.flume.serialization.LineDeserializer"
                                                "$Builder");
}

static int sd_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct spooldir_conf *conf = conf_;
    char msg[256];
    struct sd_source *s = calloc(1, sizeof(*s));
    *self = s;
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory");
    s->conf = conf;
    s->host = host;
    s->ctx = ctx;
    s->dec.dec = s->dec.enc = (iconv_t)-1;
    if (!conf->spool_dir || !*conf->spool_dir)
        return host->err_set(err, SLUICE_ECONFIG, "spoolDir: must name a directory");
    if (!deserializer_ok(conf->deserializer))
        return host->err_set(err, SLUICE_ECONFIG,
                             "deserializer: '%s' is not supported by sluice's spooldir source; "
                             "only LINE (org.apache.flume.serialization.LineDeserializer$Builder)"
                             " is (AVRO, BlobDeserializer and custom Java classes are not)",
                             conf->deserializer);
    if (conf->delete_policy == SD_DELETE_NEVER && conf->tracking_policy == SD_TRACK_RENAME &&
        (!conf->file_suffix || !*conf->file_suffix))
        return host->err_set(err, SLUICE_ECONFIG,
                             "fileSuffix: must not be empty with trackingPolicy = rename");
    if (!conf->file_suffix)
        return host->err_set(err, SLUICE_ECONFIG, "fileSuffix: must be set");
    int rc = compile_re(s, "includePattern", conf->include_pattern, &s->include_re, err);
    if (rc == SLUICE_OK)
        rc = compile_re(s, "ignorePattern", conf->ignore_pattern, &s->ignore_re, err);
    if (rc != SLUICE_OK)
        return rc;
    s->md = pcre2_match_data_create(4, NULL);
    if (!s->md)
        return host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory");
    if (sd_decoder_open(&s->dec, conf->input_charset, conf->output_charset, msg, sizeof(msg)))
        return host->err_set(err, SLUICE_ECONFIG, "%s", msg);
    s->max_units = (size_t)conf->max_line_length;
    s->batch_size = (size_t)conf->batch_size;
    s->batch = calloc(s->batch_size, sizeof(*s->batch));
    s->batch_end = calloc(s->batch_size, sizeof(*s->batch_end));
    s->dir = absolute(NULL, conf->spool_dir);
    if (!s->batch || !s->batch_end || !s->dir)
        return host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory");
    strip_slashes(s->dir);
    s->tracker_dir = absolute(s->dir, conf->tracker_dir);
    if (!s->tracker_dir)
        return host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory");
    strip_slashes(s->tracker_dir);
    size_t n = strlen(s->tracker_dir) + sizeof(SD_TRACKER_NAME) + 2;
    s->tracker_path = malloc(n);
    if (!s->tracker_path)
        return host->err_set(err, SLUICE_ENOMEM, "spooldir: out of memory");
    snprintf(s->tracker_path, n, "%s/%s", s->tracker_dir, SD_TRACKER_NAME);
    s->rand_state = (unsigned)time(NULL) ^ (unsigned)getpid();
    s->backoff_ms = SD_BACKOFF_START < conf->max_backoff ? SD_BACKOFF_START : conf->max_backoff;
    return SLUICE_OK;
}

static int sd_start(void *self, struct sluice_err *err)
{
    struct sd_source *s = self;
    struct stat st;
    if (stat(s->dir, &st) != 0)
        return s->host->err_set(err, SLUICE_EIO, "spoolDir: %s: %s", s->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return s->host->err_set(err, SLUICE_EIO, "spoolDir: %s: not a directory", s->dir);
    int need_write = s->conf->delete_policy == SD_DELETE_IMMEDIATE ||
                     s->conf->tracking_policy == SD_TRACK_RENAME;
    if (need_write && access(s->dir, W_OK) != 0)
        return s->host->err_set(err, SLUICE_EIO,
                                "spoolDir: %s is not writable (%s); completed files are renamed "
                                "or deleted there",
                                s->dir, strerror(errno));
    if (mkdir(s->tracker_dir, 0755) != 0 && errno != EEXIST)
        return s->host->err_set(err, SLUICE_EIO, "trackerDir: cannot create %s: %s", s->tracker_dir,
                                strerror(errno));
    if (access(s->tracker_dir, W_OK) != 0)
        return s->host->err_set(err, SLUICE_EIO, "trackerDir: %s is not writable: %s",
                                s->tracker_dir, strerror(errno));
    free(s->resume.path);
    sd_tracker_load(s, &s->resume);
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Spooling Directory Source reading %s (position file %s%s%s)", s->dir,
                 s->tracker_path, s->resume.valid ? ", resuming " : "",
                 s->resume.valid ? s->resume.path : "");
    return SLUICE_OK;
}

static void sd_stop(void *self)
{
    struct sd_source *s = self;
    if (s->cur) {
        sd_file_close(s->cur);
        s->cur = NULL;
    }
    s->host->log(s->ctx, SLUICE_LOG_INFO,
                 "Spooling Directory Source stopped: %" PRIu64 " files completed", s->files_done);
}

static void sd_destroy(void *self)
{
    struct sd_source *s = self;
    if (!s)
        return;
    sd_file_close(s->cur);
    sd_skips_free(s);
    sd_decoder_close(&s->dec);
    if (s->include_re)
        pcre2_code_free(s->include_re);
    if (s->ignore_re)
        pcre2_code_free(s->ignore_re);
    if (s->md)
        pcre2_match_data_free(s->md);
    free(s->resume.path);
    free(s->batch);
    free(s->batch_end);
    free(s->dir);
    free(s->tracker_dir);
    free(s->tracker_path);
    free(s);
}

const struct sluice_source_ops spooldir_source_ops = {
    .create = sd_create,
    .start = sd_start,
    .process = sd_process,
    .stop = sd_stop,
    .destroy = sd_destroy,
};

static const char *const delete_choices[] = {"never", "immediate", NULL};
static const char *const tracking_choices[] = {"rename", "tracker_dir", NULL};
static const char *const order_choices[] = {"oldest", "youngest", "random", NULL};

static const struct sluice_option sd_options[] = {
    {.name = "spoolDir",
     .type = SLUICE_OPT_STRING,
     .desc = "The directory files are put into (they must not change once there)",
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct spooldir_conf, spool_dir)},
    {.name = "fileSuffix",
     .type = SLUICE_OPT_STRING,
     .def = ".COMPLETED",
     .desc = "Appended to the name of a completed file (trackingPolicy rename), or to its "
             "marker in trackerDir (tracker_dir)",
     .offset = offsetof(struct spooldir_conf, file_suffix)},
    {.name = "deletePolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "never",
     .desc = "never: keep completed files; immediate: delete a file once all its lines were "
             "committed",
     .choices = delete_choices,
     .offset = offsetof(struct spooldir_conf, delete_policy)},
    {.name = "fileHeader",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Add a header with the file's absolute path",
     .offset = offsetof(struct spooldir_conf, file_header)},
    {.name = "fileHeaderKey",
     .type = SLUICE_OPT_STRING,
     .def = "file",
     .desc = "Header name for fileHeader",
     .offset = offsetof(struct spooldir_conf, file_header_key)},
    {.name = "basenameHeader",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Add a header with the file's name",
     .offset = offsetof(struct spooldir_conf, basename_header)},
    {.name = "basenameHeaderKey",
     .type = SLUICE_OPT_STRING,
     .def = "basename",
     .desc = "Header name for basenameHeader",
     .offset = offsetof(struct spooldir_conf, basename_header_key)},
    {.name = "includePattern",
     .type = SLUICE_OPT_STRING,
     .def = "^.*$",
     .desc = "Regex a file name must match as a whole to be read",
     .offset = offsetof(struct spooldir_conf, include_pattern)},
    {.name = "ignorePattern",
     .type = SLUICE_OPT_STRING,
     .def = "^$",
     .desc = "Regex of file names never read (wins over includePattern)",
     .offset = offsetof(struct spooldir_conf, ignore_pattern)},
    {.name = "trackerDir",
     .type = SLUICE_OPT_STRING,
     .def = ".flumespool",
     .desc = "Directory (relative to spoolDir unless absolute) for the position file and the "
             "tracker_dir markers",
     .offset = offsetof(struct spooldir_conf, tracker_dir)},
    {.name = "trackingPolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "rename",
     .desc = "rename: completed files get fileSuffix; tracker_dir: they stay as they are and an "
             "empty marker is made in trackerDir",
     .choices = tracking_choices,
     .offset = offsetof(struct spooldir_conf, tracking_policy)},
    {.name = "consumeOrder",
     .type = SLUICE_OPT_ENUM,
     .def = "oldest",
     .desc = "Which file next: oldest or youngest modification time, or random",
     .choices = order_choices,
     .offset = offsetof(struct spooldir_conf, consume_order)},
    {.name = "pollDelay",
     .type = SLUICE_OPT_INT,
     .def = "500",
     .desc = "Milliseconds between looks at the directory when there is nothing to read",
     .min = 1,
     .max = 3600000,
     .offset = offsetof(struct spooldir_conf, poll_delay)},
    {.name = "recursiveDirectorySearch",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Also read files in subdirectories (hidden ones excepted)",
     .offset = offsetof(struct spooldir_conf, recursive)},
    {.name = "maxBackoff",
     .type = SLUICE_OPT_INT,
     .def = "4000",
     .desc = "Longest wait in ms before retrying a batch the channel refused (starts at 250, "
             "doubles)",
     .min = 1,
     .max = 3600000,
     .offset = offsetof(struct spooldir_conf, max_backoff)},
    {.name = "batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .desc = "Lines per channel transaction",
     .flags = SLUICE_OPT_BATCH_SIZE,
     .min = 1,
     .max = 1000000,
     .offset = offsetof(struct spooldir_conf, batch_size)},
    {.name = "inputCharset",
     .type = SLUICE_OPT_STRING,
     .def = "UTF-8",
     .desc = "Charset of the files (ASCII-compatible)",
     .offset = offsetof(struct spooldir_conf, input_charset)},
    {.name = "decodeErrorPolicy",
     .type = SLUICE_OPT_ENUM,
     .def = "FAIL",
     .desc = "Bytes not valid in inputCharset: FAIL (the file is skipped, left in place), "
             "REPLACE (U+FFFD) or IGNORE (dropped)",
     .choices = policy_names,
     .offset = offsetof(struct spooldir_conf, decode_error_policy)},
    {.name = "deserializer",
     .type = SLUICE_OPT_STRING,
     .def = "LINE",
     .desc = "LINE only (one event per line); AVRO, BlobDeserializer and custom classes are "
             "refused",
     .offset = offsetof(struct spooldir_conf, deserializer)},
    {.name = "deserializer.maxLineLength",
     .type = SLUICE_OPT_INT,
     .def = "2048",
     .desc = "Characters per event; a longer line is cut and its rest becomes the next event",
     .deprecated = "bufferMaxLineLength",
     .min = 1,
     .max = 16 * 1024 * 1024,
     .offset = offsetof(struct spooldir_conf, max_line_length)},
    {.name = "deserializer.outputCharset",
     .type = SLUICE_OPT_STRING,
     .def = "UTF-8",
     .desc = "Charset of the event bodies",
     .offset = offsetof(struct spooldir_conf, output_charset)},
    {.name = "deserializer.schemaType",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "AVRO deserializer setting; not used (only LINE is supported)"},
    {.name = "bufferMaxLines",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "Deprecated in Flume and ignored there too"},
    {.name = NULL},
};

static const char *const sd_aliases[] = {"org.apache.flume.source.SpoolDirectorySource", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SOURCE, "spooldir"),
    .aliases = sd_aliases,
    .summary = "Reads files dropped into a directory, one event per line, and marks each "
               "completed once all its lines are committed",
    .options = sd_options,
    .conf_size = sizeof(struct spooldir_conf),
    .ops = &spooldir_source_ops,
};
