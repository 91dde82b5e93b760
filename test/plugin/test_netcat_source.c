/*
 * The netcat source in-process over real sockets on 127.0.0.1 (port 0): OK replies per line,
 * a '\r' kept, the max-line-length boundary and its FAILED reply + close, FAILED replies when
 * the channel refuses, many clients at once, maxConnections, encodings, malformed input, a
 * last line without newline, configuration errors and a busy port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../sources/netcat/netcat_source.h"
#include "log_capture.h"
#include "net_client.h"

static struct sluice_host host;
static int emit_override; /* non-zero: emit frees the batch and returns this */

static int wrap_emit(struct sluice_ctx *ctx, struct sluice_event **evs, size_t n,
                     struct sluice_err *err)
{
    if (emit_override) {
        for (size_t i = 0; i < n; i++)
            test_host.event_free(evs[i]);
        return test_host.err_set(err, emit_override, "channel c1 refused the batch");
    }
    return test_host.emit(ctx, evs, n, err);
}

struct fx {
    struct sluice_ctx ctx;
    struct netcat_conf conf;
    void *src;
    int port;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    host = log_capture_host();
    host.emit = wrap_emit;
    emit_override = 0;
    log_capture_reset();
    test_ctx_init(&f->ctx, "r1");
    f->conf.bind = "127.0.0.1";
    f->conf.port = 0;
    f->conf.max_line_length = 512;
    f->conf.ack_every_event = 1;
    f->conf.encoding = "utf-8";
    f->conf.max_connections = 1024;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->src) {
        netcat_source_ops.stop(f->src);
        netcat_source_ops.destroy(f->src);
    }
    test_ctx_destroy(&f->ctx);
    free(f);
    return 0;
}

static void start(struct fx *f)
{
    struct sluice_err err = {0};
    assert_int_equal(netcat_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(netcat_source_ops.start(f->src, &err), 0);
    f->port = net_logged_port();
    assert_true(f->port > 0);
}

static void assert_body(struct fx *f, size_t i, const char *want, size_t want_len)
{
    assert_true(i < f->ctx.n_emitted);
    struct sluice_event *ev = f->ctx.emitted[i];
    assert_int_equal(ev->body_len, want_len);
    assert_memory_equal(ev->body, want, want_len);
    assert_int_equal(ev->n_headers, 0);
}

static void test_ok_per_line_and_cr_kept(void **state)
{
    struct fx *f = *state;
    start(f);
    int fd = net_connect(f->port);
    assert_true(fd >= 0);
    assert_int_equal(net_send(fd, "hello\nworld\r\n\n", 14), 0);
    char buf[256];
    net_read_lines(fd, buf, sizeof(buf), 3, 5000, NULL);
    assert_string_equal(buf, "OK\nOK\nOK\n");
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 3, 5000), 3);
    assert_body(f, 0, "hello", 5);
    assert_body(f, 1, "world\r", 6); /* Flume keeps the \r */
    assert_body(f, 2, "", 0);
    close(fd);
}

static void test_line_split_across_writes(void **state)
{
    struct fx *f = *state;
    start(f);
    int fd = net_connect(f->port);
    char buf[64];
    assert_int_equal(net_send(fd, "par", 3), 0);
    assert_int_equal(net_send(fd, "tial \xc3", 6), 0); /* a character split too */
    assert_int_equal(net_send(fd, "\xa9nd\n", 4), 0);
    net_read_lines(fd, buf, sizeof(buf), 1, 5000, NULL);
    assert_string_equal(buf, "OK\n");
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 1, 5000), 1);
    assert_body(f, 0, "partial \xc3\xa9nd", 12);
    close(fd);
}

static void test_max_line_length(void **state)
{
    struct fx *f = *state;
    f->conf.max_line_length = 10;
    start(f);
    int fd = net_connect(f->port);
    /* 9 characters + newline fit exactly (two bytes for the é count as one character) */
    assert_int_equal(net_send(fd, "12345678\xc3\xa9\n", 11), 0);
    assert_int_equal(net_send(fd, "0123456789abc\nnot read\n", 23), 0);
    char buf[256];
    int eof = 0;
    net_read_all(fd, buf, sizeof(buf), 5000, &eof);
    assert_string_equal(buf, "OK\nFAILED: Event exceeds the maximum length (10 chars, "
                             "including newline)\n");
    assert_true(eof); /* the connection is closed, as in Flume */
    assert_int_equal(f->ctx.n_emitted, 1);
    assert_body(f, 0, "12345678\xc3\xa9", 10);
    assert_int_equal(test_ctx_counter(&f->ctx, SLUICE_CTR_EVENT_READ_FAIL), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "exceeding the maximum length"), 1);
    close(fd);
}

static void test_emit_failure_answers_failed(void **state)
{
    struct fx *f = *state;
    start(f);
    emit_override = SLUICE_ESTOPPED;
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "a\nb\n", 4), 0);
    char buf[512];
    net_read_lines(fd, buf, sizeof(buf), 2, 5000, NULL);
    assert_string_equal(buf, "FAILED: channel c1 refused the batch\n"
                             "FAILED: channel c1 refused the batch\n");
    /* the connection stays usable, as in Flume */
    emit_override = 0;
    assert_int_equal(net_send(fd, "c\n", 2), 0);
    net_read_lines(fd, buf, sizeof(buf), 1, 5000, NULL);
    assert_string_equal(buf, "OK\n");
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 1, 5000), 1);
    assert_body(f, 0, "c", 1);
    close(fd);
}

static void test_many_clients(void **state)
{
    struct fx *f = *state;
    enum { CLIENTS = 40, LINES = 50 };
    start(f);
    int fds[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        fds[c] = net_connect(f->port);
        assert_true(fds[c] >= 0);
    }
    for (int c = 0; c < CLIENTS; c++) {
        char line[64];
        for (int i = 0; i < LINES; i++) {
            int n = snprintf(line, sizeof(line), "c%d-%d\n", c, i);
            assert_int_equal(net_send(fds[c], line, (size_t)n), 0);
        }
    }
    for (int c = 0; c < CLIENTS; c++) {
        char buf[LINES * 3 + 16];
        net_read_lines(fds[c], buf, sizeof(buf), LINES, 10000, NULL);
        assert_int_equal(strlen(buf), LINES * 3);
        close(fds[c]);
    }
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, CLIENTS * LINES, 10000), CLIENTS * LINES);
    /* every line exactly once, each client's lines in order */
    int next[CLIENTS] = {0};
    for (size_t i = 0; i < f->ctx.n_emitted; i++) {
        int c, k;
        char body[64];
        struct sluice_event *ev = f->ctx.emitted[i];
        snprintf(body, sizeof(body), "%.*s", (int)ev->body_len, (const char *)ev->body);
        assert_int_equal(sscanf(body, "c%d-%d", &c, &k), 2);
        assert_int_equal(k, next[c]);
        next[c]++;
    }
    for (int c = 0; c < CLIENTS; c++)
        assert_int_equal(next[c], LINES);
}

static void test_no_ack(void **state)
{
    struct fx *f = *state;
    f->conf.ack_every_event = 0;
    start(f);
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "x\ny\n", 4), 0);
    shutdown(fd, SHUT_WR);
    char buf[64];
    int eof = 0;
    assert_int_equal(net_read_all(fd, buf, sizeof(buf), 5000, &eof), 0);
    assert_true(eof);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 2, 5000), 2);
    close(fd);
}

static void test_last_line_without_newline(void **state)
{
    struct fx *f = *state;
    start(f);
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "one\ntwo", 7), 0);
    shutdown(fd, SHUT_WR);
    char buf[64];
    int eof = 0;
    net_read_all(fd, buf, sizeof(buf), 5000, &eof);
    assert_string_equal(buf, "OK\nOK\n"); /* Flume would drop "two" without a word */
    assert_true(eof);
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 2, 5000), 2);
    assert_body(f, 1, "two", 3);
    close(fd);
}

static void test_malformed_utf8(void **state)
{
    struct fx *f = *state;
    start(f);
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "ok\nbad \xff\n", 9), 0);
    char buf[128];
    int eof = 0;
    net_read_all(fd, buf, sizeof(buf), 5000, &eof);
    assert_string_equal(buf, "OK\nFAILED: Input is not valid utf-8\n");
    assert_true(eof);
    assert_int_equal(f->ctx.n_emitted, 1);
    close(fd);
}

static void test_latin1_encoding(void **state)
{
    struct fx *f = *state;
    f->conf.encoding = "ISO-8859-1";
    start(f);
    int fd = net_connect(f->port);
    assert_int_equal(net_send(fd, "caf\xe9\n", 5), 0);
    char buf[64];
    net_read_lines(fd, buf, sizeof(buf), 1, 5000, NULL);
    assert_string_equal(buf, "OK\n");
    assert_int_equal(test_ctx_wait_emitted(&f->ctx, 1, 5000), 1);
    assert_body(f, 0, "caf\xc3\xa9", 5); /* bodies are always UTF-8 */
    close(fd);
}

static void test_max_connections(void **state)
{
    struct fx *f = *state;
    f->conf.max_connections = 2;
    start(f);
    int a = net_connect(f->port), b = net_connect(f->port);
    char buf[128];
    /* make sure both are being served before the third arrives */
    net_send(a, "a\n", 2);
    net_read_lines(a, buf, sizeof(buf), 1, 5000, NULL);
    assert_string_equal(buf, "OK\n");
    net_send(b, "b\n", 2);
    net_read_lines(b, buf, sizeof(buf), 1, 5000, NULL);
    assert_string_equal(buf, "OK\n");
    int c = net_connect(f->port);
    int eof = 0;
    net_read_all(c, buf, sizeof(buf), 5000, &eof);
    assert_string_equal(buf, "FAILED: Too many connections (maxConnections 2)\n");
    assert_true(eof);
    close(c);
    close(a);
    close(b);
}

static void create_fails(struct fx *f, const char *needle)
{
    struct sluice_err err = {0};
    assert_int_equal(netcat_source_ops.create(&f->src, &f->conf, &host, &f->ctx, &err),
                     SLUICE_ECONFIG);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
    netcat_source_ops.destroy(f->src);
    f->src = NULL;
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;
    f->conf.port = 70000;
    create_fails(f, "port: 70000 is not a port number");
    f->conf.port = 0;
    f->conf.bind = "not a host!";
    create_fails(f, "bind: 'not a host!' is not an IP address or host name");
    f->conf.bind = "127.0.0.1";
    f->conf.encoding = "no-such-charset";
    create_fails(f, "encoding: 'no-such-charset'");
}

static void test_port_in_use(void **state)
{
    struct fx *f = *state;
    start(f);
    struct fx g = {0};
    g.conf = f->conf;
    g.conf.port = f->port;
    test_ctx_init(&g.ctx, "r2");
    struct sluice_err err = {0};
    assert_int_equal(netcat_source_ops.create(&g.src, &g.conf, &host, &g.ctx, &err), 0);
    assert_true(netcat_source_ops.start(g.src, &err) < 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", f->port);
    if (!strstr(err.msg, want) || !strstr(err.msg, "in use"))
        fail_msg("message '%s' does not name %s as in use", err.msg, want);
    netcat_source_ops.destroy(g.src);
    test_ctx_destroy(&g.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok_per_line_and_cr_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_split_across_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_line_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_failure_answers_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_line_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latin1_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
