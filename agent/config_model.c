/*
 * Building and validating one agent from a flat configuration (see config_model.h). The rules
 * follow Flume's FlumeConfiguration and AbstractConfigurationProvider (flume-reference.md
 * sections 1.5-1.7), except that an unknown type anywhere is fatal at once with a list of the
 * known types, instead of passing validation and failing later.
 */
#include "config_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_filters.h"
#include "errors.h"
#include "options.h"

/* Flume components sluice does not offer: a clear message instead of "unknown type". */
static const struct {
    enum comp_kind kind;
    const char *alias, *cls;
} not_offered[] = {
    {COMP_SINK, "hdfs", "org.apache.flume.sink.hdfs.HDFSEventSink"},
    {COMP_SINK, "hbase", "org.apache.flume.sink.hbase.HBaseSink"},
    {COMP_SINK, "hbase2", "org.apache.flume.sink.hbase2.HBase2Sink"},
    {COMP_SINK, "asynchbase", "org.apache.flume.sink.hbase.AsyncHBaseSink"},
    {COMP_SINK, "hive", "org.apache.flume.sink.hive.HiveSink"},
    {COMP_SINK, "avro", "org.apache.flume.sink.AvroSink"},
    {COMP_SINK, "thrift", "org.apache.flume.sink.ThriftSink"},
    {COMP_SINK, "elasticsearch", "org.apache.flume.sink.elasticsearch.ElasticSearchSink"},
    {COMP_SINK, "irc", "org.apache.flume.sink.irc.IRCSink"},
    {COMP_SINK, "morphline_solr", "org.apache.flume.sink.solr.morphline.MorphlineSolrSink"},
    {COMP_SINK, "http", "org.apache.flume.sink.http.HttpSink"},
    {COMP_SOURCE, "avro", "org.apache.flume.source.AvroSource"},
    {COMP_SOURCE, "thrift", "org.apache.flume.source.ThriftSource"},
    {COMP_SOURCE, "jms", "org.apache.flume.source.jms.JMSSource"},
    {COMP_SOURCE, "twitter", "org.apache.flume.source.twitter.TwitterSource"},
    {COMP_SOURCE, "scribe", "org.apache.flume.source.scribe.ScribeSource"},
    {COMP_CHANNEL, "jdbc", "org.apache.flume.channel.jdbc.JdbcChannel"},
    {COMP_CHANNEL, "spillablememory", "org.apache.flume.channel.SpillableMemoryChannel"},
    {COMP_CHANNEL, "kafka", "org.apache.flume.channel.kafka.KafkaChannel"},
};

static const char *const kind_words[] = {"source", "channel", "sink", "interceptor", "sink group"};
static const char *const list_keys[] = {"sources", "channels", "sinks", NULL, "sinkgroups"};

static enum sluice_kind plugin_kind(enum comp_kind k)
{
    switch (k) {
    case COMP_SOURCE:
        return SLUICE_KIND_SOURCE;
    case COMP_CHANNEL:
        return SLUICE_KIND_CHANNEL;
    case COMP_SINK:
        return SLUICE_KIND_SINK;
    case COMP_INTERCEPTOR:
        return SLUICE_KIND_INTERCEPTOR;
    case COMP_SINKGROUP:
        break;
    }
    return SLUICE_KIND_SOURCE;
}

char *java_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        s[--n] = 0;
    size_t i = 0;
    while (s[i] && (unsigned char)s[i] <= ' ')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
    return s;
}

/* A whitespace-separated name list, duplicates removed, order kept. */
struct name_list {
    char **v;
    size_t n;
    char origin[300];
};

static int name_list_parse(struct name_list *l, const char *value, const char *origin)
{
    snprintf(l->origin, sizeof(l->origin), "%s", origin);
    char *copy = strdup(value);
    if (!copy)
        return SLUICE_ENOMEM;
    char *save = NULL;
    for (char *t = strtok_r(copy, " \t\r\n\f", &save); t; t = strtok_r(NULL, " \t\r\n\f", &save)) {
        int dup = 0;
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->v[i], t) == 0)
                dup = 1;
        if (dup)
            continue;
        char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
        if (!v) {
            free(copy);
            return SLUICE_ENOMEM;
        }
        l->v = v;
        if (!(l->v[l->n] = strdup(t))) {
            free(copy);
            return SLUICE_ENOMEM;
        }
        l->n++;
    }
    free(copy);
    return SLUICE_OK;
}

static void name_list_free(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Components as defined by keys, before validation. */
struct defined {
    enum comp_kind kind;
    char *name;
    struct props props;
};

struct build {
    struct agent_model *m;
    const struct registry *reg;
    struct defined *defs;
    size_t n_defs;
    char *filter_list; /* a1.configfilters */
    char filter_origin[300];
    struct props filter_keys;  /* a1.configfilters.<f>.<k>, prefix removed */
    struct name_list lists[5]; /* by comp_kind; [COMP_INTERCEPTOR] unused */
    int have_list[5];
};

static struct defined *def_get(struct build *b, enum comp_kind kind, const char *name, int create)
{
    for (size_t i = 0; i < b->n_defs; i++)
        if (b->defs[i].kind == kind && strcmp(b->defs[i].name, name) == 0)
            return &b->defs[i];
    if (!create)
        return NULL;
    struct defined *v = realloc(b->defs, (b->n_defs + 1) * sizeof(*v));
    if (!v)
        return NULL;
    b->defs = v;
    struct defined *d = &b->defs[b->n_defs];
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    if (!(d->name = strdup(name)))
        return NULL;
    b->n_defs++;
    return d;
}

static struct comp *comp_new(struct agent_model *m, enum comp_kind kind, const char *name)
{
    struct comp **v = realloc(m->comps, (m->n + 1) * sizeof(*v));
    if (!v)
        return NULL;
    m->comps = v;
    struct comp *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->kind = kind;
    c->name = strdup(name);
    if (!c->name) {
        free(c);
        return NULL;
    }
    snprintf(c->label, sizeof(c->label), "%s %s", kind_words[kind], name);
    m->comps[m->n++] = c;
    return c;
}

static struct comp *find_comp(struct agent_model *m, enum comp_kind kind, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->comps[i]->kind == kind && strcmp(m->comps[i]->name, name) == 0)
            return m->comps[i];
    return NULL;
}

static void drop(struct agent_model *m, struct comp *c)
{
    if (!c->dropped) {
        c->dropped = 1;
        m->dropped = 1;
    }
}

/* Resolve the plugin for c from its `type` key; 0 ok, -1 dropped, -2 fatal. */
static int resolve_type(struct build *b, struct comp *c, const char *what)
{
    struct agent_model *m = b->m;
    struct prop *t = props_find(&c->props, "type");
    if (!t) {
        diag_add(&m->diags, SLUICE_LOG_WARN,
                 "%s '%s' has no type and has been removed (%s). Add a key %s.type",
                 kind_words[c->kind], c->name, what, c->name);
        return -1;
    }
    t->used = 1;
    c->plugin = registry_find(b->reg, plugin_kind(c->kind), t->value);
    if (c->plugin)
        return 0;
    for (size_t i = 0; i < sizeof(not_offered) / sizeof(not_offered[0]); i++) {
        if (not_offered[i].kind == c->kind && (strcasecmp(t->value, not_offered[i].alias) == 0 ||
                                               strcasecmp(t->value, not_offered[i].cls) == 0)) {
            diag_add(&m->diags, SLUICE_LOG_ERROR,
                     "%s: %s: the Flume %s type '%s' (%s) is not offered by sluice", t->origin,
                     t->full_key, kind_words[c->kind], not_offered[i].alias, not_offered[i].cls);
            return -2;
        }
    }
    char names[1024];
    registry_names(b->reg, plugin_kind(c->kind), names, sizeof(names));
    const char *sug = registry_suggest(b->reg, plugin_kind(c->kind), t->value);
    char hint[128] = "";
    if (sug)
        snprintf(hint, sizeof(hint), "; did you mean '%s'?", sug);
    diag_add(&m->diags, SLUICE_LOG_ERROR, "%s: %s: unknown %s type '%s'%s (known types: %s)",
             t->origin, t->full_key, kind_words[c->kind], t->value, hint, names);
    return -2;
}

static int parse_options(struct build *b, struct comp *c)
{
    struct sluice_err err = {0};
    int rc = options_parse(c->plugin->desc, &c->props, c->label, &b->m->diags, &c->conf, &err);
    if (rc == SLUICE_ENOMEM)
        return rc;
    if (rc != SLUICE_OK) {
        diag_add(&b->m->diags, SLUICE_LOG_ERROR, "%s; %s %s has been removed", err.msg,
                 kind_words[c->kind], c->name);
        drop(b->m, c);
        return SLUICE_OK;
    }
    if (c->kind == COMP_CHANNEL)
        options_get_flagged_int(c->plugin->desc, c->conf, SLUICE_OPT_TX_CAPACITY, &c->tx_capacity,
                                NULL);
    else
        options_get_flagged_int(c->plugin->desc, c->conf, SLUICE_OPT_BATCH_SIZE, &c->batch_size,
                                &c->batch_key);
    return SLUICE_OK;
}

/* Keys the core itself reads for each kind, never "unknown". */
static int core_key(enum comp_kind kind, const char *key)
{
    if (strcmp(key, "type") == 0)
        return 1;
    if (kind == COMP_SOURCE)
        return strcmp(key, "channels") == 0 || strcmp(key, "interceptors") == 0 ||
               strncmp(key, "interceptors.", 13) == 0 || strncmp(key, "selector.", 9) == 0;
    if (kind == COMP_SINK)
        return strcmp(key, "channel") == 0;
    return 0;
}

static void warn_unknown_keys(struct build *b, struct comp *c)
{
    for (size_t i = 0; i < c->props.n; i++) {
        struct prop *p = &c->props.v[i];
        if (p->used || core_key(c->kind, p->key))
            continue;
        if (c->kind == COMP_SINK && strcmp(p->key, "channels") == 0)
            continue; /* reported as a missing `channel` */
        diag_add(&b->m->diags, SLUICE_LOG_WARN,
                 "%s: %s: unknown key for %s %s '%s', ignored (see `sluice describe %s`)",
                 p->origin, p->full_key, c->plugin->desc->name, kind_words[c->kind], c->name,
                 c->plugin->desc->name);
    }
}

static int add_channel_ref(struct comp *c, struct comp *ch, int optional)
{
    struct comp **v = realloc(c->channels, (c->n_channels + 1) * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    c->channels = v;
    unsigned char *o = realloc(c->optional, c->n_channels + 1);
    if (!o)
        return SLUICE_ENOMEM;
    c->optional = o;
    c->channels[c->n_channels] = ch;
    c->optional[c->n_channels] = (unsigned char)optional;
    c->n_channels++;
    return SLUICE_OK;
}

/* Copy a defined component's keys into a new comp; returns NULL on ENOMEM. */
static struct comp *instantiate(struct build *b, enum comp_kind kind, const char *name,
                                struct defined *d)
{
    struct comp *c = comp_new(b->m, kind, name);
    if (!c)
        return NULL;
    for (size_t i = 0; d && i < d->props.n; i++) {
        struct prop *p = &d->props.v[i];
        if (props_add(&c->props, p->key, p->value, p->full_key, p->origin) != SLUICE_OK)
            return NULL;
    }
    return c;
}

/* The common start of every listed source, channel and sink: copy its keys, drop it when it
 * has none or no usable type (fatal for an unknown type), parse its options. Returns the comp
 * to continue with, NULL when it was dropped; *oom is set on allocation failure. */
static struct comp *begin_listed(struct build *b, enum comp_kind kind, size_t i, int *oom)
{
    static const char *const empty_note[] = {
        [COMP_SOURCE] = " (Configuration empty for: %s)",
        [COMP_CHANNEL] = "%.0s",
        [COMP_SINK] = " (no context for sink %s)",
        [COMP_INTERCEPTOR] = "%.0s",
        [COMP_SINKGROUP] = "%.0s",
    };
    struct name_list *l = &b->lists[kind];
    struct defined *d = def_get(b, kind, l->v[i], 0);
    struct comp *c = instantiate(b, kind, l->v[i], d);
    *oom = 0;
    if (!c) {
        *oom = 1;
        return NULL;
    }
    if (!d || d->props.n == 0) {
        char note[300];
        snprintf(note, sizeof(note), empty_note[kind], l->v[i]);
        diag_add(&b->m->diags, SLUICE_LOG_WARN, "%s: %s '%s' is listed but has no keys%s; removed",
                 l->origin, kind_words[kind], l->v[i], note);
        drop(b->m, c);
        return NULL;
    }
    int r = resolve_type(b, c, l->origin);
    if (r == -2)
        b->m->fatal = 1;
    if (r < 0) {
        drop(b->m, c);
        return NULL;
    }
    if (parse_options(b, c) != SLUICE_OK) {
        *oom = 1;
        return NULL;
    }
    return c->dropped ? NULL : c;
}

static int build_channels(struct build *b)
{
    for (size_t i = 0; i < b->lists[COMP_CHANNEL].n; i++) {
        int oom;
        struct comp *c = begin_listed(b, COMP_CHANNEL, i, &oom);
        if (oom)
            return SLUICE_ENOMEM;
        if (c)
            warn_unknown_keys(b, c);
    }
    return SLUICE_OK;
}

static struct comp *active_channel(struct build *b, const char *name)
{
    struct comp *ch = find_comp(b->m, COMP_CHANNEL, name);
    return ch && !ch->dropped ? ch : NULL;
}

static int build_interceptors(struct build *b, struct comp *src)
{
    struct prop *lp = props_find(&src->props, "interceptors");
    if (!lp)
        return SLUICE_OK;
    lp->used = 1;
    struct name_list l = {0};
    if (name_list_parse(&l, lp->value, lp->origin) != SLUICE_OK)
        return SLUICE_ENOMEM;
    int rc = SLUICE_OK;
    for (size_t i = 0; i < l.n && rc == SLUICE_OK; i++) {
        char ic_name[256];
        snprintf(ic_name, sizeof(ic_name), "%s.%s", src->name, l.v[i]);
        struct comp *ic = comp_new(b->m, COMP_INTERCEPTOR, ic_name);
        if (!ic) {
            rc = SLUICE_ENOMEM;
            break;
        }
        char prefix[300];
        int plen = snprintf(prefix, sizeof(prefix), "interceptors.%s.", l.v[i]);
        for (size_t k = 0; k < src->props.n; k++) {
            struct prop *p = &src->props.v[k];
            if (strncmp(p->key, prefix, (size_t)plen) == 0) {
                p->used = 1;
                if (props_add(&ic->props, p->key + plen, p->value, p->full_key, p->origin) !=
                    SLUICE_OK) {
                    rc = SLUICE_ENOMEM;
                    break;
                }
            }
        }
        struct comp **v = realloc(src->interceptors, (src->n_interceptors + 1) * sizeof(*v));
        if (!v) {
            rc = SLUICE_ENOMEM;
            break;
        }
        src->interceptors = v;
        src->interceptors[src->n_interceptors++] = ic;
        if (ic->props.n == 0 || !props_find(&ic->props, "type")) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: interceptor '%s' of source '%s' has no type "
                     "(Interceptor.Type not specified); source %s has been removed",
                     lp->origin, l.v[i], src->name, src->name);
            drop(b->m, ic);
            drop(b->m, src);
            continue;
        }
        int r = resolve_type(b, ic, lp->origin);
        if (r == -2)
            b->m->fatal = 1;
        if (r < 0) {
            drop(b->m, ic);
            drop(b->m, src);
            continue;
        }
        if ((rc = parse_options(b, ic)) != SLUICE_OK)
            break;
        if (ic->dropped) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "source %s has been removed because its interceptor %s could not be "
                     "configured",
                     src->name, l.v[i]);
            drop(b->m, src);
        } else {
            warn_unknown_keys(b, ic);
        }
    }
    name_list_free(&l);
    return rc;
}

static int check_batch(struct build *b, struct comp *c, struct comp *ch)
{
    if (c->batch_size > 0 && ch->tx_capacity > 0 && c->batch_size > ch->tx_capacity) {
        struct prop *bp = c->batch_key ? props_find(&c->props, c->batch_key) : NULL;
        for (const struct sluice_option *o = c->plugin->desc->options; !bp && o && o->name; o++)
            if (c->batch_key && strcmp(o->name, c->batch_key) == 0 && o->deprecated)
                bp = props_find(&c->props, o->deprecated); /* set through its old spelling */
        char where[400];
        if (bp)
            snprintf(where, sizeof(where), "%s: %s", bp->origin, bp->full_key);
        else
            snprintf(where, sizeof(where), "%s '%s' (default %s)", kind_words[c->kind], c->name,
                     c->batch_key);
        diag_add(&b->m->diags, SLUICE_LOG_WARN,
                 "%s: batch size %lld is larger than the transactionCapacity %lld of channel "
                 "'%s'; %s %s has been removed (Incompatible source and channel settings)",
                 where, (long long)c->batch_size, (long long)ch->tx_capacity, ch->name,
                 kind_words[c->kind], c->name);
        drop(b->m, c);
        return 0;
    }
    return 1;
}

/* Bits of the source's channels named in a list; unknown names are reported and make the
 * source unusable (Flume: "Selector channel not found"). Returns 0 or -1. */
static int channel_mask(struct build *b, struct comp *c, const struct prop *p, uint64_t *mask)
{
    struct name_list l = {0};
    *mask = 0;
    if (name_list_parse(&l, p->value, p->origin) != SLUICE_OK)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < l.n; i++) {
        size_t k = 0;
        while (k < c->n_channels && strcmp(c->channels[k]->name, l.v[i]) != 0)
            k++;
        if (k == c->n_channels) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: %s: Selector channel not found: %s (it must be one of source %s's "
                     "channels); source %s has been removed",
                     p->origin, p->full_key, l.v[i], c->name, c->name);
            rc = -1;
        } else {
            *mask |= 1ull << k;
        }
    }
    name_list_free(&l);
    return rc;
}

static struct sel_route *route_for(struct selector_conf *sel, const char *value)
{
    for (size_t i = 0; i < sel->n_routes; i++)
        if (strcmp(sel->routes[i].value, value) == 0)
            return &sel->routes[i];
    struct sel_route *v = realloc(sel->routes, (sel->n_routes + 1) * sizeof(*v));
    if (!v)
        return NULL;
    sel->routes = v;
    struct sel_route *r = &v[sel->n_routes];
    memset(r, 0, sizeof(*r));
    if (!(r->value = strdup(value)))
        return NULL;
    sel->n_routes++;
    return r;
}

/* selector.type and its keys (Flume's replicating, multiplexing, load_balancing). */
static int build_selector(struct build *b, struct comp *c)
{
    struct selector_conf *sel = &c->sel;
    struct prop *st = props_find(&c->props, "selector.type");
    const char *t = st ? st->value : "replicating";
    if (!strcasecmp(t, "replicating") ||
        !strcmp(t, "org.apache.flume.channel.ReplicatingChannelSelector")) {
        sel->kind = SEL_REPLICATING;
        struct prop *op = props_find(&c->props, "selector.optional");
        if (op)
            op->used = 1; /* resolved with the channel list */
    } else if (!strcasecmp(t, "multiplexing") ||
               !strcmp(t, "org.apache.flume.channel.MultiplexingChannelSelector")) {
        sel->kind = SEL_MULTIPLEXING;
        struct prop *hp = props_find(&c->props, "selector.header");
        if (hp)
            hp->used = 1;
        if (!(sel->header = strdup(hp ? hp->value : "flume.selector.header")))
            return SLUICE_ENOMEM;
        memset(c->optional, 0, c->n_channels); /* optional is per header value here */
        int bad = 0;
        for (size_t i = 0; i < c->props.n; i++) {
            struct prop *p = &c->props.v[i];
            uint64_t mask;
            if (!strncmp(p->key, "selector.mapping.", 17)) {
                p->used = 1;
                struct sel_route *r = route_for(sel, p->key + 17);
                if (!r)
                    return SLUICE_ENOMEM;
                bad |= channel_mask(b, c, p, &mask);
                r->req |= mask;
            } else if (!strcmp(p->key, "selector.default")) {
                p->used = 1;
                bad |= channel_mask(b, c, p, &mask);
                sel->def_req |= mask;
            } else if (!strncmp(p->key, "selector.optional.", 18)) {
                p->used = 1;
                struct sel_route *r = route_for(sel, p->key + 18);
                if (!r)
                    return SLUICE_ENOMEM;
                bad |= channel_mask(b, c, p, &mask);
                r->opt |= mask;
            }
        }
        /* a channel required for a value is not also optional for it */
        for (size_t i = 0; i < sel->n_routes; i++) {
            struct sel_route *r = &sel->routes[i];
            r->opt &= ~(r->req ? r->req : sel->def_req);
        }
        if (bad)
            drop(b->m, c);
    } else if (!strcasecmp(t, "load_balancing") ||
               !strcmp(t, "org.apache.flume.channel.LoadBalancingChannelSelector")) {
        sel->kind = SEL_LOAD_BALANCING;
        struct prop *pp = props_find(&c->props, "selector.policy");
        if (pp) {
            pp->used = 1;
            if (!strcasecmp(pp->value, "random")) {
                sel->random = 1;
            } else if (strcasecmp(pp->value, "round_robin") != 0) {
                diag_add(&b->m->diags, SLUICE_LOG_WARN,
                         "%s: %s: '%s' is not round_robin or random; source %s has been removed",
                         pp->origin, pp->full_key, pp->value, c->name);
                drop(b->m, c);
            }
        }
        memset(c->optional, 0, c->n_channels);
    } else {
        diag_add(&b->m->diags, SLUICE_LOG_ERROR,
                 "%s: %s: unknown channel selector '%s' (known: replicating, multiplexing, "
                 "load_balancing; custom Java selector classes are not supported)",
                 st->origin, st->full_key, t);
        b->m->fatal = 1;
        drop(b->m, c);
    }
    if (st)
        st->used = 1;
    for (size_t i = 0; i < c->props.n; i++) {
        struct prop *p = &c->props.v[i];
        if (!p->used && !strncmp(p->key, "selector.", 9))
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: %s: unknown key for the %s channel selector, ignored", p->origin,
                     p->full_key, t);
    }
    return SLUICE_OK;
}

static int build_sources(struct build *b)
{
    for (size_t i = 0; i < b->lists[COMP_SOURCE].n; i++) {
        int oom;
        struct comp *c = begin_listed(b, COMP_SOURCE, i, &oom);
        if (oom || (c && build_interceptors(b, c) != SLUICE_OK))
            return SLUICE_ENOMEM;
        if (!c)
            continue;
        struct name_list opt = {0};
        struct prop *op = props_find(&c->props, "selector.optional");
        if (op && name_list_parse(&opt, op->value, op->origin) != SLUICE_OK)
            return SLUICE_ENOMEM;
        struct prop *chp = props_find(&c->props, "channels");
        if (!chp) {
            struct prop *alt = props_find(&c->props, "channel");
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "source '%s' has no channels (No channels set for %s)%s; removed", c->name,
                     c->name,
                     alt ? ": sources take `channels` (plural), this one has `channel`" : "");
            drop(b->m, c);
            name_list_free(&opt);
            continue;
        }
        struct name_list chl = {0};
        if (name_list_parse(&chl, chp->value, chp->origin) != SLUICE_OK) {
            name_list_free(&opt);
            return SLUICE_ENOMEM;
        }
        for (size_t k = 0; k < chl.n; k++) {
            struct comp *ch = active_channel(b, chl.v[k]);
            if (!ch) {
                diag_add(&b->m->diags, SLUICE_LOG_WARN,
                         "%s: %s: channel '%s' is not an active channel of agent %s; ignored "
                         "for source %s",
                         chp->origin, chp->full_key, chl.v[k], b->m->name, c->name);
                continue;
            }
            int optional = 0;
            for (size_t j = 0; j < opt.n; j++)
                if (strcmp(opt.v[j], chl.v[k]) == 0)
                    optional = 1;
            if (add_channel_ref(c, ch, optional) != SLUICE_OK) {
                name_list_free(&chl);
                name_list_free(&opt);
                return SLUICE_ENOMEM;
            }
        }
        name_list_free(&chl);
        name_list_free(&opt);
        if (c->n_channels == 0) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: source '%s' has no usable channels (No Channels configured for %s); "
                     "removed",
                     chp->origin, c->name, c->name);
            drop(b->m, c);
            continue;
        }
        if (c->n_channels > MAX_SOURCE_CHANNELS) {
            diag_add(&b->m->diags, SLUICE_LOG_ERROR,
                     "%s: source '%s' has %zu channels; at most %d are supported; removed",
                     chp->origin, c->name, c->n_channels, MAX_SOURCE_CHANNELS);
            drop(b->m, c);
            continue;
        }
        if (build_selector(b, c) != SLUICE_OK)
            return SLUICE_ENOMEM;
        for (size_t k = 0; k < c->n_channels && !c->dropped; k++)
            check_batch(b, c, c->channels[k]);
        if (!c->dropped)
            warn_unknown_keys(b, c);
    }
    return SLUICE_OK;
}

static int build_sinks(struct build *b)
{
    for (size_t i = 0; i < b->lists[COMP_SINK].n; i++) {
        int oom;
        struct comp *c = begin_listed(b, COMP_SINK, i, &oom);
        if (oom)
            return SLUICE_ENOMEM;
        if (!c)
            continue;
        struct prop *chp = props_find(&c->props, "channel");
        if (!chp) {
            struct prop *alt = props_find(&c->props, "channels");
            if (alt)
                diag_add(&b->m->diags, SLUICE_LOG_WARN,
                         "%s: %s: sinks take `channel` (singular), not `channels`; sink %s has "
                         "no channel (No channel configured for sink: %s) and has been removed",
                         alt->origin, alt->full_key, c->name, c->name);
            else
                diag_add(&b->m->diags, SLUICE_LOG_WARN,
                         "sink '%s' has no channel (No channel configured for sink: %s); "
                         "removed. Add a key %s.sinks.%s.channel",
                         c->name, c->name, b->m->name, c->name);
            drop(b->m, c);
            continue;
        }
        struct comp *ch = active_channel(b, chp->value);
        if (!ch) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: %s: channel '%s' is not in the active set (Channel %s not in active "
                     "set); sink %s has been removed",
                     chp->origin, chp->full_key, chp->value, chp->value, c->name);
            drop(b->m, c);
            continue;
        }
        if (add_channel_ref(c, ch, 0) != SLUICE_OK)
            return SLUICE_ENOMEM;
        if (!check_batch(b, c, ch))
            continue;
        if (!c->dropped)
            warn_unknown_keys(b, c);
    }
    return SLUICE_OK;
}

static int read_keys(struct build *b, const struct conf_set *cs, const char *agent, int *agent_seen,
                     char *others, size_t others_len)
{
    size_t alen = strlen(agent);
    size_t others_off = 0;
    others[0] = 0;
    for (size_t i = 0; i < cs->n; i++) {
        const struct conf_entry *e = &cs->v[i];
        char *key = strdup(e->key), *val = strdup(e->value);
        if (!key || !val) {
            free(key);
            free(val);
            return SLUICE_ENOMEM;
        }
        java_trim(key);
        java_trim(val);
        char origin[300];
        snprintf(origin, sizeof(origin), "%s:%d", e->file, e->line);
        char *dot = strchr(key, '.');
        int mine = dot && (size_t)(dot - key) == alen && strncmp(key, agent, alen) == 0;
        if (!mine) {
            if (dot && dot != key) {
                /* remember other agents' names for the "agent not found" message (escaped:
                 * a file of random bytes must not put control bytes into the log) */
                char shown[64];
                *dot = 0;
                conf_show_bytes(shown, sizeof(shown), key, strlen(key));
                if (!strstr(others, shown) && others_off + strlen(shown) + 3 < others_len)
                    others_off += (size_t)snprintf(others + others_off, others_len - others_off,
                                                   "%s%s", others_off ? ", " : "", shown);
            }
            free(key);
            free(val);
            continue;
        }
        *agent_seen = 1;
        if (!*val) {
            diag_add(&b->m->diags, SLUICE_LOG_WARN,
                     "%s: Configuration property ignored: %s = ", origin, key);
            free(key);
            free(val);
            continue;
        }
        const char *rest = key + alen + 1;
        int handled = 0;
        for (int k = 0; k < 5 && !handled; k++) {
            if (!list_keys[k])
                continue;
            size_t kl = strlen(list_keys[k]);
            if (strcmp(rest, list_keys[k]) == 0) {
                name_list_free(&b->lists[k]);
                if (name_list_parse(&b->lists[k], val, origin) != SLUICE_OK) {
                    free(key);
                    free(val);
                    return SLUICE_ENOMEM;
                }
                b->have_list[k] = 1;
                handled = 1;
            } else if (strncmp(rest, list_keys[k], kl) == 0 && rest[kl] == '.') {
                const char *name = rest + kl + 1;
                const char *sub = strchr(name, '.');
                if (sub && sub != name && sub[1]) {
                    char nm[256];
                    snprintf(nm, sizeof(nm), "%.*s", (int)(sub - name), name);
                    struct defined *d = def_get(b, (enum comp_kind)k, nm, 1);
                    if (!d || props_add(&d->props, sub + 1, val, key, origin) != SLUICE_OK) {
                        free(key);
                        free(val);
                        return SLUICE_ENOMEM;
                    }
                    handled = 1;
                }
            }
        }
        if (!handled) {
            if (strcmp(rest, "configfilters") == 0) {
                free(b->filter_list);
                b->filter_list = strdup(val);
                snprintf(b->filter_origin, sizeof(b->filter_origin), "%s", origin);
            } else if (strncmp(rest, "configfilters.", 14) == 0) {
                if (props_add(&b->filter_keys, rest + 14, val, key, origin) != SLUICE_OK) {
                    free(key);
                    free(val);
                    return SLUICE_ENOMEM;
                }
            } else {
                diag_add(&b->m->diags, SLUICE_LOG_WARN, "%s: Invalid property specified: %s",
                         origin, key);
            }
        }
        free(key);
        free(val);
    }
    return SLUICE_OK;
}

/* Flume's config filters: ${f1['KEY']} in component values (not in the name lists). */
static int apply_config_filters(struct build *b)
{
    struct config_filters cf;
    if (config_filters_build(&cf, b->filter_list, b->filter_origin, &b->filter_keys,
                             &b->m->diags) != 0)
        b->m->fatal = 1;
    for (size_t i = 0; i < b->filter_keys.n; i++)
        if (!b->filter_keys.v[i].used)
            diag_add(&b->m->diags, SLUICE_LOG_WARN, "%s: %s: unknown config filter key, ignored",
                     b->filter_keys.v[i].origin, b->filter_keys.v[i].full_key);
    for (size_t i = 0; i < b->n_defs; i++) {
        struct props *p = &b->defs[i].props;
        for (size_t k = 0; k < p->n; k++) {
            char *nv = config_filters_apply(&cf, p->v[k].value, p->v[k].origin, p->v[k].full_key,
                                            &b->m->diags);
            if (nv) {
                free(p->v[k].value);
                p->v[k].value = nv;
            }
        }
    }
    config_filters_free(&cf);
    return SLUICE_OK;
}

static int add_member(struct group_conf *g, struct comp *sink, int64_t priority)
{
    struct comp **v = realloc(g->sinks, (g->n_sinks + 1) * sizeof(*v));
    if (!v)
        return SLUICE_ENOMEM;
    g->sinks = v;
    int64_t *p = realloc(g->priority, (g->n_sinks + 1) * sizeof(*p));
    if (!p)
        return SLUICE_ENOMEM;
    g->priority = p;
    g->sinks[g->n_sinks] = sink;
    g->priority[g->n_sinks] = priority;
    g->n_sinks++;
    return SLUICE_OK;
}

static int64_t group_int(struct build *b, struct comp *g, const char *key, int64_t def)
{
    struct prop *p = props_find(&g->props, key);
    if (!p)
        return def;
    p->used = 1;
    char *end;
    long long v = strtoll(p->value, &end, 10);
    if (end == p->value || *end || v < 0) {
        diag_add(&b->m->diags, SLUICE_LOG_WARN,
                 "%s: %s: '%s' is not a whole number of milliseconds; using %lld", p->origin,
                 p->full_key, p->value, (long long)def);
        return def;
    }
    return v;
}

/* Sink groups (Flume's sink processors): default, failover, load_balance. */
static int build_sinkgroups(struct build *b)
{
    struct agent_model *m = b->m;
    struct name_list *l = &b->lists[COMP_SINKGROUP];
    for (size_t i = 0; i < l->n; i++) {
        struct defined *d = def_get(b, COMP_SINKGROUP, l->v[i], 0);
        struct comp *g = instantiate(b, COMP_SINKGROUP, l->v[i], d);
        if (!g)
            return SLUICE_ENOMEM;
        struct prop *sp = props_find(&g->props, "sinks");
        if (!sp) {
            diag_add(&m->diags, SLUICE_LOG_ERROR,
                     "%s: sink group '%s' has no `sinks` key (Flume fails the whole "
                     "configuration here); add %s.sinkgroups.%s.sinks",
                     l->origin, l->v[i], m->name, l->v[i]);
            m->fatal = 1;
            drop(m, g);
            continue;
        }
        sp->used = 1;
        struct prop *tp = props_find(&g->props, "processor.type");
        const char *t = tp ? tp->value : NULL;
        if (tp)
            tp->used = 1;
        struct group_conf *gc = &g->group;
        if (!t || !strcasecmp(t, "default") ||
            !strcmp(t, "org.apache.flume.sink.DefaultSinkProcessor"))
            gc->kind = PROC_DEFAULT;
        else if (!strcasecmp(t, "failover") ||
                 !strcmp(t, "org.apache.flume.sink.FailoverSinkProcessor"))
            gc->kind = PROC_FAILOVER;
        else if (!strcasecmp(t, "load_balance") ||
                 !strcmp(t, "org.apache.flume.sink.LoadBalancingSinkProcessor"))
            gc->kind = PROC_LOAD_BALANCE;
        else {
            diag_add(&m->diags, SLUICE_LOG_ERROR,
                     "%s: %s: unknown sink processor '%s' (known: default, failover, "
                     "load_balance)",
                     tp->origin, tp->full_key, t);
            m->fatal = 1;
            drop(m, g);
            continue;
        }
        gc->maxpenalty = group_int(b, g, "processor.maxpenalty", 30000);
        gc->max_timeout = group_int(b, g, "processor.selector.maxTimeOut", 30000);
        struct prop *bp = props_find(&g->props, "processor.backoff");
        if (bp) {
            bp->used = 1;
            gc->backoff = !strcasecmp(bp->value, "true");
        }
        struct prop *selp = props_find(&g->props, "processor.selector");
        if (selp) {
            selp->used = 1;
            if (!strcasecmp(selp->value, "random"))
                gc->random = 1;
            else if (strcasecmp(selp->value, "round_robin") != 0) {
                diag_add(&m->diags, SLUICE_LOG_ERROR,
                         "%s: %s: sink selector '%s' is not supported (round_robin or random)",
                         selp->origin, selp->full_key, selp->value);
                m->fatal = 1;
            }
        }
        struct name_list members = {0};
        if (name_list_parse(&members, sp->value, sp->origin) != SLUICE_OK)
            return SLUICE_ENOMEM;
        int64_t next_default_priority = -1;
        for (size_t k = 0; k < members.n; k++) {
            struct comp *s = find_comp(m, COMP_SINK, members.v[k]);
            if (!s || s->dropped) {
                diag_add(&m->diags, SLUICE_LOG_WARN,
                         "%s: %s: sink '%s' not found (or removed); left out of group %s",
                         sp->origin, sp->full_key, members.v[k], g->name);
                continue;
            }
            if (s->in_group) {
                diag_add(&m->diags, SLUICE_LOG_WARN,
                         "%s: %s: sink '%s' is in use by another group (%s); left out of %s",
                         sp->origin, sp->full_key, members.v[k], s->in_group->name, g->name);
                continue;
            }
            char pk[300];
            snprintf(pk, sizeof(pk), "processor.priority.%s", members.v[k]);
            struct prop *pp = props_find(&g->props, pk);
            int64_t prio = next_default_priority;
            if (pp) {
                pp->used = 1;
                char *end;
                long long v = strtoll(pp->value, &end, 10);
                if (end != pp->value && !*end)
                    prio = v;
                else
                    diag_add(&m->diags, SLUICE_LOG_WARN, "%s: %s: '%s' is not a whole number",
                             pp->origin, pp->full_key, pp->value);
            }
            if (prio == next_default_priority)
                next_default_priority--;
            int dup = 0;
            for (size_t j = 0; gc->kind == PROC_FAILOVER && j < gc->n_sinks; j++)
                if (gc->priority[j] == prio) {
                    diag_add(&m->diags, SLUICE_LOG_WARN,
                             "%s: Sink %s not added to the failover group %s as its priority "
                             "duplicates that of sink %s",
                             pp ? pp->origin : sp->origin, members.v[k], g->name,
                             gc->sinks[j]->name);
                    dup = 1;
                }
            if (dup)
                continue;
            if (add_member(gc, s, prio) != SLUICE_OK) {
                name_list_free(&members);
                return SLUICE_ENOMEM;
            }
            s->in_group = g;
        }
        name_list_free(&members);
        const char *why = NULL;
        if (gc->n_sinks == 0)
            why = "has no sinks left";
        else if (gc->kind == PROC_DEFAULT && gc->n_sinks > 1)
            why = "uses the default processor, which runs exactly one sink (set "
                  "processor.type = failover or load_balance)";
        else if (gc->kind == PROC_LOAD_BALANCE && gc->n_sinks < 2)
            why = "is a load_balance group with fewer than 2 sinks";
        if (why) {
            diag_add(&m->diags, SLUICE_LOG_ERROR, "%s: sink group %s %s", sp->origin, g->name, why);
            m->fatal = 1;
            drop(m, g);
            for (size_t k = 0; k < gc->n_sinks; k++)
                gc->sinks[k]->in_group = NULL;
            continue;
        }
        for (size_t k = 0; k < g->props.n; k++)
            if (!g->props.v[k].used)
                diag_add(&m->diags, SLUICE_LOG_WARN,
                         "%s: %s: unknown key for sink group %s, ignored", g->props.v[k].origin,
                         g->props.v[k].full_key, g->name);
    }
    return SLUICE_OK;
}

int model_build(struct agent_model *m, const struct conf_set *cs, const char *agent,
                const struct registry *reg, const char *files)
{
    int quiet = m->diags.quiet;
    memset(m, 0, sizeof(*m));
    m->diags.quiet = quiet;
    if (!(m->name = strdup(agent)))
        return SLUICE_ENOMEM;
    struct build b = {.m = m, .reg = reg};
    int agent_seen = 0;
    char others[512];
    int rc = read_keys(&b, cs, agent, &agent_seen, others, sizeof(others));
    if (rc != SLUICE_OK)
        goto out;
    if (b.filter_list && apply_config_filters(&b) != SLUICE_OK) {
        rc = SLUICE_ENOMEM;
        goto out;
    }
    if (!agent_seen) {
        diag_add(&m->diags, SLUICE_LOG_ERROR, "No configuration found for agent '%s' in %s%s%s%s",
                 agent, files, others[0] ? " (agents defined there: " : "", others,
                 others[0] ? ")" : "");
        m->fatal = 1;
        goto out;
    }
    if (!b.have_list[COMP_CHANNEL] || b.lists[COMP_CHANNEL].n == 0) {
        diag_add(&m->diags, SLUICE_LOG_ERROR,
                 "agent '%s' has no channels: add a key %s.channels; the agent has nothing to run",
                 agent, agent);
        m->fatal = 1;
    }
    /* components defined but not listed are ignored, as Flume does (mention them) */
    for (size_t i = 0; i < b.n_defs; i++) {
        struct name_list *l = &b.lists[b.defs[i].kind];
        int listed = 0;
        for (size_t k = 0; k < l->n; k++)
            if (strcmp(l->v[k], b.defs[i].name) == 0)
                listed = 1;
        if (!listed && b.defs[i].props.n)
            diag_add(&m->diags, SLUICE_LOG_WARN,
                     "%s: %s '%s' has keys but is not listed in %s.%s; ignored",
                     b.defs[i].props.v[0].origin, kind_words[b.defs[i].kind], b.defs[i].name, agent,
                     list_keys[b.defs[i].kind]);
    }
    if ((rc = build_channels(&b)) != SLUICE_OK || (rc = build_sources(&b)) != SLUICE_OK ||
        (rc = build_sinks(&b)) != SLUICE_OK || (rc = build_sinkgroups(&b)) != SLUICE_OK)
        goto out;
    /* channels nobody uses are removed */
    size_t live_sources = 0, live_sinks = 0, live_channels = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct comp *c = m->comps[i];
        if (c->dropped || (c->kind != COMP_SOURCE && c->kind != COMP_SINK))
            continue;
        for (size_t k = 0; k < c->n_channels; k++)
            c->channels[k]->connected = 1;
        if (c->kind == COMP_SOURCE)
            live_sources++;
        else
            live_sinks++;
    }
    for (size_t i = 0; i < m->n; i++) {
        struct comp *c = m->comps[i];
        if (c->kind != COMP_CHANNEL || c->dropped)
            continue;
        if (!c->connected) {
            diag_add(&m->diags, SLUICE_LOG_WARN,
                     "Channel %s has no components connected and has been removed.", c->name);
            drop(m, c);
        } else {
            live_channels++;
        }
    }
    if (!m->fatal && (live_channels == 0 || (live_sources == 0 && live_sinks == 0))) {
        diag_add(&m->diags, SLUICE_LOG_ERROR,
                 "agent '%s' has nothing to run after validation (%zu sources, %zu sinks, %zu "
                 "channels left); refusing to start",
                 agent, live_sources, live_sinks, live_channels);
        m->fatal = 1;
    } else if (!m->fatal) {
        if (live_sources == 0)
            diag_add(&m->diags, SLUICE_LOG_WARN, "Agent configuration for '%s' has no sources.",
                     agent);
        if (live_sinks == 0)
            diag_add(&m->diags, SLUICE_LOG_WARN, "Agent configuration for '%s' has no sinks.",
                     agent);
    }
out:
    for (int k = 0; k < 5; k++)
        name_list_free(&b.lists[k]);
    free(b.filter_list);
    props_free(&b.filter_keys);
    for (size_t i = 0; i < b.n_defs; i++) {
        free(b.defs[i].name);
        props_free(&b.defs[i].props);
    }
    free(b.defs);
    return rc;
}

void model_free(struct agent_model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct comp *c = m->comps[i];
        if (c->conf)
            options_free(c->plugin->desc, c->conf);
        props_free(&c->props);
        free(c->name);
        free(c->channels);
        free(c->optional);
        free(c->interceptors);
        for (size_t k = 0; k < c->sel.n_routes; k++)
            free(c->sel.routes[k].value);
        free(c->sel.routes);
        free(c->sel.header);
        free(c->group.sinks);
        free(c->group.priority);
        free(c);
    }
    free(m->comps);
    free(m->name);
    diag_free(&m->diags);
    memset(m, 0, sizeof(*m));
}

size_t model_list(const struct agent_model *m, enum comp_kind kind, struct comp **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->comps[i]->kind == kind && !m->comps[i]->dropped) {
            if (k < max)
                out[k] = m->comps[i];
            k++;
        }
    return k;
}

int model_status(const struct agent_model *m)
{
    return m->fatal ? 2 : m->dropped ? 1 : 0;
}
