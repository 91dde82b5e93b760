/*
 * The interceptor test harness (see interceptor_harness.h): conf structs built from the
 * plugin's own option table, so the tests exercise the defaults the agent would apply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "interceptor_harness.h"

static const struct sluice_interceptor_ops *ih_ops(void)
{
    return sluice_plugin.ops;
}

static void ih_release(struct ih *h)
{
    if (h->self)
        ih_ops()->destroy(h->self);
    h->self = NULL;
    if (h->kv_items) {
        for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
            if (o->type != SLUICE_OPT_PREFIX)
                continue;
            struct sluice_kvlist *kl = (struct sluice_kvlist *)((char *)h->conf + o->offset);
            for (size_t i = 0; i < kl->n; i++)
                free((char *)kl->items[i].origin);
        }
    }
    free(h->kv_items);
    h->kv_items = NULL;
    free(h->conf);
    h->conf = NULL;
}

int ih_setup(void **state)
{
    struct ih *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    test_ctx_init(&h->ctx, "i1");
    h->host = log_capture_host();
    log_capture_reset();
    *state = h;
    return 0;
}

int ih_teardown(void **state)
{
    struct ih *h = *state;
    ih_release(h);
    test_ctx_destroy(&h->ctx);
    log_capture_reset();
    free(h);
    return 0;
}

static int prefix_of(const struct sluice_option *o, const char *key)
{
    size_t n = strlen(o->name);
    return o->type == SLUICE_OPT_PREFIX && strncmp(key, o->name, n) == 0 && key[n] != 0;
}

static void set_value(const struct sluice_option *o, void *conf, const char *v)
{
    char *field = (char *)conf + o->offset;
    switch (o->type) {
    case SLUICE_OPT_STRING: {
        char *s = (char *)v;
        memcpy(field, &s, sizeof(s));
        break;
    }
    case SLUICE_OPT_BOOL: {
        int b = strcasecmp(v, "true") == 0;
        assert_true(b || strcasecmp(v, "false") == 0);
        memcpy(field, &b, sizeof(b));
        break;
    }
    case SLUICE_OPT_INT: {
        int64_t i = strtoll(v, NULL, 10);
        memcpy(field, &i, sizeof(i));
        break;
    }
    default:
        fail_msg("unexpected option type for %s", o->name);
    }
}

int ih_create(struct ih *h, const char *const *kv, struct sluice_err *err)
{
    ih_release(h);
    h->conf = calloc(1, sluice_plugin.conf_size);
    assert_non_null(h->conf);
    size_t n_kv = 0;
    while (kv && kv[n_kv])
        n_kv += 2;
    h->kv_items = calloc(n_kv / 2 + 1, sizeof(*h->kv_items));
    assert_non_null(h->kv_items);
    /* every key must be an option or under a prefix, as the agent would otherwise warn */
    for (size_t i = 0; i < n_kv; i += 2) {
        const struct sluice_option *o = sluice_plugin.options;
        while (o->name && strcmp(o->name, kv[i]) != 0 && !prefix_of(o, kv[i]))
            o++;
        if (!o->name)
            fail_msg("test uses unknown key %s", kv[i]);
    }
    for (const struct sluice_option *o = sluice_plugin.options; o->name; o++) {
        if (o->type == SLUICE_OPT_PREFIX) {
            struct sluice_kvlist *kl = (struct sluice_kvlist *)((char *)h->conf + o->offset);
            struct sluice_kv *items = h->kv_items;
            size_t k = 0;
            for (size_t i = 0; i < n_kv; i += 2) {
                if (!prefix_of(o, kv[i]))
                    continue;
                char origin[32];
                snprintf(origin, sizeof(origin), "test.conf:%zu", i / 2 + 1);
                items[k].key = kv[i] + strlen(o->name);
                items[k].value = kv[i + 1];
                items[k].origin = strdup(origin);
                assert_non_null(items[k].origin);
                k++;
            }
            kl->n = k;
            kl->items = k ? items : NULL;
            continue;
        }
        const char *v = o->def;
        for (size_t i = 0; i < n_kv; i += 2)
            if (strcmp(kv[i], o->name) == 0)
                v = kv[i + 1];
        if (v)
            set_value(o, h->conf, v);
    }
    memset(err, 0, sizeof(*err));
    int rc = ih_ops()->create(&h->self, h->conf, &h->host, &h->ctx, err);
    if (rc != SLUICE_OK)
        assert_null(h->self);
    return rc;
}

void ih_open(struct ih *h, const char *const *kv)
{
    struct sluice_err err;
    int rc = ih_create(h, kv, &err);
    if (rc != SLUICE_OK)
        fail_msg("create failed: %d %s", rc, err.msg);
}

struct sluice_event *ih_event(const char *body, const char *const *headers)
{
    struct sluice_event *ev = test_host.event_new(body, strlen(body));
    assert_non_null(ev);
    for (size_t i = 0; headers && headers[i]; i += 2)
        assert_int_equal(test_host.event_header_set(ev, headers[i], headers[i + 1]), SLUICE_OK);
    return ev;
}

struct sluice_event *ih_run(struct ih *h, struct sluice_event *ev)
{
    struct sluice_event *evs[1] = {ev};
    assert_int_equal(ih_ops()->intercept(h->self, evs, 1), 1);
    assert_ptr_equal(evs[0], ev);
    return ev;
}

struct sluice_event *ih_run_body(struct ih *h, const char *body)
{
    return ih_run(h, ih_event(body, NULL));
}

void ih_assert_header(const struct sluice_event *ev, const char *key, const char *want)
{
    const char *got = test_host.event_header_get(ev, key);
    if (!want && got)
        fail_msg("header %s: expected none, got \"%s\"", key, got);
    if (want && !got)
        fail_msg("header %s: expected \"%s\", got none", key, want);
    if (want && strcmp(want, got) != 0)
        fail_msg("header %s: expected \"%s\", got \"%s\"", key, want, got);
}

void ih_assert_body_len(const struct sluice_event *ev, const char *want, size_t len)
{
    if (ev->body_len != len || (len && memcmp(ev->body, want, len) != 0))
        fail_msg("body: expected \"%.*s\" (%zu bytes), got \"%.*s\" (%zu bytes)", (int)len, want,
                 len, (int)ev->body_len, (const char *)ev->body, ev->body_len);
}
