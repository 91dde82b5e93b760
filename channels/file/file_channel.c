/*
 * The `file` channel (Flume's FileChannel): events survive a crash of the agent or the
 * machine. This file holds the option table, the descriptor and the channel's life cycle;
 * the design is below, the pieces are in file_channel_{tx,wal,log,checkpoint,replay,queue,
 * dirs}.c.
 *
 * Design
 * - Write-ahead log. Log files log-<N> (N = 1, 2, ...) live in the data dirs, file N in dir
 *   N % dirs; one file is written at a time and a new one is started when the next commit
 *   would pass maxFileSize. Records: a 32-byte header (magic, type put/take/commit/rollback,
 *   payload length, payload CRC32C, transaction id, header CRC32C) and a payload (put: the
 *   event's headers and body; take: the position (file id, offset) of the put it consumes;
 *   commit: kind and record count). See file_channel.h for the byte layout.
 * - Nothing is logged before commit. A commit writes the transaction's records plus its
 *   commit record with one write, so the log holds whole committed transactions, plus at
 *   most a torn one at its very end. Rollback writes nothing (an unlogged take is void).
 * - Durability: commit returns once an fdatasync covered its write. Concurrent commits share
 *   it (group commit: the first waiter becomes leader and syncs everything appended so far;
 *   the others wait for it or lead the next round). With fsyncPerTransaction=false commits
 *   return after the write and a thread syncs every fsyncInterval seconds. A file is synced
 *   before the next one is started.
 * - Memory: a queue of committed event positions (8 bytes each, bounded by capacity); takes
 *   read events back from the log in blocks: one pread of up to 256 KiB from the taken
 *   position serves the events after it too (at most 4 such read windows, 1 MiB; a window
 *   never reaches past the last completed append; an event larger than a window, or any
 *   doubt, is read on its own). Descriptors are cached, at most 64 open. Event bodies are in
 *   memory only inside open transactions and read windows.
 * - Checkpoints every checkpointInterval and on stop: the queue (events taken by open
 *   transactions first, as a rollback would put them back) and the log position it covers,
 *   written atomically (tmp, fsync, rename, fsync dir), and to backupCheckpointDir too with
 *   useDualCheckpoints. The snapshot is taken with appends held off and every appended commit
 *   applied, so it reflects exactly the log before its position. Log files older than both
 *   that position and every event in the snapshot are deleted afterwards.
 * - Replay on start: the checkpoint (CRC-checked; else the backup; else all log files), then
 *   the records after it, applying a transaction only at its commit record. A torn record at
 *   the end of the newest file is cut off with a WARN naming file and offset. Damage anywhere
 *   else stops the start with an ERROR naming file and offset: skipping it could silently
 *   drop committed events, and "loses nothing" means an operator decides. Takes that find a
 *   damaged record later are logged as ERROR and skipped (that event cannot be recovered).
 * - minimumRequiredSpace: a put commit waits up to keep-alive until every channel directory
 *   (statvfs) keeps that much free after the write, plus 64 bytes per event the channel will
 *   hold (what taking them all needs: take records, checkpoint entries), then returns
 *   SLUICE_EFULL naming the directory; the agent retries, so sources wait. Takes go on and can
 *   always finish. A checkpoint that finds no room next to the old one removes the old one
 *   first. A full disk during a write cuts the partial write off and is EFULL too; any other
 *   write or sync error makes the channel refuse commits until a restart replays the log
 *   (after a failed fsync the page cache can no longer be trusted).
 * - start() creates the directories and locks each with flock on in_use.lock, so two
 *   channels or agents cannot share one (create() only checks the paths: `sluice check`
 *   creates components and must neither make directories nor take the locks).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_channel.h"

#define FC_MAX_DIRS        32
#define FC_MIN_SPACE_FLOOR (1024 * 1024) /* Flume's floor for minimumRequiredSpace */

static void fc_destroy(void *self);

/* ---- Configuration ------------------------------------------------------------------------- */

/* Split dataDirs on commas (blanks around entries trimmed), expanding `~`. */
static int parse_data_dirs(struct fc_channel *ch, const char *spec, struct sluice_err *err)
{
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (ch->n_data == FC_MAX_DIRS)
            return ch->host->err_set(err, SLUICE_ECONFIG,
                                     "file channel: dataDirs lists more than %d directories",
                                     FC_MAX_DIRS);
        char *one = strndup(p, (size_t)(end - p));
        char *full = one ? fc_expand_home(one) : NULL;
        free(one);
        if (!full)
            return ch->host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory");
        ch->data_dirs[ch->n_data++] = full;
        p = e;
    }
    if (ch->n_data == 0)
        return ch->host->err_set(err, SLUICE_ECONFIG,
                                 "file channel: dataDirs '%s' names no directory", spec);
    return SLUICE_OK;
}

/* Lock every distinct directory once (checkpointDir may also be a data dir). */
static int lock_dirs(struct fc_channel *ch, struct sluice_err *err)
{
    const char *all[FC_MAX_DIRS + 2];
    size_t n = 0;
    all[n++] = ch->cp_dir;
    if (ch->backup_dir)
        all[n++] = ch->backup_dir;
    for (size_t i = 0; i < ch->n_data; i++)
        all[n++] = ch->data_dirs[i];
    char *real[FC_MAX_DIRS + 2] = {0};
    int rc = SLUICE_OK;
    for (size_t i = 0; i < n && rc == SLUICE_OK; i++) {
        real[i] = realpath(all[i], NULL);
        if (!real[i]) {
            rc = ch->host->err_set(err, SLUICE_ECONFIG, "file channel: cannot resolve %s", all[i]);
            break;
        }
        if (ch->backup_dir && i == 1 && strcmp(real[0], real[1]) == 0) {
            rc = ch->host->err_set(err, SLUICE_ECONFIG,
                                   "file channel: backupCheckpointDir must differ from "
                                   "checkpointDir (both are %s)",
                                   real[0]);
            break;
        }
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup = dup || strcmp(real[i], real[j]) == 0;
        if (dup)
            continue;
        rc = fc_lock_dir(all[i], &ch->lock_fds[ch->n_locks], ch->host, err);
        if (rc == SLUICE_OK)
            ch->n_locks++;
    }
    for (size_t i = 0; i < n; i++)
        free(real[i]);
    return rc;
}

static int init_sync(struct fc_channel *ch)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_mutex_init(&ch->q_mu, NULL) == 0;
    ok = ok && pthread_cond_init(&ch->nonempty, &ca) == 0;
    ok = ok && pthread_cond_init(&ch->room, &ca) == 0;
    ok = ok && pthread_cond_init(&ch->applied, &ca) == 0;
    ok = ok && pthread_mutex_init(&ch->cp_mu, NULL) == 0;
    ok = ok && pthread_mutex_init(&ch->sp_mu, NULL) == 0;
    ok = ok && pthread_mutex_init(&ch->wk_mu, NULL) == 0;
    ok = ok && pthread_cond_init(&ch->wk_cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    return ok ? 0 : -1;
}

static int fc_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct fc_conf *conf = conf_;
    *self = NULL;
    if (conf->tx_capacity > conf->capacity)
        return host->err_set(err, SLUICE_ECONFIG,
                             "transactionCapacity %" PRId64 " is larger than capacity %" PRId64,
                             conf->tx_capacity, conf->capacity);
    if (conf->use_dual && (!conf->backup_dir || !conf->backup_dir[0]))
        return host->err_set(err, SLUICE_ECONFIG,
                             "file channel: useDualCheckpoints is true but backupCheckpointDir "
                             "is not set");
    struct fc_channel *ch = calloc(1, sizeof(*ch));
    if (!ch || !(ch->data_dirs = calloc(FC_MAX_DIRS, sizeof(char *)))) {
        free(ch);
        return host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory");
    }
    ch->host = host;
    ch->ctx = ctx;
    ch->capacity = (size_t)conf->capacity;
    ch->tx_capacity = (size_t)conf->tx_capacity;
    ch->keep_alive_s = conf->keep_alive;
    ch->checkpoint_interval_ms = conf->checkpoint_interval;
    ch->use_dual = conf->use_dual;
    ch->checkpoint_on_close = conf->checkpoint_on_close;
    ch->fsync_per_tx = conf->fsync_per_tx;
    ch->fsync_interval_s = conf->fsync_interval;
    uint64_t max_file = (uint64_t)conf->max_file_size;
    if (max_file > FC_MAX_FILE_SIZE) {
        host->log(ctx, SLUICE_LOG_INFO, "file channel: maxFileSize %" PRId64 " capped to %d",
                  conf->max_file_size, FC_MAX_FILE_SIZE);
        max_file = FC_MAX_FILE_SIZE;
    }
    ch->min_space = (uint64_t)conf->min_space;
    if (ch->min_space < FC_MIN_SPACE_FLOOR) {
        host->log(ctx, SLUICE_LOG_INFO,
                  "file channel: minimumRequiredSpace %" PRId64 " raised to the floor of %d bytes",
                  conf->min_space, FC_MIN_SPACE_FLOOR);
        ch->min_space = FC_MIN_SPACE_FLOOR;
    }
    int rc;
    if (init_sync(ch) != 0) {
        fc_destroy(ch);
        return host->err_set(err, SLUICE_ENOMEM, "file channel: cannot create locks");
    }
    ch->sync_ready = 1;
    ch->cp_dir = fc_expand_home(conf->checkpoint_dir);
    ch->backup_dir = conf->use_dual ? fc_expand_home(conf->backup_dir) : NULL;
    if (!ch->cp_dir || (conf->use_dual && !ch->backup_dir)) {
        fc_destroy(ch);
        return host->err_set(err, SLUICE_ENOMEM, "file channel: out of memory");
    }
    if ((rc = parse_data_dirs(ch, conf->data_dirs, err)) != SLUICE_OK)
        goto fail;
    /* no side effects here (`sluice check` creates components): directories are created and
     * locked by start(), as Flume does */
    if ((rc = fc_dir_usable(ch->cp_dir, err, host)) != SLUICE_OK)
        goto fail;
    if (ch->backup_dir && (rc = fc_dir_usable(ch->backup_dir, err, host)) != SLUICE_OK)
        goto fail;
    for (size_t i = 0; i < ch->n_data; i++)
        if ((rc = fc_dir_usable(ch->data_dirs[i], err, host)) != SLUICE_OK)
            goto fail;
    if (ch->backup_dir && strcmp(ch->backup_dir, ch->cp_dir) == 0) {
        rc = host->err_set(err, SLUICE_ECONFIG,
                           "file channel: backupCheckpointDir must differ from checkpointDir "
                           "(both are %s)",
                           ch->cp_dir);
        goto fail;
    }
    if ((rc = fc_wal_init(&ch->wal, host, ctx, ch->data_dirs, ch->n_data, max_file)) != SLUICE_OK) {
        rc = host->err_set(err, rc, "file channel: cannot set up the log");
        goto fail;
    }
    host->log(ctx, SLUICE_LOG_INFO,
              "file channel: checkpointDir=%s dataDirs=%s (%zu) capacity=%zu "
              "transactionCapacity=%zu checkpointInterval=%" PRId64 "ms maxFileSize=%" PRIu64
              " minimumRequiredSpace=%" PRIu64 " useDualCheckpoints=%s%s%s keep-alive=%" PRId64
              "s fsyncPerTransaction=%s fsyncInterval=%" PRId64 "s",
              ch->cp_dir, conf->data_dirs, ch->n_data, ch->capacity, ch->tx_capacity,
              ch->checkpoint_interval_ms, max_file, ch->min_space, ch->use_dual ? "true" : "false",
              ch->use_dual ? " backupCheckpointDir=" : "", ch->use_dual ? ch->backup_dir : "",
              ch->keep_alive_s, ch->fsync_per_tx ? "true" : "false", ch->fsync_interval_s);
    *self = ch;
    return SLUICE_OK;
fail:
    fc_destroy(ch);
    return rc;
}

/* ---- Background work: checkpoints, and syncs when commits do not sync ------------------------ */

static void *worker_main(void *arg)
{
    struct fc_channel *ch = arg;
    int64_t now = fc_now_ms();
    int64_t next_cp = now + ch->checkpoint_interval_ms;
    int64_t next_sync = now + ch->fsync_interval_s * 1000;
    pthread_mutex_lock(&ch->wk_mu);
    while (!ch->wk_quit) {
        int64_t due = next_cp;
        if (!ch->fsync_per_tx && next_sync < due)
            due = next_sync;
        int64_t wait = due - fc_now_ms();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(wait / 1000);
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&ch->wk_cv, &ch->wk_mu, &ts);
            continue; /* re-check quit and the clock */
        }
        pthread_mutex_unlock(&ch->wk_mu);
        now = fc_now_ms();
        struct sluice_err err = {0};
        if (!ch->fsync_per_tx && now >= next_sync) {
            fc_wal_sync(&ch->wal, fc_wal_written_now(&ch->wal), &err);
            next_sync = now + ch->fsync_interval_s * 1000;
        }
        if (now >= next_cp) {
            fc_checkpoint(ch, "interval", &err);
            next_cp = fc_now_ms() + ch->checkpoint_interval_ms;
        }
        pthread_mutex_lock(&ch->wk_mu);
    }
    pthread_mutex_unlock(&ch->wk_mu);
    return NULL;
}

static void worker_stop(struct fc_channel *ch)
{
    if (!ch->wk_running)
        return;
    pthread_mutex_lock(&ch->wk_mu);
    ch->wk_quit = 1;
    pthread_cond_signal(&ch->wk_cv);
    pthread_mutex_unlock(&ch->wk_mu);
    pthread_join(ch->worker, NULL);
    ch->wk_running = 0;
}

/* ---- Life cycle --------------------------------------------------------------------------------
 */

static int fc_start(void *self, struct sluice_err *err)
{
    struct fc_channel *ch = self;
    if (ch->running)
        return SLUICE_OK;
    if (!ch->n_locks) {
        int rc = fc_mkdirs(ch->cp_dir, err, ch->host);
        if (rc == SLUICE_OK && ch->backup_dir)
            rc = fc_mkdirs(ch->backup_dir, err, ch->host);
        for (size_t i = 0; rc == SLUICE_OK && i < ch->n_data; i++)
            rc = fc_mkdirs(ch->data_dirs[i], err, ch->host);
        if (rc == SLUICE_OK)
            rc = lock_dirs(ch, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    if (!ch->replayed) {
        int rc = fc_replay(ch, err);
        if (rc != SLUICE_OK)
            return rc;
        ch->replayed = 1;
        struct sluice_err e2 = {0};
        fc_checkpoint(ch, "start", &e2); /* the next start replays from here */
    }
    pthread_mutex_lock(&ch->q_mu);
    ch->stopping = 0;
    pthread_mutex_unlock(&ch->q_mu);
    ch->wk_quit = 0;
    if (pthread_create(&ch->worker, NULL, worker_main, ch) != 0)
        return ch->host->err_set(err, SLUICE_ENOMEM,
                                 "file channel: cannot start its checkpoint thread");
    ch->wk_running = 1;
    ch->running = 1;
    return SLUICE_OK;
}

static void fc_stop(void *self)
{
    struct fc_channel *ch = self;
    if (!ch->running)
        return;
    pthread_mutex_lock(&ch->q_mu);
    ch->stopping = 1;
    pthread_cond_broadcast(&ch->nonempty);
    pthread_cond_broadcast(&ch->room);
    size_t left = ch->q.count + ch->in_flight;
    pthread_mutex_unlock(&ch->q_mu);
    worker_stop(ch);
    struct sluice_err err = {0};
    if (ch->checkpoint_on_close)
        fc_checkpoint(ch, "close", &err);
    else
        fc_wal_sync(&ch->wal, fc_wal_written_now(&ch->wal), &err);
    ch->running = 0;
    ch->host->log(
        ch->ctx, SLUICE_LOG_INFO,
        "file channel stopped: %zu events kept on disk for the next start; %" PRIu64
        " checkpoints (%" PRIu64 " failed, %" PRIu64 " backup failures), %" PRIu64
        " commits sharing %" PRIu64 " fdatasyncs, %" PRIu64 " log files removed, %" PRIu64
        " put and %" PRIu64 " take errors, %" PRIu64 " damaged events skipped",
        left, (uint64_t)atomic_load(&ch->n_checkpoints),
        (uint64_t)atomic_load(&ch->n_checkpoint_errors),
        (uint64_t)atomic_load(&ch->n_backup_errors), (uint64_t)atomic_load(&ch->wal.n_appends),
        (uint64_t)atomic_load(&ch->wal.n_syncs), (uint64_t)atomic_load(&ch->wal.n_removed),
        (uint64_t)atomic_load(&ch->n_put_errors), (uint64_t)atomic_load(&ch->n_take_errors),
        (uint64_t)atomic_load(&ch->n_corrupt_takes));
}

static void fc_destroy(void *self)
{
    struct fc_channel *ch = self;
    if (!ch)
        return;
    if (ch->running)
        fc_stop(ch);
    worker_stop(ch);
    fc_wal_destroy(&ch->wal);
    fc_queue_free(&ch->q);
    for (size_t i = 0; i < ch->n_locks; i++)
        close(ch->lock_fds[i]); /* releases the flock */
    for (size_t i = 0; i < ch->n_data; i++)
        free(ch->data_dirs[i]);
    free(ch->data_dirs);
    free(ch->cp_dir);
    free(ch->backup_dir);
    if (ch->sync_ready) {
        pthread_mutex_destroy(&ch->q_mu);
        pthread_cond_destroy(&ch->nonempty);
        pthread_cond_destroy(&ch->room);
        pthread_cond_destroy(&ch->applied);
        pthread_mutex_destroy(&ch->cp_mu);
        pthread_mutex_destroy(&ch->sp_mu);
        pthread_mutex_destroy(&ch->wk_mu);
        pthread_cond_destroy(&ch->wk_cv);
    }
    free(ch);
}

static void fc_size(void *self, uint64_t *size, uint64_t *capacity)
{
    struct fc_channel *ch = self;
    pthread_mutex_lock(&ch->q_mu);
    *size = ch->q.count;
    pthread_mutex_unlock(&ch->q_mu);
    *capacity = ch->capacity;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_channel_ops fc_ops = {
    .create = fc_create,
    .start = fc_start,
    .stop = fc_stop,
    .destroy = fc_destroy,
    .tx_begin = fc_tx_begin,
    .put = fc_put,
    .take = fc_take,
    .commit = fc_commit,
    .rollback = fc_rollback,
    .tx_free = fc_tx_free,
    .size = fc_size,
    .take_nowait = fc_take_nowait,
};

#define FC_ENCRYPTION_NOTE                                                                         \
    "encryption at rest is not implemented: events are stored unencrypted in dataDirs (use an "    \
    "encrypted filesystem)"

static const struct sluice_option fc_options[] = {
    {.name = "checkpointDir",
     .type = SLUICE_OPT_STRING,
     .def = "~/.flume/file-channel/checkpoint",
     .desc = "Directory for the checkpoint (created if missing; `~` is the user's home).",
     .offset = offsetof(struct fc_conf, checkpoint_dir)},
    {.name = "dataDirs",
     .type = SLUICE_OPT_STRING,
     .def = "~/.flume/file-channel/data",
     .desc = "Comma-separated directories for the log files; log-N goes to directory N modulo "
             "their number.",
     .offset = offsetof(struct fc_conf, data_dirs)},
    {.name = "capacity",
     .type = SLUICE_OPT_INT,
     .def = "1000000",
     .desc = "Maximum number of events held by the channel.",
     .min = 1,
     .max = INT32_MAX,
     .offset = offsetof(struct fc_conf, capacity)},
    {.name = "transactionCapacity",
     .type = SLUICE_OPT_INT,
     .def = "10000",
     .desc = "Maximum puts, and separately maximum takes, in one transaction; at most capacity.",
     .flags = SLUICE_OPT_TX_CAPACITY,
     .min = 1,
     .max = INT32_MAX,
     .offset = offsetof(struct fc_conf, tx_capacity)},
    {.name = "checkpointInterval",
     .type = SLUICE_OPT_INT,
     .def = "30000",
     .desc = "Milliseconds between checkpoints (a checkpoint is also written on stop).",
     .min = 1,
     .max = INT32_MAX,
     .offset = offsetof(struct fc_conf, checkpoint_interval)},
    {.name = "maxFileSize",
     .type = SLUICE_OPT_INT,
     .def = "2146435071",
     .desc = "Bytes after which a new log file is started; larger values are capped to the "
             "default.",
     .min = 1,
     .max = INT64_MAX,
     .offset = offsetof(struct fc_conf, max_file_size)},
    {.name = "minimumRequiredSpace",
     .type = SLUICE_OPT_INT,
     .def = "524288000",
     .desc = "Free bytes every channel directory must keep; below it puts are refused (sources "
             "wait) while takes go on. At least 1 MiB.",
     .min = 0,
     .max = INT64_MAX,
     .offset = offsetof(struct fc_conf, min_space)},
    {.name = "useDualCheckpoints",
     .type = SLUICE_OPT_BOOL,
     .def = "false",
     .desc = "Also write every checkpoint to backupCheckpointDir, used when the primary is "
             "damaged.",
     .offset = offsetof(struct fc_conf, use_dual)},
    {.name = "backupCheckpointDir",
     .type = SLUICE_OPT_STRING,
     .desc = "Directory for the backup checkpoint; must differ from checkpointDir.",
     .offset = offsetof(struct fc_conf, backup_dir)},
    {.name = "keep-alive",
     .type = SLUICE_OPT_INT,
     .def = "3",
     .desc = "Seconds a take waits for an event and a commit waits for room or disk space.",
     .min = 0,
     .max = INT32_MAX,
     .offset = offsetof(struct fc_conf, keep_alive)},
    {.name = "checkpointOnClose",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Write a checkpoint on stop so the next start replays little.",
     .offset = offsetof(struct fc_conf, checkpoint_on_close)},
    {.name = "fsyncPerTransaction",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "Sync the log before a commit returns (concurrent commits share one fdatasync); "
             "false syncs every fsyncInterval seconds and may lose the last commits on a crash "
             "of the machine.",
     .offset = offsetof(struct fc_conf, fsync_per_tx)},
    {.name = "fsyncInterval",
     .type = SLUICE_OPT_INT,
     .def = "5",
     .desc = "Seconds between syncs of the log when fsyncPerTransaction is false.",
     .min = 1,
     .max = 86400,
     .offset = offsetof(struct fc_conf, fsync_interval)},
    {.name = "compressBackupCheckpoint",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "the backup checkpoint is written uncompressed (it holds 8 bytes per event)"},
    {.name = "use-log-replay-v1",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "sluice has one replay method: checkpoint, then the log after it"},
    {.name = "use-fast-replay",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = "sluice has one replay method: checkpoint, then the log after it"},
    {.name = "encryption.activeKey", .type = SLUICE_OPT_UNSUPPORTED, .desc = FC_ENCRYPTION_NOTE},
    {.name = "encryption.cipherProvider",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = FC_ENCRYPTION_NOTE},
    {.name = "encryption.keyProvider", .type = SLUICE_OPT_UNSUPPORTED, .desc = FC_ENCRYPTION_NOTE},
    {.name = "encryption.keyProvider.keyStoreFile",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = FC_ENCRYPTION_NOTE},
    {.name = "encryption.keyProvider.keyStorePasswordFile",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = FC_ENCRYPTION_NOTE},
    {.name = "encryption.keyProvider.keys",
     .type = SLUICE_OPT_UNSUPPORTED,
     .desc = FC_ENCRYPTION_NOTE},
    {.name = NULL},
};

static const char *const fc_aliases[] = {"org.apache.flume.channel.file.FileChannel", NULL};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_CHANNEL, "file"),
    .aliases = fc_aliases,
    .summary = "Durable event queue on a write-ahead log with checkpoints (Flume's FileChannel); "
               "survives kill -9 and power loss",
    .options = fc_options,
    .conf_size = sizeof(struct fc_conf),
    .ops = &fc_ops,
};
