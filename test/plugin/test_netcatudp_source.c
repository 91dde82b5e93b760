/*
 * The netcatudp source in-process over real UDP on 127.0.0.1 (port 0), driven through
 * process(): a line per event (every line of a datagram, not just the first as in Flume), an
 * empty datagram, remoteAddressHeader as Java prints the sender, and configuration errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "log_capture.h"
#include "net_client.h"
#include "plugin_conf.h"

extern const struct sluice_plugin sluice_plugin;
#define P (&sluice_plugin)

static struct sluice_host host;

struct fx {
    struct sluice_ctx ctx;
    void *conf;
    void *src;
    const struct sluice_source_ops *ops;
    int port;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    log_capture_reset();
    test_ctx_init(&f->ctx, "r1");
    f->conf = pconf_new(P);
    pconf_str(P, f->conf, "bind", "127.0.0.1");
    pconf_int(P, f->conf, "port", 0);
    f->ops = P->ops;
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

static size_t pump(struct fx *f, size_t n)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (f->ctx.n_emitted < n) {
        struct sluice_err err = {0};
        assert_int_equal(f->ops->process(f->src, &err), SLUICE_READY);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5)
            break;
    }
    return f->ctx.n_emitted;
}

static void assert_body(struct fx *f, size_t i, const char *want)
{
    struct sluice_event *ev = f->ctx.emitted[i];
    assert_int_equal(ev->body_len, strlen(want));
    assert_memory_equal(ev->body, want, ev->body_len);
}

static void test_lines_and_remote_address(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    pconf_str(P, f->conf, "remoteAddressHeader", "remote");
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(f->ops->start(f->src, &err), 0);
    f->port = net_logged_port();
    int from1 = net_udp_send(f->port, "one\r\ntwo\n", 9);
    int from2 = net_udp_send(f->port, "", 0);
    int from3 = net_udp_send(f->port, "three", 5);
    assert_true(from1 > 0 && from2 > 0 && from3 > 0);
    assert_int_equal(pump(f, 4), 4);
    assert_body(f, 0, "one\r");
    assert_body(f, 1, "two");
    assert_body(f, 2, "");
    assert_body(f, 3, "three");
    char want[64];
    snprintf(want, sizeof(want), "/127.0.0.1:%d", from1);
    assert_string_equal(test_host.event_header_get(f->ctx.emitted[0], "remote"), want);
    assert_string_equal(test_host.event_header_get(f->ctx.emitted[1], "remote"), want);
    snprintf(want, sizeof(want), "/127.0.0.1:%d", from3);
    assert_string_equal(test_host.event_header_get(f->ctx.emitted[3], "remote"), want);
}

static void test_no_header_by_default(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(f->ops->start(f->src, &err), 0);
    f->port = net_logged_port();
    assert_true(net_udp_send(f->port, "x\n", 2) > 0);
    assert_int_equal(pump(f, 1), 1);
    assert_int_equal(f->ctx.emitted[0]->n_headers, 0);
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    pconf_str(P, f->conf, "bind", "256.1.1.1/x");
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "bind: '256.1.1.1/x'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_and_remote_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_header_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
