/*
 * Which files the taildir source tails: lists each group's directory (again only when it
 * changed, with cachePatternMatching), stats every matching path, and keeps a table keyed by
 * inode. A known inode under a new name is a rename and is followed (Flume re-reads it from 0);
 * a file renamed to a name no group matches while the agent was down is read on from its saved
 * position (taildir_moved.c); a shrunk or rewritten file restarts at 0; a deleted file is drained
 * and closed; an inode reused by a new file (different birth time or different bytes before the
 * position) starts at 0. Paths that cannot be tailed are logged (rate-limited) and counted, never
 * fatal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "taildir_source.h"

#define TD_MAX_NAMES_PER_GROUP 100000
#define TD_COARSE_MTIME_NS     (2LL * 1000000000LL)

int64_t td_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t td_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int td_ratelimit_ok(struct td_ratelimit *rl, int64_t now, uint64_t *suppressed)
{
    if (rl->last_ms && now - rl->last_ms < TD_LOG_INTERVAL_MS) {
        rl->suppressed++;
        return 0;
    }
    rl->last_ms = now ? now : 1;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return 1;
}

/* ---- stat with birth time ---------------------------------------------------------------- */

static int do_statx(int dirfd, const char *path, int flags, struct td_stat *out)
{
    struct statx sx;
    if (statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
        return -errno;
    out->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    out->ino = (ino_t)sx.stx_ino;
    out->mode = sx.stx_mode;
    out->nlink = sx.stx_nlink;
    out->size = (int64_t)sx.stx_size;
    out->mtime_ns = (int64_t)sx.stx_mtime.tv_sec * 1000000000LL + sx.stx_mtime.tv_nsec;
    out->btime_ns = (sx.stx_mask & STATX_BTIME)
                        ? (int64_t)sx.stx_btime.tv_sec * 1000000000LL + sx.stx_btime.tv_nsec
                        : 0;
    return 0;
}

int td_stat_path(const char *path, struct td_stat *st)
{
    return do_statx(AT_FDCWD, path, 0, st);
}

static int stat_fd(int fd, struct td_stat *st)
{
    return do_statx(fd, "", AT_EMPTY_PATH, st);
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a fifo"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "not a regular file";
}

/* ---- the table ------------------------------------------------------------------------- */

static struct td_file *find_inode(struct td_source *s, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i]->ino == ino && s->files[i]->dev == dev)
            return s->files[i];
    return NULL;
}

static size_t index_of(struct td_source *s, struct td_file *f)
{
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i] == f)
            return i;
    return s->n_files;
}

void td_file_close(struct td_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    td_line_free(&f->line);
    td_line_reset(&f->line, f->pos);
}

void td_file_drop(struct td_source *s, size_t i)
{
    struct td_file *f = s->files[i];
    td_file_close(f);
    free(f->path);
    free(f);
    memmove(&s->files[i], &s->files[i + 1], (s->n_files - i - 1) * sizeof(s->files[0]));
    s->n_files--;
}

void td_files_free(struct td_source *s)
{
    while (s->n_files)
        td_file_drop(s, s->n_files - 1);
    free(s->files);
    s->files = NULL;
    s->cap_files = 0;
    for (size_t i = 0; i < s->n_bad; i++)
        free(s->bad[i].path);
    free(s->bad);
    s->bad = NULL;
    s->n_bad = s->cap_bad = 0;
}

static struct td_file *file_add(struct td_source *s, const char *path, const struct td_stat *st,
                                size_t group, int64_t pos)
{
    if (s->n_files == s->cap_files) {
        size_t cap = s->cap_files ? s->cap_files * 2 : 16;
        struct td_file **v = realloc(s->files, cap * sizeof(*v));
        if (!v)
            return NULL;
        s->files = v;
        s->cap_files = cap;
    }
    struct td_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    f->dev = st->dev;
    f->ino = st->ino;
    f->btime_ns = st->btime_ns;
    f->group = group;
    f->fd = -1;
    f->pos = pos;
    f->size = -1; /* unknown: the first check records it */
    f->mtime_ns = st->mtime_ns;
    f->last_data_ms = td_now_ms();
    f->batch_cap = s->batch_size;
    td_line_reset(&f->line, pos);
    s->files[s->n_files++] = f;
    return f;
}

int td_file_open(struct td_source *s, struct td_file *f)
{
    /* O_NONBLOCK: a fifo swapped in under the name must not block the source thread */
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct td_stat st = {0};
    int rc = stat_fd(fd, &st);
    if (rc == 0 && (!S_ISREG(st.mode) || st.ino != f->ino || st.dev != f->dev))
        rc = -EAGAIN; /* replaced between stat and open: the next scan sorts it out */
    if (rc != 0) {
        close(fd);
        return rc;
    }
    f->fd = fd;
    td_line_reset(&f->line, f->pos);
    f->last_data_ms = td_now_ms();
    (void)s;
    return 0;
}

void td_file_fingerprint(struct td_file *f)
{
    if (f->fd < 0)
        return;
    int64_t end = f->line.scanned;
    size_t k = end < TD_FP_LEN ? (size_t)end : TD_FP_LEN;
    ssize_t n = k ? pread(f->fd, f->fp, k, end - (int64_t)k) : 0;
    f->fp_len = n == (ssize_t)k ? k : 0;
    f->fp_end = end;
}

static int fingerprint_matches(struct td_file *f)
{
    if (f->fp_len == 0)
        return 1;
    uint8_t now[TD_FP_LEN];
    ssize_t n = pread(f->fd, now, f->fp_len, f->fp_end - (int64_t)f->fp_len);
    return n == (ssize_t)f->fp_len && memcmp(now, f->fp, f->fp_len) == 0;
}

static void restart_at_zero(struct td_file *f)
{
    f->pos = 0;
    td_line_reset(&f->line, 0);
    f->fp_len = 0;
    f->fp_end = 0;
}

int td_file_check(struct td_source *s, struct td_file *f, int64_t now_ms)
{
    const struct sluice_host *h = s->host;
    struct td_stat st = {0};
    int rc = stat_fd(f->fd, &st);
    if (rc != 0) {
        uint64_t sup;
        h->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        if (td_ratelimit_ok(&f->read_log, now_ms, &sup))
            h->log(s->ctx, SLUICE_LOG_WARN, "cannot stat %s: %s; closing it", f->path,
                   strerror(-rc));
        td_file_close(f);
        return -1;
    }
    f->deleted = st.nlink == 0;
    int changed = st.size != f->size || st.mtime_ns != f->mtime_ns;
    if (st.size < f->line.scanned || st.size < f->pos) {
        h->log(s->ctx, SLUICE_LOG_INFO,
               "Pos %" PRId64 " is larger than file size! Restarting from pos 0, file: %s, "
               "inode: %ju",
               f->line.scanned > f->pos ? f->line.scanned : f->pos, f->path, (uintmax_t)f->ino);
        restart_at_zero(f);
    } else if (changed && f->fp_len && !fingerprint_matches(f)) {
        h->log(s->ctx, SLUICE_LOG_INFO,
               "The bytes before pos %" PRId64 " of %s (inode %ju) changed: the file was "
               "truncated and written again, or is a new file that reuses the inode. Restarting "
               "from pos 0",
               f->fp_end, f->path, (uintmax_t)f->ino);
        restart_at_zero(f);
    }
    if (st.size > f->size && f->size >= 0)
        f->last_data_ms = now_ms;
    f->size = st.size;
    f->mtime_ns = st.mtime_ns;
    return 0;
}

/* ---- paths that cannot be tailed --------------------------------------------------------- */

static struct td_bad *find_bad(struct td_source *s, const char *path)
{
    for (size_t i = 0; i < s->n_bad; i++)
        if (strcmp(s->bad[i].path, path) == 0)
            return &s->bad[i];
    return NULL;
}

/* Remember, log (once, then at most every TD_LOG_INTERVAL_MS) and count a bad path. */
static void note_bad(struct td_source *s, const char *path, const struct td_stat *st, int err,
                     const char *why, int loud, int64_t now_ms)
{
    struct td_bad *b = find_bad(s, path);
    if (b && b->ino == st->ino && b->dev == st->dev && b->err == err) {
        b->seen = 1;
        if (loud && now_ms - b->last_log_ms >= TD_LOG_INTERVAL_MS) {
            b->last_log_ms = now_ms;
            s->host->log(s->ctx, SLUICE_LOG_WARN, "%s %s: still skipped", path, why);
        }
        return;
    }
    if (!b) {
        if (s->n_bad == s->cap_bad) {
            size_t cap = s->cap_bad ? s->cap_bad * 2 : 8;
            struct td_bad *v = realloc(s->bad, cap * sizeof(*v));
            if (!v)
                return;
            s->bad = v;
            s->cap_bad = cap;
        }
        b = &s->bad[s->n_bad];
        if (!(b->path = strdup(path)))
            return;
        s->n_bad++;
    }
    b->dev = st->dev;
    b->ino = st->ino;
    b->err = err;
    b->seen = 1;
    b->last_log_ms = now_ms;
    if (loud) {
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_WARN, "%s %s: skipped, the other files keep flowing", path,
                     why);
    } else {
        s->host->log(s->ctx, SLUICE_LOG_DEBUG, "%s %s: skipped", path, why);
    }
}

static void forget_bad(struct td_source *s, const char *path)
{
    struct td_bad *b = find_bad(s, path);
    if (!b)
        return;
    free(b->path);
    *b = s->bad[--s->n_bad];
}

/* ---- scanning ---------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the group's directory into g->names (sorted); 0 or -errno. */
static int list_dir(struct td_source *s, struct td_group *g, int64_t dir_mtime_ns)
{
    DIR *d = opendir(g->dir);
    if (!d)
        return -errno;
    for (size_t i = 0; i < g->n_names; i++)
        free(g->names[i]);
    g->n_names = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!td_group_match(g, de->d_name))
            continue;
        if (g->n_names >= TD_MAX_NAMES_PER_GROUP) {
            uint64_t sup;
            if (td_ratelimit_ok(&s->scan_log, td_now_ms(), &sup))
                s->host->log(s->ctx, SLUICE_LOG_WARN,
                             "file group %s: more than %d files match in %s; the rest are not "
                             "tailed",
                             g->name, TD_MAX_NAMES_PER_GROUP, g->dir);
            break;
        }
        if (g->n_names == g->cap_names) {
            size_t cap = g->cap_names ? g->cap_names * 2 : 16;
            char **v = realloc(g->names, cap * sizeof(*v));
            if (!v) {
                rc = SLUICE_ENOMEM;
                break;
            }
            g->names = v;
            g->cap_names = cap;
        }
        if (!(g->names[g->n_names] = strdup(de->d_name))) {
            rc = SLUICE_ENOMEM;
            break;
        }
        g->n_names++;
    }
    closedir(d);
    if (g->n_names > 1)
        qsort(g->names, g->n_names, sizeof(*g->names), cmp_names);
    g->listed = rc == 0;
    g->relist = 0;
    g->dir_mtime_ns = dir_mtime_ns;
    g->listed_wall_ns = td_wall_ns();
    return rc;
}

static struct td_pos_entry *start_entry(struct td_source *s, const char *path, ino_t ino)
{
    for (size_t i = s->n_start_pos; i-- > 0;) /* the last duplicate wins */
        if (s->start_pos[i].inode == (uint64_t)ino && strcmp(s->start_pos[i].file, path) == 0)
            return &s->start_pos[i];
    return NULL;
}

static void open_or_note(struct td_source *s, struct td_file *f, int64_t now_ms)
{
    int rc = td_file_open(s, f);
    if (rc == 0 || rc == -EAGAIN)
        return;
    uint64_t sup;
    if (td_ratelimit_ok(&f->read_log, now_ms, &sup)) {
        s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
        s->host->log(s->ctx, SLUICE_LOG_WARN,
                     "cannot open %s: %s; retrying, the other files keep flowing", f->path,
                     strerror(-rc));
    }
}

static void new_file(struct td_source *s, size_t gi, const char *path, const struct td_stat *st,
                     int64_t now_ms)
{
    int64_t pos = 0;
    if (s->initial_scan) {
        struct td_pos_entry *e = start_entry(s, path, st->ino);
        if (e) {
            e->used = 1;
            pos = e->pos;
            if (pos > st->size) {
                s->host->log(s->ctx, SLUICE_LOG_INFO,
                             "Pos %" PRId64 " is larger than file size! Restarting from pos 0, "
                             "file: %s, inode: %ju",
                             pos, path, (uintmax_t)st->ino);
                pos = 0;
            }
        } else if (s->conf->skip_to_end) {
            pos = st->size;
        }
    }
    struct td_file *f = file_add(s, path, st, gi, pos);
    if (!f) {
        s->host->log(s->ctx, SLUICE_LOG_ERROR, "out of memory tracking %s", path);
        return;
    }
    f->seen = 1;
    s->host->log(s->ctx, SLUICE_LOG_INFO, "Opening file: %s, inode: %ju, pos: %" PRId64, path,
                 (uintmax_t)st->ino, pos);
    open_or_note(s, f, now_ms);
}

static void scan_path(struct td_source *s, size_t gi, const char *path, int64_t now_ms)
{
    struct td_stat st;
    int rc = td_stat_path(path, &st);
    if (rc == -ENOENT)
        return; /* gone since the listing */
    if (rc != 0) {
        memset(&st, 0, sizeof(st));
        note_bad(s, path, &st, -rc, strerror(-rc), 1, now_ms);
        return;
    }
    if (!S_ISREG(st.mode)) {
        /* a directory matching the pattern is skipped quietly, as Flume does; one that took
         * the place of a tailed file, and any fifo, socket or device, is worth a warning */
        int replaced = 0;
        for (size_t i = 0; i < s->n_files && !replaced; i++)
            replaced = strcmp(s->files[i]->path, path) == 0;
        char why[96];
        snprintf(why, sizeof(why), "is %s, not a regular file%s", kind_of(st.mode),
                 replaced ? " (it replaced a tailed file)" : "");
        note_bad(s, path, &st, S_ISDIR(st.mode) ? EISDIR : EINVAL, why,
                 replaced || !S_ISDIR(st.mode), now_ms);
        return;
    }
    forget_bad(s, path);
    struct td_file *f = find_inode(s, st.dev, st.ino);
    if (f && f->seen)
        return; /* another name of the same file (hard link, or two groups) */
    if (f && f->fd < 0 && f->btime_ns && st.btime_ns && f->btime_ns != st.btime_ns) {
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "inode %ju of %s now belongs to a new file %s: reading that from pos 0",
                     (uintmax_t)st.ino, f->path, path);
        td_file_drop(s, index_of(s, f));
        f = NULL;
    }
    if (!f) {
        new_file(s, gi, path, &st, now_ms);
        return;
    }
    f->seen = 1;
    if (strcmp(f->path, path) != 0) {
        struct td_stat old;
        if (td_stat_path(f->path, &old) == 0 && old.ino == f->ino && old.dev == f->dev)
            return; /* still there under its name: this one is a second link */
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "%s was renamed to %s (inode %ju): following it from pos %" PRId64, f->path,
                     path, (uintmax_t)f->ino, f->pos);
        char *p = strdup(path);
        if (p) {
            free(f->path);
            f->path = p;
        }
        f->group = gi;
    }
    /* a closed (idle) file that changed, or one we could not open yet */
    if (f->fd < 0 && (st.size != f->size || st.mtime_ns != f->mtime_ns || f->size < 0))
        open_or_note(s, f, now_ms);
}

static void scan_group(struct td_source *s, size_t gi, int64_t now_ms)
{
    int *ok = &s->groups[gi].scan_ok;
    struct td_group *g = &s->groups[gi];
    struct td_stat dst;
    int rc = td_stat_path(g->dir, &dst);
    if (rc == 0 && !S_ISDIR(dst.mode))
        rc = -ENOTDIR;
    if (rc != 0) {
        uint64_t sup;
        if (!g->dir_missing || td_ratelimit_ok(&g->missing_log, now_ms, &sup))
            s->host->log(s->ctx, SLUICE_LOG_WARN,
                         "directory %s of file group %s: %s; waiting for it", g->dir, g->name,
                         strerror(-rc));
        if (!g->dir_missing)
            g->missing_log.last_ms = now_ms;
        g->dir_missing = 1;
        g->listed = 0;
        *ok = rc == -ENOENT || rc == -ENOTDIR; /* its files are gone too */
        return;
    }
    if (g->dir_missing) {
        s->host->log(s->ctx, SLUICE_LOG_INFO, "directory %s of file group %s is there now", g->dir,
                     g->name);
        g->dir_missing = 0;
        g->listed = 0;
    }
    if (g->wd < 0 && s->watch.fd >= 0)
        g->wd = td_watch_add(&s->watch, g->dir);
    int relist = !g->listed || g->relist || !s->conf->cache_pattern_matching ||
                 dst.mtime_ns != g->dir_mtime_ns ||
                 g->listed_wall_ns - g->dir_mtime_ns < TD_COARSE_MTIME_NS;
    if (relist && (rc = list_dir(s, g, dst.mtime_ns)) != 0) {
        uint64_t sup;
        s->host->counter_add(s->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL, 1);
        if (td_ratelimit_ok(&g->missing_log, now_ms, &sup))
            s->host->log(s->ctx, SLUICE_LOG_WARN, "cannot list directory %s of file group %s: %s",
                         g->dir, g->name, rc == SLUICE_ENOMEM ? "out of memory" : strerror(-rc));
        *ok = 0;
        return;
    }
    char path[PATH_MAX];
    for (size_t i = 0; i < g->n_names; i++) {
        int n = snprintf(path, sizeof(path), "%s%s%s", g->dir, strcmp(g->dir, "/") ? "/" : "",
                         g->names[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        scan_path(s, gi, path, now_ms);
    }
    *ok = 1;
}

/* Initial scan: a saved file that was renamed to a name no group matches while the agent was
 * not running is read on from its saved position until idle, as if the rename had been seen. */
static void recover_moved(struct td_source *s, int64_t now_ms)
{
    char path[PATH_MAX];
    struct td_stat st;
    size_t gi;
    for (size_t i = 0; i < s->n_start_pos; i++) {
        struct td_pos_entry *e = &s->start_pos[i];
        if (e->used || !td_moved_find(s, e, path, sizeof(path), &st, &gi) ||
            find_inode(s, st.dev, st.ino))
            continue;
        e->used = 1;
        struct td_file *f = file_add(s, path, &st, gi, e->pos);
        if (!f) {
            s->host->log(s->ctx, SLUICE_LOG_ERROR, "out of memory tracking %s", path);
            return;
        }
        s->host->log(s->ctx, SLUICE_LOG_INFO,
                     "Opening file: %s, inode: %ju, pos: %" PRId64 " (saved as %s: renamed "
                     "while the agent was not running; read until idle)",
                     path, (uintmax_t)st.ino, e->pos, e->file);
        open_or_note(s, f, now_ms);
    }
}

void td_scan(struct td_source *s, int64_t now_ms)
{
    for (size_t i = 0; i < s->n_files; i++)
        s->files[i]->seen = 0;
    for (size_t i = 0; i < s->n_bad; i++)
        s->bad[i].seen = 0;
    for (size_t gi = 0; gi < s->n_groups; gi++)
        scan_group(s, gi, now_ms);
    if (s->initial_scan)
        recover_moved(s, now_ms);
    /* closed files no group matched any more are forgotten; open ones are read on (renamed
     * away or deleted) until idle or drained */
    for (size_t i = s->n_files; i-- > 0;) {
        struct td_file *f = s->files[i];
        if (!f->seen && f->fd < 0 && s->groups[f->group].scan_ok) {
            s->host->log(s->ctx, SLUICE_LOG_INFO, "%s (inode %ju) is gone: forgetting it", f->path,
                         (uintmax_t)f->ino);
            td_file_drop(s, i);
        }
    }
    for (size_t i = s->n_bad; i-- > 0;)
        if (!s->bad[i].seen) {
            free(s->bad[i].path);
            s->bad[i] = s->bad[--s->n_bad];
        }
    if (s->initial_scan) {
        for (size_t i = 0; i < s->n_start_pos; i++)
            if (!s->start_pos[i].used)
                s->host->log(s->ctx, SLUICE_LOG_INFO,
                             "Missing file: %s, inode: %" PRIu64 ", pos: %" PRId64,
                             s->start_pos[i].file, s->start_pos[i].inode, s->start_pos[i].pos);
    }
}
