/*
 * The null sink against a fake channel: batches of batchSize per transaction, the running
 * count logged at every multiple of logEveryNEvents, BACKOFF only on an empty channel, and a
 * failed commit rolling the batch back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fake_channel.h"
#include "log_capture.h"

extern const struct sluice_plugin sluice_plugin;

/* Same layout as the conf struct in null_sink.c (batchSize, logEveryNEvents). */
struct null_conf {
    int64_t batch_size;
    int64_t log_every;
};

struct fx {
    struct sluice_ctx ctx;
    struct sluice_host host;
    struct fake_channel fc;
    struct null_conf conf;
    void *sink;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sluice_err err;
    log_capture_reset();
    f->host = log_capture_host();
    test_ctx_init(&f->ctx, "k1");
    fake_channel_init(&f->fc);
    f->conf.batch_size = 100;
    f->conf.log_every = 100;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    assert_int_equal(sluice_plugin.conf_size, sizeof(struct null_conf));
    assert_int_equal(ops->create(&f->sink, &f->conf, &f->host, &f->ctx, &err), SLUICE_OK);
    assert_int_equal(ops->start(f->sink, &err), SLUICE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    ops->stop(f->sink);
    ops->destroy(f->sink);
    fake_channel_destroy(&f->fc);
    test_ctx_destroy(&f->ctx);
    log_capture_reset();
    free(f);
    return 0;
}

static void test_batches_and_log_every(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    struct sluice_err err;
    for (int i = 0; i < 250; i++)
        fake_channel_push(&f->fc, "e", 1, NULL);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    assert_int_equal(f->fc.n, 150);
    assert_int_equal(
        log_capture_count(SLUICE_LOG_INFO, "Null sink k1 successful processed 100 events."), 1);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY); /* 50: partial */
    assert_int_equal(f->fc.n, 0);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_BACKOFF);
    assert_int_equal(f->fc.max_take_seen, 100);
    assert_int_equal(f->fc.commits, 4);
    assert_int_equal(log_capture_n(), 2); /* at 100 and 200, not at 250 */
    assert_int_equal(
        log_capture_count(SLUICE_LOG_INFO, "Null sink k1 successful processed 200 events."), 1);
}

static void test_log_every_smaller_than_batch(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    struct sluice_err err;
    ops->destroy(f->sink);
    f->conf.batch_size = 10;
    f->conf.log_every = 4;
    assert_int_equal(ops->create(&f->sink, &f->conf, &f->host, &f->ctx, &err), SLUICE_OK);
    for (int i = 0; i < 10; i++)
        fake_channel_push(&f->fc, "e", 1, NULL);
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_READY);
    /* every multiple reached in the batch is reported, as Flume's per-event check does */
    assert_int_equal(log_capture_n(), 2);
    assert_string_equal(log_capture_line(0), "Null sink k1 successful processed 4 events.");
    assert_string_equal(log_capture_line(1), "Null sink k1 successful processed 8 events.");
}

static void test_commit_failure_rolls_back(void **state)
{
    struct fx *f = *state;
    const struct sluice_sink_ops *ops = sluice_plugin.ops;
    struct sluice_err err = {0};
    for (int i = 0; i < 5; i++)
        fake_channel_push(&f->fc, "e", 1, NULL);
    f->fc.fail_commit = 1;
    assert_int_equal(ops->process(f->sink, &f->fc.ch, &err), SLUICE_EIO);
    assert_int_equal(f->fc.rollbacks, 1);
    assert_int_equal(f->fc.n, 5);
    assert_int_equal(log_capture_n(), 0);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "null");
    assert_string_equal(sluice_plugin.aliases[0], "org.apache.flume.sink.NullSink");
    assert_string_equal(sluice_plugin.options[0].name, "batchSize");
    assert_true(sluice_plugin.options[0].flags & SLUICE_OPT_BATCH_SIZE);
    assert_string_equal(sluice_plugin.options[1].name, "logEveryNEvents");
    /* the struct above mirrors null_sink.c's */
    assert_int_equal(sluice_plugin.options[0].offset, offsetof(struct null_conf, batch_size));
    assert_int_equal(sluice_plugin.options[1].offset, offsetof(struct null_conf, log_every));
    assert_int_equal(sluice_plugin.conf_size, sizeof(struct null_conf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_batches_and_log_every, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_every_smaller_than_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests_name("null_sink", tests, NULL, NULL);
}
