/*
 * The `uuid` interceptor: Flume's UUIDInterceptor (morphline-solr-sink; Flume has no short name
 * for it, sluice calls it `uuid`). Sets a header (default `id`) to prefix + a random version 4
 * UUID in Java's UUID.toString() form (36 lowercase characters), unless preserveExisting (the
 * default) is set and the event has it. Random bytes come from getrandom() in blocks of 256
 * UUIDs, so there is no system call per event.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sluice/plugin.h"

#define UU_BLOCK           (256 * 16) /* random bytes fetched at a time */
#define UU_TEXT_LEN        36
#define UU_ERROR_LOG_EVERY 1000

struct uu_conf {
    char *header_name;
    int preserve_existing;
    char *prefix;
};

struct uu {
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *header; /* points into the conf, which outlives us */
    int preserve;
    size_t prefix_len;
    char *value; /* prefix, then room for the UUID text and a NUL */
    uint8_t pool[UU_BLOCK];
    size_t pool_used; /* bytes of pool already handed out */
    uint64_t errors;
};

/* Fill buf with n random bytes: getrandom(), or /dev/urandom where that is missing. */
static int uu_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

/* Write the next UUID's text at out (36 characters, no NUL); -1 when no randomness. */
static int uu_next(struct uu *uu, char *out)
{
    static const char hex[] = "0123456789abcdef";
    if (uu->pool_used + 16 > sizeof(uu->pool)) {
        if (uu_random(uu->pool, sizeof(uu->pool)) != 0)
            return -1;
        uu->pool_used = 0;
    }
    uint8_t b[16];
    memcpy(b, uu->pool + uu->pool_used, 16);
    memset(uu->pool + uu->pool_used, 0, 16); /* never hand out the same bytes twice */
    uu->pool_used += 16;
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* IETF variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0F];
    }
    return 0;
}

static size_t uu_intercept(void *self, struct sluice_event **evs, size_t n)
{
    struct uu *uu = self;
    for (size_t i = 0; i < n; i++) {
        if (uu->preserve && uu->host->event_header_get(evs[i], uu->header))
            continue;
        const char *why = NULL;
        if (uu_next(uu, uu->value + uu->prefix_len) != 0)
            why = "no random bytes available";
        else if (uu->host->event_header_set(evs[i], uu->header, uu->value) != SLUICE_OK)
            why = "out of memory";
        if (why && uu->errors++ % UU_ERROR_LOG_EVERY == 0)
            uu->host->log(uu->ctx, SLUICE_LOG_WARN,
                          "%s setting header %s; event passed without it errors=%" PRIu64, why,
                          uu->header, uu->errors);
    }
    return n;
}

static void uu_destroy(void *self)
{
    struct uu *uu = self;
    if (!uu)
        return;
    free(uu->value);
    free(uu);
}

static int uu_create(void **self, const void *conf_, const struct sluice_host *host,
                     struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct uu_conf *conf = conf_;
    *self = NULL;
    struct uu *uu = calloc(1, sizeof(*uu));
    if (!uu)
        return host->err_set(err, SLUICE_ENOMEM, "uuid: out of memory");
    uu->host = host;
    uu->ctx = ctx;
    uu->header = conf->header_name ? conf->header_name : "id";
    uu->preserve = conf->preserve_existing != 0;
    const char *prefix = conf->prefix ? conf->prefix : "";
    uu->prefix_len = strlen(prefix);
    uu->value = malloc(uu->prefix_len + UU_TEXT_LEN + 1);
    if (!uu->value) {
        uu_destroy(uu);
        return host->err_set(err, SLUICE_ENOMEM, "uuid: out of memory");
    }
    memcpy(uu->value, prefix, uu->prefix_len);
    uu->value[uu->prefix_len + UU_TEXT_LEN] = 0;
    uu->pool_used = sizeof(uu->pool); /* empty: filled on first use */
    if (uu_random(uu->pool, 16) != 0) {
        uu_destroy(uu);
        return host->err_set(err, SLUICE_EIO,
                             "uuid: no source of random bytes (getrandom and /dev/urandom failed)");
    }
    host->log(ctx, SLUICE_LOG_INFO,
              "Creating UUIDInterceptor: headerName=%s,preserveExisting=%s,prefix=%s", uu->header,
              uu->preserve ? "true" : "false", prefix);
    *self = uu;
    return SLUICE_OK;
}

/* ---- Descriptor ---------------------------------------------------------------------------- */

static const struct sluice_interceptor_ops uu_ops = {
    .create = uu_create,
    .intercept = uu_intercept,
    .destroy = uu_destroy,
};

static const struct sluice_option uu_options[] = {
    {.name = "headerName",
     .type = SLUICE_OPT_STRING,
     .def = "id",
     .desc = "Header that receives prefix + a random version 4 UUID (36 characters).",
     .offset = offsetof(struct uu_conf, header_name)},
    {.name = "preserveExisting",
     .type = SLUICE_OPT_BOOL,
     .def = "true",
     .desc = "true leaves an event that already has the header unchanged; false overwrites it.",
     .offset = offsetof(struct uu_conf, preserve_existing)},
    {.name = "prefix",
     .type = SLUICE_OPT_STRING,
     .def = "",
     .desc = "Text put before the UUID in the header value.",
     .offset = offsetof(struct uu_conf, prefix)},
    {.name = NULL},
};

static const char *const uu_aliases[] = {
    "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder",
    NULL,
};

SLUICE_PLUGIN_EXPORT const struct sluice_plugin sluice_plugin = {
    SLUICE_PLUGIN_INIT(SLUICE_KIND_INTERCEPTOR, "uuid"),
    .aliases = uu_aliases,
    .summary = "Set a header to a random UUID (version 4), optionally prefixed",
    .options = uu_options,
    .conf_size = sizeof(struct uu_conf),
    .ops = &uu_ops,
};
