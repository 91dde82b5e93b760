/*
 * The taildir position file: Flume's exact JSON (member order, Gson's HTML-safe escapes, empty
 * file when nothing is tracked), read back whatever the member order, a Flume-written file
 * resumed as is, entries with missing members and garbage files, atomic replacement, skipToEnd,
 * an entry whose inode now belongs to another path, a file rotated by rename while the agent
 * was down (read on from its saved position unless born after the position file), and positions
 * that do not move when emit fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
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

static int teardown(void **state)
{
    struct tdh *t = *state;
    tdh_fini(t);
    free(t);
    return 0;
}

static void test_json_escapes(void **state)
{
    (void)state;
    struct td_buf b = {0};
    /* < > & = ' are Gson's HTML-safe escapes; control bytes as \u00xx; U+2028 too */
    assert_int_equal(td_json_string(&b, "/l/a<b>&c='d\"e\\f\tg\n\x01\x7f\xe2\x80\xa8\xc3\xa9"), 0);
    assert_string_equal(b.p, "\"/l/a\\u003cb\\u003e\\u0026c\\u003d\\u0027d\\\"e\\\\f\\tg\\n"
                             "\\u0001\x7f\\u2028\xc3\xa9\"");
    b.len = 0;
    assert_int_equal(td_json_string(&b, "/l/\xff.log"), -1);         /* not UTF-8 */
    assert_int_equal(td_json_string(&b, "/l/\xc0\xaf.log"), -1);     /* overlong */
    assert_int_equal(td_json_string(&b, "/l/\xed\xa0\x80.log"), -1); /* surrogate */
    free(b.p);
}

static void test_write_exact_format(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "one\ntwo\nthree\n");
    tdh_appends(t, "b<c>='&.log", "");
    tdh_group(t, "g1", "", ".*\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    tdh_stop(t);
    char want[1024];
    snprintf(want, sizeof(want),
             "[{\"inode\":%ju,\"pos\":14,\"file\":\"%s\"},"
             "{\"inode\":%ju,\"pos\":0,\"file\":\"%s/b\\u003cc\\u003e\\u003d\\u0027\\u0026.log\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"),
             (uintmax_t)tdh_inode(t, "b<c>='&.log"), t->dir);
    char *got = tdh_read_pos(t);
    assert_non_null(got);
    assert_string_equal(got, want); /* no whitespace, no trailing newline */
    free(got);
    char tmp[400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", t->pos);
    assert_int_equal(access(tmp, F_OK), -1);
}

static void test_empty_when_nothing_tracked(void **state)
{
    struct tdh *t = *state;
    tdh_group(t, "g1", "", "nothing\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    tdh_run_for(t, 50);
    tdh_stop(t);
    struct stat st;
    assert_int_equal(stat(t->pos, &st), 0); /* parents were created */
    assert_int_equal(st.st_size, 0);
}

static void test_read_any_member_order(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\na2\na3\n");
    tdh_appends(t, "b.log", "b1\nb2\n");
    char pos[1024];
    snprintf(pos, sizeof(pos),
             "[\n  {\"file\": \"%s\", \"pos\": 3, \"inode\": %ju},\n"
             "  {\"pos\":3,\"inode\":%ju,\"file\":\"%s\"}\n]\n",
             tdh_path(t, "a.log"), (uintmax_t)tdh_inode(t, "a.log"),
             (uintmax_t)tdh_inode(t, "b.log"), tdh_path(t, "b.log"));
    tdh_write_pos(t, pos);
    tdh_group(t, "g1", "", "[ab]\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 3);
    assert_int_equal(tdh_count(t, "a2"), 1);
    assert_int_equal(tdh_count(t, "a3"), 1);
    assert_int_equal(tdh_count(t, "b2"), 1);
    assert_int_equal(tdh_count(t, "a1") + tdh_count(t, "b1"), 0);
}

static void test_flume_written_file(void **state)
{
    struct tdh *t = *state;
    /* a name Gson escapes: Flume wrote it as x\u003dy.log */
    tdh_appends(t, "x=y.log", "old\nnew\n");
    char pos[1024];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":4,\"file\":\"%s/x\\u003dy.log\"}]",
             (uintmax_t)tdh_inode(t, "x=y.log"), t->dir);
    tdh_write_pos(t, pos);
    tdh_group(t, "g1", "", "x.y\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 1);
    assert_true(tdh_body_is(t, 0, "new"));
    tdh_stop(t);
    char *got = tdh_read_pos(t);
    char want[1024];
    snprintf(want, sizeof(want), "[{\"inode\":%ju,\"pos\":8,\"file\":\"%s/x\\u003dy.log\"}]",
             (uintmax_t)tdh_inode(t, "x=y.log"), t->dir);
    assert_string_equal(got, want);
    free(got);
}

static void test_missing_members(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\na2\n");
    tdh_appends(t, "b.log", "b1\nb2\n");
    char pos[1024];
    snprintf(pos, sizeof(pos),
             "[{\"inode\":%ju,\"file\":\"%s\"},{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"),
             (uintmax_t)tdh_inode(t, "b.log"), tdh_path(t, "b.log"));
    tdh_write_pos(t, pos);
    tdh_group(t, "g1", "", "[ab]\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "Detected missing"), 1);
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 3); /* a.log from 0 (its entry is unusable), b.log from 3 */
    assert_int_equal(tdh_count(t, "a1"), 1);
    assert_int_equal(tdh_count(t, "a2"), 1);
    assert_int_equal(tdh_count(t, "b2"), 1);
}

static void test_garbage_file(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\na2\n");
    tdh_write_pos(t, "\x89PNG\r\n\x1a garbage [{\"inode\":");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "Failed loading positionFile"), 1);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    assert_true(tdh_body_is(t, 0, "a1"));
    tdh_stop(t);
    char *got = tdh_read_pos(t);
    char want[512];
    snprintf(want, sizeof(want), "[{\"inode\":%ju,\"pos\":6,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"));
    assert_string_equal(got, want);
    free(got);

    /* valid JSON of the wrong shape is refused the same way */
    tdh_clear(t);
    log_capture_reset();
    tdh_write_pos(t, "{\"inode\":1}");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "not a JSON array"), 1);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
}

static void test_pos_beyond_size(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\n");
    char pos[512];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":999,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"));
    tdh_write_pos(t, pos);
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    assert_true(tdh_body_is(t, 0, "a1"));
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "larger than file size"), 1);
}

/* The entry's inode belongs to a file under another path now: not the same file. */
static void test_entry_inode_elsewhere(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "b.log", "b1\nb2\n");
    char pos[512];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "b.log"), tdh_path(t, "a.log"));
    tdh_write_pos(t, pos);
    tdh_group(t, "g1", "", "[ab]\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Missing file"), 1);
    assert_int_equal(tdh_run_until(t, 2, 5000), 2);
    assert_true(tdh_body_is(t, 0, "b1"));
    assert_true(tdh_body_is(t, 1, "b2"));
}

/* Rotated by rename (to a name no group matches) while the agent was down: the unread rest of
 * the rotated file is read from the saved position, the new file from 0. */
static void test_renamed_away_while_down(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\na2\na3\n");
    char pos[512], old[512];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"));
    tdh_write_pos(t, pos);
    snprintf(old, sizeof(old), "%s", tdh_path(t, "a.log"));
    assert_int_equal(rename(old, tdh_path(t, "a.log.1")), 0);
    tdh_appends(t, "a.log", "n1\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "renamed while the agent was not running"),
                     1);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Missing file"), 0);
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 3);
    assert_int_equal(tdh_count(t, "a1"), 0);
    assert_int_equal(tdh_count(t, "a2"), 1);
    assert_int_equal(tdh_count(t, "a3"), 1);
    assert_int_equal(tdh_count(t, "n1"), 1);
}

/* The same, but the file under the entry's inode was born after the position file was written:
 * another file that reuses the inode, not the rotated one; it is not read. */
static void test_renamed_away_inode_reused(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "a1\na2\n");
    struct statx sx;
    if (statx(AT_FDCWD, tdh_path(t, "a.log"), 0, STATX_BTIME, &sx) != 0 ||
        !(sx.stx_mask & STATX_BTIME))
        skip(); /* no birth times on this file system */
    char pos[512], old[512];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"));
    tdh_write_pos(t, pos);
    struct timespec past[2] = {{.tv_sec = sx.stx_btime.tv_sec - 3600},
                               {.tv_sec = sx.stx_btime.tv_sec - 3600}};
    assert_int_equal(utimensat(AT_FDCWD, tdh_path(t, "state/pos.json"), past, 0), 0);
    snprintf(old, sizeof(old), "%s", tdh_path(t, "a.log"));
    assert_int_equal(rename(old, tdh_path(t, "a.log.1")), 0);
    tdh_appends(t, "a.log", "n1\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Missing file"), 1);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 1);
    assert_true(tdh_body_is(t, 0, "n1"));
}

static void test_skip_to_end(void **state)
{
    struct tdh *t = *state;
    tdh_appends(t, "a.log", "old-a\n");
    tdh_appends(t, "b.log", "b1\nb2\n");
    char pos[512];
    snprintf(pos, sizeof(pos), "[{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "b.log"), tdh_path(t, "b.log"));
    tdh_write_pos(t, pos);
    t->conf.skip_to_end = 1;
    tdh_group(t, "g1", "", ".*\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    assert_true(tdh_body_is(t, 0, "b2")); /* the position file wins over skipToEnd */
    tdh_appends(t, "a.log", "new-a\n");
    tdh_appends(t, "c.log", "c1\n"); /* found after start: from 0 */
    assert_int_equal(tdh_run_until(t, 3, 5000), 3);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 3);
    assert_int_equal(tdh_count(t, "new-a"), 1);
    assert_int_equal(tdh_count(t, "c1"), 1);
    assert_int_equal(tdh_count(t, "old-a"), 0);
}

static void test_periodic_write(void **state)
{
    struct tdh *t = *state;
    t->conf.write_pos_interval = 50;
    tdh_appends(t, "a.log", "a1\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    assert_int_equal(tdh_run_until(t, 1, 5000), 1);
    char want[512];
    snprintf(want, sizeof(want), "[{\"inode\":%ju,\"pos\":3,\"file\":\"%s\"}]",
             (uintmax_t)tdh_inode(t, "a.log"), tdh_path(t, "a.log"));
    int64_t end = tdh_now_ms() + 5000;
    char *got = NULL;
    while (tdh_now_ms() < end) {
        tdh_run_for(t, 20);
        free(got);
        got = tdh_read_pos(t);
        if (got && strcmp(got, want) == 0)
            break;
    }
    assert_non_null(got);
    assert_string_equal(got, want); /* written while running, not only at stop */
    free(got);
}

static void test_emit_failure_keeps_position(void **state)
{
    struct tdh *t = *state;
    t->conf.batch_size = 2;
    tdh_appends(t, "a.log", "l1\nl2\nl3\nl4\nl5\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    tdh_fail_emit = SLUICE_EDELIVERY;
    struct sluice_err err;
    int backoff = 0;
    for (int i = 0; i < 10; i++)
        backoff += taildir_source_ops.process(t->src, &err) == SLUICE_BACKOFF;
    assert_true(backoff > 0);
    assert_true(tdh_emit_calls >= 2); /* it did try, and retried */
    assert_int_equal(tdh_n(t), 0);
    assert_int_equal(tdh_file(t, "a.log")->pos, 0);
    assert_true(td_positions_write(t->src) == 0);
    char *got = tdh_read_pos(t);
    assert_non_null(strstr(got, "\"pos\":0,"));
    free(got);

    /* the agent stopping mid-emit: nothing committed either */
    tdh_fail_emit = SLUICE_ESTOPPED;
    assert_int_equal(taildir_source_ops.process(t->src, &err), SLUICE_READY);
    assert_int_equal(tdh_file(t, "a.log")->pos, 0);

    tdh_fail_emit = 0;
    assert_int_equal(tdh_run_until(t, 5, 5000), 5);
    tdh_run_for(t, 200);
    assert_int_equal(tdh_n(t), 5); /* every line once, in order */
    for (int i = 0; i < 5; i++) {
        char want[8];
        snprintf(want, sizeof(want), "l%d", i + 1);
        assert_true(tdh_body_is(t, (size_t)i, want));
    }
    assert_int_equal(tdh_file(t, "a.log")->pos, 15);
}

/* A batch the channel can never hold is split; a single such line is skipped, loudly. */
static void test_too_big_batches_split(void **state)
{
    struct tdh *t = *state;
    t->conf.batch_size = 4;
    tdh_appends(t, "a.log", "l1\nl2\nl3\nl4\n");
    tdh_group(t, "g1", "", "a\\.log");
    assert_int_equal(tdh_start(t), SLUICE_OK);
    tdh_toobig_min = 3;
    assert_int_equal(tdh_run_until(t, 4, 5000), 4);
    tdh_run_for(t, 100);
    assert_int_equal(tdh_n(t), 4);
    for (int i = 0; i < 4; i++) {
        char want[8];
        snprintf(want, sizeof(want), "l%d", i + 1);
        assert_true(tdh_body_is(t, (size_t)i, want));
    }
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "does not fit the channel"), 1);
    assert_int_equal(tdh_file(t, "a.log")->batch_cap, 4);

    tdh_toobig_min = 1; /* not even one line fits: skipped with an error, never a stall */
    tdh_appends(t, "a.log", "big\nnext\n");
    tdh_run_for(t, 300);
    assert_int_equal(tdh_n(t), 4);
    assert_int_equal(tdh_file(t, "a.log")->pos, 21);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "can never fit the channel"), 2);
    assert_int_equal(test_ctx_counter(&t->ctx, SLUICE_CTR_GENERIC_PROCESSING_FAIL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test_setup_teardown(test_write_exact_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_when_nothing_tracked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_any_member_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flume_written_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pos_beyond_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_inode_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_away_while_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_away_inode_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_failure_keeps_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_batches_split, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
