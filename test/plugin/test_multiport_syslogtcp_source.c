/*
 * The multiport_syslogtcp source in-process over real TCP on 127.0.0.1: several ports served
 * at once with portHeader, a per-port charset (charset.port.<p>) against the default, bytes
 * invalid in the port's charset becoming an Invalid event with the raw bytes (as Flume), Flume's
 * invalid/incomplete syslog handling shared with syslogtcp, batchSize, configuration errors and
 * a busy port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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

struct fx {
    struct sluice_ctx ctx;
    void *conf;
    void *src;
    const struct sluice_source_ops *ops;
    int p1, p2;
    char ports[32];
};

/* A port that was free a moment ago. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    log_capture_reset();
    setenv("TZ", "UTC", 1);
    tzset();
    test_ctx_init(&f->ctx, "r1");
    f->conf = pconf_new(P);
    f->p1 = free_port();
    do
        f->p2 = free_port();
    while (f->p2 == f->p1);
    snprintf(f->ports, sizeof(f->ports), "%d  %d", f->p1, f->p2);
    pconf_str(P, f->conf, "host", "127.0.0.1");
    pconf_str(P, f->conf, "ports", f->ports);
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
    int rc = f->ops->create(&f->src, f->conf, &host, &f->ctx, &err);
    if (rc == 0)
        rc = f->ops->start(f->src, &err);
    if (rc != 0)
        fail_msg("create/start: %s", err.msg);
}

static void send_and_close(int port, const char *data, size_t n)
{
    int fd = net_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(net_send(fd, data, n), 0);
    close(fd);
}

static const char *hdr(struct fx *f, size_t i, const char *key)
{
    return test_host.event_header_get(f->ctx.emitted[i], key);
}

static void assert_body(struct fx *f, size_t i, const char *want)
{
    struct sluice_event *ev = f->ctx.emitted[i];
    if (ev->body_len != strlen(want) || memcmp(ev->body, want, ev->body_len) != 0)
        fail_msg("event %zu: body '%.*s', want '%s'", i, (int)ev->body_len, (const char *)ev->body,
                 want);
}

/* The event whose body is `body` (order across connections is not fixed). */
static size_t find(struct fx *f, const char *body)
{
    for (size_t i = 0; i < f->ctx.n_emitted; i++) {
        struct sluice_event *ev = f->ctx.emitted[i];
        if (ev->body_len == strlen(body) && !memcmp(ev->body, body, ev->body_len))
            return i;
    }
    fail_msg("no event with body '%s'", body);
    return 0;
}

static void test_ports_and_port_header(void **state)
{
    struct fx *f = *state;
    pconf_str(P, f->conf, "portHeader", "port");
    pconf_str(P, f->conf, "clientIPHeader", "ip");
    start(f);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Multiport Syslog TCP Source listening"),
                     2);
    const char *a = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - on one\n";
    const char *b = "<13>Feb  5 17:32:18 10.0.0.99 on two\n";
    send_and_close(f->p1, a, strlen(a));
    send_and_close(f->p2, b, strlen(b));
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 2, 10000), 2);
    char p1[8], p2[8];
    snprintf(p1, sizeof(p1), "%d", f->p1);
    snprintf(p2, sizeof(p2), "%d", f->p2);
    size_t i = find(f, "su - ID47 - on one"), k = find(f, "on two");
    assert_string_equal(hdr(f, i, "port"), p1);
    assert_string_equal(hdr(f, i, "Facility"), "4");
    assert_string_equal(hdr(f, i, "Severity"), "2");
    assert_string_equal(hdr(f, i, "timestamp"), "1065910455003");
    assert_string_equal(hdr(f, i, "host"), "mymachine.example.com");
    assert_string_equal(hdr(f, i, "ip"), "127.0.0.1");
    assert_string_equal(hdr(f, k, "port"), p2);
    assert_string_equal(hdr(f, k, "host"), "10.0.0.99");
    assert_null(hdr(f, k, "flume.syslog.status"));
}

static void test_per_port_charset(void **state)
{
    struct fx *f = *state;
    char key[16];
    snprintf(key, sizeof(key), "%d", f->p2);
    struct sluice_kv cs = {.key = key, .value = "ISO-8859-1", .origin = "a.conf:9"};
    pconf_prefix(P, f->conf, "charset.port.", &cs, 1);
    pconf_str(P, f->conf, "portHeader", "port");
    start(f);
    const char *latin1 = "<13>Feb  5 17:32:18 host caf\xe9 cr\xe8me\n";
    send_and_close(f->p2, latin1, strlen(latin1));
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 1, 10000), 1);
    send_and_close(f->p1, latin1, strlen(latin1)); /* not UTF-8: Invalid, raw bytes */
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 2, 10000), 2);
    assert_body(f, 0, "caf\xe9 cr\xe8me"); /* encoded back into the port's charset, as Flume */
    assert_string_equal(hdr(f, 0, "host"), "host");
    assert_null(hdr(f, 0, "flume.syslog.status"));
    assert_body(f, 1, "<13>Feb  5 17:32:18 host caf\xe9 cr\xe8me");
    assert_string_equal(hdr(f, 1, "flume.syslog.status"), "Invalid");
    assert_null(hdr(f, 1, "Facility"));
    assert_non_null(hdr(f, 1, "port"));
}

static void test_invalid_and_incomplete(void **state)
{
    struct fx *f = *state;
    pconf_int(P, f->conf, "eventSize", 20);
    start(f);
    const char *m = "not syslog at all\n\n<13>1 - host app - 0123456789abcdef\n<13>1 - h a - x";
    send_and_close(f->p1, m, strlen(m));
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 4, 10000), 4);
    assert_body(f, 0, "not syslog at all");
    assert_string_equal(hdr(f, 0, "flume.syslog.status"), "Invalid");
    assert_string_equal(hdr(f, 0, "Facility"), "0");
    /* cut at eventSize bytes: Incomplete, the rest is the next message (then Invalid) */
    assert_body(f, 1, "app - 0"); /* "<13>1 - host app - 0" is 20 bytes */
    assert_string_equal(hdr(f, 1, "flume.syslog.status"), "Incomplete");
    assert_string_equal(hdr(f, 1, "host"), "host");
    assert_body(f, 2, "123456789abcdef");
    assert_string_equal(hdr(f, 2, "flume.syslog.status"), "Invalid");
    assert_body(f, 3, "a - x"); /* the last message without '\n', delivered at close */
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "Event size larger than specified event "
                                                        "size: 20"),
                     1);
}

static void test_batch_size(void **state)
{
    struct fx *f = *state;
    pconf_int(P, f->conf, "batchSize", 5);
    pconf_int(P, f->conf, "readBufferBytes", 65536);
    start(f);
    char buf[1024] = "";
    for (int i = 0; i < 12; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "<13>1 - h a - m%d\n", i);
    int fd = net_connect(f->p1);
    assert_int_equal(net_send(fd, buf, strlen(buf)), 0);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 12, 10000), 12);
    close(fd);
    for (int i = 0; i < 12; i++) {
        char want[16];
        snprintf(want, sizeof(want), "a - m%d", i);
        assert_body(f, (size_t)i, want);
    }
    pthread_mutex_lock(&f->ctx.mu);
    size_t calls = f->ctx.n_emit_calls;
    pthread_mutex_unlock(&f->ctx.mu);
    assert_true(calls >= 3); /* never more than batchSize events per emit */
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
    pconf_str(P, f->conf, "ports", "5140 abc");
    create_fails(f, "ports: 'abc' is not a port number");
    pconf_str(P, f->conf, "ports", "5140 70000");
    create_fails(f, "ports: '70000' is not a port number");
    pconf_str(P, f->conf, "ports", "   ");
    create_fails(f, "ports: must list at least one port");
    pconf_str(P, f->conf, "ports", "5140 5140");
    create_fails(f, "ports: 5140 is listed twice");
    pconf_str(P, f->conf, "ports", "5140");
    pconf_str(P, f->conf, "charset.default", "NO-SUCH");
    create_fails(f, "charset.default: unknown or unsupported charset 'NO-SUCH'");
    pconf_str(P, f->conf, "charset.default", "UTF-8");
    struct sluice_kv cs = {.key = "x1", .value = "UTF-8", .origin = "a.conf:4"};
    pconf_prefix(P, f->conf, "charset.port.", &cs, 1);
    create_fails(f, "a.conf:4: charset.port.x1: 'x1' is not a port number");
    struct sluice_kv cs2 = {.key = "5140", .value = "UTF-16", .origin = "a.conf:5"};
    pconf_prefix(P, f->conf, "charset.port.", &cs2, 1);
    create_fails(f, "a.conf:5: charset.port.5140: charset 'UTF-16' is not ASCII-compatible");
    pconf_prefix(P, f->conf, "charset.port.", NULL, 0);
    pconf_bool(P, f->conf, "ssl", 1);
    create_fails(f, "ssl: TLS is not supported");
}

static void test_busy_port_fails_start(void **state)
{
    struct fx *f = *state;
    start(f);
    struct sluice_ctx ctx2;
    test_ctx_init(&ctx2, "r2");
    void *conf2 = pconf_new(P);
    char ports[32];
    int p3 = free_port();
    snprintf(ports, sizeof(ports), "%d %d", p3, f->p2);
    pconf_str(P, conf2, "host", "127.0.0.1");
    pconf_str(P, conf2, "ports", ports);
    void *src2 = NULL;
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&src2, conf2, &host, &ctx2, &err), 0);
    assert_true(f->ops->start(src2, &err) < 0);
    char want[64];
    snprintf(want, sizeof(want), "cannot bind 127.0.0.1:%d", f->p2);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' does not name %s", err.msg, want);
    f->ops->destroy(src2);
    free(conf2);
    test_ctx_destroy(&ctx2);
    /* the first port of the failed source was released: it can be bound again */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)p3),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ports_and_port_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_port_charset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_and_incomplete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_port_fails_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
