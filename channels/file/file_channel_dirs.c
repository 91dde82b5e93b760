/*
 * The file channel's directories: `~` expansion (Flume's defaults live under the user's
 * home), creating them, the in_use.lock that keeps two channels or agents off the same
 * directory, fsync of a directory after renames, and the minimumRequiredSpace check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "file_channel.h"

#define FC_SPACE_RECHECK_MS 1000

int64_t fc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *fc_expand_home(const char *path)
{
    if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
        return strdup(path);
    const char *home = getenv("HOME");
    char pwbuf[1024];
    struct passwd pw, *res = NULL;
    if ((!home || !*home) && getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
        home = res->pw_dir;
    if (!home || !*home)
        home = "/";
    size_t n = strlen(home) + strlen(path);
    char *out = malloc(n + 1);
    if (out)
        snprintf(out, n + 1, "%s%s", home, path + 1);
    return out;
}

int fc_mkdirs(const char *path, struct sluice_err *err, const struct sluice_host *host)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return host->err_set(err, SLUICE_ECONFIG, "file channel: directory name too long: %s",
                             path);
    for (char *p = buf + 1;; p++) {
        int last = *p == '\0';
        if (*p == '/' || last) {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return host->err_set(err, SLUICE_ECONFIG,
                                     "file channel: cannot create directory %s: %s", buf,
                                     strerror(errno));
            *p = saved;
        }
        if (last)
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return host->err_set(err, SLUICE_ECONFIG, "file channel: %s is not a directory", path);
    if (access(path, R_OK | W_OK | X_OK) != 0)
        return host->err_set(err, SLUICE_ECONFIG, "file channel: directory %s is not writable: %s",
                             path, strerror(errno));
    return SLUICE_OK;
}

int fc_dir_usable(const char *path, struct sluice_err *err, const struct sluice_host *host)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return host->err_set(err, SLUICE_ECONFIG, "file channel: directory name too long: %s",
                             path);
    struct stat st;
    if (stat(buf, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return host->err_set(err, SLUICE_ECONFIG, "file channel: %s is not a directory", path);
        if (access(buf, R_OK | W_OK | X_OK) != 0)
            return host->err_set(err, SLUICE_ECONFIG,
                                 "file channel: directory %s is not writable: %s", path,
                                 strerror(errno));
        return SLUICE_OK;
    }
    /* missing: the nearest existing ancestor must let us create it */
    for (;;) {
        char *slash = strrchr(buf, '/');
        if (!slash)
            snprintf(buf, sizeof(buf), ".");
        else if (slash == buf)
            buf[1] = '\0';
        else
            *slash = '\0';
        if (stat(buf, &st) == 0)
            break;
        if (strcmp(buf, "/") == 0 || strcmp(buf, ".") == 0)
            return host->err_set(err, SLUICE_ECONFIG, "file channel: cannot create %s", path);
    }
    if (!S_ISDIR(st.st_mode))
        return host->err_set(err, SLUICE_ECONFIG,
                             "file channel: cannot create directory %s: %s is not a directory",
                             path, buf);
    if (access(buf, W_OK | X_OK) != 0)
        return host->err_set(err, SLUICE_ECONFIG,
                             "file channel: cannot create directory %s: %s is not writable (%s)",
                             path, buf, strerror(errno));
    return SLUICE_OK;
}

int fc_lock_dir(const char *dir, int *fd_out, const struct sluice_host *host,
                struct sluice_err *err)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/in_use.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return host->err_set(err, SLUICE_ECONFIG, "file channel: cannot open lock file %s: %s",
                             path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[32] = "";
        ssize_t k = pread(fd, who, sizeof(who) - 1, 0);
        who[k > 0 ? k : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK) {
            char holder[64];
            if (!who[0])
                snprintf(holder, sizeof(holder), "another process");
            else if (atol(who) == (long)getpid())
                snprintf(holder, sizeof(holder), "this agent (pid %s)", who);
            else
                snprintf(holder, sizeof(holder), "process %s", who);
            return host->err_set(err, SLUICE_ECONFIG,
                                 "file channel: directory %s is already in use by another file "
                                 "channel (%s is locked by %s); every file channel needs its "
                                 "own checkpointDir and dataDirs",
                                 dir, path, holder);
        }
        return host->err_set(err, SLUICE_ECONFIG, "file channel: cannot lock %s: %s", path,
                             strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* informational only: the lock itself is held */
    }
    *fd_out = fd;
    return SLUICE_OK;
}

int fc_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int64_t fc_free_bytes(const char *dir)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) != 0)
        return -1;
    uint64_t b = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return b > INT64_MAX ? INT64_MAX : (int64_t)b;
}

/* One directory: SLUICE_OK (*avail lowered to its free bytes above minimumRequiredSpace) or
 * SLUICE_EFULL naming it. */
static int space_dir(struct fc_channel *ch, const char *dir, uint64_t write, uint64_t keep,
                     uint64_t events, uint64_t *avail, struct sluice_err *err)
{
    int64_t free_b = fc_free_bytes(dir);
    if (free_b < 0)
        return ch->host->err_set(err, SLUICE_EFULL,
                                 "file channel: cannot read the free space of %s (%s); puts "
                                 "are refused until it can be checked",
                                 dir, strerror(errno));
    uint64_t f = (uint64_t)free_b;
    if (f < ch->min_space || f - ch->min_space < write + keep)
        return ch->host->err_set(
            err, SLUICE_EFULL,
            "file channel: only %" PRId64 " bytes free on %s, below minimumRequiredSpace %" PRIu64
            " plus %" PRIu64 " bytes kept for taking the %" PRIu64 " events the channel would "
            "hold and %" PRIu64 " bytes for this commit; puts are refused until space is freed, "
            "takes go on",
            free_b, dir, ch->min_space, keep, events, write);
    if (f - ch->min_space < *avail)
        *avail = f - ch->min_space;
    return SLUICE_OK;
}

/*
 * statvfs is not called for every commit: after a check, commits may use up half of the
 * smallest free space above minimumRequiredSpace found, less the take reserve, for at most
 * FC_SPACE_RECHECK_MS before the directories are looked at again, so a fast source cannot
 * write past the reserve between two checks.
 */
int fc_space_check(struct fc_channel *ch, uint64_t write, uint64_t events, struct sluice_err *err)
{
    uint64_t keep = events * FC_TAKE_RESERVE;
    int64_t now = fc_now_ms();
    pthread_mutex_lock(&ch->sp_mu);
    if (ch->sp_ok && now - ch->sp_checked_ms < FC_SPACE_RECHECK_MS &&
        ch->sp_used + write + keep <= ch->sp_avail / 2) {
        ch->sp_used += write;
        pthread_mutex_unlock(&ch->sp_mu);
        return SLUICE_OK;
    }
    pthread_mutex_unlock(&ch->sp_mu);
    uint64_t avail = UINT64_MAX;
    int rc = space_dir(ch, ch->cp_dir, 0, keep, events, &avail, err);
    for (size_t i = 0; rc == SLUICE_OK && i < ch->n_data; i++)
        rc = space_dir(ch, ch->data_dirs[i], write, keep, events, &avail, err);
    if (rc == SLUICE_OK && ch->backup_dir)
        rc = space_dir(ch, ch->backup_dir, 0, keep, events, &avail, err);
    pthread_mutex_lock(&ch->sp_mu);
    ch->sp_ok = rc == SLUICE_OK;
    ch->sp_checked_ms = now;
    ch->sp_avail = rc == SLUICE_OK ? avail : 0;
    ch->sp_used = write;
    pthread_mutex_unlock(&ch->sp_mu);
    return rc;
}
