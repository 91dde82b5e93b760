/*
 * Where the spooldir source left off, so a restart neither re-sends committed lines nor loses
 * any: trackerDir/.sluice-spooldir.pos names the file being read (path, device, inode, size,
 * mtime) and the offset after its last committed line, replaced atomically (write a temporary
 * file, rename it) after every committed batch. tracker_dir completion markers live there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spooldir_source.h"

#define POS_MAGIC "sluice-spooldir-position 1"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sd_fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

void sd_tracker_load(struct sd_source *s, struct sd_pos *pos)
{
    memset(pos, 0, sizeof(*pos));
    FILE *f = fopen(s->tracker_path, "re");
    if (!f) {
        if (errno != ENOENT)
            s->host->log(s->ctx, SLUICE_LOG_ERROR,
                         "spooldir: cannot read the position file %s: %s; files are read from "
                         "their start",
                         s->tracker_path, strerror(errno));
        return;
    }
    char magic[64], path[4096];
    uint64_t dev, ino;
    int64_t size, mtime, off;
    int ok = fgets(magic, sizeof(magic), f) && !strcmp(magic, POS_MAGIC "\n") &&
             fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64 "\n", &dev, &ino,
                    &size, &mtime, &off) == 5 &&
             fgets(path, sizeof(path), f) && strlen(path) > 1 && path[strlen(path) - 1] == '\n' &&
             off >= 0 && off <= size;
    fclose(f);
    if (!ok) {
        s->host->log(s->ctx, SLUICE_LOG_ERROR,
                     "spooldir: the position file %s is not one sluice wrote; ignored (the file "
                     "being read when it was written is read again from its start)",
                     s->tracker_path);
        return;
    }
    path[strlen(path) - 1] = '\0';
    pos->path = strdup(path);
    if (!pos->path)
        return;
    pos->valid = 1;
    pos->dev = (dev_t)dev;
    pos->ino = (ino_t)ino;
    pos->size = size;
    pos->mtime_ns = mtime;
    pos->offset = off;
}

int sd_tracker_save(struct sd_source *s, const struct sd_file *f)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->tracker_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    if (ok) {
        char buf[4400];
        int n = snprintf(
            buf, sizeof(buf),
            POS_MAGIC "\n%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 "\n%s\n",
            (uint64_t)f->dev, (uint64_t)f->ino, f->size, f->mtime_ns, f->committed, f->path);
        ok = n > 0 && (size_t)n < sizeof(buf) && write(fd, buf, (size_t)n) == n;
    }
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, s->tracker_path) != 0) {
        ok = 0;
        e = errno;
    }
    /* Not fsync'd (neither is Flume's): a process crash or SIGKILL cannot lose it, and if a
     * power loss did, the older (or no) position would only make lines be sent again, never
     * lost, because the channel holds every committed line. One fsync per batch would cap
     * the source at about 100 batches a second. */
    if (!ok) {
        s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
        int64_t now = mono_ms();
        if (s->last_tracker_err_ms == 0 || now - s->last_tracker_err_ms >= SD_LOG_INTERVAL_MS) {
            s->last_tracker_err_ms = now;
            s->host->log(s->ctx, SLUICE_LOG_ERROR,
                         "spooldir: cannot write the position file %s: %s; after a restart "
                         "lines of %s may be sent again",
                         s->tracker_path, strerror(e), f->path);
        }
        return -1;
    }
    return 0;
}

void sd_tracker_clear(struct sd_source *s)
{
    if (unlink(s->tracker_path) == 0)
        sd_fsync_dir_of(s->tracker_path);
}

char *sd_marker_path(struct sd_source *s, const char *rel)
{
    size_t n = strlen(s->tracker_dir) + strlen(rel) + strlen(s->conf->file_suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", s->tracker_dir, rel, s->conf->file_suffix);
    return p;
}

/* mkdir -p of the directories between trackerDir and the marker. */
static int mkdirs_for(char *path, const char *root)
{
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

int sd_marker_create(struct sd_source *s, const char *rel, char *msg, size_t msg_len)
{
    char *m = sd_marker_path(s, rel);
    if (!m) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    int fd = -1;
    if (mkdirs_for(m, s->tracker_dir) == 0)
        fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fsync(fd) != 0) {
        snprintf(msg, msg_len, "cannot create the marker %s: %s", m, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(m);
        return -1;
    }
    close(fd);
    sd_fsync_dir_of(m);
    free(m);
    return 0;
}
