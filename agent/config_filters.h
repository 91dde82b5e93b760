/*
 * Flume's config filters (a1.configfilters = f1, a1.configfilters.f1.type = env|external):
 * component values may contain ${f1['KEY']} (or ${f1["KEY"]}, ${f1[KEY]}), replaced by what
 * the filter returns for KEY — an environment variable, or the first output line of a command.
 */
#ifndef SLUICE_CONFIG_FILTERS_H
#define SLUICE_CONFIG_FILTERS_H

#include "diag.h"
#include "props.h"

struct config_filter {
    char *name;
    int type; /* CF_ENV or CF_EXTERNAL */
    char *command;
    char origin[300];
};

struct config_filters {
    struct config_filter *v;
    size_t n;
};

/* Build the filters from the agent's `configfilters` list and each filter's keys (props of the
 * form "<name>.<key>"). Unknown or unsupported types are errors (returns -1, fatal). */
int config_filters_build(struct config_filters *cf, const char *list, const char *list_origin,
                         const struct props *keys, struct diag_list *dl);
/* Apply every filter to value: returns a malloc'd new value, or NULL when nothing changed. */
char *config_filters_apply(const struct config_filters *cf, const char *value, const char *origin,
                           const char *key, struct diag_list *dl);
void config_filters_free(struct config_filters *cf);

#endif
