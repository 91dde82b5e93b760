/*
 * The syslogudp source in-process over real UDP on 127.0.0.1 (port 0), driven through
 * process() as the agent's source thread would: one datagram one message with exact headers,
 * every line of a multi-line datagram an event, the client IP header, configuration errors
 * and a busy port.
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
    setenv("TZ", "UTC", 1);
    tzset();
    test_ctx_init(&f->ctx, "r1");
    f->conf = pconf_new(P);
    pconf_str(P, f->conf, "host", "127.0.0.1");
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

static void start(struct fx *f)
{
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_non_null(f->ops->process);
    assert_int_equal(f->ops->start(f->src, &err), 0);
    f->port = net_logged_port();
    assert_true(f->port > 0);
}

/* Run process() (at most 100 ms each) until n events were emitted or 5 s passed. */
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

static const char *hdr(struct fx *f, size_t i, const char *key)
{
    return test_host.event_header_get(f->ctx.emitted[i], key);
}

static void assert_body(struct fx *f, size_t i, const char *want)
{
    struct sluice_event *ev = f->ctx.emitted[i];
    assert_int_equal(ev->body_len, strlen(want));
    assert_memory_equal(ev->body, want, ev->body_len);
}

static void test_datagrams(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "clientIPHeader", "ip");
    start(f);
    const char *a = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - failed";
    const char *b = "<13>Feb  5 17:32:18 10.0.0.99 first line\n<14>second line\n";
    const char *c = "<bad";
    assert_true(net_udp_send(f->port, a, strlen(a)) > 0);
    assert_true(net_udp_send(f->port, b, strlen(b)) > 0);
    assert_true(net_udp_send(f->port, c, strlen(c)) > 0);
    assert_int_equal(pump(f, 4), 4);
    assert_body(f, 0, "su - ID47 - failed");
    assert_string_equal(hdr(f, 0, "Facility"), "4");
    assert_string_equal(hdr(f, 0, "Severity"), "2");
    assert_string_equal(hdr(f, 0, "timestamp"), "1065910455003");
    assert_string_equal(hdr(f, 0, "host"), "mymachine.example.com");
    assert_string_equal(hdr(f, 0, "ip"), "127.0.0.1");
    assert_body(f, 1, "first line");
    assert_string_equal(hdr(f, 1, "host"), "10.0.0.99");
    assert_body(f, 2, "<14>second line"); /* Flume drops the second line of a datagram */
    assert_string_equal(hdr(f, 2, "Severity"), "6");
    assert_body(f, 3, "<bad");
    assert_string_equal(hdr(f, 3, "flume.syslog.status"), "Invalid");
    assert_string_equal(hdr(f, 3, "ip"), "127.0.0.1");
}

static void test_keep_all(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "keepFields", "true");
    start(f);
    const char *a = "<13>Feb  5 17:32:18 10.0.0.99 msg";
    assert_true(net_udp_send(f->port, a, strlen(a)) > 0);
    assert_int_equal(pump(f, 1), 1);
    assert_body(f, 0, a);
    assert_string_equal(hdr(f, 0, "host"), "10.0.0.99");
}

static void test_config_and_busy_port(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    pconf_int(P, f->conf, "port", 65536);
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "port: 65536"));
    f->ops->destroy(f->src);
    f->src = NULL;
    pconf_int(P, f->conf, "port", 0);
    start(f);
    void *conf2 = pconf_new(P), *src2 = NULL;
    pconf_str(P, conf2, "host", "127.0.0.1");
    pconf_int(P, conf2, "port", f->port);
    assert_int_equal(f->ops->create(&src2, conf2, &host, &f->ctx, &err), 0);
    assert_true(f->ops->start(src2, &err) < 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", f->port);
    if (!strstr(err.msg, want) || !strstr(err.msg, "in use"))
        fail_msg("message '%s' does not name %s as in use", err.msg, want);
    f->ops->destroy(src2);
    free(conf2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_datagrams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_and_busy_port, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
