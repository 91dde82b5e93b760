/*
 * The http source (JSONHandler) in-process over real HTTP on 127.0.0.1 (port 0): a JSON array
 * becomes events in one emit with their headers, GET as in Flume, an empty array, bad JSON and
 * wrong shapes answered 400 with the reason, 405 for other methods and 403 for TRACE/OPTIONS,
 * 413 beyond maxRequestBytes (by Content-Length and by chunks), 503 when the channel refuses,
 * UTF-16 bodies, and configuration errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        return test_host.err_set(err, emit_override, "agent stopping: 2 events not accepted");
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

static void start(struct fx *f)
{
    struct sluice_err err = {0};
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), 0);
    assert_int_equal(f->ops->start(f->src, &err), 0);
    f->port = net_logged_port();
    assert_true(f->port > 0);
}

static int post(struct fx *f, const char *json, char *resp, size_t cap)
{
    return net_http(f->port, "POST", "Content-Type: application/json\r\n", json, strlen(json), resp,
                    cap);
}

static const char *hdr(struct fx *f, size_t i, const char *key)
{
    return test_host.event_header_get(f->ctx.emitted[i], key);
}

static void assert_body(struct fx *f, size_t i, const void *want, size_t len)
{
    struct sluice_event *ev = f->ctx.emitted[i];
    assert_int_equal(ev->body_len, len);
    assert_memory_equal(ev->body, want, len);
}

static void test_happy_path(void **state)
{
    struct fx *f = *state;
    start(f);
    char resp[512];
    assert_int_equal(post(f,
                          "[{\"headers\":{\"a\":\"b\",\"n\":5,\"t\":true},\"body\":\"hello\"},"
                          " {\"body\":\"caf\\u00e9 \\\"q\\\"\"}, {\"headers\":{}}, {}]",
                          resp, sizeof(resp)),
                     200);
    assert_string_equal(resp, "");
    assert_int_equal(f->ctx.n_emitted, 4);
    assert_int_equal(f->ctx.n_emit_calls, 1); /* one request, one channel transaction */
    assert_body(f, 0, "hello", 5);
    assert_string_equal(hdr(f, 0, "a"), "b");
    assert_string_equal(hdr(f, 0, "n"), "5");
    assert_string_equal(hdr(f, 0, "t"), "true");
    assert_int_equal(f->ctx.emitted[0]->n_headers, 3);
    assert_body(f, 1, "caf\xc3\xa9 \"q\"", 9);
    assert_int_equal(f->ctx.emitted[1]->n_headers, 0);
    assert_body(f, 2, "", 0);
    assert_body(f, 3, "", 0);
}

static void test_get_and_empty_array(void **state)
{
    struct fx *f = *state;
    start(f);
    char resp[256];
    assert_int_equal(
        net_http(f->port, "GET", NULL, "[{\"body\":\"via get\"}]", 20, resp, sizeof(resp)),
        200); /* Flume's servlet handles GET like POST */
    assert_int_equal(post(f, "[]", resp, sizeof(resp)), 200);
    assert_int_equal(f->ctx.n_emitted, 1);
    assert_int_equal(f->ctx.n_emit_calls, 1);
    assert_body(f, 0, "via get", 7);
}

static void test_bad_json(void **state)
{
    struct fx *f = *state;
    start(f);
    char resp[512];
    assert_int_equal(post(f, "[{\"body\": \"x\"", resp, sizeof(resp)), 400);
    assert_non_null(strstr(resp, "Bad request from client. Request has invalid JSON Syntax"));
    assert_int_equal(post(f, "{\"body\": \"x\"}", resp, sizeof(resp)), 400);
    assert_non_null(strstr(resp, "expected an array of events, found an object"));
    assert_int_equal(post(f, "[{\"body\": {\"x\":1}}]", resp, sizeof(resp)), 400);
    assert_non_null(strstr(resp, "event 0: \"body\" must be a string, found an object"));
    assert_int_equal(
        post(f, "[{\"body\":\"ok\"}, {\"headers\": {\"h\": [1]}}]", resp, sizeof(resp)), 400);
    assert_non_null(strstr(resp, "event 1: header \"h\" must be a string, found an array"));
    assert_int_equal(post(f, "", resp, sizeof(resp)), 400);
    assert_int_equal(f->ctx.n_emitted, 0); /* nothing of a bad request is stored */
    assert_int_equal(test_ctx_counter(&f->ctx, SLUICE_CTR_EVENT_READ_FAIL), 5);
}

static void test_methods(void **state)
{
    struct fx *f = *state;
    start(f);
    char resp[256];
    assert_int_equal(net_http(f->port, "PUT", NULL, "[]", 2, resp, sizeof(resp)), 405);
    assert_int_equal(net_http(f->port, "DELETE", NULL, NULL, 0, resp, sizeof(resp)), 405);
    assert_int_equal(net_http(f->port, "TRACE", NULL, NULL, 0, resp, sizeof(resp)), 403);
    assert_int_equal(net_http(f->port, "OPTIONS", NULL, NULL, 0, resp, sizeof(resp)), 403);
    assert_int_equal(f->ctx.n_emitted, 0);
}

static void test_too_big(void **state)
{
    struct fx *f = *state;
    pconf_int(P, f->conf, "maxRequestBytes", 1000);
    start(f);
    char *big = malloc(4001);
    memset(big, ' ', 4000);
    big[0] = '[';
    big[3999] = ']';
    big[4000] = '\0';
    char resp[256];
    assert_int_equal(post(f, big, resp, sizeof(resp)), 413);
    assert_non_null(strstr(resp, "maxRequestBytes (1000 bytes)"));
    /* without Content-Length (chunked): refused once the body passes the limit */
    int fd = net_connect(f->port);
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n";
    assert_int_equal(net_send(fd, head, strlen(head)), 0);
    char chunk[600];
    int n = snprintf(chunk, sizeof(chunk), "200\r\n%.*s\r\n", 512, big);
    for (int i = 0; i < 3; i++)
        net_send(fd, chunk, (size_t)n);
    net_send(fd, "0\r\n\r\n", 5);
    char buf[1024];
    int eof = 0;
    net_read_all(fd, buf, sizeof(buf), 5000, &eof);
    close(fd);
    assert_int_equal(strncmp(buf, "HTTP/1.1 413", 12), 0);
    /* just under the limit is fine */
    big[998] = ']';
    big[999] = '\0';
    assert_int_equal(post(f, big, resp, sizeof(resp)), 200);
    free(big);
    assert_int_equal(f->ctx.n_emitted, 0);
}

static void test_channel_refuses(void **state)
{
    struct fx *f = *state;
    start(f);
    emit_override = SLUICE_ESTOPPED;
    char resp[512];
    assert_int_equal(post(f, "[{\"body\":\"a\"},{\"body\":\"b\"}]", resp, sizeof(resp)), 503);
    assert_non_null(strstr(resp, "Error appending event to channel. Channel might be full. "
                                 "agent stopping: 2 events not accepted"));
    emit_override = 0;
    assert_int_equal(post(f, "[{\"body\":\"a\"}]", resp, sizeof(resp)), 200);
    assert_int_equal(f->ctx.n_emitted, 1);
}

static void test_stopping_agent_503(void **state)
{
    struct fx *f = *state;
    start(f);
    f->ctx.stopping = 1;
    char resp[512];
    assert_int_equal(post(f, "[{\"body\":\"a\"}]", resp, sizeof(resp)), 503);
    assert_int_equal(f->ctx.n_emitted, 0);
}

static void test_utf16(void **state)
{
    struct fx *f = *state;
    start(f);
    /* [{"body":"é"}] in UTF-16LE with a BOM */
    const char *json = "[{\"body\":\"\xc3\xa9\"}]";
    uint8_t req[64];
    size_t n = 0;
    req[n++] = 0xFF;
    req[n++] = 0xFE;
    for (const char *p = json; *p; p++) {
        if ((unsigned char)*p == 0xC3) {
            req[n++] = 0xE9;
            req[n++] = 0;
            p++;
        } else {
            req[n++] = (uint8_t)*p;
            req[n++] = 0;
        }
    }
    char resp[256];
    assert_int_equal(net_http(f->port, "POST", "Content-Type: application/json; charset=UTF-16\r\n",
                              req, n, resp, sizeof(resp)),
                     200);
    assert_int_equal(f->ctx.n_emitted, 1);
    /* Java's "é".getBytes("UTF-16"): BOM FE FF, big-endian */
    assert_body(f, 0, "\xfe\xff\x00\xe9", 4);
    assert_int_equal(net_http(f->port, "POST", "Content-Type: text/plain; charset=latin1\r\n", "[]",
                              2, resp, sizeof(resp)),
                     400);
    assert_non_null(strstr(resp, "Unsupported character set in request: latin1"));
}

static void test_config_errors(void **state)
{
    struct fx *f = *state;
    struct sluice_err err = {0};
    pconf_str(P, f->conf, "handler", "org.apache.flume.source.http.BLOBHandler");
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "handler: 'org.apache.flume.source.http.BLOBHandler' is "
                                    "not supported"));
    f->ops->destroy(f->src);
    pconf_str(P, f->conf, "handler", "org.apache.flume.source.http.JSONHandler");
    pconf_str(P, f->conf, "bind", "");
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "bind: must not be empty"));
    f->ops->destroy(f->src);
    pconf_str(P, f->conf, "bind", "127.0.0.1");
    pconf_bool(P, f->conf, "ssl", 1);
    assert_int_equal(f->ops->create(&f->src, f->conf, &host, &f->ctx, &err), SLUICE_ECONFIG);
    assert_non_null(strstr(err.msg, "ssl: HTTPS is not supported"));
    f->ops->destroy(f->src);
    f->src = NULL;
}

static void test_port_in_use(void **state)
{
    struct fx *f = *state;
    start(f);
    void *conf2 = pconf_new(P), *src2 = NULL;
    pconf_str(P, conf2, "bind", "127.0.0.1");
    pconf_int(P, conf2, "port", f->port);
    struct sluice_err err = {0};
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
        cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_and_empty_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_agent_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
