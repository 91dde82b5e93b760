/*
 * A running agent built from a validated model: creates every component through its plugin,
 * starts them in Flume's order (channels, sinks, sources), stops them in reverse with a bounded
 * drain of the channels so that a clean shutdown delivers what was accepted, and applies a new
 * configuration to the running components (reload.c).
 */
#ifndef SLUICE_AGENT_H
#define SLUICE_AGENT_H

#include <pthread.h>
#include <stdatomic.h>

#include "config_model.h"
#include "runtime.h"

/* The running components of one kind; each element is separately allocated, so a component
 * keeps its address while others come and go during a reload. */
struct rt_list {
    void **v;
    size_t n, cap;
};

struct agent {
    struct agent_model *model; /* every running component's comp is in it */
    char *name;                /* the agent's name (constant while it runs) */
    /* Guards the lists against readers on other threads (the metrics server). Only the
     * thread that creates, reloads and stops the agent changes them. */
    pthread_mutex_t lock;
    int lock_ready;
    struct rt_list channels; /* struct rt_channel * */
    struct rt_list sources;  /* struct rt_source * */
    struct rt_list sinks;    /* struct rt_sink * */
    struct rt_list groups;   /* struct rt_group * */
    atomic_int abort_emit;   /* emit gives up waiting on full channels */
    int64_t drain_timeout_ms;
};

/* Create every component (plugins' create()). On failure the agent is torn down again and
 * err names the component. */
int agent_create(struct agent *a, struct agent_model *m, struct sluice_err *err);
/* The same for `sluice check`: every source, sink and interceptor is created (and can reject
 * its configuration), channels are not, so a check never touches a running agent's channel
 * files or locks. Destroy with agent_destroy(). */
int agent_create_for_check(struct agent *a, struct agent_model *m, struct sluice_err *err);
int agent_start(struct agent *a, struct sluice_err *err);
/* Stop sources, let sinks drain the channels for up to drain_timeout_ms, stop sinks and
 * channels, and log each component's final counters. */
void agent_stop(struct agent *a);
void agent_destroy(struct agent *a);

/* Apply a new validated model (not fatal) to the running agent: components whose
 * configuration or wiring changed are stopped and rebuilt, the others keep running untouched
 * (see reload.c). Never stops the agent: a component that cannot be built is logged and left
 * out until the next reload. On return *next holds the previous model, for model_free(). */
void agent_reload(struct agent *a, struct agent_model *next);

/* Write Flume's monitoring JSON for every component into buf (NUL-terminated). */
size_t agent_metrics_json(struct agent *a, char *buf, size_t len);
/* The same counters in Prometheus' text exposition format. */
size_t agent_metrics_prometheus(struct agent *a, char *buf, size_t len);

/* ---- One component at a time (agent.c), for start-up and reload ---------------------------
 * *_new builds the runtime object and calls the plugin's create() (channels only when
 * `create`); the sink, group and source look their channels and members up by name among the
 * running ones. *_start starts it (runner threads included); *_free calls destroy(). */
int rt_channel_new(struct agent *a, struct comp *c, int create, struct rt_channel **out,
                   struct sluice_err *err);
int rt_channel_start(struct rt_channel *ch, struct sluice_err *err);
void rt_channel_stop(struct rt_channel *ch);
void rt_channel_free(struct rt_channel *ch);
int rt_sink_new(struct agent *a, struct comp *c, struct rt_sink **out, struct sluice_err *err);
/* starts the plugin; the runner thread too unless the sink belongs to a group */
int rt_sink_start(struct rt_sink *k, struct sluice_err *err);
void rt_sink_free(struct rt_sink *k);
/* the members must be running sinks; marks them as run by the group */
int rt_group_new(struct agent *a, struct comp *c, struct rt_group **out, struct sluice_err *err);
int rt_group_start(struct rt_group *g, struct sluice_err *err);
void rt_group_free(struct rt_group *g);
int rt_source_new(struct agent *a, struct comp *c, struct rt_source **out, struct sluice_err *err);
int rt_source_start(struct rt_source *s, struct sluice_err *err);
void rt_source_free(struct rt_source *s);

/* Stop these sources: no new emits, an emit waiting on a full channel gives up after the
 * drain time; joins their threads and calls stop(). */
void agent_stop_sources(struct agent *a, void *const *v, size_t n); /* struct rt_source * */
/* Stop these sinks and groups: runners with drain set (set it before) first deliver until
 * their channels are empty, bounded by the drain time; then every runner is joined after its
 * current batch (committed or rolled back) and the sinks' stop() is called. */
void agent_stop_sinks(struct agent *a, void *const *sinks, size_t nk, void *const *groups,
                      size_t ng); /* struct rt_sink *, struct rt_group * */
/* Log "Shutdown Metric for type: ..." with the component's counters. */
void agent_log_final_counters(struct sluice_ctx *ctx);

/* The lists (changes take a->lock). */
int rt_list_add(struct agent *a, struct rt_list *l, void *item);
void rt_list_remove(struct agent *a, struct rt_list *l, void *item);
struct rt_channel *agent_find_channel(const struct agent *a, const char *name);
struct rt_sink *agent_find_sink(const struct agent *a, const char *name);

#endif
