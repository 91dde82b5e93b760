/*
 * The syslogtcp source in-process over real TCP on 127.0.0.1 (port 0): RFC 5424 and 3164
 * messages with exact headers (and the client IP header), messages split across writes, a
 * last message without newline delivered at close, an invalid one, octet-counted frames,
 * several senders, a refused emit resetting the connection, configuration errors and a busy
 * port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log_capture.h"
#include "net_client.h"
#include "plugin_conf.h"

extern const struct sluice_plugin sluice_plugin;
#define P (&sluice_plugin)

static struct sluice_host host;
static int emit_override;

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    if (emit_override) {
        for (size_t i = 0; i < n; i++)
            test_host.event_free(evs[i]);
        return test_host.err_set(err, emit_override, "agent stopping");
    }
    return test_host.emit(ctx, evs, n, err);
}

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
    host.emit = wrap_emit;
    emit_override = 0;
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
    assert_int_equal(f->ops->start(f->src, &err), 0);
    f->port = net_logged_port();
    assert_true(f->port > 0);
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

static void test_messages_and_headers(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "clientIPHeader", "clientip");
    start(f);
    int fd = net_connect(f->port);
    const char *a = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' "
                    "failed\n<13>Feb  5 17:32:18 10.0.0.99 Use the ";
    assert_int_equal(net_send(fd, a, strlen(a)), 0);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 1, 5000), 1);
    const char *b = "BFG!\nnot syslog at all\n<165>1 - - last without newline";
    assert_int_equal(net_send(fd, b, strlen(b)), 0);
    shutdown(fd, SHUT_WR);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 4, 5000), 4);
    close(fd);

    assert_body(f, 0, "su - ID47 - 'su root' failed");
    assert_string_equal(hdr(f, 0, "Facility"), "4");
    assert_string_equal(hdr(f, 0, "Severity"), "2");
    assert_string_equal(hdr(f, 0, "priority"), "34");
    assert_string_equal(hdr(f, 0, "version"), "1");
    assert_string_equal(hdr(f, 0, "timestamp"), "1065910455003");
    assert_string_equal(hdr(f, 0, "host"), "mymachine.example.com");
    assert_null(hdr(f, 0, "flume.syslog.status"));
    assert_string_equal(hdr(f, 0, "clientip"), "127.0.0.1");
    assert_int_equal(f->ctx.emitted[0]->n_headers, 7);

    assert_body(f, 1, "Use the BFG!"); /* split across two writes */
    assert_string_equal(hdr(f, 1, "Facility"), "1");
    assert_string_equal(hdr(f, 1, "Severity"), "5");
    assert_string_equal(hdr(f, 1, "host"), "10.0.0.99");
    assert_non_null(hdr(f, 1, "timestamp"));
    assert_null(hdr(f, 1, "version"));

    assert_body(f, 2, "not syslog at all");
    assert_string_equal(hdr(f, 2, "flume.syslog.status"), "Invalid");
    assert_string_equal(hdr(f, 2, "Facility"), "0");
    assert_string_equal(hdr(f, 2, "Severity"), "0");

    assert_body(f, 3, "last without newline"); /* delivered at close */
    assert_string_equal(hdr(f, 3, "Facility"), "20");
    assert_null(hdr(f, 3, "host"));
    assert_null(hdr(f, 3, "timestamp"));
}

static void test_octet_counted(void **state)
{
    struct fx *f = *state;
    start(f);
    int fd = net_connect(f->port);
    const char *m = "<13>1 - host app - hi";
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%zu %s%zu %s", strlen(m), m, strlen(m), m);
    assert_int_equal(net_send(fd, buf, (size_t)n), 0);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 2, 5000), 2);
    assert_body(f, 0, "app - hi");
    assert_body(f, 1, "app - hi");
    assert_string_equal(hdr(f, 1, "host"), "host");
    close(fd);
}

static void test_several_senders(void **state)
{
    struct fx *f = *state;
    enum { SENDERS = 10, MSGS = 100 };
    start(f);
    int fds[SENDERS];
    for (int c = 0; c < SENDERS; c++)
        assert_true((fds[c] = net_connect(f->port)) >= 0);
    for (int i = 0; i < MSGS; i++) {
        for (int c = 0; c < SENDERS; c++) {
            char line[64];
            int n = snprintf(line, sizeof(line), "<13>Oct 11 22:14:15 h%d m%d\n", c, i);
            assert_int_equal(net_send(fds[c], line, (size_t)n), 0);
        }
    }
    for (int c = 0; c < SENDERS; c++)
        close(fds[c]);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, SENDERS * MSGS, 10000), SENDERS * MSGS);
    int next[SENDERS] = {0};
    for (size_t i = 0; i < f->ctx.n_emitted; i++) {
        int c = atoi(hdr(f, i, "host") + 1), k;
        struct sluice_event *ev = f->ctx.emitted[i];
        char body[32];
        snprintf(body, sizeof(body), "%.*s", (int)ev->body_len, (const char *)ev->body);
        assert_int_equal(sscanf(body, "m%d", &k), 1);
        assert_int_equal(k, next[c]++);
    }
}

static void test_refused_emit_resets_connection(void **state)
{
    struct fx *f = *state;
    start(f);
    emit_override = SLUICE_ESTOPPED;
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "<13>hello\n", 10), 0);
    char buf[16];
    int eof = 0;
    net_read_all(fd, buf, sizeof(buf), 5000, &eof);
    assert_true(eof); /* reset: the sender sees its connection fail */
    assert_int_equal(log_capture_count(SLUICE_LOG_ERROR, "1 syslog events from 127.0.0.1 not "
                                                         "stored (agent stopping)"),
                     1);
    close(fd);
}

static void create_fails(struct fx *f, const char *needle)
{
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
    f->ops->destroy(f->src);
    f->src = NULL;
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;
    pconf_int(P, f->conf, "port", -1);
    create_fails(f, "port: -1 is not a port number");
    pconf_int(P, f->conf, "port", 0);
    pconf_str(P, f->conf, "host", "bad host");
    create_fails(f, "host: 'bad host' is not an IP address or host name");
    pconf_str(P, f->conf, "host", "127.0.0.1");
    pconf_bool(P, f->conf, "ssl", 1);
    create_fails(f, "ssl: TLS is not supported");
    pconf_bool(P, f->conf, "ssl", 0);
    struct sluice_kv fmt = {.key = "regex", .value = "(.*)", .origin = "a.conf:7"};
    pconf_prefix(P, f->conf, "format.", &fmt, 1);
    create_fails(f, "a.conf:7: format.regex: custom syslog formats");
    pconf_prefix(P, f->conf, "format.", NULL, 0);
    pconf_str(P, f->conf, "keepFields", "host");
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "keepFields: 'host' names none"), 1);
}

static void test_port_in_use(void **state)
{
    struct fx *f = *state;
    start(f);
    struct sluice_ctx ctx2;
    test_ctx_init(&ctx2, "r2");
    void *conf2 = pconf_new(P);
    pconf_str(P, conf2, "host", "127.0.0.1");
    pconf_int(P, conf2, "port", f->port);
    void *src2 = NULL;
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&src2, conf2, &host, &ctx2, &err), 0);
    assert_true(f->ops->start(src2, &err) < 0);
    char want[64];
    snprintf(want, sizeof(want), "cannot bind 127.0.0.1:%d", f->port);
    if (!strstr(err.msg, want) || !strstr(err.msg, "in use"))
        fail_msg("message '%s' does not name %s as in use", err.msg, want);
    f->ops->destroy(src2);
    free(conf2);
    test_ctx_destroy(&ctx2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_messages_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_octet_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_senders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_emit_resets_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
