/*
 * File channel checkpoints: the queue of event positions plus the log position it covers,
 * written atomically (tmp file, fsync, rename, fsync of the directory) so that replay only
 * reads the log after it, and old log files can be deleted. With useDualCheckpoints the same
 * file also goes to backupCheckpointDir, used when the primary is damaged.
 *
 *   "SLUICECP" | u32 version | u32 0 | u64 next txid | u64 covered position | u64 wall ms
 *   | u64 n | n x u64 position | u32 crc32c of everything before it
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_channel.h"

#define CP_MAGIC   "SLUICECP"
#define CP_VERSION 1u
#define CP_HDR     48u
#define CP_CHUNK   (64u * 1024u)

/* err->msg from a format (vsnprintf: messages are bounded, long paths are cut). */
SLUICE_PRINTF(3, 4) static int ck_err(struct sluice_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return err->code = code;
}

struct cp_writer {
    int fd;
    uint8_t *buf;
    size_t len;
    uint32_t crc;
    int err;
};

static void cw_flush(struct cp_writer *w)
{
    size_t done = 0;
    while (!w->err && done < w->len) {
        ssize_t k = write(w->fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            w->err = k < 0 ? errno : EIO;
        else
            done += (size_t)k;
    }
    w->len = 0;
}

static void cw_put(struct cp_writer *w, const void *p, size_t n)
{
    w->crc = fc_crc32c(w->crc, p, n);
    if (w->len + n > CP_CHUNK)
        cw_flush(w);
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

int fc_ckpt_write(const char *dir, const struct fc_ckpt *c, struct sluice_err *err)
{
    char tmp[4200], final[4200];
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", dir);
    snprintf(final, sizeof(final), "%s/checkpoint", dir);
    struct cp_writer w = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (w.fd < 0)
        return ck_err(err, SLUICE_EIO, "cannot create %s: %s", tmp, strerror(errno));
    w.buf = malloc(CP_CHUNK);
    if (!w.buf) {
        close(w.fd);
        return ck_err(err, SLUICE_ENOMEM, "out of memory writing %s", tmp);
    }
    uint8_t h[CP_HDR];
    memcpy(h, CP_MAGIC, 8);
    fc_put_le32(h + 8, CP_VERSION);
    fc_put_le32(h + 12, 0);
    fc_put_le64(h + 16, c->next_txid);
    fc_put_le64(h + 24, c->covered);
    fc_put_le64(h + 32, c->written_ms);
    fc_put_le64(h + 40, c->n);
    cw_put(&w, h, sizeof(h));
    for (uint64_t i = 0; i < c->n; i++) {
        uint8_t b[8];
        fc_put_le64(b, c->pos[i]);
        cw_put(&w, b, 8);
    }
    uint8_t crc[4];
    fc_put_le32(crc, w.crc);
    if (w.len + 4 > CP_CHUNK)
        cw_flush(&w);
    memcpy(w.buf + w.len, crc, 4);
    w.len += 4;
    cw_flush(&w);
    free(w.buf);
    if (!w.err && fsync(w.fd) != 0)
        w.err = errno;
    if (close(w.fd) != 0 && !w.err)
        w.err = errno;
    if (!w.err && rename(tmp, final) != 0)
        w.err = errno;
    if (!w.err && fc_fsync_dir(dir) != 0)
        w.err = errno;
    if (w.err) {
        unlink(tmp);
        return ck_err(err, w.err == ENOSPC || w.err == EDQUOT ? SLUICE_EFULL : SLUICE_EIO,
                      "cannot write checkpoint %s: %s", final, strerror(w.err));
    }
    return SLUICE_OK;
}

int fc_ckpt_read(const char *dir, struct fc_ckpt *c, char *why, size_t why_len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    memset(c, 0, sizeof(*c));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t *buf = malloc(CP_CHUNK);
    int rc = -1;
    if (!buf || fstat(fd, &st) != 0) {
        snprintf(why, why_len, "%s: %s", path, buf ? strerror(errno) : "out of memory");
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint8_t h[CP_HDR];
    if (size < CP_HDR + 4 || pread(fd, h, CP_HDR, 0) != (ssize_t)CP_HDR) {
        snprintf(why, why_len, "%s: too short (%" PRIu64 " bytes)", path, size);
        goto out;
    }
    if (memcmp(h, CP_MAGIC, 8) != 0 || fc_get_le32(h + 8) != CP_VERSION) {
        snprintf(why, why_len, "%s: not a sluice file channel checkpoint (bad magic or version)",
                 path);
        goto out;
    }
    c->next_txid = fc_get_le64(h + 16);
    c->covered = fc_get_le64(h + 24);
    c->written_ms = fc_get_le64(h + 32);
    c->n = fc_get_le64(h + 40);
    if (c->n > (size - CP_HDR - 4) / 8 || CP_HDR + c->n * 8 + 4 != size) {
        snprintf(why, why_len, "%s: size %" PRIu64 " does not match its %" PRIu64 " entries", path,
                 size, c->n);
        goto out;
    }
    c->pos = malloc(c->n ? c->n * sizeof(*c->pos) : 1);
    if (!c->pos) {
        snprintf(why, why_len, "%s: out of memory for %" PRIu64 " entries", path, c->n);
        goto out;
    }
    uint32_t crc = fc_crc32c(0, h, CP_HDR);
    uint64_t off = CP_HDR, i = 0;
    while (off < size - 4) {
        size_t want = size - 4 - off < CP_CHUNK ? (size_t)(size - 4 - off) : CP_CHUNK;
        ssize_t k = pread(fd, buf, want, (off_t)off);
        if (k != (ssize_t)want) { /* want is whole entries; a regular file reads in full */
            snprintf(why, why_len, "%s: read failed: %s", path,
                     k < 0 ? strerror(errno) : "unexpected end of file");
            goto out;
        }
        crc = fc_crc32c(crc, buf, (size_t)k);
        for (size_t j = 0; j < (size_t)k; j += 8)
            c->pos[i++] = fc_get_le64(buf + j);
        off += (uint64_t)k;
    }
    uint8_t t[4];
    if (pread(fd, t, 4, (off_t)(size - 4)) != 4 || fc_get_le32(t) != crc) {
        snprintf(why, why_len, "%s: checksum mismatch", path);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    if (rc != 0) {
        free(c->pos);
        memset(c, 0, sizeof(*c));
    }
    return rc;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A full disk must not stop checkpoints, or log files could never be removed to free it: when
 * there is no room for the new checkpoint next to the old one, the old one goes first. A
 * crash before the new one is complete then costs a replay of every log file (correct, only
 * slower), or uses the other checkpoint of a dual pair.
 */
static int write_or_make_room(struct fc_channel *ch, const char *dir, const struct fc_ckpt *c,
                              struct sluice_err *err)
{
    int rc = fc_ckpt_write(dir, c, err);
    if (rc != SLUICE_EFULL)
        return rc;
    char path[4200];
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    if (unlink(path) != 0)
        return rc;
    fc_fsync_dir(dir);
    ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                  "file channel: no room for a new checkpoint next to the old one in %s: "
                  "removed the old one first (until the new one is written, a crash means "
                  "replaying every log file)",
                  dir);
    return fc_ckpt_write(dir, c, err);
}

int fc_checkpoint(struct fc_channel *ch, const char *reason, struct sluice_err *err)
{
    int64_t t0 = fc_now_ms();
    pthread_mutex_lock(&ch->cp_mu);

    /* Snapshot with appends held off and every appended commit applied to the queue, so the
     * queue reflects exactly the log before `covered`. Open take transactions' events count
     * as queued (at the head): their takes are logged only when they commit. */
    fc_wal_freeze(&ch->wal);
    pthread_mutex_lock(&ch->q_mu);
    while (atomic_load(&ch->wal.unapplied) > 0)
        pthread_cond_wait(&ch->applied, &ch->q_mu);
    struct fc_ckpt c = {.n = ch->in_flight + ch->q.count};
    c.pos = malloc(c.n ? c.n * sizeof(*c.pos) : 1);
    if (c.pos) {
        size_t k = 0;
        for (struct fc_tx *tx = ch->takers; tx; tx = tx->next) {
            memcpy(c.pos + k, tx->take_pos, tx->n_takes * sizeof(*c.pos));
            k += tx->n_takes;
        }
        fc_queue_copy(&ch->q, c.pos + k);
    }
    c.covered = fc_wal_end(&ch->wal);
    uint64_t seq = fc_wal_written(&ch->wal);
    c.next_txid = atomic_load(&ch->next_txid);
    pthread_mutex_unlock(&ch->q_mu);
    fc_wal_thaw(&ch->wal);
    if (!c.pos) {
        pthread_mutex_unlock(&ch->cp_mu);
        atomic_fetch_add(&ch->n_checkpoint_errors, 1);
        return ch->host->err_set(
            err, SLUICE_ENOMEM,
            "file channel: out of memory for a checkpoint of %" PRIu64 " events", c.n);
    }
    c.written_ms = wall_ms();
    uint32_t keep_from = FC_POS_FID(c.covered);
    for (uint64_t i = 0; i < c.n; i++)
        if (FC_POS_FID(c.pos[i]) < keep_from)
            keep_from = FC_POS_FID(c.pos[i]);

    /* the log the checkpoint stands on must be durable before the checkpoint is */
    int rc = fc_wal_sync(&ch->wal, seq, err);
    int primary_ok = 0, backup_ok = !ch->use_dual;
    if (rc == SLUICE_OK) {
        rc = write_or_make_room(ch, ch->cp_dir, &c, err);
        primary_ok = rc == SLUICE_OK;
    }
    if (rc != SLUICE_OK)
        atomic_fetch_add(&ch->n_checkpoint_errors, 1);
    if (primary_ok && ch->use_dual) {
        struct sluice_err e2 = {0};
        backup_ok = write_or_make_room(ch, ch->backup_dir, &c, &e2) == SLUICE_OK;
        if (!backup_ok) {
            atomic_fetch_add(&ch->n_backup_errors, 1);
            ch->host->log(ch->ctx, SLUICE_LOG_ERROR,
                          "file channel: backup checkpoint failed: %s (old log files are kept "
                          "until a backup succeeds)",
                          e2.msg);
        }
    }
    size_t removed = 0;
    if (primary_ok && backup_ok) {
        atomic_fetch_add(&ch->n_checkpoints, 1);
        removed = fc_wal_remove_below(&ch->wal, keep_from);
    }
    if (rc != SLUICE_OK) {
        /* a full or failing disk fails every interval: say so once a minute, with a count */
        int64_t now = fc_now_ms();
        if (ch->cp_err_logged_ms == 0 || now - ch->cp_err_logged_ms >= 60000) {
            ch->host->log(ch->ctx, SLUICE_LOG_ERROR,
                          "file channel: checkpoint (%s) failed: %s (%" PRIu64
                          " checkpoint failures so far; old log files are kept until one "
                          "succeeds)",
                          reason, err->msg, (uint64_t)atomic_load(&ch->n_checkpoint_errors));
            ch->cp_err_logged_ms = now;
        }
    } else if (ch->cp_err_logged_ms) {
        ch->host->log(ch->ctx, SLUICE_LOG_INFO, "file channel: checkpoints succeed again");
        ch->cp_err_logged_ms = 0;
    }
    pthread_mutex_unlock(&ch->cp_mu);
    free(c.pos);
    if (rc != SLUICE_OK)
        return rc;
    ch->host->log(ch->ctx, SLUICE_LOG_DEBUG,
                  "file channel: checkpoint (%s): %" PRIu64 " events, log covered to log-%" PRIu32
                  " offset %" PRIu32 ", %zu old log files removed, %lld ms",
                  reason, c.n, FC_POS_FID(c.covered), FC_POS_OFF(c.covered), removed,
                  (long long)(fc_now_ms() - t0));
    return SLUICE_OK;
}
