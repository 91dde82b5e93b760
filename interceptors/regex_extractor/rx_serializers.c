/*
 * regex_extractor's serializers (see rx_serializers.h): the configuration is checked here, at
 * create, with messages naming the key and its file:line, so a mistake Flume would only report
 * as a ClassNotFoundException (a lowercase `default` type) is pointed at directly.
 */
#include "rx_serializers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RX_WS " \t\n\v\f\r" /* Java's \s, which Flume splits the list on */

/* The item serializers.<id>.<sub>, or NULL. */
static const struct sluice_kv *find_item(const struct sluice_kvlist *items, const char *id,
                                         const char *sub)
{
    size_t il = strlen(id);
    for (size_t i = 0; i < items->n; i++) {
        const char *k = items->items[i].key;
        if (strncmp(k, id, il) == 0 && k[il] == '.' && strcmp(k + il + 1, sub) == 0)
            return &items->items[i];
    }
    return NULL;
}

static int in_list(const struct rx_serializers *s, const char *id, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i].id) == len && strncmp(s->v[i].id, id, len) == 0)
            return 1;
    return 0;
}

/* Warn about serializers.* keys that nothing reads (Flume ignores them silently). */
static void warn_unused(const struct rx_serializers *s, const struct sluice_kvlist *items,
                        const struct sluice_host *host, struct sluice_ctx *ctx)
{
    for (size_t i = 0; i < items->n; i++) {
        const struct sluice_kv *kv = &items->items[i];
        const char *dot = strchr(kv->key, '.');
        size_t idlen = dot ? (size_t)(dot - kv->key) : strlen(kv->key);
        if (!in_list(s, kv->key, idlen))
            host->log(ctx, SLUICE_LOG_WARN,
                      "%s: serializers.%s is ignored: '%.*s' is not in the serializers list",
                      kv->origin, kv->key, (int)idlen, kv->key);
        else if (!dot ||
                 (strcmp(dot + 1, "name") && strcmp(dot + 1, "type") && strcmp(dot + 1, "pattern")))
            host->log(ctx, SLUICE_LOG_WARN,
                      "%s: serializers.%s is ignored: a serializer takes name, type and pattern",
                      kv->origin, kv->key);
    }
}

static int build_one(struct rx_serializer *z, size_t group, const struct sluice_kvlist *items,
                     const struct sluice_host *host, struct sluice_ctx *ctx, struct sluice_err *err)
{
    const struct sluice_kv *name = find_item(items, z->id, "name");
    const struct sluice_kv *type = find_item(items, z->id, "type");
    const struct sluice_kv *pattern = find_item(items, z->id, "pattern");
    if (!name || !name->value[0])
        return host->err_set(err, SLUICE_ECONFIG,
                             "regex_extractor: serializers.%s.name is required (the header that "
                             "receives group %zu)",
                             z->id, group);
    z->header = name->value;
    if (!type || strcmp(type->value, "DEFAULT") == 0 ||
        strcmp(type->value, RX_PASSTHROUGH_CLASS) == 0) {
        if (pattern)
            host->log(ctx, SLUICE_LOG_WARN,
                      "%s: serializers.%s.pattern is ignored: serializer %s passes the group "
                      "text as it is (set serializers.%s.type = " RX_MILLIS_CLASS " to parse it)",
                      pattern->origin, z->id, z->id, z->id);
        return SLUICE_OK;
    }
    if (strcmp(type->value, RX_MILLIS_CLASS) != 0) {
        int lower_default = strcasecmp(type->value, "DEFAULT") == 0;
        return host->err_set(
            err, SLUICE_ECONFIG,
            "%s: serializers.%s.type: unknown serializer type '%.*s%s'%s; leave "
            "type out (or write DEFAULT) for the group text, or use " RX_MILLIS_CLASS,
            type->origin, z->id, (int)(strlen(type->value) > 60 ? 60 : strlen(type->value)),
            type->value, strlen(type->value) > 60 ? "..." : "",
            lower_default ? " (Flume compares DEFAULT case-sensitively)" : "");
    }
    z->millis = 1;
    if (!pattern || !pattern->value[0])
        return host->err_set(err, SLUICE_ECONFIG,
                             "%s: serializers.%s.pattern is required by the millis serializer "
                             "set in serializers.%s.type",
                             type->origin, z->id, z->id);
    z->pattern = pattern->value;
    char msg[200];
    int rc = joda_pattern_parse(&z->jp, pattern->value, msg, sizeof(msg));
    if (rc == -2)
        return host->err_set(err, SLUICE_ENOMEM, "regex_extractor: out of memory");
    if (rc != 0)
        return host->err_set(err, SLUICE_ECONFIG, "%s: serializers.%s.pattern: '%.*s%s': %s",
                             pattern->origin, z->id,
                             (int)(strlen(pattern->value) > 60 ? 60 : strlen(pattern->value)),
                             pattern->value, strlen(pattern->value) > 60 ? "..." : "", msg);
    return SLUICE_OK;
}

int rx_serializers_build(struct rx_serializers *s, const char *list,
                         const struct sluice_kvlist *items, const struct sluice_host *host,
                         struct sluice_ctx *ctx, struct sluice_err *err)
{
    memset(s, 0, sizeof(*s));
    size_t cap = 0;
    for (const char *p = list + strspn(list, RX_WS); *p; p += strspn(p, RX_WS)) {
        size_t len = strcspn(p, RX_WS);
        if (s->n == cap) {
            size_t c = cap ? cap * 2 : 4;
            struct rx_serializer *v = realloc(s->v, c * sizeof(*v));
            if (!v)
                return host->err_set(err, SLUICE_ENOMEM, "regex_extractor: out of memory");
            s->v = v;
            cap = c;
        }
        struct rx_serializer *z = &s->v[s->n];
        memset(z, 0, sizeof(*z));
        z->id = strndup(p, len);
        if (!z->id)
            return host->err_set(err, SLUICE_ENOMEM, "regex_extractor: out of memory");
        s->n++;
        p += len;
    }
    if (s->n == 0)
        return host->err_set(err, SLUICE_ECONFIG,
                             "regex_extractor: serializers is required: the names of one "
                             "serializer per regex group, separated by spaces");
    for (size_t i = 0; i < s->n; i++) {
        int rc = build_one(&s->v[i], i + 1, items, host, ctx, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    warn_unused(s, items, host, ctx);
    return SLUICE_OK;
}

void rx_serializers_free(struct rx_serializers *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        joda_pattern_free(&s->v[i].jp);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int rx_serialize(struct rx_serializer *s, const char *text, size_t len, char *out, size_t out_len,
                 const char **value, char *msg, size_t msg_len)
{
    if (!s->millis) {
        *value = text;
        return 0;
    }
    int64_t ms;
    if (joda_pattern_millis(&s->jp, text, len, &ms, msg, msg_len) != 0)
        return -1;
    snprintf(out, out_len, "%" PRId64, ms);
    *value = out;
    return 0;
}
