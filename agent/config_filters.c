/*
 * Config filters (see config_filters.h). The `external` filter runs its command (split on white
 * space, no shell) with the key as the last argument and takes the first line of its output;
 * a failure is logged and the reference is left as written, as Flume does.
 */
#include "config_filters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CF_ENV = 1, CF_EXTERNAL = 2 };

static int parse_type(const char *t)
{
    if (!strcasecmp(t, "env") ||
        !strcmp(t, "org.apache.flume.configfilter.EnvironmentVariableConfigFilter"))
        return CF_ENV;
    if (!strcasecmp(t, "external") ||
        !strcmp(t, "org.apache.flume.configfilter.ExternalProcessConfigFilter"))
        return CF_EXTERNAL;
    return 0;
}

int config_filters_build(struct config_filters *cf, const char *list, const char *list_origin,
                         const struct props *keys, struct diag_list *dl)
{
    memset(cf, 0, sizeof(*cf));
    char *copy = strdup(list);
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *name = strtok_r(copy, " \t", &save); name; name = strtok_r(NULL, " \t", &save)) {
        char k[300];
        snprintf(k, sizeof(k), "%s.type", name);
        struct prop *t = props_find(keys, k);
        if (!t) {
            diag_add(dl, SLUICE_LOG_WARN, "%s: config filter '%s' has no type; ignored",
                     list_origin, name);
            continue;
        }
        t->used = 1;
        int type = parse_type(t->value);
        if (!type) {
            diag_add(dl, SLUICE_LOG_ERROR,
                     "%s: %s: config filter type '%s' is not offered by sluice (supported: env, "
                     "external)",
                     t->origin, t->full_key, t->value);
            rc = -1;
            continue;
        }
        struct config_filter *v = realloc(cf->v, (cf->n + 1) * sizeof(*v));
        if (!v) {
            rc = -1;
            break;
        }
        cf->v = v;
        struct config_filter *f = &cf->v[cf->n];
        memset(f, 0, sizeof(*f));
        f->name = strdup(name);
        f->type = type;
        snprintf(f->origin, sizeof(f->origin), "%s", t->origin);
        cf->n++;
        if (type == CF_EXTERNAL) {
            snprintf(k, sizeof(k), "%s.command", name);
            struct prop *c = props_find(keys, k);
            if (!c) {
                diag_add(dl, SLUICE_LOG_ERROR, "%s: external config filter '%s' needs a command",
                         t->origin, name);
                rc = -1;
                continue;
            }
            c->used = 1;
            f->command = strdup(c->value);
        }
        snprintf(k, sizeof(k), "%s.charset", name);
        struct prop *cs = props_find(keys, k);
        if (cs)
            cs->used = 1;
    }
    free(copy);
    return rc;
}

/* Run the external command with key appended; first line of stdout, or NULL. */
static char *run_external(const struct config_filter *f, const char *key, struct diag_list *dl)
{
    char *argv[64];
    int argc = 0;
    char *copy = strdup(f->command);
    if (!copy)
        return NULL;
    char *save = NULL;
    for (char *a = strtok_r(copy, " \t", &save); a && argc < 62; a = strtok_r(NULL, " \t", &save))
        argv[argc++] = a;
    argv[argc++] = (char *)key;
    argv[argc] = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        free(copy);
        return NULL;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while (pid > 0 && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    out[n] = 0;
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    free(copy);
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        diag_add(dl, SLUICE_LOG_ERROR, "config filter %s: command '%s %s' failed (status %d)",
                 f->name, f->command, key, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return NULL;
    }
    out[strcspn(out, "\r\n")] = 0;
    return strdup(out);
}

static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

char *config_filters_apply(const struct config_filters *cf, const char *value, const char *origin,
                           const char *key, struct diag_list *dl)
{
    if (!cf->n || !strstr(value, "${"))
        return NULL;
    char *cur = strdup(value);
    int changed = 0;
    for (size_t i = 0; cur && i < cf->n; i++) {
        const struct config_filter *f = &cf->v[i];
        size_t nl = strlen(f->name);
        char *p = cur;
        while ((p = strstr(p, "${"))) {
            const char *q = p + 2;
            if (strncmp(q, f->name, nl) != 0 || q[nl] != '[') {
                p += 2;
                continue;
            }
            q += nl + 1;
            char quote = (*q == '\'' || *q == '"') ? *q++ : 0;
            const char *ks = q;
            while (key_char(*q))
                q++;
            size_t klen = (size_t)(q - ks);
            if (klen == 0 || (quote && *q++ != quote) || *q++ != ']' || *q++ != '}') {
                p += 2;
                continue;
            }
            char *k = strndup(ks, klen);
            char *val = NULL;
            if (k && f->type == CF_ENV) {
                const char *e = getenv(k);
                val = e ? strdup(e) : NULL;
            } else if (k) {
                val = run_external(f, k, dl);
            }
            if (!val) {
                diag_add(dl, SLUICE_LOG_WARN,
                         "%s: %s: config filter %s has no value for '%s'; "
                         "left as written",
                         origin, key, f->name, k ? k : "?");
                free(k);
                p += 2;
                continue;
            }
            size_t head = (size_t)(p - cur), vl = strlen(val), tail = strlen(q);
            char *next = malloc(head + vl + tail + 1);
            if (next) {
                memcpy(next, cur, head);
                memcpy(next + head, val, vl);
                memcpy(next + head + vl, q, tail + 1);
                p = next + head + vl;
                changed = 1;
            }
            free(cur);
            free(val);
            free(k);
            cur = next;
            if (!cur)
                break;
        }
    }
    if (!changed) {
        free(cur);
        return NULL;
    }
    return cur;
}

void config_filters_free(struct config_filters *cf)
{
    for (size_t i = 0; i < cf->n; i++) {
        free(cf->v[i].name);
        free(cf->v[i].command);
    }
    free(cf->v);
    memset(cf, 0, sizeof(*cf));
}
