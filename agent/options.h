/*
 * Table-driven option parsing: a plugin's option table plus a component's keys give the
 * plugin's conf struct, with defaults, bounds, choices, deprecated spellings and pass-through
 * prefixes handled in one place. The same table prints `sluice describe TYPE`.
 */
#ifndef SLUICE_OPTIONS_H
#define SLUICE_OPTIONS_H

#include <stdio.h>

#include "diag.h"
#include "props.h"
#include "sluice/plugin.h"

/* Fill a new conf struct (*conf_out) from props. Consumed props are marked used. Warnings
 * (deprecated or unsupported keys) go to dl. On a bad value returns SLUICE_ECONFIG with err
 * "FILE:LINE: full.key: problem". `label` names the component ("source r1") in messages. */
int options_parse(const struct sluice_plugin *p, struct props *props, const char *label,
                  struct diag_list *dl, void **conf_out, struct sluice_err *err);
void options_free(const struct sluice_plugin *p, void *conf);
/* The INT value of the first option carrying `flag` (e.g. SLUICE_OPT_BATCH_SIZE); returns 0
 * and leaves *value alone when the plugin has no such option. */
int options_get_flagged_int(const struct sluice_plugin *p, const void *conf, unsigned flag,
                            int64_t *value, const char **name);
/* Print the option table: plain text, or a markdown table. */
void options_describe(const struct sluice_plugin *p, FILE *out, int markdown);
/* The option table as man(7) text (a .TP entry per key). */
void options_describe_man(const struct sluice_plugin *p, FILE *out);
const char *options_type_name(enum sluice_opt_type t);

#endif
