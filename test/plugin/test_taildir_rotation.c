/*
 * taildir rotation: rename out of the pattern (the renamed file is read on until idle, the new
 * file from 0), rename within the pattern (followed, not re-read as Flume does), copytruncate
 * (shorter and longer rewrites), delete + recreate (the deleted file is drained, then closed),
 * new files appearing, an inode reused by a new file, a directory that appears late, and all
 * of it again with inotify off (polling only). Every line exactly once.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log_capture.h"
#include "taildir_harness.h"

static int setup(void **state)
{
    struct tdh *t = calloc(1, sizeof(*t));
    tdh_init(t);
    t->conf.idle_timeout = 400;
    *state = t;
    return 0;
}

static int setup_poll(void **state)
{
    setup(state);
    ((struct tdh *)*state)->no_inotify = 1;
    return 0;
}

static int teardown(void **state)
{
    struct tdh *t = *state;
    tdh_fini(t);
    free(t);
    return 0;
}

static void write_lines(struct tdh *t, const char *name, int from, int to)
{
    char buf[64 * 1024];
    size_t n = 0;
    for (int i = from; i <= to; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "L%06d\n", i);
        if (n > sizeof(buf) - 64) {
            tdh_append(t, name, buf, n);
            n = 0;
        }
    }
    if (n)
        tdh_append(t, name, buf, n);
}

/* Every line L<from>..L<to> exactly once and nothing else. */
static void assert_once(struct tdh *t, int from, int to)
{
    size_t want = (size_t)(to - from + 1);
    char *seen = calloc(want, 1);
    for (size_t i = 0; i < tdh_n(t); i++) {
        int k;
        const char *b = tdh_body(t, i);
        if (sscanf(b, "L%d", &k) != 1 || k < from || k > to)
            fail_msg("unexpected event '%s'", b);
        if (seen[k - from]++)
            fail_msg("line L%06d arrived twice", k);
    }
    for (size_t i = 0; i < want; i++)
        if (!seen[i])
            fail_msg("line L%06zu is missing", (size_t)from + i);
    assert_int_equal(tdh_n(t), want);
    free(seen);
}

static size_t open_fds(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void test_rename_out_of_pattern(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", "app\\.log");
    write_lines(t, "app.log", 1, 50);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 50, 5000), 50);
    write_lines(t, "app.log", 51, 60);
    /* rotate as a logger does: rename, a few more lines through the old descriptor, new file */
    assert_int_equal(rename(tdh_path(t, "app.log"), tdh_path(t, "app.log.1")), 0);
    write_lines(t, "app.log.1", 61, 70);
    write_lines(t, "app.log", 71, 80);
    assert_int_equal(tdh_run_until(t, 80, 5000), 80);
    write_lines(t, "app.log.1", 81, 85); /* still followed until idle */
    assert_int_equal(tdh_run_until(t, 85, 5000), 85);
    tdh_run_for(t, 800); /* the renamed file goes idle, is closed and forgotten */
    assert_once(t, 1, 85);
    assert_int_equal(t->src->n_files, 1);
    tdh_stop(t);
    char *pos = tdh_read_pos(t);
    assert_null(strstr(pos, "app.log.1"));
    char want[512];
    snprintf(want, sizeof(want), "[{\"inode\":%ju,\"pos\":%d,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "app.log"), 10 * 8, tdh_path(t, "app.log"));
    assert_string_equal(pos, want);
    free(pos);
}

static void test_rename_within_pattern(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 60000;
    tdh_group(t, "g1", "", "app.*\\.log");
    write_lines(t, "app.log", 1, 30);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 30, 5000), 30);
    write_lines(t, "app.log", 31, 40);
    assert_int_equal(rename(tdh_path(t, "app.log"), tdh_path(t, "app-1.log")), 0);
    write_lines(t, "app-1.log", 41, 45);
    write_lines(t, "app.log", 46, 60);
    assert_int_equal(tdh_run_until(t, 60, 5000), 60);
    tdh_run_for(t, 700);
    assert_once(t, 1, 60); /* Flume would send app-1.log again from 0 */
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "was renamed to"), 1);
    tdh_stop(t);
    char *pos = tdh_read_pos(t);
    char want[1024];
    snprintf(
        want, sizeof(want),
        "[{\"inode\":%ju,\"pos\":%d,\"file\":\"%s\"},{\"inode\":%ju,\"pos\":%d,\"file\":\"%s\"}]",
        (uintmax_t)tdh_inode(t, "app-1.log"), 45 * 8, tdh_path(t, "app-1.log"),
        (uintmax_t)tdh_inode(t, "app.log"), 15 * 8, tdh_path(t, "app.log"));
    assert_string_equal(pos, want);
    free(pos);
}

/* A closed (idle) file renamed within the pattern keeps its position too. */
static void test_rename_idle_file(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 100;
    tdh_group(t, "g1", "", "app.*\\.log");
    write_lines(t, "app.log", 1, 10);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 10, 5000), 10);
    tdh_run_for(t, 300);
    assert_int_equal(tdh_file(t, "app.log")->fd, -1);
    assert_int_equal(rename(tdh_path(t, "app.log"), tdh_path(t, "app-2.log")), 0);
    write_lines(t, "app-2.log", 11, 15);
    assert_int_equal(tdh_run_until(t, 15, 5000), 15);
    tdh_run_for(t, 300);
    assert_once(t, 1, 15);
}

static void test_copytruncate(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 60000;
    tdh_group(t, "g1", "", "app\\.log");
    write_lines(t, "app.log", 1, 20);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 20, 5000), 20);
    /* shorter than the position: noticed by the size */
    assert_int_equal(truncate(tdh_path(t, "app.log"), 0), 0);
    write_lines(t, "app.log", 21, 25);
    assert_int_equal(tdh_run_until(t, 25, 5000), 25);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "larger than file size"), 1);
    write_lines(t, "app.log", 26, 30);
    assert_int_equal(tdh_run_until(t, 30, 5000), 30);
    /* longer than the position before we look: noticed by the bytes before the position */
    assert_int_equal(truncate(tdh_path(t, "app.log"), 0), 0);
    write_lines(t, "app.log", 31, 200);
    assert_int_equal(tdh_run_until(t, 200, 5000), 200);
    tdh_run_for(t, 200);
    assert_once(t, 1, 200);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "changed: the file was truncated"), 1);
    assert_int_equal(tdh_file(t, "app.log")->pos, 170 * 8);
}

static void test_delete_and_recreate(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 60000;
    tdh_group(t, "g1", "", "app\\.log");
    write_lines(t, "app.log", 1, 10);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 10, 5000), 10);
    size_t fds = open_fds();
    write_lines(t, "app.log", 11, 20);
    assert_int_equal(unlink(tdh_path(t, "app.log")), 0); /* before those lines were read */
    write_lines(t, "app.log", 21, 30);
    assert_int_equal(tdh_run_until(t, 30, 5000), 30);
    tdh_run_for(t, 300);
    assert_int_equal(tdh_file(t, "app.log")->fd >= 0, 1);
    assert_int_equal(open_fds(), fds + 1); /* drained, kept open a moment for late writes */
    write_lines(t, "app.log", 31, 32);     /* the new file */
    tdh_run_for(t, 1200);
    assert_once(t, 1, 32);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "(deleted)"), 1);
    assert_int_equal(t->src->n_files, 1);
    assert_int_equal(open_fds(), fds); /* the deleted file's descriptor was closed */
    /* and a file deleted for good: closed and forgotten */
    assert_int_equal(unlink(tdh_path(t, "app.log")), 0);
    tdh_run_for(t, 1300);
    assert_int_equal(t->src->n_files, 0);
    assert_int_equal(open_fds(), fds - 1);
}

static void test_new_files_appear(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "web", "", "web-[0-9]+\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    tdh_run_for(t, 50);
    write_lines(t, "web-1.log", 1, 10);
    write_lines(t, "web-x.log", 900, 910);     /* no match */
    write_lines(t, "web-1.log.bak", 950, 960); /* the whole name must match */
    assert_int_equal(tdh_run_until(t, 10, 5000), 10);
    write_lines(t, "web-22.log", 11, 20);
    write_lines(t, "web-1.log", 21, 25);
    assert_int_equal(tdh_run_until(t, 25, 5000), 25);
    tdh_run_for(t, 300);
    assert_once(t, 1, 25);
}

/* The inode of a closed, tracked file now belongs to a different file: read that from 0. */
static void test_inode_reuse(void **state)
{
    struct tdh *t = *state;
    t->conf.idle_timeout = 100;
    tdh_group(t, "g1", "", "[ab]\\.log");
    write_lines(t, "a.log", 1, 10);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 10, 5000), 10);
    tdh_run_for(t, 300);
    struct td_file *f = tdh_file(t, "a.log");
    assert_int_equal(f->fd, -1);
    assert_int_equal(unlink(tdh_path(t, "a.log")), 0);
    /* b.log gets an inode the table knows; the kernel may or may not hand out a.log's old one,
     * so make the table believe it did */
    write_lines(t, "b.log", 11, 30);
    struct stat st;
    assert_int_equal(stat(tdh_path(t, "b.log"), &st), 0);
    f->ino = st.st_ino;
    f->dev = st.st_dev;
    f->btime_ns = 1; /* a different birth time */
    assert_int_equal(tdh_run_until(t, 30, 5000), 30);
    tdh_run_for(t, 200);
    assert_once(t, 1, 30);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "now belongs to a new file"), 1);

    /* without birth times the bytes before the position tell them apart */
    tdh_run_for(t, 300);
    f = tdh_file(t, "b.log");
    assert_int_equal(f->fd, -1);
    assert_int_equal(unlink(tdh_path(t, "b.log")), 0);
    write_lines(t, "a.log", 31, 60); /* longer than b.log's position */
    assert_int_equal(stat(tdh_path(t, "a.log"), &st), 0);
    f->ino = st.st_ino;
    f->dev = st.st_dev;
    f->btime_ns = 0;
    assert_int_equal(tdh_run_until(t, 60, 5000), 60);
    tdh_run_for(t, 200);
    assert_once(t, 1, 60);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "reuses the inode"), 1);
}

static void test_directory_appears_later(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "later/sub", "x\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "waiting for it"), 1);
    tdh_run_for(t, 600);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "waiting for it"), 1); /* rate-limited */
    char p[400];
    snprintf(p, sizeof(p), "%s/later", t->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/later/sub", t->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    write_lines(t, "later/sub/x.log", 1, 5);
    assert_int_equal(tdh_run_until(t, 5, 5000), 5);
    assert_once(t, 1, 5);
    /* the directory goes away and comes back */
    assert_int_equal(unlink(tdh_path(t, "later/sub/x.log")), 0);
    assert_int_equal(rmdir(p), 0);
    tdh_run_for(t, 700);
    assert_int_equal(mkdir(p, 0755), 0);
    write_lines(t, "later/sub/x.log", 6, 9);
    assert_int_equal(tdh_run_until(t, 9, 5000), 9);
    assert_once(t, 1, 9);
}

struct late_write {
    struct tdh *t;
    int delay_ms;
};

static void *write_later(void *arg)
{
    struct late_write *w = arg;
    usleep((useconds_t)w->delay_ms * 1000);
    write_lines(w->t, "a.log", 2, 2);
    return NULL;
}

static void test_inotify_wakes_early(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", "a\\.log");
    write_lines(t, "a.log", 1, 1);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_true(t->src->watch.fd >= 0);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    /* one process() call, blocked waiting, ends as soon as the line is written */
    struct sluice_err err;
    t->src->next_poll_ms = tdh_now_ms() + 10000; /* no poll is due: only inotify can wake it */
    struct late_write w = {.t = t, .delay_ms = 30};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_later, &w), 0);
    int64_t t0 = tdh_now_ms();
    assert_int_equal(taildir_source_ops.process(t->src, &err), SLUICE_READY);
    int64_t took = tdh_now_ms() - t0;
    pthread_join(th, NULL);
    assert_int_equal(tdh_n(t), 2);
    assert_true(took >= 20 && took < 90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rename_out_of_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_within_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_idle_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_recreate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_files_appear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_appears_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inotify_wakes_early, setup, teardown),
        /* polling only */
        cmocka_unit_test_setup_teardown(test_rename_out_of_pattern, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_rename_within_pattern, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_recreate, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_new_files_appear, setup_poll, teardown),
        cmocka_unit_test_setup_teardown(test_directory_appears_later, setup_poll, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
