/*
 * The file channel's write-ahead log: one file (log-<N> in data dir N % dirs) is written at a
 * time; each commit appends its transaction's records in one write, and concurrent commits
 * share fdatasync calls (group commit: one leader syncs for everyone who appended before it).
 * Takes read events back in file_channel_read.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_channel.h"

int fc_wal_init(struct fc_wal *w, const struct sluice_host *host, struct sluice_ctx *ctx,
                char **dirs, size_t n_dirs, uint64_t max_file_size)
{
    memset(w, 0, sizeof(*w));
    w->host = host;
    w->ctx = ctx;
    w->dirs = dirs;
    w->n_dirs = n_dirs;
    w->max_file_size = max_file_size;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return SLUICE_ENOMEM;
    pthread_mutex_init(&w->wf_mu, NULL);
    pthread_mutex_init(&w->gc_mu, NULL);
    pthread_cond_init(&w->gc_cv, NULL);
    pthread_mutex_init(&w->ft_mu, NULL);
    pthread_mutex_init(&w->rfd_mu, NULL);
    pthread_mutex_init(&w->failed_mu, NULL);
    pthread_mutex_init(&w->rw_mu, NULL);
    w->ready = 1;
    return SLUICE_OK;
}

void fc_wal_destroy(struct fc_wal *w)
{
    if (!w->ready)
        return;
    if (w->cur) {
        close(w->cur->fd);
        free(w->cur);
    }
    for (size_t i = 0; i < w->n_rfds; i++)
        close(w->rfds[i].fd);
    for (size_t i = 0; i < FC_READ_WINDOWS; i++)
        free(w->rwins[i].buf);
    free(w->files);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->wf_mu);
    pthread_mutex_destroy(&w->gc_mu);
    pthread_cond_destroy(&w->gc_cv);
    pthread_mutex_destroy(&w->ft_mu);
    pthread_mutex_destroy(&w->rfd_mu);
    pthread_mutex_destroy(&w->failed_mu);
    pthread_mutex_destroy(&w->rw_mu);
    w->ready = 0;
}

void fc_wal_fail(struct fc_wal *w, const char *fmt, ...)
{
    pthread_mutex_lock(&w->failed_mu);
    if (!atomic_load(&w->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->failed_msg, sizeof(w->failed_msg), fmt, ap);
        va_end(ap);
        atomic_store(&w->failed, 1);
        w->host->log(w->ctx, SLUICE_LOG_ERROR,
                     "file channel is now unhealthy: %s. Commits are refused until the agent "
                     "restarts and replays the log",
                     w->failed_msg);
    }
    pthread_mutex_unlock(&w->failed_mu);
}

int fc_wal_failed(struct fc_wal *w, struct sluice_err *err)
{
    if (!atomic_load(&w->failed))
        return SLUICE_OK;
    pthread_mutex_lock(&w->failed_mu);
    w->host->err_set(err, SLUICE_EIO,
                     "file channel is unhealthy after %s; restart the agent to replay the log",
                     w->failed_msg);
    pthread_mutex_unlock(&w->failed_mu);
    return SLUICE_EIO;
}

/* ---- The file table (ft_mu held) ------------------------------------------------------------ */

static size_t ft_lower(const struct fc_wal *w, uint32_t fid)
{
    size_t lo = 0, hi = w->n_files;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->files[mid].fid < fid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int fc_wal_add_file(struct fc_wal *w, uint32_t fid, uint32_t dir)
{
    pthread_mutex_lock(&w->ft_mu);
    size_t i = ft_lower(w, fid);
    int rc = SLUICE_OK;
    if (i < w->n_files && w->files[i].fid == fid) {
        rc = SLUICE_EINVAL;
    } else {
        if (w->n_files == w->cap_files) {
            size_t ncap = w->cap_files ? w->cap_files * 2 : 16;
            struct fc_file *v = realloc(w->files, ncap * sizeof(*v));
            if (!v) {
                pthread_mutex_unlock(&w->ft_mu);
                return SLUICE_ENOMEM;
            }
            w->files = v;
            w->cap_files = ncap;
        }
        memmove(w->files + i + 1, w->files + i, (w->n_files - i) * sizeof(*w->files));
        w->files[i].fid = fid;
        w->files[i].dir = dir;
        w->n_files++;
    }
    pthread_mutex_unlock(&w->ft_mu);
    return rc;
}

static int path_locked(struct fc_wal *w, uint32_t fid, char *buf, size_t len)
{
    size_t i = ft_lower(w, fid);
    if (i >= w->n_files || w->files[i].fid != fid)
        return -1;
    snprintf(buf, len, "%s/log-%" PRIu32, w->dirs[w->files[i].dir], fid);
    return 0;
}

int fc_wal_path(struct fc_wal *w, uint32_t fid, char *buf, size_t len)
{
    pthread_mutex_lock(&w->ft_mu);
    int rc = path_locked(w, fid, buf, len);
    pthread_mutex_unlock(&w->ft_mu);
    if (rc != 0)
        snprintf(buf, len, "log-%" PRIu32 " (not on disk)", fid);
    return rc;
}

/* ---- Writing -------------------------------------------------------------------------------- */

/* Close a retired write file once no sync leader uses it (wf_mu held). */
static void wfile_release(struct fc_wfile *f)
{
    if (f->retired && f->refs == 0) {
        close(f->fd);
        free(f);
    }
}

int fc_wal_start_file(struct fc_wal *w, uint32_t fid, struct sluice_err *err)
{
    if (fid == 0)
        return w->host->err_set(err, SLUICE_EIO, "file channel: log file ids are exhausted");
    uint32_t dir = fid % (uint32_t)w->n_dirs;
    char path[4200];
    snprintf(path, sizeof(path), "%s/log-%" PRIu32, w->dirs[dir], fid);
    struct fc_wfile *f = calloc(1, sizeof(*f));
    if (!f)
        return w->host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory");
    f->fid = fid;
    f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int e = errno;
        free(f);
        return w->host->err_set(err, e == ENOSPC || e == EDQUOT ? SLUICE_EFULL : SLUICE_EIO,
                                "file channel: cannot create log file %s: %s", path, strerror(e));
    }
    uint8_t hdr[FC_FILE_HDR_SIZE];
    fc_file_hdr_encode(hdr, fid);
    if (pwrite(f->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fdatasync(f->fd) != 0 ||
        fc_fsync_dir(w->dirs[dir]) != 0) {
        int e = errno;
        close(f->fd);
        unlink(path);
        free(f);
        return w->host->err_set(err, e == ENOSPC || e == EDQUOT ? SLUICE_EFULL : SLUICE_EIO,
                                "file channel: cannot initialise log file %s: %s", path,
                                strerror(e));
    }
    if (fc_wal_add_file(w, fid, dir) != SLUICE_OK) {
        close(f->fd);
        unlink(path);
        free(f);
        return w->host->err_set(err, SLUICE_EIO, "file channel: log file %s is already known",
                                path);
    }
    pthread_mutex_lock(&w->wf_mu);
    struct fc_wfile *old = w->cur;
    w->cur = f;
    if (old) {
        old->retired = 1;
        wfile_release(old);
    }
    pthread_mutex_unlock(&w->wf_mu);
    w->cur_fid = fid;
    w->cur_off = FC_FILE_HDR_SIZE;
    atomic_store(&w->end_pos, FC_POS(fid, FC_FILE_HDR_SIZE));
    atomic_fetch_add(&w->n_rolls, 1);
    return SLUICE_OK;
}

/* Everything in the current file is made durable before the next file is started, so a sync
 * leader only ever needs to sync the file being written. (w->mu held) */
static int roll(struct fc_wal *w, struct sluice_err *err)
{
    if (fdatasync(w->cur->fd) != 0) {
        int e = errno;
        fc_wal_fail(w, "fdatasync of log-%" PRIu32 " failed: %s", w->cur_fid, strerror(e));
        return fc_wal_failed(w, err);
    }
    return fc_wal_start_file(w, w->cur_fid + 1, err);
}

int fc_wal_append(struct fc_wal *w, const uint8_t *buf, size_t len, fc_pos *start, uint64_t *seq,
                  struct sluice_err *err)
{
    int rc = fc_wal_failed(w, err);
    if (rc != SLUICE_OK)
        return rc;
    pthread_mutex_lock(&w->mu);
    if (w->cur_off > FC_FILE_HDR_SIZE && w->cur_off + len > w->max_file_size &&
        (rc = roll(w, err)) != SLUICE_OK) {
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t k = pwrite(w->cur->fd, buf + done, len - done, (off_t)(w->cur_off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : ENOSPC;
            /* cut the partial transaction off again, so the log holds it whole or not at all */
            if (done > 0 && ftruncate(w->cur->fd, (off_t)w->cur_off) != 0)
                fc_wal_fail(w,
                            "writing log-%" PRIu32 " failed (%s) and the partial write "
                            "could not be cut off (%s)",
                            w->cur_fid, strerror(e), strerror(errno));
            uint32_t fid = w->cur_fid;
            pthread_mutex_unlock(&w->mu);
            char path[4200];
            fc_wal_path(w, fid, path, sizeof(path));
            if (e == ENOSPC || e == EDQUOT)
                return w->host->err_set(err, SLUICE_EFULL,
                                        "file channel: disk full writing %s (%zu bytes): %s; "
                                        "the commit waits for space",
                                        path, len, strerror(e));
            fc_wal_fail(w, "writing %s failed: %s", path, strerror(e));
            return fc_wal_failed(w, err);
        }
        done += (size_t)k;
    }
    *start = FC_POS(w->cur_fid, w->cur_off);
    w->cur_off += len;
    atomic_store(&w->end_pos, FC_POS(w->cur_fid, w->cur_off)); /* after the write completed */
    pthread_mutex_lock(&w->wf_mu);
    w->written_seq += len;
    *seq = w->written_seq;
    pthread_mutex_unlock(&w->wf_mu);
    atomic_fetch_add(&w->unapplied, 1);
    atomic_fetch_add(&w->n_appends, 1);
    pthread_mutex_unlock(&w->mu);
    return SLUICE_OK;
}

void fc_wal_applied(struct fc_wal *w)
{
    atomic_fetch_sub(&w->unapplied, 1);
}

int fc_wal_sync(struct fc_wal *w, uint64_t seq, struct sluice_err *err)
{
    pthread_mutex_lock(&w->gc_mu);
    while (w->synced_seq < seq && !atomic_load(&w->failed)) {
        if (w->syncing) {
            pthread_cond_wait(&w->gc_cv, &w->gc_mu);
            continue;
        }
        w->syncing = 1;
        pthread_mutex_unlock(&w->gc_mu);

        pthread_mutex_lock(&w->wf_mu);
        struct fc_wfile *f = w->cur;
        f->refs++;
        uint64_t target = w->written_seq;
        pthread_mutex_unlock(&w->wf_mu);
        int rc = fdatasync(f->fd);
        int e = errno;
        uint32_t fid = f->fid;
        pthread_mutex_lock(&w->wf_mu);
        f->refs--;
        wfile_release(f);
        pthread_mutex_unlock(&w->wf_mu);
        if (rc != 0)
            fc_wal_fail(w, "fdatasync of log-%" PRIu32 " failed: %s", fid, strerror(e));
        else
            atomic_fetch_add(&w->n_syncs, 1);

        pthread_mutex_lock(&w->gc_mu);
        w->syncing = 0;
        if (rc == 0 && target > w->synced_seq)
            w->synced_seq = target;
        pthread_cond_broadcast(&w->gc_cv);
    }
    pthread_mutex_unlock(&w->gc_mu);
    return fc_wal_failed(w, err);
}

void fc_wal_freeze(struct fc_wal *w)
{
    pthread_mutex_lock(&w->mu);
}

void fc_wal_thaw(struct fc_wal *w)
{
    pthread_mutex_unlock(&w->mu);
}

fc_pos fc_wal_end(struct fc_wal *w)
{
    return FC_POS(w->cur_fid, w->cur_off);
}

uint64_t fc_wal_written(struct fc_wal *w)
{
    return w->written_seq;
}

uint64_t fc_wal_written_now(struct fc_wal *w)
{
    pthread_mutex_lock(&w->wf_mu);
    uint64_t v = w->written_seq;
    pthread_mutex_unlock(&w->wf_mu);
    return v;
}

/* ---- Removing old files --------------------------------------------------------------------- */

size_t fc_wal_remove_below(struct fc_wal *w, uint32_t limit)
{
    pthread_mutex_lock(&w->mu);
    if (limit > w->cur_fid)
        limit = w->cur_fid;
    pthread_mutex_unlock(&w->mu);

    uint32_t gone[256];
    size_t n_gone = 0;
    int dir_touched[64] = {0};
    pthread_mutex_lock(&w->ft_mu);
    while (w->n_files > 0 && w->files[0].fid < limit && n_gone < 256) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/log-%" PRIu32, w->dirs[w->files[0].dir], w->files[0].fid);
        if (unlink(path) != 0 && errno != ENOENT) {
            w->host->log(w->ctx, SLUICE_LOG_WARN, "file channel: cannot remove %s: %s", path,
                         strerror(errno));
            break;
        }
        w->host->log(w->ctx, SLUICE_LOG_DEBUG, "file channel: removed %s", path);
        if (w->files[0].dir < 64)
            dir_touched[w->files[0].dir] = 1;
        gone[n_gone++] = w->files[0].fid;
        memmove(w->files, w->files + 1, (w->n_files - 1) * sizeof(*w->files));
        w->n_files--;
    }
    pthread_mutex_unlock(&w->ft_mu);

    pthread_mutex_lock(&w->rfd_mu);
    for (size_t g = 0; g < n_gone; g++) {
        for (size_t i = 0; i < w->n_rfds; i++) {
            if (w->rfds[i].fid != gone[g] || w->rfds[i].doomed)
                continue;
            if (w->rfds[i].refs == 0) {
                close(w->rfds[i].fd);
                w->rfds[i] = w->rfds[--w->n_rfds];
            } else {
                w->rfds[i].doomed = 1;
            }
            break;
        }
    }
    pthread_mutex_unlock(&w->rfd_mu);
    for (size_t d = 0; d < w->n_dirs && d < 64; d++)
        if (dir_touched[d])
            fc_fsync_dir(w->dirs[d]);
    atomic_fetch_add(&w->n_removed, n_gone);
    return n_gone;
}
