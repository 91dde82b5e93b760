/*
 * File channel start-up: find the log files, load the checkpoint (the backup when the primary
 * is damaged, every log file when neither is usable), replay the records after it - a
 * transaction's puts and takes count only when its commit record is there - and start a new
 * log file. A torn record at the end of the newest file is an interrupted write and is cut
 * off with a WARN; any other damage stops the start with an ERROR naming file and offset,
 * because skipping it could silently drop committed events.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_channel.h"

struct found {
    uint32_t fid;
    uint32_t dir;
    uint64_t size;
    int gone; /* removed during replay (an empty file from an interrupted start) */
};

struct replay {
    struct fc_channel *ch;
    struct found *files;
    size_t n_files, cap_files;
    struct fc_ckpt ck;
    int have_ck;
    struct fc_txmap pending;
    struct fc_posset taken;
    fc_pos *puts; /* committed puts read from the log, in commit order */
    size_t n_puts, cap_puts;
    uint64_t max_txid, n_tx, n_records;
    struct sluice_err *err;
};

static int cmp_found(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    return x->fid < y->fid ? -1 : x->fid > y->fid;
}

static void file_path(const struct replay *r, const struct found *f, char *buf, size_t len)
{
    snprintf(buf, len, "%s/log-%" PRIu32, r->ch->data_dirs[f->dir], f->fid);
}

static struct found *find_file(struct replay *r, uint32_t fid)
{
    if (r->n_files == 0)
        return NULL;
    struct found key = {.fid = fid};
    struct found *f = bsearch(&key, r->files, r->n_files, sizeof(key), cmp_found);
    return f && !f->gone ? f : NULL;
}

/* "log-<digits>" exactly; 0 when the name is something else. */
static uint32_t parse_log_name(const char *name)
{
    if (strncmp(name, "log-", 4) != 0 || !name[4] || strlen(name + 4) > 10)
        return 0;
    uint64_t v = 0;
    for (const char *p = name + 4; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v > UINT32_MAX ? 0 : (uint32_t)v;
}

static int flume_leftover(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static int discover(struct replay *r)
{
    struct fc_channel *ch = r->ch;
    const struct sluice_host *host = ch->host;
    if (flume_leftover(ch->cp_dir, "checkpoint.meta") || flume_leftover(ch->cp_dir, "inflightputs"))
        return host->err_set(r->err, SLUICE_ECONFIG,
                             "file channel: %s holds an Apache Flume file channel checkpoint "
                             "(checkpoint.meta, inflightputs); sluice cannot read Flume's format. "
                             "Drain that channel with Flume first, or use a new checkpointDir",
                             ch->cp_dir);
    for (size_t d = 0; d < ch->n_data; d++) {
        DIR *dp = opendir(ch->data_dirs[d]);
        if (!dp)
            return host->err_set(r->err, SLUICE_EIO, "file channel: cannot list %s: %s",
                                 ch->data_dirs[d], strerror(errno));
        struct dirent *de;
        int rc = SLUICE_OK;
        while (rc == SLUICE_OK && (de = readdir(dp))) {
            size_t nl = strlen(de->d_name);
            if (nl > 5 && strcmp(de->d_name + nl - 5, ".meta") == 0 &&
                strncmp(de->d_name, "log-", 4) == 0) {
                rc = host->err_set(r->err, SLUICE_ECONFIG,
                                   "file channel: %s holds Apache Flume file channel logs (%s); "
                                   "sluice cannot read Flume's format. Drain that channel with "
                                   "Flume first, or use new dataDirs",
                                   ch->data_dirs[d], de->d_name);
                break;
            }
            uint32_t fid = parse_log_name(de->d_name);
            if (!fid)
                continue;
            char path[4200];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", ch->data_dirs[d], de->d_name);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
                rc = host->err_set(r->err, SLUICE_EIO, "file channel: %s is not a regular file",
                                   path);
                break;
            }
            if (r->n_files == r->cap_files) {
                size_t ncap = r->cap_files ? r->cap_files * 2 : 16;
                struct found *v = realloc(r->files, ncap * sizeof(*v));
                if (!v) {
                    rc = host->err_set(r->err, SLUICE_ENOMEM, "file channel: out of memory");
                    break;
                }
                r->files = v;
                r->cap_files = ncap;
            }
            r->files[r->n_files++] =
                (struct found){.fid = fid, .dir = (uint32_t)d, .size = (uint64_t)st.st_size};
        }
        closedir(dp);
        if (rc != SLUICE_OK)
            return rc;
    }
    if (r->n_files > 1)
        qsort(r->files, r->n_files, sizeof(*r->files), cmp_found);
    for (size_t i = 1; i < r->n_files; i++)
        if (r->files[i].fid == r->files[i - 1].fid)
            return host->err_set(r->err, SLUICE_ECONFIG,
                                 "file channel: log-%" PRIu32 " exists in both %s and %s",
                                 r->files[i].fid, ch->data_dirs[r->files[i - 1].dir],
                                 ch->data_dirs[r->files[i].dir]);
    return SLUICE_OK;
}

static void load_checkpoint(struct replay *r)
{
    struct fc_channel *ch = r->ch;
    char why[600];
    int rc = fc_ckpt_read(ch->cp_dir, &r->ck, why, sizeof(why));
    if (rc == 0) {
        r->have_ck = 1;
        return;
    }
    if (rc < 0)
        ch->host->log(ch->ctx, SLUICE_LOG_WARN, "file channel: checkpoint unusable: %s", why);
    int primary_missing = rc == 1;
    if (ch->use_dual) {
        char why2[600];
        int rb = fc_ckpt_read(ch->backup_dir, &r->ck, why2, sizeof(why2));
        if (rb == 0) {
            r->have_ck = 1;
            ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                          "file channel: using the backup checkpoint in %s", ch->backup_dir);
            return;
        }
        if (rb < 0)
            ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                          "file channel: backup checkpoint unusable too: %s", why2);
        primary_missing = primary_missing && rb == 1;
    }
    if (!primary_missing)
        ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                      "file channel: no usable checkpoint: replaying all %zu log files",
                      r->n_files);
    else if (r->n_files)
        ch->host->log(ch->ctx, SLUICE_LOG_INFO,
                      "file channel: no checkpoint in %s: replaying all %zu log files", ch->cp_dir,
                      r->n_files);
}

/* Every file the checkpoint relies on must be there, or committed events would be lost. */
static int check_checkpoint(struct replay *r)
{
    const struct sluice_host *host = r->ch->host;
    uint32_t cf = FC_POS_FID(r->ck.covered);
    const struct found *f = find_file(r, cf);
    if (!f)
        return host->err_set(r->err, SLUICE_EIO,
                             "file channel: log-%" PRIu32 " in dataDirs is missing, but the "
                             "checkpoint in %s covers it up to offset %" PRIu32
                             "; refusing to start rather than lose what it held. If the data "
                             "directories were cleared on purpose, remove %s/checkpoint too",
                             cf, r->ch->cp_dir, FC_POS_OFF(r->ck.covered), r->ch->cp_dir);
    if (f->size < FC_POS_OFF(r->ck.covered)) {
        char path[4200];
        file_path(r, f, path, sizeof(path));
        return host->err_set(r->err, SLUICE_EIO,
                             "file channel: %s is %" PRIu64 " bytes long, shorter than the "
                             "%" PRIu32 " bytes the checkpoint covers; refusing to start",
                             path, f->size, FC_POS_OFF(r->ck.covered));
    }
    for (uint64_t i = 0; i < r->ck.n; i++) {
        fc_pos p = r->ck.pos[i];
        const struct found *g = find_file(r, FC_POS_FID(p));
        if (!g || FC_POS_OFF(p) + (uint64_t)FC_REC_HDR_SIZE > g->size || p >= r->ck.covered)
            return host->err_set(r->err, SLUICE_EIO,
                                 "file channel: the checkpoint lists an event at log-%" PRIu32
                                 " offset %" PRIu32 ", which %s; refusing to start rather than "
                                 "lose it",
                                 FC_POS_FID(p), FC_POS_OFF(p),
                                 !g ? "is missing from dataDirs" : "is not in that file");
    }
    return SLUICE_OK;
}

static int corrupt(struct replay *r, const char *path, uint64_t off, const char *why,
                   const char *what)
{
    return r->ch->host->err_set(
        r->err, SLUICE_EIO,
        "file channel: log %s is corrupt at offset %" PRIu64 " (%s) and %s; refusing to start "
        "rather than silently drop committed events. To start anyway, move that file and the "
        "later ones out of the data directories (the events in them are lost)",
        path, off, why, what);
}

static int apply_commit(struct replay *r, const struct fc_rec *rec, const char *path)
{
    struct fc_pending *p = fc_txmap_get(&r->pending, rec->h.txid, 0);
    uint8_t kind = rec->commit_kind == FC_COMMIT_KIND_PUT ? FC_REC_PUT : FC_REC_TAKE;
    if (!p || p->n != rec->commit_count || p->kind != kind) {
        char why[160];
        snprintf(why, sizeof(why),
                 "commit of transaction %" PRIu64 " for %" PRIu32 " records, %zu found",
                 rec->h.txid, rec->commit_count, p ? p->n : (size_t)0);
        return corrupt(r, path, rec->off, why, "the transaction cannot be rebuilt");
    }
    if (kind == FC_REC_PUT) {
        if (r->n_puts + p->n > r->cap_puts) {
            size_t ncap = r->cap_puts ? r->cap_puts * 2 : 1024;
            while (ncap < r->n_puts + p->n)
                ncap *= 2;
            fc_pos *v = realloc(r->puts, ncap * sizeof(*v));
            if (!v)
                return r->ch->host->err_set(r->err, SLUICE_ENOMEM, "file channel: out of memory");
            r->puts = v;
            r->cap_puts = ncap;
        }
        memcpy(r->puts + r->n_puts, p->pos, p->n * sizeof(*p->pos));
        r->n_puts += p->n;
    } else {
        for (size_t i = 0; i < p->n; i++)
            if (fc_posset_add(&r->taken, p->pos[i]) < 0)
                return r->ch->host->err_set(r->err, SLUICE_ENOMEM, "file channel: out of memory");
    }
    r->n_tx++;
    fc_txmap_remove(&r->pending, rec->h.txid);
    return SLUICE_OK;
}

static int replay_file(struct replay *r, struct found *f, uint64_t start, int last)
{
    const struct sluice_host *host = r->ch->host;
    char path[4200];
    file_path(r, f, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return host->err_set(r->err, SLUICE_EIO, "file channel: cannot open %s: %s", path,
                             strerror(errno));
    struct fc_reader rd;
    const char *why = NULL;
    int rc = SLUICE_OK;
    int st = fc_reader_open(&rd, fd, f->fid, start, &why);
    if (st == FC_RD_BAD && last && rd.size <= FC_FILE_HDR_SIZE) {
        /* created by a start that was interrupted before its header was on disk */
        host->log(r->ch->ctx, SLUICE_LOG_WARN,
                  "file channel: %s has an incomplete file header (%" PRIu64
                  " bytes, from an interrupted start); removing it",
                  path, rd.size);
        fc_reader_close(&rd);
        close(fd);
        unlink(path);
        f->gone = 1;
        return SLUICE_OK;
    }
    if (st == FC_RD_IOERR)
        rc = host->err_set(r->err, SLUICE_EIO, "file channel: cannot read %s: %s", path,
                           strerror(errno));
    else if (st == FC_RD_BAD)
        rc = host->err_set(r->err, SLUICE_EIO,
                           "file channel: %s has a bad file header (%s); refusing to start", path,
                           why);
    while (rc == SLUICE_OK) {
        struct fc_rec rec;
        st = fc_reader_next(&rd, &rec, &why);
        if (st == FC_RD_END)
            break;
        if (st == FC_RD_IOERR) {
            rc = host->err_set(r->err, SLUICE_EIO,
                               "file channel: reading %s at offset %" PRIu64 " failed: %s", path,
                               rd.off, strerror(rd.io_err));
            break;
        }
        if (st == FC_RD_BAD) {
            if (!last) {
                rc = corrupt(r, path, rd.off, why, "later log files exist");
            } else if (fc_reader_valid_after(&rd, rd.off)) {
                rc = corrupt(r, path, rd.off, why, "valid records follow it");
            } else {
                host->log(r->ch->ctx, SLUICE_LOG_WARN,
                          "file channel: %s: torn record at offset %" PRIu64
                          " (%s): cutting off the %" PRIu64
                          " bytes an interrupted write left at the end (its transaction never "
                          "committed)",
                          path, rd.off, why, rd.size - rd.off);
                if (ftruncate(fd, (off_t)rd.off) != 0 || fsync(fd) != 0)
                    rc = host->err_set(r->err, SLUICE_EIO,
                                       "file channel: cannot truncate %s at %" PRIu64 ": %s", path,
                                       rd.off, strerror(errno));
                f->size = rd.off;
            }
            break;
        }
        r->n_records++;
        if (rec.h.txid > r->max_txid)
            r->max_txid = rec.h.txid;
        if (rec.h.type == FC_REC_COMMIT) {
            rc = apply_commit(r, &rec, path);
            continue;
        }
        if (rec.h.type == FC_REC_ROLLBACK) {
            fc_txmap_remove(&r->pending, rec.h.txid);
            continue;
        }
        struct fc_pending *p = fc_txmap_get(&r->pending, rec.h.txid, 1);
        if (!p) {
            rc = host->err_set(r->err, SLUICE_ENOMEM, "file channel: out of memory");
            break;
        }
        if (p->n && p->kind != rec.h.type) {
            rc = corrupt(r, path, rec.off, "a transaction mixing puts and takes",
                         "the transaction cannot be rebuilt");
            break;
        }
        p->kind = rec.h.type;
        if (fc_pending_add(p, rec.h.type == FC_REC_PUT ? FC_POS(f->fid, rec.off) : rec.take_pos) !=
            SLUICE_OK)
            rc = host->err_set(r->err, SLUICE_ENOMEM, "file channel: out of memory");
    }
    fc_reader_close(&rd);
    close(fd);
    return rc;
}

/* The queue: the checkpoint's events, then the replayed puts, minus what committed takes
 * consumed. */
static int build_queue(struct replay *r, uint64_t *consumed)
{
    struct fc_channel *ch = r->ch;
    size_t total = (size_t)r->ck.n + r->n_puts;
    if (fc_queue_reserve(&ch->q, total > 1024 ? total : 1024) != SLUICE_OK)
        return ch->host->err_set(r->err, SLUICE_ENOMEM,
                                 "file channel: out of memory for a queue of %zu events", total);
    *consumed = 0;
    for (int part = 0; part < 2; part++) {
        const fc_pos *v = part == 0 ? r->ck.pos : r->puts;
        size_t n = part == 0 ? (size_t)r->ck.n : r->n_puts;
        for (size_t i = 0; i < n; i++) {
            if (fc_posset_has(&r->taken, v[i]))
                (*consumed)++;
            else
                fc_queue_push_back(&ch->q, &v[i], 1);
        }
    }
    return SLUICE_OK;
}

int fc_replay(struct fc_channel *ch, struct sluice_err *err)
{
    int64_t t0 = fc_now_ms();
    struct replay r = {.ch = ch, .err = err};
    int rc = discover(&r);
    if (rc != SLUICE_OK)
        goto out;
    load_checkpoint(&r);
    if (r.have_ck && (rc = check_checkpoint(&r)) != SLUICE_OK)
        goto out;

    uint32_t start_fid = r.have_ck ? FC_POS_FID(r.ck.covered) : 0;
    uint64_t start_off = r.have_ck ? FC_POS_OFF(r.ck.covered) : FC_FILE_HDR_SIZE;
    size_t scanned = 0;
    for (size_t i = 0; i < r.n_files && rc == SLUICE_OK; i++) {
        struct found *f = &r.files[i];
        if (f->fid < start_fid)
            continue;
        rc = replay_file(&r, f, f->fid == start_fid ? start_off : FC_FILE_HDR_SIZE,
                         i == r.n_files - 1);
        scanned++;
    }
    if (rc != SLUICE_OK)
        goto out;

    uint64_t consumed = 0;
    if ((rc = build_queue(&r, &consumed)) != SLUICE_OK)
        goto out;
    if (r.pending.n > 0) {
        size_t recs = 0;
        for (size_t i = 0; i < r.pending.cap; i++)
            if (r.pending.slots[i].txid)
                recs += r.pending.slots[i].n;
        ch->host->log(ch->ctx, SLUICE_LOG_INFO,
                      "file channel: ignored %zu records of %zu transactions that never "
                      "committed (interrupted before their commit returned)",
                      recs, r.pending.n);
    }
    uint64_t unmatched = r.taken.n - consumed;
    if (unmatched)
        ch->host->log(ch->ctx, SLUICE_LOG_DEBUG,
                      "file channel: %" PRIu64 " replayed takes refer to events already removed",
                      unmatched);

    uint32_t max_fid = r.have_ck ? FC_POS_FID(r.ck.covered) : 0;
    for (size_t i = 0; i < r.n_files; i++) {
        if (r.files[i].gone)
            continue;
        if (r.files[i].fid > max_fid)
            max_fid = r.files[i].fid;
        if (fc_wal_add_file(&ch->wal, r.files[i].fid, r.files[i].dir) != SLUICE_OK) {
            rc = ch->host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory");
            goto out;
        }
    }
    uint64_t next = r.max_txid + 1;
    if (r.have_ck && r.ck.next_txid > next)
        next = r.ck.next_txid;
    atomic_store(&ch->next_txid, next);
    if ((rc = fc_wal_start_file(&ch->wal, max_fid + 1, err)) != SLUICE_OK)
        goto out;
    ch->host->log(ch->ctx, SLUICE_LOG_INFO,
                  "file channel: %zu events queued after replay (%s%" PRIu64
                  " from the checkpoint, %" PRIu64 " transactions replayed from %zu of %zu log "
                  "files) in %lld ms; writing log-%" PRIu32,
                  ch->q.count, r.have_ck ? "" : "no checkpoint, ", r.ck.n, r.n_tx, scanned,
                  r.n_files, (long long)(fc_now_ms() - t0), max_fid + 1);
    if (ch->q.count > ch->capacity)
        ch->host->log(ch->ctx, SLUICE_LOG_WARN,
                      "file channel holds %zu events, more than its capacity %zu: puts wait "
                      "until the sinks take it below capacity",
                      ch->q.count, ch->capacity);
out:
    free(r.files);
    free(r.ck.pos);
    free(r.puts);
    fc_txmap_free(&r.pending);
    fc_posset_free(&r.taken);
    return rc;
}
