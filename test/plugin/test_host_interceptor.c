/*
 * The host interceptor in-process, against Flume's HostInterceptor: useIP true (the default)
 * gives the local address, false its canonical name, both resolved once at create;
 * preserveExisting both ways; a failed lookup logs a WARN and never sets the header. The
 * host name is controlled by defining gethostname() here, which the plugin code compiled into
 * this executable calls instead of libc's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "interceptor_harness.h"

static const char *fake_name; /* NULL: the machine's real name */
static int fake_fail;

int gethostname(char *name, size_t len)
{
    if (fake_fail) {
        errno = EPERM;
        return -1;
    }
    struct utsname u;
    const char *n = fake_name;
    if (!n) {
        if (uname(&u) != 0)
            return -1;
        n = u.nodename;
    }
    snprintf(name, len, "%s", n);
    return 0;
}

static int setup(void **state)
{
    fake_name = NULL;
    fake_fail = 0;
    return ih_setup(state);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(sluice_plugin.name, "host");
    assert_string_equal(sluice_plugin.aliases[0],
                        "org.apache.flume.interceptor.HostInterceptor$Builder");
}

static void test_use_ip_default_localhost(void **state)
{
    struct ih *h = *state;
    fake_name = "localhost";
    ih_open(h, NULL);
    assert_int_equal(log_capture_count(SLUICE_LOG_INFO, "Creating HostInterceptor: hostHeader="
                                                        "host,useIP=true,preserveExisting=false,"
                                                        "value=127.0.0.1"),
                     1);
    fake_name = "changed-after-create"; /* resolved once: this is never looked at */
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"host", "old", NULL}));
    ih_assert_header(ev, "host", "127.0.0.1");
    test_host.event_free(ev);
}

static void test_canonical_name_localhost(void **state)
{
    struct ih *h = *state;
    fake_name = "localhost";
    ih_open(h, (const char *[]){"useIP", "false", "hostHeader", "hostname", NULL});
    struct sluice_event *ev = ih_run_body(h, "x");
    ih_assert_header(ev, "hostname", "localhost");
    ih_assert_header(ev, "host", NULL);
    test_host.event_free(ev);
}

/* The real host name: its first IPv4 address as getaddrinfo gives it, and a name for useIP=false */
static void test_real_host(void **state)
{
    struct ih *h = *state;
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(u.nodename, NULL, &hints, &res) != 0) {
        skip(); /* this machine cannot resolve its own name; the failure path is tested below */
        return;
    }
    char want[INET_ADDRSTRLEN];
    assert_non_null(
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, want, sizeof(want)));
    freeaddrinfo(res);
    ih_open(h, NULL);
    struct sluice_event *ev = ih_run_body(h, "x");
    ih_assert_header(ev, "host", want);
    test_host.event_free(ev);

    ih_open(h, (const char *[]){"useIP", "false", NULL});
    ev = ih_run_body(h, "x");
    const char *name = test_host.event_header_get(ev, "host");
    assert_non_null(name);
    assert_true(name[0] != 0 && !strchr(name, ' '));
    /* a name that resolves back (or the address itself, as Java falls back to) */
    hints.ai_family = AF_UNSPEC;
    assert_int_equal(getaddrinfo(name, NULL, &hints, &res), 0);
    freeaddrinfo(res);
    test_host.event_free(ev);
}

static void test_preserve_existing(void **state)
{
    struct ih *h = *state;
    fake_name = "localhost";
    ih_open(h, (const char *[]){"preserveExisting", "true", NULL});
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"host", "kept", NULL}));
    ih_assert_header(ev, "host", "kept");
    test_host.event_free(ev);
    ev = ih_run_body(h, "x");
    ih_assert_header(ev, "host", "127.0.0.1");
    test_host.event_free(ev);
}

static void test_lookup_failure_never_sets(void **state)
{
    struct ih *h = *state;
    fake_fail = 1;
    ih_open(h, NULL); /* not a configuration error: Flume builds the interceptor */
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "Could not get local host address"), 1);
    assert_int_equal(log_capture_count(SLUICE_LOG_WARN, "the host header will not be set"), 1);
    fake_fail = 0;
    struct sluice_event *ev = ih_run(h, ih_event("x", (const char *[]){"a", "b", NULL}));
    ih_assert_header(ev, "host", NULL);
    assert_int_equal(ev->n_headers, 1);
    test_host.event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_use_ip_default_localhost, setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_canonical_name_localhost, setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_real_host, setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_preserve_existing, setup, ih_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_failure_never_sets, setup, ih_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
