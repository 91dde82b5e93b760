/*
 * The exec source's in-process `tail`. Most Flume exec sources run `tail -F FILE`; instead of
 * starting tail and reading its pipe, the source then reads FILE itself and gets the bytes tail
 * would have written: the same start (-n/-c, 10 lines by default), the same following (by
 * descriptor with -f, by name with -F: a file renamed away is drained and the new one read from
 * its first byte; a truncated file is read again from its start; a missing one is waited for),
 * and tail's own words for what it saw, for the source to log. This saves the tail process and
 * the copy through the pipe (about a sixth of the agent's CPU on the bench). Anything this file
 * does not reproduce exactly (other options, several files, a fifo, no follow) is left to tail.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_source.h"

#define TAIL_DEFAULT_LINES 10
#define TAIL_SCAN_BLOCK    8192
#define TAIL_DIR_MASK                                                                              \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB |                 \
     IN_CLOSE_WRITE | IN_ONLYDIR)
#define TAIL_FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE)

/* ---- parsing ------------------------------------------------------------------------------- */

static int is_tail_program(const char *a)
{
    return strcmp(a, "tail") == 0 || strcmp(a, "/usr/bin/tail") == 0 || strcmp(a, "/bin/tail") == 0;
}

/* [+-]DIGITS, as -n and -c take it (no size suffixes: those are left to tail). */
static int parse_count(struct exec_tail *t, const char *v, int bytes)
{
    int from_start = 0;
    if (*v == '+') {
        from_start = 1;
        v++;
    } else if (*v == '-') {
        v++;
    }
    if (!isdigit((unsigned char)*v))
        return 0;
    uint64_t n = 0;
    for (; *v; v++) {
        if (!isdigit((unsigned char)*v) || n > (UINT64_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uint64_t)(*v - '0');
    }
    t->bytes = bytes;
    t->from_start = from_start;
    t->count = n;
    return 1;
}

enum { FOLLOW_NONE, FOLLOW_DESCRIPTOR, FOLLOW_NAME };

static int parse_long(struct exec_tail *t, char *const *argv, size_t argc, size_t *i, int *follow)
{
    const char *a = argv[*i];
    if (strcmp(a, "--follow") == 0 || strcmp(a, "--follow=descriptor") == 0) {
        *follow = FOLLOW_DESCRIPTOR;
        return 1;
    }
    if (strcmp(a, "--follow=name") == 0) {
        *follow = FOLLOW_NAME;
        return 1;
    }
    if (strcmp(a, "--retry") == 0) {
        t->retry = 1;
        return 1;
    }
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "--silent") == 0)
        return 1;
    if (strncmp(a, "--lines=", 8) == 0)
        return parse_count(t, a + 8, 0);
    if (strncmp(a, "--bytes=", 8) == 0)
        return parse_count(t, a + 8, 1);
    if ((strcmp(a, "--lines") == 0 || strcmp(a, "--bytes") == 0) && *i + 1 < argc) {
        int bytes = a[2] == 'b';
        return parse_count(t, argv[++*i], bytes);
    }
    return 0; /* abbreviations and every other option: tail's business */
}

/* A cluster of short options: f, F and q, ending with n or c and its value. */
static int parse_short(struct exec_tail *t, char *const *argv, size_t argc, size_t *i, int *follow)
{
    const char *a = argv[*i];
    for (size_t j = 1; a[j]; j++) {
        switch (a[j]) {
        case 'f':
            *follow = FOLLOW_DESCRIPTOR;
            break;
        case 'F':
            *follow = FOLLOW_NAME;
            t->retry = 1;
            break;
        case 'q':
            break;
        case 'n':
        case 'c':
            if (a[j + 1])
                return parse_count(t, a + j + 1, a[j] == 'c');
            if (*i + 1 >= argc)
                return 0;
            return parse_count(t, argv[++*i], a[j] == 'c');
        default:
            return 0; /* -v, -z, -s, --pid's -p..., the obsolete -10f form */
        }
    }
    return 1;
}

int exec_tail_parse(struct exec_tail *t, char *const *argv, size_t argc)
{
    struct exec_tail p = {.count = TAIL_DEFAULT_LINES};
    const char *file = NULL;
    size_t files = 0;
    int follow = FOLLOW_NONE, operands_only = 0;
    if (argc < 2 || !is_tail_program(argv[0]))
        return 0;
    for (size_t i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (operands_only || a[0] != '-' || a[1] == '\0') {
            if (strcmp(a, "-") == 0)
                return 0; /* standard input */
            file = a;
            files++;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            operands_only = 1;
            continue;
        }
        int ok = a[1] == '-' ? parse_long(&p, argv, argc, &i, &follow)
                             : parse_short(&p, argv, argc, &i, &follow);
        if (!ok)
            return 0;
    }
    if (files != 1 || follow == FOLLOW_NONE || file[0] == '\0')
        return 0;
    if (follow == FOLLOW_NAME && !p.retry)
        return 0; /* --follow=name alone gives up on a name that goes away: tail's business */
    p.by_name = follow == FOLLOW_NAME;
    if (!(p.path = strdup(file)))
        return -1;
    *t = p;
    t->fd = t->next_fd = t->ify = t->wd_file = -1;
    return 1;
}

int exec_tail_shell_plain(const char *cmd)
{
    for (const char *p = cmd; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && !strchr("_./-+=,:@% \t", c))
            return 0; /* quotes, $, globs, ~, ;, |, &, <, >, newline, ... */
    }
    return 1;
}

/* ---- messages ------------------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
say(const struct exec_tail *t, enum sluice_level level, const char *fmt, ...)
{
    char text[1024];
    int n = snprintf(text, sizeof(text), "tail: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap); /* a long path is cut in a log line */
    va_end(ap);
    if (t->say)
        t->say(t->say_arg, level, text);
}

static void say_cannot_open(struct exec_tail *t, int e)
{
    if (t->said_errno == e)
        return;
    t->said_errno = e;
    say(t, SLUICE_LOG_WARN, "cannot open '%s' for reading: %s", t->path, strerror(e));
}

/* ---- the file ------------------------------------------------------------------------------ */

static void watch_file(struct exec_tail *t)
{
    if (t->ify < 0)
        return;
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", t->fd);
    /* the open file's inode, wherever it is renamed to (and behind a symlinked name) */
    t->wd_file = inotify_add_watch(t->ify, self, TAIL_FILE_MASK);
    if (t->wd_file < 0)
        t->wd_file = inotify_add_watch(t->ify, t->path, TAIL_FILE_MASK);
}

static void drop_fd(struct exec_tail *t)
{
    if (t->wd_file >= 0 && t->ify >= 0)
        inotify_rm_watch(t->ify, t->wd_file);
    t->wd_file = -1;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static void adopt(struct exec_tail *t, int fd, dev_t dev, ino_t ino, uint64_t pos)
{
    t->fd = fd;
    t->dev = dev;
    t->ino = ino;
    t->pos = pos;
    watch_file(t);
}

/* Where tail starts in a regular file of `size` bytes. */
static int start_offset(const struct exec_tail *t, int fd, uint64_t size, uint64_t *off)
{
    unsigned char buf[TAIL_SCAN_BLOCK];
    if (t->bytes) {
        if (t->from_start) /* a shorter file is followed from its end, as the lines are */
            *off = t->count > size ? size : t->count ? t->count - 1 : 0;
        else
            *off = t->count >= size ? 0 : size - t->count;
        return 0;
    }
    if (t->from_start) { /* skip count - 1 lines; a file with fewer is followed from its end */
        uint64_t want = t->count ? t->count - 1 : 0, seen = 0, at = 0;
        while (seen < want && at < size) {
            ssize_t n = pread(fd, buf, sizeof(buf), (off_t)at);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\n' && ++seen == want) {
                    *off = at + (uint64_t)i + 1;
                    return 0;
                }
            at += (uint64_t)n;
        }
        *off = seen < want ? size : 0;
        return 0;
    }
    if (t->count == 0) {
        *off = size;
        return 0;
    }
    /* the last count lines: count newlines backwards, not the one ending the file */
    uint64_t end = size, seen = 0;
    int first = 1;
    while (end > 0) {
        size_t len = end < sizeof(buf) ? (size_t)end : sizeof(buf);
        uint64_t at = end - len;
        ssize_t n = pread(fd, buf, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)len)
            return -1;
        size_t i = len;
        if (first && buf[len - 1] == '\n')
            i--;
        first = 0;
        while (i-- > 0)
            if (buf[i] == '\n' && ++seen == t->count) {
                *off = at + i + 1;
                return 0;
            }
        end = at;
    }
    *off = 0;
    return 0;
}

int exec_tail_open(struct exec_tail *t, exec_tail_say_fn say_fn, void *say_arg)
{
    t->fd = t->next_fd = t->ify = t->wd_file = -1;
    t->said_gone = t->said_errno = t->said_untailable = 0;
    t->say = say_fn;
    t->say_arg = say_arg;
    int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        return 1; /* a fifo, a device, a directory: tail itself knows what to do */
    }
    if (fd < 0 && !t->retry)
        return 1; /* tail reports it and exits 1 */
    t->ify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->ify >= 0) {
        char *dir = strdup(t->path);
        if (dir) {
            char *slash = strrchr(dir, '/');
            const char *d = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
            inotify_add_watch(t->ify, d, TAIL_DIR_MASK); /* without it: polled */
            free(dir);
        }
    }
    if (fd < 0) {
        say_cannot_open(t, errno); /* and read it from its first byte once it can be opened */
        return 0;
    }
    uint64_t off;
    if (start_offset(t, fd, (uint64_t)st.st_size, &off) != 0 ||
        lseek(fd, (off_t)off, SEEK_SET) < 0) {
        close(fd);
        exec_tail_close(t);
        return 1;
    }
    adopt(t, fd, st.st_dev, st.st_ino, off);
    return 0;
}

static void truncated(struct exec_tail *t)
{
    say(t, SLUICE_LOG_INFO, "%s: file truncated", t->path);
    lseek(t->fd, 0, SEEK_SET);
    t->pos = 0;
}

/* After reading all there was: has the name moved on, the file shrunk, or appeared? 1 when
 * reading again may give bytes. */
static int check(struct exec_tail *t)
{
    struct stat st;
    if (t->fd >= 0 && !t->by_name) {
        if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size < t->pos) {
            truncated(t);
            return 1;
        }
        return 0;
    }
    if (t->next_fd >= 0)
        return 0;
    if (stat(t->path, &st) != 0) {
        int e = errno;
        if (t->fd < 0) {
            say_cannot_open(t, e);
        } else if (!t->said_gone) {
            t->said_gone = 1;
            say(t, SLUICE_LOG_INFO, "'%s' has become inaccessible: %s", t->path, strerror(e));
        }
        return 0; /* a file renamed away is still read until another has its name */
    }
    if (t->fd >= 0 && st.st_dev == t->dev && st.st_ino == t->ino) {
        t->said_gone = 0;
        if ((uint64_t)st.st_size < t->pos) {
            truncated(t);
            return 1;
        }
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        if (!t->said_untailable)
            say(t, SLUICE_LOG_WARN, "'%s' has been replaced with an untailable file", t->path);
        t->said_untailable = 1;
        return 0;
    }
    int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        say_cannot_open(t, errno);
        return 0;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0; /* replaced again in between: the next check sees what is there */
    }
    say(t, SLUICE_LOG_INFO, "'%s' has %s;  following new file", t->path,
        t->fd >= 0 && !t->said_gone ? "been replaced" : "appeared");
    t->said_gone = t->said_errno = t->said_untailable = 0;
    if (t->fd >= 0) { /* the old file is read to its end first */
        t->next_fd = fd;
        t->next_dev = st.st_dev;
        t->next_ino = st.st_ino;
    } else {
        adopt(t, fd, st.st_dev, st.st_ino, 0);
    }
    return 1;
}

size_t exec_tail_read(struct exec_tail *t, uint8_t *buf, size_t cap)
{
    for (int round = 0; round < 4; round++) {
        if (t->fd >= 0) {
            ssize_t n = read(t->fd, buf, cap);
            if (n > 0) {
                t->pos += (uint64_t)n;
                return (size_t)n;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                if (t->said_errno != errno) {
                    t->said_errno = errno;
                    say(t, SLUICE_LOG_WARN, "error reading '%s': %s", t->path, strerror(errno));
                }
                return 0; /* tried again on the next call */
            }
            if (t->next_fd >= 0) { /* the replaced file is drained: on to its successor */
                int fd = t->next_fd;
                t->next_fd = -1;
                drop_fd(t);
                adopt(t, fd, t->next_dev, t->next_ino, 0);
                continue;
            }
        }
        if (!check(t))
            return 0;
    }
    return 0;
}

int exec_tail_wait(struct exec_tail *t, int timeout_ms)
{
    struct pollfd pfd = {.fd = t->ify, .events = POLLIN};
    if (poll(&pfd, t->ify >= 0 ? 1 : 0, timeout_ms) <= 0 || t->ify < 0)
        return 0;
    _Alignas(struct inotify_event) char ev[4096];
    for (int i = 0; i < 16 && read(t->ify, ev, sizeof(ev)) > 0; i++)
        ; /* only a wake-up: the next read and check see what changed */
    return 1;
}

void exec_tail_close(struct exec_tail *t)
{
    drop_fd(t);
    if (t->next_fd >= 0)
        close(t->next_fd);
    t->next_fd = -1;
    if (t->ify >= 0)
        close(t->ify);
    t->ify = -1;
}

void exec_tail_free(struct exec_tail *t)
{
    exec_tail_close(t);
    free(t->path);
    t->path = NULL;
}
