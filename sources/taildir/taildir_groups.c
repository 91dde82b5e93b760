/*
 * File groups of the taildir source: `filegroups` names them, `filegroups.<g>` gives each an
 * absolute path whose directory part is literal and whose file-name part is a regex that must
 * match the whole name (Java's Pattern.matches, here PCRE2 anchored at both ends), and
 * `headers.<g>.<key>` adds static headers to the group's events.
 */
#include <stdlib.h>
#include <string.h>

#include "taildir_source.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const struct sluice_kv *find_kv(const struct sluice_kvlist *kl, const char *key)
{
    for (size_t i = 0; i < kl->n; i++)
        if (strcmp(kl->items[i].key, key) == 0)
            return &kl->items[i];
    return NULL;
}

static int add_group(struct td_group **groups, size_t *n, const char *name, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*groups)[i].name) == len && memcmp((*groups)[i].name, name, len) == 0)
            return 1; /* listed twice: once is enough */
    struct td_group *v = realloc(*groups, (*n + 1) * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    *groups = v;
    struct td_group *g = &v[*n];
    memset(g, 0, sizeof(*g));
    g->wd = -1;
    (*n)++;
    if (!(g->name = strndup(name, len)))
        return SLUICE_ENOMEM;
    return 0;
}

static int compile_group(struct td_group *g, const struct sluice_kv *kv,
                         const struct sluice_host *host, struct sluice_err *err)
{
    const char *path = kv->value;
    if (path[0] != '/')
        return host->err_set(err, SLUICE_ECONFIG, "%s: filegroups.%s: '%s' is not an absolute path",
                             kv->origin, g->name, path);
    const char *slash = strrchr(path, '/');
    if (!slash[1])
        return host->err_set(err, SLUICE_ECONFIG,
                             "%s: filegroups.%s: '%s' has no file-name pattern after the last "
                             "'/'",
                             kv->origin, g->name, path);
    size_t dlen = (size_t)(slash - path);
    g->dir = dlen ? strndup(path, dlen) : strdup("/");
    g->pattern = strdup(slash + 1);
    if (!g->dir || !g->pattern)
        return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory");
    int code;
    PCRE2_SIZE off;
    g->re =
        pcre2_compile((PCRE2_SPTR)g->pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
    if (!g->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return host->err_set(err, SLUICE_ECONFIG,
                             "%s: filegroups.%s: bad file-name regex '%s' at offset %zu: %s",
                             kv->origin, g->name, g->pattern, (size_t)off, (char *)msg);
    }
    if (!(g->md = pcre2_match_data_create_from_pattern(g->re, NULL)))
        return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory");
    return 0;
}

static int add_header(struct td_group *g, const char *key, const char *value)
{
    struct td_header *v = realloc(g->headers, (g->n_headers + 1) * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    g->headers = v;
    v[g->n_headers].key = strdup(key);
    v[g->n_headers].value = strdup(value);
    g->n_headers++;
    return v[g->n_headers - 1].key && v[g->n_headers - 1].value ? 0 : SLUICE_ENOMEM;
}

/* headers.<g>.<key>: the longest listed group name followed by '.' wins. */
static int parse_headers(const struct taildir_conf *conf, const struct sluice_host *host,
                         struct sluice_ctx *ctx, struct td_group *groups, size_t n,
                         struct sluice_err *err)
{
    for (size_t i = 0; i < conf->headers.n; i++) {
        const struct sluice_kv *kv = &conf->headers.items[i];
        struct td_group *best = NULL;
        size_t best_len = 0;
        for (size_t k = 0; k < n; k++) {
            size_t len = strlen(groups[k].name);
            if (len > best_len && strncmp(kv->key, groups[k].name, len) == 0 &&
                kv->key[len] == '.' && kv->key[len + 1]) {
                best = &groups[k];
                best_len = len;
            }
        }
        if (!best) {
            host->log(ctx, SLUICE_LOG_WARN,
                      "%s: headers.%s ignored: expected headers.<filegroup>.<header> with a "
                      "file group listed in filegroups",
                      kv->origin, kv->key);
            continue;
        }
        if (add_header(best, kv->key + best_len + 1, kv->value))
            return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory");
    }
    return 0;
}

int td_groups_parse(const struct taildir_conf *conf, const struct sluice_host *host,
                    struct sluice_ctx *ctx, struct td_group **groups_out, size_t *n_out,
                    struct sluice_err *err)
{
    struct td_group *groups = NULL;
    size_t n = 0;
    int rc = 0;
    *groups_out = NULL;
    *n_out = 0;
    const char *p = conf->filegroups ? conf->filegroups : "";
    while (*p && rc >= 0) {
        while (*p && is_space(*p))
            p++;
        const char *start = p;
        while (*p && !is_space(*p))
            p++;
        if (p > start && (rc = add_group(&groups, &n, start, (size_t)(p - start))) == 1) {
            host->log(ctx, SLUICE_LOG_WARN, "filegroups: group '%.*s' is listed twice",
                      (int)(p - start), start);
            rc = 0;
        }
    }
    *groups_out = groups;
    *n_out = n;
    if (rc < 0)
        return host->err_set(err, SLUICE_ENOMEM, "taildir: out of memory");
    if (n == 0)
        return host->err_set(err, SLUICE_ECONFIG, "filegroups: names no file group");
    for (size_t i = 0; i < n; i++) {
        const struct sluice_kv *kv = find_kv(&conf->filegroup_paths, groups[i].name);
        if (!kv)
            return host->err_set(err, SLUICE_ECONFIG,
                                 "filegroups.%s: required key is missing (file group '%s' is "
                                 "listed in filegroups)",
                                 groups[i].name, groups[i].name);
        if ((rc = compile_group(&groups[i], kv, host, err)) != 0)
            return rc;
    }
    for (size_t i = 0; i < conf->filegroup_paths.n; i++) {
        const struct sluice_kv *kv = &conf->filegroup_paths.items[i];
        int listed = 0;
        for (size_t k = 0; k < n && !listed; k++)
            listed = strcmp(groups[k].name, kv->key) == 0;
        if (!listed)
            host->log(ctx, SLUICE_LOG_WARN,
                      "%s: filegroups.%s ignored: '%s' is not listed in filegroups", kv->origin,
                      kv->key, kv->key);
    }
    return parse_headers(conf, host, ctx, groups, n, err);
}

int td_group_match(struct td_group *g, const char *name)
{
    return pcre2_match(g->re, (PCRE2_SPTR)name, strlen(name), 0, 0, g->md, NULL) >= 0;
}

void td_groups_free(struct td_group *groups, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct td_group *g = &groups[i];
        free(g->name);
        free(g->dir);
        free(g->pattern);
        if (g->md)
            pcre2_match_data_free(g->md);
        if (g->re)
            pcre2_code_free(g->re);
        for (size_t k = 0; k < g->n_headers; k++) {
            free(g->headers[k].key);
            free(g->headers[k].value);
        }
        free(g->headers);
        for (size_t k = 0; k < g->n_names; k++)
            free(g->names[k]);
        free(g->names);
    }
    free(groups);
}
