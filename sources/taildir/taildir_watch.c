/*
 * inotify for the taildir source: one watch per group directory wakes process() as soon as a
 * file is written, created, moved or deleted, so lines arrive in milliseconds. It only wakes
 * and flags; the source still stats every file at least every TD_POLL_INTERVAL_MS, so it also
 * works where inotify is missing, full or silent (NFS, some container file systems).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "taildir_source.h"

#define TD_WATCH_MASK                                                                              \
    (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

int td_watch_open(struct td_watch *w)
{
    w->fd = -1;
    if (w->disabled)
        return -1;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    return w->fd < 0 ? -1 : 0;
}

void td_watch_close(struct td_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

int td_watch_add(struct td_watch *w, const char *dir)
{
    if (w->fd < 0)
        return -1;
    return inotify_add_watch(w->fd, dir, TD_WATCH_MASK | IN_ONLYDIR);
}

static void apply(struct td_source *s, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        for (size_t i = 0; i < s->n_groups; i++)
            s->groups[i].relist = 1;
        return;
    }
    for (size_t i = 0; i < s->n_groups; i++) {
        struct td_group *g = &s->groups[i];
        if (g->wd != ev->wd)
            continue;
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
            g->wd = -1; /* the directory went away: the next scan looks again */
            g->relist = 1;
        }
        if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB))
            g->relist = 1;
    }
}

int td_watch_wait(struct td_source *s, int timeout_ms)
{
    struct td_watch *w = &s->watch;
    if (w->fd < 0) {
        if (timeout_ms > 0) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)timeout_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr <= 0)
        return 0;
    _Alignas(struct inotify_event) char buf[8192];
    int any = 0;
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(w->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        any = 1;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            apply(s, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    return any;
}
