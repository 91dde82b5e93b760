/*
 * Plugin discovery and loading. Every failure names the file: cannot open, no `sluice_plugin`
 * symbol, ABI major mismatch, a newer minor, a struct too small, an unknown kind, a missing
 * required callback, or a bad option table.
 */
#include "plugin_registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"

void registry_init(struct registry *r)
{
    memset(r, 0, sizeof(*r));
}

void registry_free(struct registry *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        if (r->v[i].handle)
            dlclose(r->v[i].handle);
    }
    free(r->v);
    for (size_t i = 0; i < r->n_problems; i++)
        free(r->problems[i]);
    free(r->problems);
    memset(r, 0, sizeof(*r));
}

const char *kind_name(enum sluice_kind kind)
{
    switch (kind) {
    case SLUICE_KIND_SOURCE:
        return "source";
    case SLUICE_KIND_CHANNEL:
        return "channel";
    case SLUICE_KIND_SINK:
        return "sink";
    case SLUICE_KIND_INTERCEPTOR:
        return "interceptor";
    }
    return "?";
}

static int check_options(const struct sluice_plugin *p, const char *path, struct sluice_err *err)
{
    if (!p->options)
        return SLUICE_OK;
    for (const struct sluice_option *o = p->options; o->name; o++) {
        if (o->type < SLUICE_OPT_STRING || o->type > SLUICE_OPT_UNSUPPORTED)
            return err_set(err, SLUICE_EABI, "%s: option '%s' has an unknown type %d", path,
                           o->name, (int)o->type);
        if (o->type == SLUICE_OPT_ENUM && !o->choices)
            return err_set(err, SLUICE_EABI, "%s: enum option '%s' has no choices", path, o->name);
        if (o->type != SLUICE_OPT_UNSUPPORTED) {
            size_t sz = o->type == SLUICE_OPT_PREFIX   ? sizeof(struct sluice_kvlist)
                        : o->type == SLUICE_OPT_STRING ? sizeof(char *)
                        : o->type == SLUICE_OPT_INT    ? sizeof(int64_t)
                        : o->type == SLUICE_OPT_DOUBLE ? sizeof(double)
                                                       : sizeof(int);
            if (o->offset + sz > p->conf_size)
                return err_set(err, SLUICE_EABI,
                               "%s: option '%s' lies outside the conf struct (offset %zu, "
                               "conf_size %zu)",
                               path, o->name, o->offset, p->conf_size);
        }
    }
    return SLUICE_OK;
}

int plugin_check_descriptor(const struct sluice_plugin *p, const char *path, struct sluice_err *err)
{
    if (p->abi_major != SLUICE_ABI_MAJOR)
        return err_set(err, SLUICE_EABI, "%s: built for plugin ABI %u, this agent speaks %u", path,
                       p->abi_major, SLUICE_ABI_MAJOR);
    if (p->abi_minor > SLUICE_ABI_MINOR)
        return err_set(err, SLUICE_EABI,
                       "%s: built for plugin ABI %u.%u, newer than this agent's %u.%u; "
                       "upgrade sluice",
                       path, p->abi_major, p->abi_minor, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    if (p->struct_size < sizeof(struct sluice_plugin))
        return err_set(err, SLUICE_EABI, "%s: descriptor too small (%u bytes, expected %zu)", path,
                       p->struct_size, sizeof(struct sluice_plugin));
    if (!p->name || !*p->name)
        return err_set(err, SLUICE_EABI, "%s: descriptor has no name", path);
    if (!p->ops)
        return err_set(err, SLUICE_EABI, "%s: plugin '%s' has no ops", path, p->name);
    const char *missing = NULL;
    switch (p->kind) {
    case SLUICE_KIND_SOURCE: {
        const struct sluice_source_ops *o = p->ops;
        missing = !o->create ? "create" : !o->destroy ? "destroy" : NULL;
        break;
    }
    case SLUICE_KIND_CHANNEL: {
        const struct sluice_channel_ops *o = p->ops;
        missing = !o->create     ? "create"
                  : !o->destroy  ? "destroy"
                  : !o->tx_begin ? "tx_begin"
                  : !o->put      ? "put"
                  : !o->take     ? "take"
                  : !o->commit   ? "commit"
                  : !o->rollback ? "rollback"
                  : !o->tx_free  ? "tx_free"
                  : !o->size     ? "size"
                                 : NULL;
        break;
    }
    case SLUICE_KIND_SINK: {
        const struct sluice_sink_ops *o = p->ops;
        missing = !o->create ? "create" : !o->process ? "process" : !o->destroy ? "destroy" : NULL;
        break;
    }
    case SLUICE_KIND_INTERCEPTOR: {
        const struct sluice_interceptor_ops *o = p->ops;
        missing = !o->create      ? "create"
                  : !o->intercept ? "intercept"
                  : !o->destroy   ? "destroy"
                                  : NULL;
        break;
    }
    default:
        return err_set(err, SLUICE_EABI, "%s: plugin '%s' has an unknown kind %u", path, p->name,
                       p->kind);
    }
    if (missing)
        return err_set(err, SLUICE_EABI, "%s: %s plugin '%s' lacks the required callback %s", path,
                       kind_name(p->kind), p->name, missing);
    return check_options(p, path, err);
}

static int name_matches(const struct sluice_plugin *p, const char *type)
{
    if (strcasecmp(p->name, type) == 0)
        return 1;
    for (const char *const *a = p->aliases; a && *a; a++)
        if (strcasecmp(*a, type) == 0)
            return 1;
    return 0;
}

const struct plugin_entry *registry_find(const struct registry *r, enum sluice_kind kind,
                                         const char *type)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].desc->kind == (uint32_t)kind && name_matches(r->v[i].desc, type))
            return &r->v[i];
    return NULL;
}

static void add_problem(struct registry *r, const char *msg)
{
    char **p = realloc(r->problems, (r->n_problems + 1) * sizeof(*p));
    if (!p)
        return;
    r->problems = p;
    r->problems[r->n_problems] = strdup(msg);
    if (r->problems[r->n_problems])
        r->n_problems++;
}

int registry_load_file(struct registry *r, const char *path, struct sluice_err *err)
{
    /* RTLD_NODELETE: a plugin stays mapped after dlclose, so the global state of the libraries
     * it brought in (librdkafka) stays reachable and the leak checker sees no false leaks */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        const char *e = dlerror();
        return err_set(err, SLUICE_EABI, "%s: cannot load: %s", path, e ? e : "unknown error");
    }
    dlerror();
    const struct sluice_plugin *p = dlsym(h, "sluice_plugin");
    if (!p) {
        dlclose(h);
        return err_set(err, SLUICE_EABI, "%s: not a sluice plugin (no 'sluice_plugin' symbol)",
                       path);
    }
    int rc = plugin_check_descriptor(p, path, err);
    if (rc != SLUICE_OK) {
        dlclose(h);
        return rc;
    }
    /* first one found wins; a clash between two names of different plugins is reported */
    for (size_t i = 0; i < r->n; i++) {
        const struct sluice_plugin *q = r->v[i].desc;
        if (q->kind != p->kind)
            continue;
        int clash = name_matches(q, p->name);
        for (const char *const *a = p->aliases; !clash && a && *a; a++)
            clash = name_matches(q, *a);
        if (clash) {
            LOG_DEBUG("plugin %s (%s '%s') is shadowed by %s", path, kind_name(p->kind), p->name,
                      r->v[i].path);
            dlclose(h);
            return SLUICE_OK;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct plugin_entry *v = realloc(r->v, cap * sizeof(*v));
        if (!v) {
            dlclose(h);
            return err_set(err, SLUICE_ENOMEM, "%s: out of memory", path);
        }
        r->v = v;
        r->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) {
        dlclose(h);
        return err_set(err, SLUICE_ENOMEM, "%s: out of memory", path);
    }
    r->v[r->n++] = (struct plugin_entry){.desc = p, .path = copy, .handle = h};
    return SLUICE_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void registry_scan_dir(struct registry *r, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn)
            break;
        names = nn;
        if ((names[n] = strdup(de->d_name)))
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path)) {
            struct sluice_err err = {0};
            if (registry_load_file(r, path, &err) != SLUICE_OK) {
                LOG_ERROR("%s", err.msg);
                add_problem(r, err.msg);
            }
        }
        free(names[i]);
    }
    free(names);
}

static void scan_list(struct registry *r, const char *list)
{
    if (!list)
        return;
    char *copy = strdup(list);
    if (!copy)
        return;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        if (*dir)
            registry_scan_dir(r, dir);
    free(copy);
}

/* True when /proc/self/exe lives in the meson build root this agent was compiled for. */
static int running_from_build_tree(void)
{
    char exe[PATH_MAX], root[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return 0;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    *slash = 0;
    if (!realpath(SLUICE_BUILD_ROOT, root))
        return 0;
    char exedir[PATH_MAX];
    if (!realpath(exe, exedir))
        return 0;
    return strcmp(exedir, root) == 0;
}

static void scan_build_tree(struct registry *r)
{
    static const char *const kinds[] = {"sources", "channels", "sinks", "interceptors"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/%s", SLUICE_BUILD_ROOT, kinds[k]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *de;
        char **subs = NULL;
        size_t n = 0;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char **nn = realloc(subs, (n + 1) * sizeof(*nn));
            if (!nn)
                break;
            subs = nn;
            if ((subs[n] = strdup(de->d_name)))
                n++;
        }
        closedir(d);
        if (n > 1)
            qsort(subs, n, sizeof(*subs), cmp_str);
        for (size_t i = 0; i < n; i++) {
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]) < (int)sizeof(sub))
                registry_scan_dir(r, sub);
            free(subs[i]);
        }
        free(subs);
    }
}

void registry_load_default(struct registry *r, const char *path_list)
{
    scan_list(r, path_list);
    scan_list(r, getenv("SLUICE_PLUGIN_PATH"));
    if (running_from_build_tree())
        scan_build_tree(r);
    registry_scan_dir(r, SLUICE_PLUGINDIR);
}

void registry_names(const struct registry *r, enum sluice_kind kind, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].desc->kind != (uint32_t)kind)
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", r->v[i].desc->name);
        if (n < 0 || (size_t)n >= len - off) {
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        off += (size_t)n;
    }
    if (off == 0)
        snprintf(buf, len, "(none installed)");
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

const char *registry_suggest(const struct registry *r, enum sluice_kind kind, const char *type)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].desc->kind != (uint32_t)kind)
            continue;
        size_t d = edit_distance(type, r->v[i].desc->name);
        if (d < best_d) {
            best_d = d;
            best = r->v[i].desc->name;
        }
    }
    return best;
}
