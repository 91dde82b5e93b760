/*
 * The agent model: which sources, channels, sinks and interceptors one agent of a
 * configuration defines, validated the way Flume validates (keys of other agents ignored,
 * broken components dropped with a warning, typos and empty agents fatal), with each plugin's
 * options already parsed. The runtime (agent.c) is built from a model.
 */
#ifndef SLUICE_CONFIG_MODEL_H
#define SLUICE_CONFIG_MODEL_H

#include <stdint.h>

#include "config_set.h"
#include "diag.h"
#include "plugin_registry.h"
#include "props.h"

enum comp_kind { COMP_SOURCE = 0, COMP_CHANNEL, COMP_SINK, COMP_INTERCEPTOR, COMP_SINKGROUP };

enum proc_kind { PROC_DEFAULT = 0, PROC_FAILOVER, PROC_LOAD_BALANCE };

/* A sink group's processor (Flume's sink processors). */
struct group_conf {
    enum proc_kind kind;
    struct comp **sinks; /* members, in the order of the group's `sinks` list */
    int64_t *priority;   /* failover: per member, higher wins */
    size_t n_sinks;
    int64_t maxpenalty;  /* failover, ms */
    int backoff;         /* load_balance */
    int random;          /* load_balance: selector = random */
    int64_t max_timeout; /* load_balance: selector.maxTimeOut, ms */
};

enum selector_kind { SEL_REPLICATING = 0, SEL_MULTIPLEXING, SEL_LOAD_BALANCING };

/* Multiplexing: events whose header equals `value` go to the `req` channels (and, best
 * effort, the `opt` ones); masks are bits over the source's channels. */
struct sel_route {
    char *value;
    uint64_t req, opt;
};

struct selector_conf {
    enum selector_kind kind;
    char *header; /* multiplexing: selector.header */
    struct sel_route *routes;
    size_t n_routes;
    uint64_t def_req; /* multiplexing: selector.default */
    int random;       /* load_balancing: selector.policy = random */
};

#define MAX_SOURCE_CHANNELS 64

struct comp {
    enum comp_kind kind;
    char *name;
    char label[160]; /* "source r1" */
    struct props props;
    const struct plugin_entry *plugin;
    void *conf; /* the plugin's parsed options */
    int dropped;
    int64_t batch_size;      /* sources and sinks with a batch option, else 0 */
    const char *batch_key;   /* that option's name */
    int64_t tx_capacity;     /* channels with a transactionCapacity option, else 0 */
    struct comp **channels;  /* sources: target channels; sinks: exactly one */
    unsigned char *optional; /* sources: per channel, from selector.optional */
    size_t n_channels;
    struct selector_conf sel;   /* sources */
    struct group_conf group;    /* sink groups */
    struct comp *in_group;      /* sinks: the group that runs this sink, if any */
    struct comp **interceptors; /* sources, in list order */
    size_t n_interceptors;
    int connected; /* channels: some surviving source or sink uses it */
};

struct agent_model {
    char *name;
    struct comp **comps;
    size_t n;
    struct diag_list diags;
    int fatal;   /* the agent would refuse to start */
    int dropped; /* components were dropped */
};

/* Build and validate agent `agent` of cs. Always returns a model (check m->fatal); the only
 * error return is SLUICE_ENOMEM. `files` names the configuration for messages. */
int model_build(struct agent_model *m, const struct conf_set *cs, const char *agent,
                const struct registry *reg, const char *files);
void model_free(struct agent_model *m);
/* Components of one kind that survived validation, in definition order. */
size_t model_list(const struct agent_model *m, enum comp_kind kind, struct comp **out, size_t max);
/* sluice check's exit status: 0 fine, 1 components dropped, 2 refuses to start. */
int model_status(const struct agent_model *m);
/* Java String.trim(): strip chars <= 0x20 at both ends, in place; returns s. */
char *java_trim(char *s);

#endif
