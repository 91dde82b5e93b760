/*
 * ${...} substitution (see config_substitute.h). A bare name resolves against the whole merged
 * configuration, recursively — a strict superset of Flume 1.10's hash-order-dependent lookup —
 * then against the environment, as the 1.9 EnvVarResolverProperties did.
 */
#include "config_substitute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define SUBST_MAX_DEPTH 16

struct buf {
    char *p;
    size_t n, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return SLUICE_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return SLUICE_OK;
}

/* A config-filter reference: NAME['KEY'], NAME["KEY"] or NAME[KEY], KEY in [-_a-zA-Z0-9]+. */
static int is_filter_ref(const char *s)
{
    const char *b = strchr(s, '[');
    if (!b || b == s)
        return 0;
    size_t n = strlen(s);
    return s[n - 1] == ']';
}

/* Find the '}' closing the "${" that starts at s (s points after "${"); handles nesting. */
static const char *find_close(const char *s)
{
    int depth = 1;
    for (; *s; s++) {
        if (s[0] == '$' && s[1] == '{') {
            depth++;
            s++;
        } else if (*s == '}') {
            if (--depth == 0)
                return s;
        }
    }
    return NULL;
}

int subst_string(const char *in, subst_lookup_fn lookup, void *ud, subst_lookup_fn sys,
                 void *sys_ud, int depth, char **out, char *unresolved, size_t unresolved_len)
{
    struct buf b = {0};
    int rc = buf_add(&b, "", 0);
    if (depth > SUBST_MAX_DEPTH) {
        free(b.p);
        return SLUICE_ECONFIG;
    }
    const char *s = in;
    while (rc == SLUICE_OK && *s) {
        if (s[0] == '$' && s[1] == '$' && s[2] == '{') { /* escaped: literal ${ */
            rc = buf_add(&b, "${", 2);
            s += 3;
            continue;
        }
        const char *close = s[0] == '$' && s[1] == '{' ? find_close(s + 2) : NULL;
        if (!close) {
            rc = buf_add(&b, s, 1);
            s++;
            continue;
        }
        /* the name itself may contain substitutions */
        char *raw = strndup(s + 2, (size_t)(close - s - 2));
        char *name = NULL;
        if (!raw) {
            rc = SLUICE_ENOMEM;
            break;
        }
        rc = subst_string(raw, lookup, ud, sys, sys_ud, depth + 1, &name, unresolved,
                          unresolved_len);
        free(raw);
        if (rc != SLUICE_OK)
            break;
        const char *val = NULL;
        if (strncmp(name, "env:", 4) == 0)
            val = getenv(name + 4);
        else if (strncmp(name, "sys:", 4) == 0)
            val = sys ? sys(sys_ud, name + 4) : NULL;
        else if (!is_filter_ref(name) && !strchr(name, ':')) {
            val = lookup ? lookup(ud, name) : NULL;
            if (!val)
                val = getenv(name);
        }
        if (val) {
            char *resolved = NULL;
            rc = subst_string(val, lookup, ud, sys, sys_ud, depth + 1, &resolved, unresolved,
                              unresolved_len);
            if (rc == SLUICE_OK)
                rc = buf_add(&b, resolved, strlen(resolved));
            free(resolved);
        } else {
            /* left as written (with its name resolved), as commons-text does */
            if (!is_filter_ref(name) && unresolved && !unresolved[0])
                snprintf(unresolved, unresolved_len, "%s", name);
            rc = buf_add(&b, "${", 2);
            if (rc == SLUICE_OK)
                rc = buf_add(&b, name, strlen(name));
            if (rc == SLUICE_OK)
                rc = buf_add(&b, "}", 1);
        }
        free(name);
        s = close + 1;
    }
    if (rc != SLUICE_OK) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return SLUICE_OK;
}

/* A bare name looks up another key of the merged configuration. */
static const char *conf_lookup(void *ud, const char *name)
{
    const struct conf_set *cs = ud;
    const struct conf_entry *e = conf_set_get(cs, name);
    return e ? e->value : NULL;
}

int conf_substitute(struct conf_set *cs, subst_lookup_fn sys, void *sys_ud, struct diag_list *dl,
                    struct sluice_err *err)
{
    /* resolve against the values as they were read, then replace them all at once */
    char **resolved = calloc(cs->n ? cs->n : 1, sizeof(*resolved));
    if (!resolved)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    int rc = SLUICE_OK;
    for (size_t i = 0; i < cs->n && rc == SLUICE_OK; i++) {
        struct conf_entry *e = &cs->v[i];
        if (!strstr(e->value, "${"))
            continue;
        char unresolved[256] = "";
        rc = subst_string(e->value, conf_lookup, cs, sys, sys_ud, 0, &resolved[i], unresolved,
                          sizeof(unresolved));
        if (rc == SLUICE_ECONFIG) {
            err_set(err, rc, "%s:%d: %s: ${...} substitution does not end (a loop?) in '%s'",
                    e->file, e->line, e->key, e->value);
        } else if (rc != SLUICE_OK) {
            err_set(err, rc, "out of memory");
        } else if (unresolved[0] && dl) {
            diag_add(dl, SLUICE_LOG_WARN, "%s:%d: %s: ${%s} is not defined; left as written",
                     e->file, e->line, e->key, unresolved);
        }
    }
    for (size_t i = 0; i < cs->n; i++) {
        if (!resolved[i])
            continue;
        if (rc == SLUICE_OK) {
            free(cs->v[i].value);
            cs->v[i].value = resolved[i];
        } else {
            free(resolved[i]);
        }
    }
    free(resolved);
    return rc;
}
