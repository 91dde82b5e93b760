/*
 * Option-table driven conf structs for plugin tests (see plugin_conf.h).
 */
#include "plugin_conf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

static const struct sluice_option *find(const struct sluice_plugin *p, const char *key,
                                        enum sluice_opt_type type)
{
    for (const struct sluice_option *o = p->options; o && o->name; o++)
        if (!strcmp(o->name, key) && o->type == type)
            return o;
    fail_msg("plugin %s has no option %s of type %d", p->name, key, (int)type);
    return NULL;
}

void *pconf_new(const struct sluice_plugin *p)
{
    void *conf = calloc(1, p->conf_size);
    assert_non_null(conf);
    for (const struct sluice_option *o = p->options; o && o->name; o++) {
        if (!o->def)
            continue;
        char *field = (char *)conf + o->offset;
        switch (o->type) {
        case SLUICE_OPT_INT:
            *(int64_t *)field = strtoll(o->def, NULL, 10);
            break;
        case SLUICE_OPT_BOOL:
            *(int *)field = !strcasecmp(o->def, "true");
            break;
        case SLUICE_OPT_STRING:
            *(const char **)field = o->def;
            break;
        case SLUICE_OPT_DOUBLE:
            *(double *)field = strtod(o->def, NULL);
            break;
        default:
            break;
        }
    }
    return conf;
}

void pconf_int(const struct sluice_plugin *p, void *conf, const char *key, int64_t v)
{
    *(int64_t *)((char *)conf + find(p, key, SLUICE_OPT_INT)->offset) = v;
}

void pconf_bool(const struct sluice_plugin *p, void *conf, const char *key, int v)
{
    *(int *)((char *)conf + find(p, key, SLUICE_OPT_BOOL)->offset) = v;
}

void pconf_str(const struct sluice_plugin *p, void *conf, const char *key, const char *v)
{
    *(const char **)((char *)conf + find(p, key, SLUICE_OPT_STRING)->offset) = v;
}

void pconf_prefix(const struct sluice_plugin *p, void *conf, const char *prefix,
                  const struct sluice_kv *items, size_t n)
{
    struct sluice_kvlist *kl =
        (struct sluice_kvlist *)((char *)conf + find(p, prefix, SLUICE_OPT_PREFIX)->offset);
    kl->items = items;
    kl->n = n;
}
