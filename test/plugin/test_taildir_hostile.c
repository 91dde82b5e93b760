/*
 * taildir against hostile input: a directory in place of a tailed file, a file it may not open
 * (as root, CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH are dropped from the effective set so chmod 000
 * really denies), a fifo and a symlink loop matching the pattern, a dangling symlink, an
 * unlistable directory and a position file that cannot be written. Each gives a clear,
 * rate-limited log line and a counter, never a crash or a block, and the other files flow.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "log_capture.h"
#include "taildir_harness.h"

static int setup(void **state)
{
    struct tdh *t = calloc(1, sizeof(*t));
    tdh_init(t);
    *state = t;
    return 0;
}

/* Root bypasses file permissions through two capabilities: switch them on or off in the
 * effective set (they stay permitted, so they can come back). */
static int dac_caps(int on)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return -1;
    unsigned bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
    if (on)
        d[0].effective |= bits & d[0].permitted;
    else
        d[0].effective &= ~bits;
    return (int)syscall(SYS_capset, &h, d);
}

static int teardown(void **state)
{
    struct tdh *t = *state;
    dac_caps(1);
    tdh_fini(t);
    free(t);
    return 0;
}

static void lines(struct tdh *t, const char *name, const char *prefix, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char line[64];
        snprintf(line, sizeof(line), "%s%d\n", prefix, i);
        tdh_appends(t, name, line);
    }
}

static uint64_t read_fails(struct tdh *t)
{
    return test_ctx_counter(&t->ctx, SLUICE_CTR_EVENT_READ_FAIL);
}

static void test_directory_replaces_file(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", ".*\\.log");
    assert_int_equal(mkdir(tdh_path(t, "subdir.log"), 0755), 0); /* quietly skipped, as Flume */
    lines(t, "a.log", "a", 1, 3);
    lines(t, "b.log", "b", 1, 3);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 6, 5000), 6);
    assert_int_equal(read_fails(t), 0);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "subdir.log"), 0);
    assert_int_equal(unlink(tdh_path(t, "a.log")), 0);
    assert_int_equal(mkdir(tdh_path(t, "a.log"), 0755), 0);
    lines(t, "b.log", "b", 4, 6);
    assert_int_equal(tdh_run_until(t, 9, 5000), 9);
    tdh_run_for(t, 1200); /* several scans: logged once */
    assert_int_equal(tdh_n(t), 9);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "is a directory, not a regular file"), 1);
    char needle[400];
    snprintf(needle, sizeof(needle), "%s is a directory", tdh_path(t, "a.log"));
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, needle), 1);
    assert_int_equal(read_fails(t), 1);
    assert_null(tdh_file(t, "a.log"));
}

static void test_permission_denied(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", ".*\\.log");
    lines(t, "ok.log", "ok", 1, 3);
    lines(t, "secret.log", "s", 1, 2);
    assert_int_equal(chmod(tdh_path(t, "secret.log"), 0), 0);
    if (geteuid() == 0 && dac_caps(0) != 0) {
        print_message("cannot drop CAP_DAC_OVERRIDE: permission denial not testable as root\n");
        skip();
    }
    int fd = open(tdh_path(t, "secret.log"), O_RDONLY);
    if (fd >= 0) {
        close(fd);
        print_message("chmod 000 does not deny reading here: skipping\n");
        skip();
    }
    assert_int_equal(errno, EACCES);
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    lines(t, "ok.log", "ok", 4, 5);
    assert_int_equal(tdh_run_until(t, 5, 5000), 5);
    tdh_run_for(t, 1100); /* retried at every scan, logged once */
    assert_int_equal(tdh_n(t), 5);
    char needle[400];
    snprintf(needle, sizeof(needle), "cannot open %s: Permission denied",
             tdh_path(t, "secret.log"));
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, needle), 1);
    assert_int_equal(read_fails(t), 1);
    /* access granted: its lines come */
    assert_int_equal(chmod(tdh_path(t, "secret.log"), 0644), 0);
    assert_int_equal(tdh_run_until(t, 7, 5000), 7);
    assert_int_equal(tdh_count(t, "s1"), 1);
    assert_int_equal(tdh_count(t, "s2"), 1);
}

static void test_unlistable_directory(void **state)
{
    struct tdh *t = *state;
    char sub[400];
    snprintf(sub, sizeof(sub), "%s/locked", t->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    tdh_group(t, "g1", "", "ok\\.log");
    tdh_group(t, "g2", "locked", ".*\\.log");
    lines(t, "ok.log", "ok", 1, 2);
    lines(t, "locked/x.log", "x", 1, 2);
    assert_int_equal(chmod(sub, 0), 0);
    if (geteuid() == 0 && dac_caps(0) != 0)
        skip();
    DIR *d = opendir(sub); /* not access(): it ignores dropped capabilities for root */
    if (d) {
        closedir(d);
        print_message("chmod 000 does not deny listing here: skipping\n");
        skip();
    }
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    tdh_run_for(t, 1100);
    assert_int_equal(tdh_n(t), 2);
    assert_true(log_capture_count(SLUICE_LOG_WARN, "Permission denied") >= 1);
    assert_true(test_ctx_counter(&t->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL) >= 1);
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
}

static void test_fifo_and_links(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", ".*\\.log");
    lines(t, "a.log", "a", 1, 2);
    assert_int_equal(mkfifo(tdh_path(t, "pipe.log"), 0644), 0);
    assert_int_equal(symlink(tdh_path(t, "nowhere"), tdh_path(t, "dangling.log")), 0);
    assert_int_equal(symlink(tdh_path(t, "loop2.log"), tdh_path(t, "loop1.log")), 0);
    assert_int_equal(symlink(tdh_path(t, "loop1.log"), tdh_path(t, "loop2.log")), 0);
    assert_int_equal(symlink(tdh_path(t, "a.log"), tdh_path(t, "link.log")), 0);
    int64_t t0 = tdh_now_ms();
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_true(tdh_now_ms() - t0 < 1000); /* opening nothing blocked */
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    lines(t, "a.log", "a", 3, 4);
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
    tdh_run_for(t, 700);
    assert_int_equal(tdh_n(t), 4); /* link.log is a second name of a.log: read once */
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "is a fifo, not a regular file"), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "Too many levels of symbolic links"), 2);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "dangling"), 0);
    assert_int_equal(read_fails(t), 3);
    /* a tailed file replaced by a fifo */
    assert_int_equal(unlink(tdh_path(t, "link.log")), 0);
    assert_int_equal(unlink(tdh_path(t, "a.log")), 0);
    assert_int_equal(mkfifo(tdh_path(t, "a.log"), 0644), 0);
    tdh_run_for(t, 700);
    assert_int_equal(read_fails(t), 4);
    assert_true(log_capture_count(SLUICE_LOG_WARN, "(it replaced a tailed file)") == 1);
}

static void test_position_file_unwritable(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", "a\\.log");
    lines(t, "a.log", "a", 1, 2);
    /* parent is a regular file: start fails, naming it */
    tdh_appends(t, "afile", "x");
    snprintf(t->pos, sizeof(t->pos), "%s/afile/pos.json", t->dir);
    assert_int_equal(tdh_start(t), SLUICE_EIO);
    tdh_stop(t);
    /* a position file that becomes unwritable while running: logged, counted, keeps going */
    snprintf(t->pos, sizeof(t->pos), "%s/state/pos.json", t->dir);
    t->conf.write_pos_interval = 50;
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    char state_dir[400];
    snprintf(state_dir, sizeof(state_dir), "%s/state", t->dir);
    unlink(t->pos);
    assert_int_equal(rmdir(state_dir), 0);
    tdh_appends(t, "state", "now a file");
    lines(t, "a.log", "a", 3, 4);
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
    tdh_run_for(t, 300);
    assert_true(test_ctx_counter(&t->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL) >= 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "Failed writing positionFile"), 1);
}

static void test_bad_config(void **state)
{
    struct tdh *t = *state;
    struct sluice_err err = {0};
    void *self = NULL;
    /* a group without a path */
    tdh_group(t, "g1", "", "a\\.log");
    snprintf(t->groups, sizeof(t->groups), "g1 g2");
    assert_int_equal(taildir_source_ops.create(&self, &t->conf, &tdh_host, &t->ctx, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "filegroups.g2"));
    taildir_source_ops.destroy(self);
    /* a relative path */
    free((char *)t->fg[0].value);
    t->fg[0].value = strdup("logs/a.log");
    snprintf(t->groups, sizeof(t->groups), "g1");
    assert_int_equal(taildir_source_ops.create(&self, &t->conf, &tdh_host, &t->ctx, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "not an absolute path"));
    taildir_source_ops.destroy(self);
    /* a bad regex */
    free((char *)t->fg[0].value);
    t->fg[0].value = strdup("/var/log/(a.log");
    assert_int_equal(taildir_source_ops.create(&self, &t->conf, &tdh_host, &t->ctx, &err),
                     SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "bad file-name regex '(a.log'"));
    taildir_source_ops.destroy(self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_directory_replaces_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlistable_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_position_file_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
