/*
 * The running components' counters as Flume's monitoring JSON and as Prometheus text, read
 * under the agent's lock so that a reload never frees a component while it is being written
 * out; components appear as they run now (a restarted one with its new counters).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static const char *const counter_names[] = {
#define XX(name, text) text,
    SLUICE_COUNTER_MAP(XX)
#undef XX
};

static size_t json_component(struct sluice_ctx *ctx, char *buf, size_t len, size_t off, int first)
{
    if (off >= len)
        return off;
    int n = snprintf(buf + off, len - off,
                     "%s\"%s.%s\":{\"Type\":\"%s\",\"StartTime\":\"%lld\","
                     "\"StopTime\":\"%lld\"",
                     first ? "" : ",", ctx->type_word, ctx->name, ctx->type_word,
                     (long long)ctx->start_ms, (long long)ctx->stop_ms);
    if (n > 0)
        off += (size_t)n;
    uint64_t touched = atomic_load(&ctx->touched);
    for (int c = 0; c < SLUICE_CTR__COUNT && off < len; c++) {
        if (!(touched & (1ull << c)))
            continue;
        n = snprintf(buf + off, len - off, ",\"%s\":\"%" PRIu64 "\"", counter_names[c],
                     (uint64_t)atomic_load(&ctx->counters[c]));
        if (n > 0)
            off += (size_t)n;
    }
    if (!strcmp(ctx->type_word, "CHANNEL") && off < len) {
        uint64_t size = atomic_load(&ctx->counters[SLUICE_CTR_CHANNEL_SIZE]);
        uint64_t cap = atomic_load(&ctx->counters[SLUICE_CTR_CHANNEL_CAPACITY]);
        n = snprintf(buf + off, len - off, ",\"ChannelFillPercentage\":\"%.1f\"",
                     cap ? (double)size * 100.0 / (double)cap : 0.0);
        if (n > 0)
            off += (size_t)n;
    }
    if (off < len) {
        n = snprintf(buf + off, len - off, "}");
        if (n > 0)
            off += (size_t)n;
    }
    return off;
}

/* One component's counters in Prometheus' text format: flume_<Counter>{component,type}. */
static size_t prom_component(struct sluice_ctx *ctx, const char *agent, char *buf, size_t len,
                             size_t off)
{
    uint64_t touched = atomic_load(&ctx->touched);
    for (int c = 0; c < SLUICE_CTR__COUNT && off < len; c++) {
        if (!(touched & (1ull << c)))
            continue;
        int n = snprintf(buf + off, len - off,
                         "flume_%s{agent=\"%s\",type=\"%s\",component=\"%s\"} %" PRIu64 "\n",
                         counter_names[c], agent, ctx->type_word, ctx->name,
                         (uint64_t)atomic_load(&ctx->counters[c]));
        if (n > 0)
            off += (size_t)n;
    }
    return off;
}

/* The contexts in publishing order (sources, channels, sinks); the ctx is each runtime
 * object's first member. */
#define FOR_EACH_CTX(a, ctx, body)                                                                 \
    do {                                                                                           \
        const struct rt_list *lists_[] = {&(a)->sources, &(a)->channels, &(a)->sinks};             \
        for (size_t l_ = 0; l_ < 3; l_++)                                                          \
            for (size_t i_ = 0; i_ < lists_[l_]->n; i_++) {                                        \
                struct sluice_ctx *ctx = lists_[l_]->v[i_];                                        \
                body;                                                                              \
            }                                                                                      \
    } while (0)

size_t agent_metrics_prometheus(struct agent *a, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    pthread_mutex_lock(&a->lock);
    FOR_EACH_CTX(a, ctx, off = prom_component(ctx, a->name, buf, len, off));
    pthread_mutex_unlock(&a->lock);
    if (off >= len && len)
        buf[len - 1] = 0;
    return off;
}

size_t agent_metrics_json(struct agent *a, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "{");
    int first = 1;
    pthread_mutex_lock(&a->lock);
    FOR_EACH_CTX(a, ctx, {
        off = json_component(ctx, buf, len, off, first);
        first = 0;
    });
    pthread_mutex_unlock(&a->lock);
    if (off + 2 <= len) {
        buf[off++] = '}';
        buf[off] = 0;
    } else if (len) {
        buf[len - 1] = 0;
    }
    return off;
}
