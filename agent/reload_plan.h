/*
 * Which components a configuration reload restarts: the running components are compared with
 * a new model by signature (type, every resolved property, wiring) and the changes are
 * propagated along the wiring (a replaced channel restarts its sources and sinks, a restarted
 * sink its group, a restarted group its sinks). Pure: nothing is stopped or started here.
 */
#ifndef SLUICE_RELOAD_PLAN_H
#define SLUICE_RELOAD_PLAN_H

#include <stddef.h>

#include "config_model.h"

enum plan_act {
    PLAN_KEEP = 0, /* runs on untouched */
    PLAN_ADD,      /* not running now (new, or could not be built before) */
    PLAN_RESTART,  /* stopped and built again from the new configuration */
    PLAN_REMOVE    /* stopped; gone from the configuration */
};

struct plan_item {
    enum comp_kind kind; /* COMP_SOURCE, COMP_CHANNEL, COMP_SINK or COMP_SINKGROUP */
    const char *name;
    struct comp *old;  /* the running component's comp, NULL for ADD */
    struct comp *next; /* in the new model, NULL for REMOVE */
    enum plan_act act;
    char why[512]; /* what changed, for the log ("sink.batchSize: 100 -> 7") */
};

struct reload_plan {
    struct plan_item *v;
    size_t n;
};

/* running: the comps of the running sources, channels, sinks and sink groups (interceptors
 * belong to their source). Returns SLUICE_OK or SLUICE_ENOMEM. */
int reload_plan_build(struct reload_plan *p, struct comp *const *running, size_t n_running,
                      const struct agent_model *next);
void reload_plan_free(struct reload_plan *p);
struct plan_item *reload_plan_find(const struct reload_plan *p, enum comp_kind kind,
                                   const char *name);
/* "kept", "added", "restarted", "removed" */
const char *plan_act_word(enum plan_act act);
/* 1 when a and b (same kind and name) have the same signature; otherwise 0 with what differs
 * written to why (bounded, "..." when cut). Secret values are not written. */
int comp_same(const struct comp *a, const struct comp *b, char *why, size_t len);

#endif
