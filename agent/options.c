/*
 * Option parsing from a plugin's table (see options.h). The agent, not the plugin, turns
 * text into typed values, so every plugin gets the same error messages and defaults can never
 * be parsed differently from user input.
 */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"

const char *options_type_name(enum sluice_opt_type t)
{
    switch (t) {
    case SLUICE_OPT_STRING:
        return "string";
    case SLUICE_OPT_INT:
        return "integer";
    case SLUICE_OPT_BOOL:
        return "boolean";
    case SLUICE_OPT_DOUBLE:
        return "number";
    case SLUICE_OPT_ENUM:
        return "choice";
    case SLUICE_OPT_PREFIX:
        return "prefix";
    case SLUICE_OPT_UNSUPPORTED:
        return "unsupported";
    }
    return "?";
}

/* Parse text into the field for option o. `where` prefixes error messages. */
static int parse_value(const struct sluice_option *o, const char *text, void *conf,
                       const char *where, struct sluice_err *err)
{
    char *field = (char *)conf + o->offset;
    switch (o->type) {
    case SLUICE_OPT_STRING: {
        char *s = strdup(text);
        if (!s)
            return err_set(err, SLUICE_ENOMEM, "%s: out of memory", where);
        free(*(char **)field);
        *(char **)field = s;
        return SLUICE_OK;
    }
    case SLUICE_OPT_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end || errno == ERANGE)
            return err_set(err, SLUICE_ECONFIG, "%s: '%s' is not a whole number", where, text);
        if (o->min < o->max && (v < o->min || v > o->max))
            return err_set(err, SLUICE_ECONFIG,
                           "%s: must be between %" PRId64 " and %" PRId64 " (got %lld)", where,
                           o->min, o->max, v);
        *(int64_t *)field = v;
        return SLUICE_OK;
    }
    case SLUICE_OPT_BOOL:
        if (strcasecmp(text, "true") == 0)
            *(int *)field = 1;
        else if (strcasecmp(text, "false") == 0)
            *(int *)field = 0;
        else
            return err_set(err, SLUICE_ECONFIG, "%s: must be true or false (got '%s')", where,
                           text);
        return SLUICE_OK;
    case SLUICE_OPT_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (end == text || *end || errno == ERANGE)
            return err_set(err, SLUICE_ECONFIG, "%s: '%s' is not a number", where, text);
        *(double *)field = v;
        return SLUICE_OK;
    }
    case SLUICE_OPT_ENUM: {
        char list[512] = "";
        size_t off = 0;
        for (int i = 0; o->choices[i]; i++) {
            if (strcasecmp(o->choices[i], text) == 0) {
                *(int *)field = i;
                return SLUICE_OK;
            }
            int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", o->choices[i]);
            if (n > 0 && (size_t)n < sizeof(list) - off)
                off += (size_t)n;
        }
        return err_set(err, SLUICE_ECONFIG, "%s: '%s' is not one of: %s", where, text, list);
    }
    default:
        return SLUICE_OK;
    }
}

static int is_prefix_of(const struct sluice_option *o, const char *key)
{
    size_t n = strlen(o->name);
    return strncmp(key, o->name, n) == 0 && key[n] != 0;
}

static int collect_prefix(const struct sluice_plugin *p, const struct sluice_option *o,
                          struct props *props, void *conf, struct sluice_err *err)
{
    struct sluice_kvlist *kl = (struct sluice_kvlist *)((char *)conf + o->offset);
    size_t n = 0;
    for (size_t i = 0; i < props->n; i++)
        if (!props->v[i].used && is_prefix_of(o, props->v[i].key))
            n++;
    if (n == 0)
        return SLUICE_OK;
    struct sluice_kv *items = calloc(n, sizeof(*items));
    if (!items)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    size_t k = 0;
    size_t plen = strlen(o->name);
    for (size_t i = 0; i < props->n; i++) {
        struct prop *pr = &props->v[i];
        if (pr->used || !is_prefix_of(o, pr->key))
            continue;
        /* an exact option of the same plugin wins over a prefix */
        int exact = 0;
        for (const struct sluice_option *q = p->options; q->name; q++)
            if (q->type != SLUICE_OPT_PREFIX && strcmp(q->name, pr->key) == 0)
                exact = 1;
        if (exact)
            continue;
        items[k].key = strdup(pr->key + plen);
        items[k].value = strdup(pr->value);
        items[k].origin = strdup(pr->origin);
        pr->used = 1;
        k++;
    }
    kl->items = items;
    kl->n = k;
    for (size_t i = 0; i < k; i++)
        if (!items[i].key || !items[i].value || !items[i].origin)
            return err_set(err, SLUICE_ENOMEM, "out of memory");
    return SLUICE_OK;
}

int options_parse(const struct sluice_plugin *p, struct props *props, const char *label,
                  struct diag_list *dl, void **conf_out, struct sluice_err *err)
{
    *conf_out = NULL;
    void *conf = calloc(1, p->conf_size ? p->conf_size : 1);
    if (!conf)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    int rc = SLUICE_OK;
    const struct sluice_option *opts = p->options;
    for (const struct sluice_option *o = opts; o && o->name; o++) {
        if (o->type == SLUICE_OPT_PREFIX || o->type == SLUICE_OPT_UNSUPPORTED)
            continue;
        if (o->type == SLUICE_OPT_INT && o->min >= o->max && !o->def)
            *(int64_t *)((char *)conf + o->offset) = 0;
        if (o->def) {
            char where[256];
            snprintf(where, sizeof(where), "plugin %s: default of %s", p->name, o->name);
            rc = parse_value(o, o->def, conf, where, err);
            if (rc != SLUICE_OK) {
                err->code = rc = SLUICE_EABI;
                goto out;
            }
        }
        struct prop *pr = props_find(props, o->name);
        struct prop *old = o->deprecated ? props_find(props, o->deprecated) : NULL;
        if (old) {
            old->used = 1;
            if (pr) {
                diag_add(dl, SLUICE_LOG_WARN,
                         "%s: %s is deprecated and ignored because %s is also set (%s)",
                         old->origin, old->full_key, o->name, pr->origin);
            } else {
                diag_add(dl, SLUICE_LOG_WARN, "%s: %s is deprecated. Please use the parameter %s",
                         old->origin, old->full_key, o->name);
                pr = old;
            }
        }
        if (pr) {
            pr->used = 1;
            char where[512];
            snprintf(where, sizeof(where), "%s: %s", pr->origin, pr->full_key);
            rc = parse_value(o, pr->value, conf, where, err);
            if (rc != SLUICE_OK)
                goto out;
        } else if (o->flags & SLUICE_OPT_REQUIRED) {
            rc = err_set(err, SLUICE_ECONFIG, "%s: required key '%s' is missing", label, o->name);
            goto out;
        }
    }
    for (const struct sluice_option *o = opts; o && o->name; o++) {
        if (o->type == SLUICE_OPT_UNSUPPORTED) {
            struct prop *pr = props_find(props, o->name);
            if (pr) {
                pr->used = 1;
                diag_add(dl, SLUICE_LOG_WARN, "%s: %s is accepted and ignored: %s", pr->origin,
                         pr->full_key, o->desc ? o->desc : "it has no effect in sluice");
            }
        }
    }
    for (const struct sluice_option *o = opts; o && o->name; o++) {
        if (o->type == SLUICE_OPT_PREFIX) {
            rc = collect_prefix(p, o, props, conf, err);
            if (rc != SLUICE_OK)
                goto out;
        }
    }
out:
    if (rc != SLUICE_OK) {
        options_free(p, conf);
        return rc;
    }
    *conf_out = conf;
    return SLUICE_OK;
}

void options_free(const struct sluice_plugin *p, void *conf)
{
    if (!conf)
        return;
    for (const struct sluice_option *o = p->options; o && o->name; o++) {
        char *field = (char *)conf + o->offset;
        if (o->type == SLUICE_OPT_STRING) {
            free(*(char **)field);
        } else if (o->type == SLUICE_OPT_PREFIX) {
            struct sluice_kvlist *kl = (struct sluice_kvlist *)field;
            for (size_t i = 0; i < kl->n; i++) {
                free((char *)kl->items[i].key);
                free((char *)kl->items[i].value);
                free((char *)kl->items[i].origin);
            }
            free((void *)kl->items);
        }
    }
    free(conf);
}

int options_get_flagged_int(const struct sluice_plugin *p, const void *conf, unsigned flag,
                            int64_t *value, const char **name)
{
    for (const struct sluice_option *o = p->options; o && o->name; o++) {
        if ((o->flags & flag) && o->type == SLUICE_OPT_INT) {
            *value = *(const int64_t *)((const char *)conf + o->offset);
            if (name)
                *name = o->name;
            return 1;
        }
    }
    return 0;
}

void options_describe(const struct sluice_plugin *p, FILE *out, int markdown)
{
    if (markdown) {
        fprintf(out, "| key | type | default | description |\n|---|---|---|---|\n");
    }
    for (const struct sluice_option *o = p->options; o && o->name; o++) {
        char type[160];
        snprintf(type, sizeof(type), "%s", options_type_name(o->type));
        if (o->type == SLUICE_OPT_INT && o->min < o->max)
            snprintf(type, sizeof(type), "integer %" PRId64 "..%" PRId64, o->min, o->max);
        if (o->type == SLUICE_OPT_ENUM) {
            size_t off = (size_t)snprintf(type, sizeof(type), "one of");
            for (int i = 0; o->choices[i] && off < sizeof(type); i++) {
                int n =
                    snprintf(type + off, sizeof(type) - off, "%s%s", i ? "|" : " ", o->choices[i]);
                if (n > 0)
                    off += (size_t)n;
            }
        }
        int required = !o->def && (o->flags & SLUICE_OPT_REQUIRED);
        const char *def = o->def ? o->def : required ? "(required)" : "";
        char name[160];
        snprintf(name, sizeof(name), "%s%s", o->name, o->type == SLUICE_OPT_PREFIX ? "*" : "");
        if (markdown) {
            const char *tick = def[0] && !required ? "`" : "";
            fprintf(out, "| `%s` | %s | %s%s%s | %s%s%s%s |\n", name, type, tick,
                    required ? "**required**" : def, tick, o->desc ? o->desc : "",
                    o->deprecated ? " Deprecated spelling: `" : "",
                    o->deprecated ? o->deprecated : "", o->deprecated ? "`." : "");
        } else {
            fprintf(out, "  %-32s %-24s default: %s\n", name, type, def[0] ? def : "-");
            if (o->desc)
                fprintf(out, "      %s\n", o->desc);
            if (o->deprecated)
                fprintf(out, "      (deprecated spelling: %s)\n", o->deprecated);
        }
    }
}

/* man(7) needs backslashes doubled and a leading '.' or '\'' escaped. */
static void man_text(FILE *out, const char *t)
{
    if (*t == '.' || *t == '\'')
        fputs("\\&", out);
    for (; *t; t++) {
        if (*t == '\\')
            fputs("\\e", out);
        else if (*t == '-')
            fputs("\\-", out);
        else
            fputc(*t, out);
    }
}

void options_describe_man(const struct sluice_plugin *p, FILE *out)
{
    for (const struct sluice_option *o = p->options; o && o->name; o++) {
        fputs(".TP\n.B ", out);
        man_text(out, o->name);
        if (o->type == SLUICE_OPT_PREFIX)
            fputs("*", out);
        fprintf(out, "\n(%s", options_type_name(o->type));
        if (o->def) {
            fputs(", default ", out);
            man_text(out, o->def);
        } else if (o->flags & SLUICE_OPT_REQUIRED) {
            fputs(", required", out);
        }
        fputs(") ", out);
        if (o->desc)
            man_text(out, o->desc);
        if (o->deprecated) {
            fputs(" Deprecated spelling: ", out);
            man_text(out, o->deprecated);
            fputs(".", out);
        }
        fputs("\n", out);
    }
}
