/*
 * File stamps for the reload poller (see conf_watch.h). Any difference counts, not only a
 * newer modification time, so a file restored from a backup is noticed too.
 */
#include "conf_watch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void stamp(const char *path, struct conf_stamp *s)
{
    struct stat sb;
    memset(s, 0, sizeof(*s));
    if (stat(path, &sb) != 0)
        return;
    s->exists = 1;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->size = sb.st_size;
    s->mtime = sb.st_mtim;
}

static int same(const struct conf_stamp *a, const struct conf_stamp *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int conf_watch_init(struct conf_watch *w, const char *const *files, size_t n)
{
    w->files = files;
    w->n = n;
    w->st = calloc(n + 1, sizeof(*w->st));
    if (!w->st)
        return -1;
    conf_watch_take(w);
    return 0;
}

int conf_watch_changed(const struct conf_watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct conf_stamp now;
        stamp(w->files[i], &now);
        if (!same(&now, &w->st[i]))
            return 1;
    }
    return 0;
}

void conf_watch_take(struct conf_watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        stamp(w->files[i], &w->st[i]);
}

void conf_watch_free(struct conf_watch *w)
{
    free(w->st);
    w->st = NULL;
}
