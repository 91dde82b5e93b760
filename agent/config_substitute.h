/*
 * ${...} substitution in configuration values, as Flume 1.10+ does it (and 1.9's env-var
 * resolver): ${env:NAME}, ${sys:name} (a -D property), and a bare ${NAME}, which is another key
 * of the merged configuration or else the environment variable NAME. Names may nest
 * (${${sys:env}_BIND}); $${x} is the literal ${x}; what cannot be resolved is left as written,
 * with a warning. Config-filter references (${f1['KEY']}) are left for the filters.
 */
#ifndef SLUICE_CONFIG_SUBSTITUTE_H
#define SLUICE_CONFIG_SUBSTITUTE_H

#include "config_set.h"
#include "diag.h"

typedef const char *(*subst_lookup_fn)(void *ud, const char *name);

/* Resolve every value of cs in place. sys looks up -D properties (may be NULL). Returns
 * SLUICE_OK, or SLUICE_ENOMEM / SLUICE_ECONFIG (a substitution loop) with err naming file:line
 * and key. */
int conf_substitute(struct conf_set *cs, subst_lookup_fn sys, void *sys_ud, struct diag_list *dl,
                    struct sluice_err *err);

/* Substitute one string (exposed for tests and config filters): *out is malloc'd. `lookup`
 * resolves a bare name (NULL = unresolved). */
int subst_string(const char *in, subst_lookup_fn lookup, void *ud, subst_lookup_fn sys,
                 void *sys_ud, int depth, char **out, char *unresolved, size_t unresolved_len);

#endif
