/*
 * The exec source's child process: fork/execvp with stdin on /dev/null, stdout and stderr on
 * pipes whose read ends are non-blocking, the child leading its own process group (so stop()
 * reaches a whole pipeline), and an exec failure reported back through a CLOEXEC pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_source.h"

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

void exec_child_close_fds(struct exec_child *ch)
{
    close_fd(&ch->out_fd);
    close_fd(&ch->err_fd);
}

/* A CLOEXEC pipe whose ends are above 2, so dup2() onto 0-2 in the child never clobbers one
 * of them even when the agent runs with its standard descriptors closed. */
static int pipe_above2(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        if (fds[i] <= 2) {
            int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            int e = errno;
            close(fds[i]);
            fds[i] = fd;
            if (fd < 0) {
                close_fd(&fds[1 - i]);
                return -e;
            }
        }
    }
    return 0;
}

/* Like Java's ProcessBuilder, the command inherits nothing but 0-2 (and, until exec, the
 * CLOEXEC report pipe): a descriptor some library opened without CLOEXEC (a listening
 * socket, a log file) must not outlive the agent inside `tail -F`. */
static void close_other_fds(int keep, int max_fd)
{
#ifdef SYS_close_range
    if ((keep == 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    for (int fd = 3; fd < max_fd; fd++)
        if (fd != keep)
            close(fd);
}

/* Runs between fork and exec: async-signal-safe calls only. */
static void child_exec(char *const *argv, int in_fd, int out_fd, int err_fd, int report_fd,
                       int max_fd)
{
    sigset_t none;
    struct sigaction dfl;
    static const int reset[] = {SIGPIPE, SIGINT,  SIGQUIT, SIGTERM,
                                SIGHUP,  SIGCHLD, SIGUSR1, SIGUSR2};
    setpgid(0, 0);
    /* the agent may block or ignore signals in its threads; the command must not inherit that */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        sigaction(reset[i], &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
        int e = errno;
        (void)!write(report_fd, &e, sizeof(e));
        _exit(127);
    }
    close_other_fds(report_fd, max_fd);
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(report_fd, &e, sizeof(e));
    _exit(127);
}

int exec_child_spawn(struct exec_child *ch, char *const *argv, const char **what)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, rep_p[2] = {-1, -1}, null_fd = -1;
    int rc;
    ch->pid = -1;
    ch->out_fd = ch->err_fd = -1;

    *what = "open /dev/null";
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0 && null_fd <= 2) {
        int fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
        close(null_fd);
        null_fd = fd;
    }
    if (null_fd < 0) {
        rc = -errno;
        goto fail;
    }
    *what = "pipe";
    if ((rc = pipe_above2(out_p)) || (rc = pipe_above2(err_p)) || (rc = pipe_above2(rep_p)))
        goto fail;
    /* only our ends are non-blocking: the child must block on a full pipe (back-pressure) */
    if (fcntl(out_p[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(err_p[0], F_SETFL, O_NONBLOCK) != 0) {
        rc = -errno;
        goto fail;
    }
    /* a larger pipe means fewer wake-ups for a fast writer; best effort */
    (void)fcntl(out_p[0], F_SETPIPE_SZ, 1024 * 1024);

    long open_max = sysconf(_SC_OPEN_MAX); /* for the fallback of close_other_fds */
    int max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
    *what = "fork";
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto fail;
    }
    if (pid == 0)
        child_exec(argv, null_fd, out_p[1], err_p[1], rep_p[1], max_fd);
    setpgid(pid, pid); /* also done by the child; whichever runs first wins */
    close_fd(&null_fd);
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&rep_p[1]);

    /* EOF: exec succeeded (the CLOEXEC end closed); an int: the child's errno */
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(rep_p[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    close_fd(&rep_p[0]);
    ch->pid = pid;
    ch->out_fd = out_p[0];
    ch->err_fd = err_p[0];
    if (got == (ssize_t)sizeof(child_errno)) {
        int code;
        *what = "execvp";
        exec_child_terminate(ch, 0, &code);
        return -child_errno;
    }
    return 0;

fail:
    close_fd(&null_fd);
    close_fd(&out_p[0]);
    close_fd(&out_p[1]);
    close_fd(&err_p[0]);
    close_fd(&err_p[1]);
    close_fd(&rep_p[0]);
    close_fd(&rep_p[1]);
    return rc;
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status); /* what Java's Process.exitValue() reports */
    return -1;
}

int exec_child_try_reap(struct exec_child *ch, int *code)
{
    int status;
    if (ch->pid <= 0)
        return 1;
    pid_t r;
    do {
        r = waitpid(ch->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    *code = r == ch->pid ? exit_code(status) : -1;
    ch->pid = -1;
    return 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void exec_child_terminate(struct exec_child *ch, int grace_ms, int *code)
{
    *code = -1;
    exec_child_close_fds(ch);
    if (ch->pid <= 0)
        return;
    /* the group exists while its leader is unreaped, so its id cannot have been reused */
    if (kill(-ch->pid, SIGTERM) != 0)
        kill(ch->pid, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 5) {
        if (exec_child_try_reap(ch, code))
            return;
        sleep_ms(5);
    }
    if (exec_child_try_reap(ch, code))
        return;
    if (kill(-ch->pid, SIGKILL) != 0)
        kill(ch->pid, SIGKILL);
    int status;
    pid_t r;
    do {
        r = waitpid(ch->pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    *code = r == ch->pid ? exit_code(status) : -1;
    ch->pid = -1;
}
