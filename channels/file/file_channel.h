/*
 * Internals shared by the `file` channel's source files: the on-disk record format, the
 * write-ahead log, the queue of event positions, checkpoints and replay. Nothing here is part
 * of the plugin ABI; the plugin exports only `sluice_plugin` (file_channel.c).
 */
#ifndef SLUICE_FILE_CHANNEL_H
#define SLUICE_FILE_CHANNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

/* ---- Positions ------------------------------------------------------------------------------
 * An event is known by where its put record starts: log file id in the high 32 bits, byte
 * offset in the low 32. Positions compare in write order (one file is written at a time). */
typedef uint64_t fc_pos;
#define FC_POS(fid, off) (((uint64_t)(fid) << 32) | (uint64_t)(uint32_t)(off))
#define FC_POS_FID(p)    ((uint32_t)((p) >> 32))
#define FC_POS_OFF(p)    ((uint32_t)(p))

/* ---- Record format (file_channel_log.c) -----------------------------------------------------
 * A log file: a 24-byte file header, then records. Every record is a 32-byte header followed
 * by its payload; all integers little-endian.
 *   file header: "SLUICEFC" | u32 version | u32 file id | u32 reserved (0) | u32 crc32c(0..19)
 *   record header: u32 magic | u8 type | u8 0 | u16 0 | u32 payload length | u32 payload crc32c
 *                  | u64 transaction id | u32 0 | u32 crc32c of header bytes 0..27
 *   put payload:   u32 n_headers, n x (u32 klen, key, u32 vlen, value), u32 body_len, body
 *   take payload:  u64 position of the put it consumes
 *   commit payload: u8 kind (1 puts, 2 takes) | 3 x u8 0 | u32 records in the transaction
 *   rollback payload: empty (never written by this version: nothing is logged before commit)
 */
#define FC_FILE_MAGIC       "SLUICEFC"
#define FC_FILE_VERSION     1u
#define FC_FILE_HDR_SIZE    24u
#define FC_REC_MAGIC        0x52434c53u /* "SLCR" */
#define FC_REC_HDR_SIZE     32u
#define FC_REC_PAYLOAD_MAX  (1u << 30)  /* one event (headers + body) at most 1 GiB */
#define FC_GROUP_MAX        0x7fffffffu /* one transaction's records; keeps offsets < 2^32 */
#define FC_MAX_FILE_SIZE    2146435071  /* Flume's cap (Integer.MAX_VALUE - 1 MiB) */
#define FC_TAKE_PAYLOAD     8u
#define FC_COMMIT_PAYLOAD   8u
#define FC_COMMIT_KIND_PUT  1u
#define FC_COMMIT_KIND_TAKE 2u

enum fc_rec_type { FC_REC_PUT = 1, FC_REC_TAKE = 2, FC_REC_COMMIT = 3, FC_REC_ROLLBACK = 4 };

struct fc_rec_hdr {
    uint8_t type;
    uint32_t len;
    uint32_t crc; /* of the payload */
    uint64_t txid;
};

uint32_t fc_crc32c(uint32_t crc, const void *data, size_t n);
void fc_put_le32(uint8_t *p, uint32_t v);
void fc_put_le64(uint8_t *p, uint64_t v);
uint32_t fc_get_le32(const uint8_t *p);
uint64_t fc_get_le64(const uint8_t *p);

void fc_file_hdr_encode(uint8_t out[FC_FILE_HDR_SIZE], uint32_t fid);
/* 0 when in holds a valid header for file fid, else -1 with *why set. */
int fc_file_hdr_check(const uint8_t *in, size_t n, uint32_t fid, const char **why);
/* Encode h (computing the header checksum); payload crc and length come from h. */
void fc_rec_hdr_encode(uint8_t out[FC_REC_HDR_SIZE], const struct fc_rec_hdr *h);
/* 0 when in is a well-formed record header, else -1 with *why set. */
int fc_rec_hdr_decode(const uint8_t *in, struct fc_rec_hdr *h, const char **why);
/* Payload size of a put record for ev, or 0 when the event is larger than FC_REC_PAYLOAD_MAX. */
size_t fc_put_payload_size(const struct sluice_event *ev);
void fc_put_payload_encode(uint8_t *out, const struct sluice_event *ev);
/* Rebuild an event from a put payload; SLUICE_OK, SLUICE_EIO (malformed: *why set) or
 * SLUICE_ENOMEM. */
int fc_put_payload_decode(const struct sluice_host *host, const uint8_t *p, size_t n,
                          struct sluice_event **out, const char **why);

/* Sequential reader over one log file (replay and the fuzz harness). */
struct fc_reader {
    int fd;
    uint32_t fid;
    uint64_t size; /* file size when opened */
    uint64_t off;  /* offset of the next record */
    uint8_t *buf;  /* a window [win_off, win_off + win_len) of the file */
    size_t cap, win_len;
    uint64_t win_off;
    int io_err; /* errno of a failed read: FC_RD_IOERR, never mistaken for corruption */
};

/* One record as the reader returns it. take/commit payloads are decoded. */
struct fc_rec {
    struct fc_rec_hdr h;
    uint64_t off;          /* where the record header starts */
    fc_pos take_pos;       /* FC_REC_TAKE */
    uint8_t commit_kind;   /* FC_REC_COMMIT */
    uint32_t commit_count; /* FC_REC_COMMIT */
};

enum { FC_RD_OK = 0, FC_RD_END = 1, FC_RD_BAD = 2, FC_RD_IOERR = -1 };

/* Check the file header and position the reader at start (>= FC_FILE_HDR_SIZE). Returns
 * FC_RD_OK, FC_RD_BAD (header invalid: *why) or FC_RD_IOERR (errno set). */
int fc_reader_open(struct fc_reader *r, int fd, uint32_t fid, uint64_t start, const char **why);
/* The next record, verified (header and payload checksums, payload well-formed for take and
 * commit). FC_RD_END at a clean end of file; FC_RD_BAD with *why when the record at r->off is
 * torn or corrupt (r->off is left at it); FC_RD_IOERR when reading failed (r->io_err). */
int fc_reader_next(struct fc_reader *r, struct fc_rec *rec, const char **why);
/* A pointer to len bytes of the file at off (len <= the window size), or NULL. */
const uint8_t *fc_reader_view(struct fc_reader *r, uint64_t off, size_t len);
/* 1 when a well-formed record header (magic, header checksum, length inside the file) starts
 * anywhere after `from`: then a bad record is not just a torn tail. */
int fc_reader_valid_after(struct fc_reader *r, uint64_t from);
void fc_reader_close(struct fc_reader *r);

/* ---- The write-ahead log (file_channel_wal.c) ---------------------------------------------- */

#define FC_MAX_READ_FDS 64
/* Takes read the log in blocks: up to FC_READ_WINDOWS buffers (allocated on first use) of
 * FC_READ_WINDOW bytes each, so one pread serves many consecutive events. */
#define FC_READ_WINDOW  (256u * 1024u)
#define FC_READ_WINDOWS 4

struct fc_file {
    uint32_t fid;
    uint32_t dir; /* index into the data dirs */
};

struct fc_wfile {
    int fd;
    uint32_t fid;
    int refs;    /* a sync leader is using fd */
    int retired; /* no longer written: close when refs drops to 0 */
};

struct fc_rfd {
    uint32_t fid;
    int fd;
    int refs;
    int doomed; /* file removed: close when refs drops to 0 */
    uint64_t used;
};

/* A block of one log file, read for takes. It holds only bytes that complete appends wrote
 * before it was read (never a write in progress), and the log never changes those bytes. */
struct fc_rwin {
    uint8_t *buf; /* FC_READ_WINDOW bytes, or NULL until first used */
    uint32_t fid; /* 0: holds nothing (or is being filled) */
    uint64_t off; /* file offset of buf[0] */
    size_t len;   /* valid bytes */
    int refs;     /* readers using buf (a filler counts as one) */
    uint64_t used;
};

struct fc_wal {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    char **dirs;
    size_t n_dirs;
    uint64_t max_file_size;

    /* mu orders appends and rolls; cur_fid/cur_off are the end of the log. */
    pthread_mutex_t mu;
    uint32_t cur_fid;
    uint64_t cur_off;
    atomic_uint_fast64_t unapplied; /* appended commits not yet applied to the queue */

    /* wf_mu: the file being written and the byte count appended, for the sync leader. */
    pthread_mutex_t wf_mu;
    struct fc_wfile *cur;
    uint64_t written_seq;

    /* group commit: one leader fdatasyncs for every append up to its target */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cv;
    uint64_t synced_seq;
    int syncing;

    /* ft_mu: the known log files, sorted by fid */
    pthread_mutex_t ft_mu;
    struct fc_file *files;
    size_t n_files, cap_files;

    /* read descriptors, at most FC_MAX_READ_FDS */
    pthread_mutex_t rfd_mu;
    struct fc_rfd rfds[FC_MAX_READ_FDS];
    size_t n_rfds;
    uint64_t rfd_tick;

    /* read windows (file_channel_read.c); end_pos is FC_POS(cur_fid, cur_off), published
     * after each append's write has completed, so readers never read past it */
    pthread_mutex_t rw_mu;
    struct fc_rwin rwins[FC_READ_WINDOWS];
    uint64_t rw_tick;
    atomic_uint_fast64_t end_pos;
    atomic_uint_fast64_t n_window_fills, n_direct_reads;

    atomic_int failed; /* a write or sync failed: no more appends until restart */
    char failed_msg[SLUICE_ERR_MSG_MAX];
    pthread_mutex_t failed_mu;

    atomic_uint_fast64_t n_syncs, n_appends, n_rolls, n_removed;
    int ready;
};

int fc_wal_init(struct fc_wal *w, const struct sluice_host *host, struct sluice_ctx *ctx,
                char **dirs, size_t n_dirs, uint64_t max_file_size);
void fc_wal_destroy(struct fc_wal *w);
/* Register an existing file (replay). */
int fc_wal_add_file(struct fc_wal *w, uint32_t fid, uint32_t dir);
/* Path of file fid into buf; 0, or -1 when fid is unknown. */
int fc_wal_path(struct fc_wal *w, uint32_t fid, char *buf, size_t len);
/* Create log-<fid> (in dir fid % n_dirs) and make it the file being written. */
int fc_wal_start_file(struct fc_wal *w, uint32_t fid, struct sluice_err *err);
/*
 * Append one transaction's records (written whole, or not at all: a failed write is cut off
 * again). *start is where buf landed, *seq the byte count to pass to fc_wal_sync. Counts one
 * unapplied commit that the caller must settle with fc_wal_applied() under its queue lock.
 * SLUICE_EFULL when the disk is full (nothing written), SLUICE_EIO otherwise.
 */
int fc_wal_append(struct fc_wal *w, const uint8_t *buf, size_t len, fc_pos *start, uint64_t *seq,
                  struct sluice_err *err);
void fc_wal_applied(struct fc_wal *w);
/* Make every append up to seq durable (shared fdatasync). */
int fc_wal_sync(struct fc_wal *w, uint64_t seq, struct sluice_err *err);
/* The current write-ahead end, and the appended byte count (hold fc_wal_freeze). */
void fc_wal_freeze(struct fc_wal *w);
void fc_wal_thaw(struct fc_wal *w);
fc_pos fc_wal_end(struct fc_wal *w);
uint64_t fc_wal_written(struct fc_wal *w);
/* The appended byte count, from any thread (for a periodic sync of everything). */
uint64_t fc_wal_written_now(struct fc_wal *w);
/* Read the event whose put record starts at pos (file_channel_read.c): from a read window
 * when one holds it, else by filling one with a block of the file from pos on; records larger
 * than a window are read on their own. SLUICE_EIO with err for an I/O failure (transient),
 * SLUICE_EINVAL for a record that is not a valid put (corrupt). */
int fc_wal_read_event(struct fc_wal *w, fc_pos pos, struct sluice_event **out,
                      struct sluice_err *err);
/* Delete every log file with fid < limit except the one being written; returns how many. */
size_t fc_wal_remove_below(struct fc_wal *w, uint32_t limit);
int fc_wal_failed(struct fc_wal *w, struct sluice_err *err);
void fc_wal_fail(struct fc_wal *w, const char *fmt, ...) SLUICE_PRINTF(2, 3);

/* ---- Queue of positions, and replay's maps (file_channel_queue.c) -------------------------- */

struct fc_queue {
    fc_pos *ring;
    size_t size, head, count;
};

int fc_queue_reserve(struct fc_queue *q, size_t need);
void fc_queue_push_back(struct fc_queue *q, const fc_pos *src, size_t n);
void fc_queue_push_front(struct fc_queue *q, const fc_pos *src, size_t n);
void fc_queue_pop_front(struct fc_queue *q, fc_pos *dst, size_t n);
void fc_queue_copy(const struct fc_queue *q, fc_pos *dst);
void fc_queue_free(struct fc_queue *q);

/* A set of positions (open addressing; 0 is never a valid position). */
struct fc_posset {
    uint64_t *slots;
    size_t cap, n;
};
int fc_posset_add(struct fc_posset *s, fc_pos p); /* 1 added, 0 present, <0 ENOMEM */
int fc_posset_has(const struct fc_posset *s, fc_pos p);
void fc_posset_free(struct fc_posset *s);

/* Records of transactions seen in the log whose commit is not read yet, by txid. */
struct fc_pending {
    uint64_t txid; /* 0: free slot */
    uint8_t kind;  /* FC_REC_PUT or FC_REC_TAKE */
    size_t n, cap;
    fc_pos *pos;
};
struct fc_txmap {
    struct fc_pending *slots;
    size_t cap, n;
};
/* The entry for txid, created when missing (NULL on ENOMEM). */
struct fc_pending *fc_txmap_get(struct fc_txmap *m, uint64_t txid, int create);
void fc_txmap_remove(struct fc_txmap *m, uint64_t txid);
int fc_pending_add(struct fc_pending *p, fc_pos pos);
void fc_txmap_free(struct fc_txmap *m);

/* ---- The channel ----------------------------------------------------------------------------- */

struct fc_conf {
    char *checkpoint_dir;
    char *data_dirs;
    int64_t capacity;
    int64_t tx_capacity;
    int64_t checkpoint_interval;
    int64_t max_file_size;
    int64_t min_space;
    int use_dual;
    char *backup_dir;
    int64_t keep_alive;
    int checkpoint_on_close;
    int fsync_per_tx;
    int64_t fsync_interval;
};

struct fc_tx;

struct fc_channel {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    size_t capacity, tx_capacity;
    int64_t keep_alive_s;
    int64_t checkpoint_interval_ms;
    uint64_t min_space;
    int use_dual, checkpoint_on_close, fsync_per_tx;
    int64_t fsync_interval_s;

    char *cp_dir, *backup_dir;
    char **data_dirs;
    size_t n_data;
    int lock_fds[64];
    size_t n_locks;

    struct fc_wal wal;

    /* q_mu guards the queue, in_flight, reserved, the open take list and the waiter counts */
    pthread_mutex_t q_mu;
    pthread_cond_t nonempty, room, applied;
    struct fc_queue q;
    size_t in_flight;     /* taken by open transactions */
    size_t reserved;      /* room promised to put commits being written */
    struct fc_tx *takers; /* open transactions holding takes (checkpoints include them) */
    unsigned take_waiters, commit_waiters;
    int stopping;
    int sync_ready;

    atomic_uint_fast64_t next_txid;

    pthread_mutex_t cp_mu;    /* one checkpoint at a time */
    int64_t cp_err_logged_ms; /* last checkpoint failure logged (cp_mu held) */
    pthread_mutex_t sp_mu;    /* free-space check cache */
    int64_t sp_checked_ms;
    int sp_ok;
    uint64_t sp_avail, sp_used; /* bytes above minimumRequiredSpace; written since the check */

    pthread_mutex_t wk_mu;
    pthread_cond_t wk_cv;
    pthread_t worker;
    int wk_running, wk_quit;

    int replayed; /* state is loaded: checkpoints may be written */
    int running;  /* between start() and stop() */

    atomic_uint_fast64_t n_checkpoints, n_checkpoint_errors, n_backup_errors;
    atomic_uint_fast64_t n_put_errors, n_take_errors, n_corrupt_takes;
};

struct fc_tx {
    struct fc_channel *ch;
    int open;
    struct sluice_event **puts;
    size_t n_puts, cap_puts;
    fc_pos *take_pos;
    struct sluice_event **take_evs; /* NULL for a corrupt record consumed by this transaction */
    size_t n_takes, cap_takes;
    uint64_t txid;
    uint8_t *buf; /* the records of the commit, kept for a retried commit */
    size_t buf_len;
    uint32_t *put_rel; /* offset of each put record in buf */
    int listed;        /* in ch->takers */
    struct fc_tx *prev, *next;
};

/* file_channel_tx.c */
void *fc_tx_begin(void *self);
int fc_put(void *tx, struct sluice_event **evs, size_t n, struct sluice_err *err);
int fc_take(void *tx, struct sluice_event **evs, size_t max, size_t *n_out);
/* The same without waiting for the keep-alive when the channel is empty. */
int fc_take_nowait(void *tx, struct sluice_event **evs, size_t max, size_t *n_out);
int fc_commit(void *tx, struct sluice_err *err);
void fc_rollback(void *tx);
void fc_tx_free(void *tx);

/* file_channel_checkpoint.c */
struct fc_ckpt {
    uint64_t next_txid;
    fc_pos covered; /* everything the log held before this is reflected in pos[] */
    uint64_t written_ms;
    uint64_t n;
    fc_pos *pos;
};
/* Write dir/checkpoint atomically (tmp, fsync, rename, fsync dir). */
int fc_ckpt_write(const char *dir, const struct fc_ckpt *c, struct sluice_err *err);
/* 0 loaded, 1 no checkpoint file, -1 unusable (why names the reason). */
int fc_ckpt_read(const char *dir, struct fc_ckpt *c, char *why, size_t why_len);
/* Snapshot the channel, make the log durable up to it, write the checkpoint(s), delete log
 * files nothing refers to any more. */
int fc_checkpoint(struct fc_channel *ch, const char *reason, struct sluice_err *err);

/* file_channel_replay.c: load the checkpoint, replay the log after it, open a new log file. */
int fc_replay(struct fc_channel *ch, struct sluice_err *err);

/* file_channel_dirs.c */
char *fc_expand_home(const char *path);
/* SLUICE_OK when path is a writable directory or could be created (no side effects). */
int fc_dir_usable(const char *path, struct sluice_err *err, const struct sluice_host *host);
int fc_mkdirs(const char *path, struct sluice_err *err, const struct sluice_host *host);
int fc_lock_dir(const char *dir, int *fd_out, const struct sluice_host *host,
                struct sluice_err *err);
int fc_fsync_dir(const char *dir);
/* Free bytes for unprivileged users on the filesystem of dir, or -1. */
int64_t fc_free_bytes(const char *dir);
/*
 * Room for a put commit: SLUICE_OK when every directory keeps minimumRequiredSpace free after
 * writing `write` bytes, plus FC_TAKE_RESERVE bytes per event the channel will hold (`events`),
 * so that taking them all (take records, checkpoints) never runs out of disk; else
 * SLUICE_EFULL naming the directory.
 */
#define FC_TAKE_RESERVE 64u /* a take record (40) and room for two checkpoint entries (16) */
int fc_space_check(struct fc_channel *ch, uint64_t write, uint64_t events, struct sluice_err *err);

int64_t fc_now_ms(void);

#endif
