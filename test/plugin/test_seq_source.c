/*
 * The seq source driven in-process: bodies 0, 1, 2, ... in batches of batchSize, a short last
 * batch and BACKOFF once totalEvents were sent, the same numbers again after a failed emit,
 * no advance when the agent stops mid-emit, and batchSize validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log_capture.h"
#include "plugin_conf.h"

extern const struct sluice_plugin sluice_plugin;

static struct sluice_host host;
static int fail_next; /* emits still to refuse */
static int fail_code;
static size_t batch_sizes[64];
static size_t n_batches;

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    if (fail_next > 0) {
        fail_next--;
        for (size_t i = 0; i < n; i++)
            test_host.event_free(evs[i]);
        return test_host.err_set(err, fail_code, "channel c1 refused the batch");
    }
    if (n_batches < 64)
        batch_sizes[n_batches++] = n;
    return test_host.emit(ctx, evs, n, err);
}

struct fx {
    struct sluice_ctx ctx;
    void *conf;
    void *src;
    const struct sluice_source_ops *ops;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    host.emit = wrap_emit;
    fail_next = 0;
    n_batches = 0;
    log_capture_reset();
    test_ctx_init(&f->ctx, "r1");
    f->conf = pconf_new(&sluice_plugin); /* batchSize 1, totalEvents Long.MAX_VALUE */
    f->ops = sluice_plugin.ops;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->src) {
        f->ops->stop(f->src);
        f->ops->destroy(f->src);
    }
    test_ctx_destroy(&f->ctx);
    free(f->conf);
    free(f);
    return 0;
}

static void start(struct fx *f)
{
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(f->ops->start(f->src, &err), 0);
}

static int process(struct fx *f)
{
    struct sluice_err err = {0};
    return f->ops->process(f->src, &err);
}

static void assert_bodies(struct fx *f, long first, long count)
{
    assert_int_equal(f->ctx.n_emitted, (size_t)count);
    for (long i = 0; i < count; i++) {
        char want[32];
        int n = snprintf(want, sizeof(want), "%ld", first + i);
        struct sluice_event *ev = f->ctx.emitted[i];
        assert_int_equal(ev->body_len, (size_t)n);
        assert_memory_equal(ev->body, want, (size_t)n);
        assert_int_equal(ev->n_headers, 0);
    }
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "seq");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.source.SequenceGeneratorSource");
    assert_non_null(((const struct sluice_source_ops *)sluice_plugin.ops)->process);
}

static void test_batches_and_total(void **state)
{
    struct fx *f = *state;
    pconf_int(&sluice_plugin, f->conf, "batchSize", 3);
    pconf_int(&sluice_plugin, f->conf, "totalEvents", 10);
    start(f);
    assert_int_equal(process(f), SLUICE_READY);
    assert_int_equal(process(f), SLUICE_READY);
    assert_int_equal(process(f), SLUICE_READY);
    assert_int_equal(process(f), SLUICE_BACKOFF); /* the short last batch */
    assert_int_equal(process(f), SLUICE_BACKOFF); /* and nothing after it */
    assert_int_equal(process(f), SLUICE_BACKOFF);
    assert_int_equal(n_batches, 4);
    assert_int_equal(batch_sizes[0], 3);
    assert_int_equal(batch_sizes[1], 3);
    assert_int_equal(batch_sizes[2], 3);
    assert_int_equal(batch_sizes[3], 1);
    assert_bodies(f, 0, 10);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "sent all 10 events"), 1);
}

static void test_default_batch_of_one(void **state)
{
    struct fx *f = *state;
    start(f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(process(f), SLUICE_READY);
    assert_int_equal(n_batches, 5);
    assert_int_equal(batch_sizes[4], 1);
    assert_bodies(f, 0, 5);
}

static void test_retries_same_numbers(void **state)
{
    struct fx *f = *state;
    pconf_int(&sluice_plugin, f->conf, "batchSize", 4);
    pconf_int(&sluice_plugin, f->conf, "totalEvents", 8);
    start(f);
    assert_int_equal(process(f), SLUICE_READY); /* 0..3 */
    fail_next = 2;
    fail_code = SLUICE_EIO;
    assert_int_equal(process(f), SLUICE_EIO);
    assert_int_equal(process(f), SLUICE_EIO);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "r1 source could not write to channel"),
                     2);
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "events 4..7 will be sent again"), 2);
    assert_int_equal(process(f), SLUICE_READY); /* 4..7 now */
    assert_int_equal(process(f), SLUICE_BACKOFF);
    assert_bodies(f, 0, 8);
}

static void test_stopping_does_not_advance(void **state)
{
    struct fx *f = *state;
    pconf_int(&sluice_plugin, f->conf, "batchSize", 2);
    start(f);
    fail_next = 1;
    fail_code = SLUICE_ESTOPPED;
    assert_int_equal(process(f), SLUICE_READY);
    assert_int_equal(f->ctx.n_emitted, 0);
    assert_int_equal(process(f), SLUICE_READY);
    assert_bodies(f, 0, 2);
}

static void test_zero_total(void **state)
{
    struct fx *f = *state;
    pconf_int(&sluice_plugin, f->conf, "totalEvents", 0);
    start(f);
    assert_int_equal(process(f), SLUICE_BACKOFF);
    assert_int_equal(f->ctx.n_emitted, 0);
}

static void test_bad_batch_size(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    pconf_int(&sluice_plugin, f->conf, "batchSize", 0);
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "batchSize: 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_batches_and_total, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_batch_of_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_same_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_does_not_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_total, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_batch_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
