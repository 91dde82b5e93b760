/*
 * A running agent built from a validated model: creates every component through its plugin,
 * starts them in Flume's order (channels, sinks, sources), and stops them in reverse with a
 * bounded drain of the channels so that a clean shutdown delivers what was accepted.
 */
#ifndef SLUICE_AGENT_H
#define SLUICE_AGENT_H

#include <stdatomic.h>

#include "config_model.h"
#include "runtime.h"

struct agent {
    struct agent_model *model;
    struct rt_channel *channels;
    size_t n_channels;
    struct rt_source *sources;
    size_t n_sources;
    struct rt_sink *sinks;
    size_t n_sinks;
    struct rt_group *groups;
    size_t n_groups;
    atomic_int sources_stopping; /* sources asked to stop */
    atomic_int sinks_stopping;   /* sinks asked to stop (after the drain) */
    atomic_int abort_emit;       /* emit gives up waiting on full channels */
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
/* Write Flume's monitoring JSON for every component into buf (NUL-terminated). */
size_t agent_metrics_json(struct agent *a, char *buf, size_t len);
/* The same counters in Prometheus' text exposition format. */
size_t agent_metrics_prometheus(struct agent *a, char *buf, size_t len);

#endif
