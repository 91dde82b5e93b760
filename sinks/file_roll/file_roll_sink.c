/*
 * The file_roll sink (Flume's RollingFileSink): writes each event body, one per line, into
 * files in sink.directory named <prefix><startMs>-<n>[.<ext>], starting a new file every
 * sink.rollInterval seconds. A batch is written to the kernel (write(2)) before the channel
 * transaction commits, so an agent crash never loses a committed event.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sluice/plugin.h"

enum { SER_TEXT = 0, SER_HEADER_AND_TEXT = 1 };

struct file_roll_conf {
    char *directory;
    int64_t roll_interval;
    int64_t batch_size;
    int serializer;
    int append_newline;
    char *path_manager;
    char *prefix;
    char *extension;
};

struct file_roll {
    struct file_roll_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    int fd;
    int64_t start_ms;  /* fixed when the sink is created, as Flume's PathManager does */
    uint64_t file_no;  /* counts files this sink opened */
    int64_t next_roll; /* monotonic ms */
    char path[4096];
    struct sluice_event **evs;
    char *buf; /* formatted batch */
    size_t buf_cap;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_next(struct file_roll *s, struct sluice_err *err)
{
    s->file_no++;
    const struct file_roll_conf *c = s->conf;
    int n = snprintf(s->path, sizeof(s->path), "%s/%s%" PRId64 "-%" PRIu64 "%s%s", c->directory,
                     c->prefix ? c->prefix : "", s->start_ms, s->file_no,
                     c->extension && *c->extension ? "." : "", c->extension ? c->extension : "");
    if (n < 0 || (size_t)n >= sizeof(s->path))
        return s->host->err_set(err, SLUICE_ECONFIG, "file name too long in %s", c->directory);
    s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        s->host->counter_add(s->ctx, SLUICE_CTR_CONNECTION_FAILED, 1);
        return s->host->err_set(err, SLUICE_EIO, "cannot open %s: %s", s->path, strerror(errno));
    }
    s->host->counter_add(s->ctx, SLUICE_CTR_CONNECTION_CREATED, 1);
    if (c->roll_interval > 0)
        s->next_roll = mono_ms() + c->roll_interval * 1000;
    return SLUICE_OK;
}

static void close_current(struct file_roll *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
        s->host->counter_add(s->ctx, SLUICE_CTR_CONNECTION_CLOSED, 1);
    }
}

static int fr_create(void **self, const void *conf, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct file_roll_conf *c = conf;
    if (strcasecmp(c->path_manager, "DEFAULT") != 0)
        return host->err_set(err, SLUICE_ECONFIG,
                             "sink.pathManager '%s' is not supported (only DEFAULT)",
                             c->path_manager);
    if (c->directory[0] == 0)
        return host->err_set(err, SLUICE_ECONFIG, "sink.directory is empty");
    struct file_roll *s = calloc(1, sizeof(*s));
    if (!s)
        return host->err_set(err, SLUICE_ENOMEM, "out of memory");
    s->conf = (struct file_roll_conf *)conf;
    s->host = host;
    s->ctx = ctx;
    s->fd = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    s->evs = calloc((size_t)c->batch_size, sizeof(*s->evs));
    if (!s->evs) {
        free(s);
        return host->err_set(err, SLUICE_ENOMEM, "out of memory");
    }
    *self = s;
    return SLUICE_OK;
}

/* mkdir -p: the directory is created when the sink starts (not by `sluice check`). */
static int make_dirs(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int fr_start(void *self, struct sluice_err *err)
{
    struct file_roll *s = self;
    if (make_dirs(s->conf->directory) != 0)
        return s->host->err_set(err, SLUICE_EIO, "sink.directory %s: %s", s->conf->directory,
                                strerror(errno));
    return open_next(s, err);
}

static int reserve(struct file_roll *s, size_t need)
{
    if (need <= s->buf_cap)
        return 0;
    size_t cap = s->buf_cap ? s->buf_cap : 65536;
    while (cap < need)
        cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b)
        return -1;
    s->buf = b;
    s->buf_cap = cap;
    return 0;
}

/* Append one event in the configured format to s->buf at *off. */
static int format_event(struct file_roll *s, const struct sluice_event *ev, size_t *off)
{
    size_t need = *off + ev->body_len + 2;
    if (s->conf->serializer == SER_HEADER_AND_TEXT) {
        need += 3;
        for (uint32_t i = 0; i < ev->n_headers; i++)
            need += strlen(ev->headers[i].key) + strlen(ev->headers[i].value) + 3;
    }
    if (reserve(s, need))
        return -1;
    if (s->conf->serializer == SER_HEADER_AND_TEXT) {
        /* Java Map.toString(), a space, then the body */
        s->buf[(*off)++] = '{';
        for (uint32_t i = 0; i < ev->n_headers; i++) {
            *off += (size_t)sprintf(s->buf + *off, "%s%s=%s", i ? ", " : "", ev->headers[i].key,
                                    ev->headers[i].value);
        }
        s->buf[(*off)++] = '}';
        s->buf[(*off)++] = ' ';
    }
    memcpy(s->buf + *off, ev->body, ev->body_len);
    *off += ev->body_len;
    if (s->conf->append_newline)
        s->buf[(*off)++] = '\n';
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fr_process(void *self, struct sluice_channel *ch, struct sluice_err *err)
{
    struct file_roll *s = self;
    const struct sluice_host *h = s->host;
    if (s->conf->roll_interval > 0 && mono_ms() >= s->next_roll) {
        close_current(s);
    }
    if (s->fd < 0) {
        int rc = open_next(s, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    struct sluice_tx *tx = h->tx_begin(ch);
    if (!tx)
        return h->err_set(err, SLUICE_ESTATE, "cannot begin a transaction");
    size_t n = 0;
    int rc = h->tx_take(tx, s->evs, (size_t)s->conf->batch_size, &n);
    if (rc != SLUICE_OK || n == 0) {
        h->tx_rollback(tx);
        h->tx_end(tx);
        return rc != SLUICE_OK ? rc : SLUICE_BACKOFF;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (format_event(s, s->evs[i], &off)) {
            h->tx_rollback(tx);
            h->tx_end(tx);
            return h->err_set(err, SLUICE_ENOMEM, "out of memory formatting a batch");
        }
    }
    if (write_all(s->fd, s->buf, off) != 0) {
        int e = errno;
        h->tx_rollback(tx);
        h->tx_end(tx);
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_WRITE_FAIL, n);
        close_current(s); /* reopen a fresh file next time */
        return h->err_set(err, SLUICE_EIO, "writing %s: %s", s->path, strerror(e));
    }
    rc = h->tx_commit(tx, err);
    h->tx_end(tx);
    return rc == SLUICE_OK ? SLUICE_READY : rc;
}

static void fr_stop(void *self)
{
    close_current(self);
}

static void fr_destroy(void *self)
{
    struct file_roll *s = self;
    if (!s)
        return;
    close_current(s);
    free(s->evs);
    free(s->buf);
    free(s);
}

static const char *const serializers[] = {"TEXT", "HEADER_AND_TEXT", NULL};

static const struct sluice_option options[] = {
    {.name = "sink.directory",
     .type = SLUICE_OPT_STRING,
     .flags = SLUICE_OPT_REQUIRED,
     .offset = offsetof(struct file_roll_conf, directory),
     .desc = "Directory the files are written to (created, with its parents, when the sink "
             "starts)."},
    {.name = "sink.rollInterval",
     .type = SLUICE_OPT_INT,
     .def = "30",
     .min = 0,
     .max = 100000000,
     .offset = offsetof(struct file_roll_conf, roll_interval),
     .desc = "Seconds before a new file is started; 0 writes one file forever."},
    {.name = "sink.batchSize",
     .type = SLUICE_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 1000000,
     .flags = SLUICE_OPT_BATCH_SIZE,
     .offset = offsetof(struct file_roll_conf, batch_size),
     .desc = "Events taken and written per transaction."},
    {.name = "sink.serializer",
     .type = SLUICE_OPT_ENUM,
     .def = "TEXT",
     .choices = serializers,
     .offset = offsetof(struct file_roll_conf, serializer),
     .desc = "TEXT writes the body; HEADER_AND_TEXT writes {k=v, ...} then a space and the "
             "body."},
    {.name = "sink.serializer.appendNewline",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .offset = offsetof(struct file_roll_conf, append_newline),
     .desc = "Write a newline after each event."},
    {.name = "sink.pathManager",
     .type = SLUICE_OPT_STRING,
     .def = "DEFAULT",
     .offset = offsetof(struct file_roll_conf, path_manager),
     .desc = "Only DEFAULT: <prefix><startMs>-<n>[.<extension>]."},
    {.name = "sink.pathManager.prefix",
     .type = SLUICE_OPT_STRING,
     .def = "",
     .offset = offsetof(struct file_roll_conf, prefix),
     .desc = "File name prefix."},
    {.name = "sink.pathManager.extension",
     .type = SLUICE_OPT_STRING,
     .def = "",
     .offset = offsetof(struct file_roll_conf, extension),
     .desc = "File name extension."},
    {0}};

static const struct sluice_sink_ops ops = {
    .create = fr_create,
    .start = fr_start,
    .process = fr_process,
    .stop = fr_stop,
    .destroy = fr_destroy,
};

static const char *const aliases[] = {"org.apache.flume.sink.RollingFileSink", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_SINK, "file_roll"),
    .aliases = aliases,
    .summary = "Writes event bodies into files in a directory, starting a new file every "
               "rollInterval seconds",
    .options = options,
    .conf_size = sizeof(struct file_roll_conf),
    .ops = &ops,
};
