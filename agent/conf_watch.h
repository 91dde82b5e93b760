/*
 * Noticing that the configuration files changed on disk, for the reload poller (Flume's
 * PollingPropertiesFileConfigurationProvider): each -f file's modification time, size and
 * inode are remembered when it is read, and a poll compares them with the file now.
 */
#ifndef SLUICE_CONF_WATCH_H
#define SLUICE_CONF_WATCH_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct conf_stamp {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct conf_watch {
    const char *const *files;
    size_t n;
    struct conf_stamp *st;
};

/* Remembers the files' state now. Returns 0, or -1 when out of memory. */
int conf_watch_init(struct conf_watch *w, const char *const *files, size_t n);
/* 1 when some file differs from what was remembered (appeared, vanished, rewritten,
 * replaced), else 0. */
int conf_watch_changed(const struct conf_watch *w);
/* Remember the files' state now (call before reading them: a change made while they are
 * read is then seen by the next poll). */
void conf_watch_take(struct conf_watch *w);
void conf_watch_free(struct conf_watch *w);

#endif
