/*
 * Files rotated by rename while the agent was not running (killed, crashed, stopped): a position
 * entry no tailed file used (its inode is no longer at its recorded path) is looked for under
 * another name in the same directory (app.log -> app.log.1), so the unread rest of the rotated
 * file is read from the saved position instead of being lost because the new name does not
 * match. (A new name that matches is a new file to the scan and is read from 0, as in Flume:
 * duplicates, never loss.) The file must be at least as long as the saved position and, where
 * the file system records birth times, must have existed when the position file was written
 * (an inode reused later is a different file).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "taildir_source.h"

/* Length of path's directory part as the groups spell it ("/" for a file in the root). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    return slash == path ? 1 : (size_t)(slash - path);
}

/* The entry's file is plausibly the one found at st. */
static int plausible(const struct td_source *s, const struct td_pos_entry *e,
                     const struct td_stat *st)
{
    if (!S_ISREG(st->mode) || (uint64_t)st->ino != e->inode || st->size < e->pos)
        return 0;
    return !(st->btime_ns && s->pos_mtime_ns && st->btime_ns > s->pos_mtime_ns);
}

/* The entry's recorded path no longer holds its inode. */
static int left_its_path(const struct td_pos_entry *e)
{
    struct td_stat st;
    return td_stat_path(e->file, &st) != 0 || (uint64_t)st.ino != e->inode;
}

int td_moved_find(struct td_source *s, const struct td_pos_entry *e, char *path, size_t path_len,
                  struct td_stat *st, size_t *group)
{
    size_t n = dir_len(e->file);
    if (n == 0)
        return 0;
    size_t gi = 0;
    while (gi < s->n_groups &&
           !(strlen(s->groups[gi].dir) == n && strncmp(s->groups[gi].dir, e->file, n) == 0))
        gi++;
    if (gi == s->n_groups)
        return 0; /* no group reads that directory any more */
    *group = gi;
    if (!left_its_path(e)) {
        /* recorded under a name no group matches: a file this source was reading on after
         * it was renamed away (a previous run found it here) */
        int k = snprintf(path, path_len, "%s", e->file);
        return k > 0 && (size_t)k < path_len && td_stat_path(path, st) == 0 && plausible(s, e, st);
    }
    DIR *d = opendir(s->groups[gi].dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        if ((uint64_t)de->d_ino != e->inode)
            continue;
        int k =
            snprintf(path, path_len, "%s%s%s", s->groups[gi].dir, n == 1 ? "" : "/", de->d_name);
        found = k > 0 && (size_t)k < path_len && td_stat_path(path, st) == 0 && plausible(s, e, st);
    }
    closedir(d);
    return found;
}
