/*
 * The file channel's read side: takes read events back from the log. Takes come in FIFO order,
 * so one pread of a block (a read window, FC_READ_WINDOW bytes from the taken position on)
 * serves the events after it too. A window never holds bytes past the end of the last
 * completed append, so it cannot catch a write in progress; anything a window cannot serve
 * whole and checked (a large event, every window busy, damage) is read on its own as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_channel.h"

#define FC_READ_SPECULATIVE 4096 /* one direct pread fetches the header and a small event */

/* ---- Descriptors ---------------------------------------------------------------------------- */

/* A referenced descriptor for fid, cached when there is room; *cached tells which. */
static int rfd_get(struct fc_wal *w, uint32_t fid, int *cached)
{
    pthread_mutex_lock(&w->rfd_mu);
    for (size_t i = 0; i < w->n_rfds; i++) {
        if (w->rfds[i].fid == fid && !w->rfds[i].doomed) {
            w->rfds[i].refs++;
            w->rfds[i].used = ++w->rfd_tick;
            int fd = w->rfds[i].fd;
            pthread_mutex_unlock(&w->rfd_mu);
            *cached = 1;
            return fd;
        }
    }
    char path[4200];
    int known = fc_wal_path(w, fid, path, sizeof(path));
    int fd = known == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (known != 0)
        errno = ENOENT;
    if (fd < 0) {
        pthread_mutex_unlock(&w->rfd_mu);
        return -1;
    }
    size_t slot = w->n_rfds;
    if (slot == FC_MAX_READ_FDS) {
        /* evict the least recently used descriptor nobody is reading from */
        for (size_t i = 0; i < w->n_rfds; i++)
            if (w->rfds[i].refs == 0 &&
                (slot == FC_MAX_READ_FDS || w->rfds[i].used < w->rfds[slot].used))
                slot = i;
        if (slot != FC_MAX_READ_FDS)
            close(w->rfds[slot].fd);
    } else {
        w->n_rfds++;
    }
    if (slot == FC_MAX_READ_FDS) {
        pthread_mutex_unlock(&w->rfd_mu);
        *cached = 0;
        return fd;
    }
    w->rfds[slot] = (struct fc_rfd){.fid = fid, .fd = fd, .refs = 1, .used = ++w->rfd_tick};
    pthread_mutex_unlock(&w->rfd_mu);
    *cached = 1;
    return fd;
}

static void rfd_put(struct fc_wal *w, int fd, int cached)
{
    if (!cached) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&w->rfd_mu);
    for (size_t i = 0; i < w->n_rfds; i++) {
        if (w->rfds[i].fd != fd)
            continue;
        if (--w->rfds[i].refs == 0 && w->rfds[i].doomed) {
            close(fd);
            w->rfds[i] = w->rfds[--w->n_rfds];
        }
        break;
    }
    pthread_mutex_unlock(&w->rfd_mu);
}

static ssize_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* Read the record at pos on its own: one speculative pread, a second one for a large event.
 * This is also the authority for every error message. */
static int read_direct(struct fc_wal *w, fc_pos pos, struct sluice_event **out,
                       struct sluice_err *err)
{
    uint32_t fid = FC_POS_FID(pos), off = FC_POS_OFF(pos);
    char path[4200];
    *out = NULL;
    int cached;
    int fd = rfd_get(w, fid, &cached);
    if (fd < 0) {
        int e = errno;
        fc_wal_path(w, fid, path, sizeof(path));
        return w->host->err_set(err, e == ENOENT ? SLUICE_EINVAL : SLUICE_EIO,
                                "file channel: cannot open %s to read the event at offset %" PRIu32
                                ": %s",
                                path, off, strerror(e));
    }
    uint8_t small[FC_READ_SPECULATIVE];
    uint8_t *big = NULL;
    const char *why = NULL;
    int rc = SLUICE_OK;
    ssize_t got = pread_full(fd, small, sizeof(small), off);
    struct fc_rec_hdr h;
    if (got < 0) {
        rc = SLUICE_EIO;
        why = strerror(errno);
    } else if ((size_t)got < FC_REC_HDR_SIZE) {
        rc = SLUICE_EINVAL;
        why = "the file ends before the record";
    } else if (fc_rec_hdr_decode(small, &h, &why) != 0) {
        rc = SLUICE_EINVAL;
    } else if (h.type != FC_REC_PUT) {
        rc = SLUICE_EINVAL;
        why = "the record there is not a put";
    }
    const uint8_t *payload = small + FC_REC_HDR_SIZE;
    if (rc == SLUICE_OK && FC_REC_HDR_SIZE + (size_t)h.len > (size_t)got) {
        big = malloc(h.len ? h.len : 1);
        size_t have = (size_t)got - FC_REC_HDR_SIZE;
        if (!big) {
            rc = SLUICE_ENOMEM;
            why = "out of memory";
        } else {
            memcpy(big, small + FC_REC_HDR_SIZE, have);
            ssize_t k = pread_full(fd, big + have, h.len - have, off + (uint64_t)got);
            if (k < 0) {
                rc = SLUICE_EIO;
                why = strerror(errno);
            } else if ((size_t)k < h.len - have) {
                rc = SLUICE_EINVAL;
                why = "the file ends inside the record";
            }
            payload = big;
        }
    }
    rfd_put(w, fd, cached);
    if (rc == SLUICE_OK && fc_crc32c(0, payload, h.len) != h.crc) {
        rc = SLUICE_EINVAL;
        why = "payload checksum mismatch";
    }
    if (rc == SLUICE_OK) {
        rc = fc_put_payload_decode(w->host, payload, h.len, out, &why);
        if (rc == SLUICE_EIO) /* a malformed payload is corruption, not an I/O error */
            rc = SLUICE_EINVAL;
    }
    free(big);
    if (rc != SLUICE_OK) {
        fc_wal_path(w, fid, path, sizeof(path));
        return w->host->err_set(
            err, rc, "file channel: cannot read the event in %s at offset %" PRIu32 ": %s", path,
            off, why ? why : "out of memory");
    }
    return SLUICE_OK;
}

/* ---- Read windows ---------------------------------------------------------------------------- */

/* The put record at off when the window holds all of it with a valid header, else NULL. */
static const uint8_t *win_record(const struct fc_rwin *x, uint64_t off, struct fc_rec_hdr *h)
{
    if (off < x->off || off - x->off > x->len)
        return NULL;
    size_t at = (size_t)(off - x->off), avail = x->len - at;
    const char *why;
    if (avail < FC_REC_HDR_SIZE || fc_rec_hdr_decode(x->buf + at, h, &why) != 0 ||
        h->type != FC_REC_PUT || h->len > avail - FC_REC_HDR_SIZE)
        return NULL;
    return x->buf + at;
}

/* Read a block of file fid from off into buf: only bytes that completed appends wrote (the file
 * being written is read up to the published end). Bytes read, or -1. */
static ssize_t win_read(struct fc_wal *w, uint32_t fid, uint64_t off, uint8_t *buf)
{
    uint64_t end = atomic_load(&w->end_pos);
    size_t want = FC_READ_WINDOW;
    if (FC_POS_FID(end) < fid)
        return -1;
    if (FC_POS_FID(end) == fid) {
        uint64_t limit = FC_POS_OFF(end);
        if (limit <= off)
            return -1;
        if (limit - off < want)
            want = (size_t)(limit - off);
    }
    int cached;
    int fd = rfd_get(w, fid, &cached);
    if (fd < 0)
        return -1;
    ssize_t got = pread_full(fd, buf, want, off);
    rfd_put(w, fd, cached);
    atomic_fetch_add(&w->n_window_fills, 1);
    return got;
}

/* Serve the event at (fid, off) from a read window, filling one from off when none holds it.
 * 1 when served (*rc is SLUICE_OK or SLUICE_ENOMEM), 0 when the caller must read it directly. */
static int read_windowed(struct fc_wal *w, uint32_t fid, uint64_t off, struct sluice_event **out,
                         int *rc)
{
    struct fc_rec_hdr h;
    const uint8_t *rec = NULL;
    struct fc_rwin *win = NULL;
    pthread_mutex_lock(&w->rw_mu);
    for (size_t i = 0; i < FC_READ_WINDOWS && !win; i++)
        if (w->rwins[i].fid == fid && (rec = win_record(&w->rwins[i], off, &h)))
            win = &w->rwins[i];
    if (win) {
        win->refs++;
    } else {
        /* refill the least recently used window nobody reads from; a new one when all are */
        for (size_t i = 0; i < FC_READ_WINDOWS; i++) {
            struct fc_rwin *x = &w->rwins[i];
            if (x->buf && x->refs == 0 && (!win || x->used < win->used))
                win = x;
        }
        for (size_t i = 0; i < FC_READ_WINDOWS && !win; i++) {
            if (w->rwins[i].buf)
                continue;
            if ((w->rwins[i].buf = malloc(FC_READ_WINDOW)))
                win = &w->rwins[i];
            break;
        }
        if (!win) {
            pthread_mutex_unlock(&w->rw_mu);
            return 0;
        }
        win->fid = 0;
        win->len = 0;
        win->refs = 1;
        pthread_mutex_unlock(&w->rw_mu);
        ssize_t got = win_read(w, fid, off, win->buf);
        pthread_mutex_lock(&w->rw_mu);
        if (got > 0) {
            win->fid = fid;
            win->off = off;
            win->len = (size_t)got;
            rec = win_record(win, off, &h);
        }
        if (!rec) {
            win->refs--;
            pthread_mutex_unlock(&w->rw_mu);
            return 0;
        }
    }
    win->used = ++w->rw_tick;
    pthread_mutex_unlock(&w->rw_mu);

    int r = SLUICE_EINVAL;
    const char *why = NULL;
    if (fc_crc32c(0, rec + FC_REC_HDR_SIZE, h.len) == h.crc)
        r = fc_put_payload_decode(w->host, rec + FC_REC_HDR_SIZE, h.len, out, &why);
    pthread_mutex_lock(&w->rw_mu);
    win->refs--;
    pthread_mutex_unlock(&w->rw_mu);
    if (r != SLUICE_OK && r != SLUICE_ENOMEM)
        return 0; /* damaged: the direct read gives the verdict and names it */
    *rc = r;
    return 1;
}

int fc_wal_read_event(struct fc_wal *w, fc_pos pos, struct sluice_event **out,
                      struct sluice_err *err)
{
    *out = NULL;
    int rc;
    if (read_windowed(w, FC_POS_FID(pos), FC_POS_OFF(pos), out, &rc)) {
        if (rc != SLUICE_OK) {
            char path[4200];
            fc_wal_path(w, FC_POS_FID(pos), path, sizeof(path));
            return w->host->err_set(err, rc,
                                    "file channel: cannot read the event in %s at offset %" PRIu32
                                    ": out of memory",
                                    path, FC_POS_OFF(pos));
        }
        return SLUICE_OK;
    }
    atomic_fetch_add(&w->n_direct_reads, 1);
    return read_direct(w, pos, out, err);
}
