/*
 * Choosing the spooldir source's next file as Flume does: regular files in spoolDir (and its
 * subdirectories with recursiveDirectorySearch), not hidden, not completed (fileSuffix, or a
 * tracker_dir marker), matching includePattern and not ignorePattern (ignore wins); then the
 * oldest, the youngest or a random one (consumeOrder). A name whose completed twin already
 * exists is reported once and skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spooldir_source.h"

int64_t sd_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void sd_skip_add(struct sd_source *s, const char *path, dev_t dev, ino_t ino, int64_t size,
                 int64_t mtime_ns, int sticky)
{
    if (s->n_skips == s->cap_skips) {
        size_t cap = s->cap_skips ? 2 * s->cap_skips : 8;
        struct sd_skip *n = realloc(s->skips, cap * sizeof(*n));
        if (!n)
            return;
        s->skips = n;
        s->cap_skips = cap;
    }
    char *p = strdup(path);
    if (!p)
        return;
    s->skips[s->n_skips++] = (struct sd_skip){p, dev, ino, size, mtime_ns, sticky};
}

void sd_skips_free(struct sd_source *s)
{
    for (size_t i = 0; i < s->n_skips; i++)
        free(s->skips[i].path);
    free(s->skips);
    s->skips = NULL;
    s->n_skips = s->cap_skips = 0;
}

/* 1 when the file at path is a skipped one that has not changed; a changed one is forgotten. */
static int skipped(struct sd_source *s, const char *path, const struct stat *st)
{
    for (size_t i = 0; i < s->n_skips; i++) {
        struct sd_skip *k = &s->skips[i];
        if (strcmp(k->path, path) != 0)
            continue;
        if (k->dev == st->st_dev && k->ino == st->st_ino &&
            (k->sticky || (k->size == st->st_size && k->mtime_ns == sd_mtime_ns(st))))
            return 1;
        free(k->path);
        s->skips[i] = s->skips[--s->n_skips];
        return 0;
    }
    return 0;
}

static int re_match(struct sd_source *s, pcre2_code *re, const char *name)
{
    return pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, 0, s->md, NULL) >= 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return k > 0 && n >= k && memcmp(s + n - k, suffix, k) == 0;
}

struct pick {
    char *path, *rel;
    int64_t mtime_ns;
    uint64_t seen; /* candidates so far (random: reservoir sampling) */
};

static int better(struct sd_source *s, struct pick *best, const char *path, int64_t mtime_ns)
{
    if (!best->path)
        return 1;
    switch (s->conf->consume_order) {
    case SD_ORDER_YOUNGEST:
        return mtime_ns > best->mtime_ns ||
               (mtime_ns == best->mtime_ns && strcmp(path, best->path) < 0);
    case SD_ORDER_RANDOM:
        return (uint64_t)rand_r(&s->rand_state) % best->seen == 0;
    default:
        return mtime_ns < best->mtime_ns ||
               (mtime_ns == best->mtime_ns && strcmp(path, best->path) < 0);
    }
}

/* A name clash: `path` was never completed but path+fileSuffix exists. Reported once. */
static int clashes(struct sd_source *s, const char *path, const struct stat *st)
{
    if (s->conf->delete_policy == SD_DELETE_IMMEDIATE ||
        s->conf->tracking_policy != SD_TRACK_RENAME)
        return 0;
    char done[4200];
    struct stat dst;
    snprintf(done, sizeof(done), "%s%s", path, s->conf->file_suffix);
    if (stat(done, &dst) != 0)
        return 0;
    s->host->counter_add(s->ctx, SLUICE_CTR_EVENT_READ_FAIL, 1);
    s->host->log(s->ctx, SLUICE_LOG_ERROR,
                 "spooldir: %s cannot be read: %s already exists (a file name was used twice; "
                 "spooled file names must be unique). The file is left in place and skipped "
                 "until it or the agent is restarted",
                 path, done);
    sd_skip_add(s, path, st->st_dev, st->st_ino, st->st_size, sd_mtime_ns(st), 0);
    return 1;
}

static int walk(struct sd_source *s, const char *dir, const char *rel, int depth, struct pick *best)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (name[0] == '.') /* hidden files and directories, ".", "..", .flumespool */
            continue;
        char path[4096], rpath[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
            (size_t)snprintf(rpath, sizeof(rpath), "%s%s%s", rel, *rel ? "/" : "", name) >=
                sizeof(rpath))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (s->conf->recursive && depth < SD_MAX_DEPTH && strcmp(path, s->tracker_dir) != 0)
                walk(s, path, rpath, depth + 1, best);
            continue;
        }
        if (S_ISLNK(st.st_mode) && stat(path, &st) != 0)
            continue;
        if (!S_ISREG(st.st_mode) || ends_with(name, s->conf->file_suffix) ||
            re_match(s, s->ignore_re, name) || !re_match(s, s->include_re, name) ||
            skipped(s, path, &st))
            continue;
        if (s->conf->tracking_policy == SD_TRACK_TRACKER_DIR &&
            s->conf->delete_policy == SD_DELETE_NEVER) {
            char *m = sd_marker_path(s, rpath);
            struct stat mst;
            int done = m && stat(m, &mst) == 0;
            free(m);
            if (done)
                continue;
        }
        if (clashes(s, path, &st))
            continue;
        best->seen++;
        int64_t mt = sd_mtime_ns(&st);
        if (better(s, best, path, mt)) {
            char *p = strdup(path), *r = strdup(rpath);
            if (!p || !r) {
                free(p);
                free(r);
                continue;
            }
            free(best->path);
            free(best->rel);
            best->path = p;
            best->rel = r;
            best->mtime_ns = mt;
        }
    }
    closedir(d);
    return 0;
}

int sd_next_file(struct sd_source *s, char **path, char **rel)
{
    struct pick best = {0};
    int rc = walk(s, s->dir, "", 0, &best);
    if (rc != 0) {
        free(best.path);
        free(best.rel);
        return SLUICE_EIO;
    }
    if (!best.path)
        return 0;
    *path = best.path;
    *rel = best.rel;
    return 1;
}
