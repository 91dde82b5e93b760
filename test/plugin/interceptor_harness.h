/*
 * Drives the one interceptor plugin compiled into a test executable (its `sluice_plugin`): builds
 * the conf struct from the option table as the agent would (defaults, then "key", "value"
 * pairs; PREFIX keys collected with a "test.conf:N" origin), creates it with a log-capturing
 * host, and runs events through intercept().
 */
#ifndef SLUICE_INTERCEPTOR_HARNESS_H
#define SLUICE_INTERCEPTOR_HARNESS_H

#include <stddef.h>
#include <string.h>

#include "log_capture.h"
#include "test_host.h"

extern const struct sluice_plugin sluice_plugin; /* the interceptor under test */

struct ih {
    struct sluice_ctx ctx;
    struct sluice_host host;
    void *self;
    void *conf;
    struct sluice_kv *kv_items; /* PREFIX items of conf */
};

/* cmocka setup/teardown: *state becomes a struct ih. */
int ih_setup(void **state);
int ih_teardown(void **state);

/* Create with kv = {"key", "value", ..., NULL} (NULL kv: all defaults). Returns create()'s
 * result; on failure h->self is NULL and err says why. Any previous instance is destroyed. */
int ih_create(struct ih *h, const char *const *kv, struct sluice_err *err);
/* ih_create that fails the test on error. */
void ih_open(struct ih *h, const char *const *kv);

/* A new event with body (C string) and headers {"k", "v", ..., NULL} (may be NULL). */
struct sluice_event *ih_event(const char *body, const char *const *headers);
/* Run one event through intercept(); it must come back (these interceptors never drop). */
struct sluice_event *ih_run(struct ih *h, struct sluice_event *ev);
/* Run a body through and return the event (free with test_host.event_free). */
struct sluice_event *ih_run_body(struct ih *h, const char *body);

/* Assert a header value (want NULL: the header is absent). */
void ih_assert_header(const struct sluice_event *ev, const char *key, const char *want);
/* Assert the body equals want[0..len). */
void ih_assert_body_len(const struct sluice_event *ev, const char *want, size_t len);
#define ih_assert_body(ev, want) ih_assert_body_len((ev), (want), strlen(want))

#endif
