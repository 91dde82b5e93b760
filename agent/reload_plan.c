/*
 * The reload diff (see reload_plan.h): signatures compared property by property so the log can
 * say what changed, then the changes spread along the wiring until nothing more moves.
 */
#include "reload_plan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* ---- "what changed" text, bounded ----------------------------------------------------------- */

struct why {
    char *buf;
    size_t len, off;
};

static void why_add(struct why *w, const char *fmt, ...) SLUICE_PRINTF(2, 3);

static void why_add(struct why *w, const char *fmt, ...)
{
    if (!w->buf || w->len < 8 || w->off >= w->len - 1)
        return;
    if (w->off > 0) {
        int n = snprintf(w->buf + w->off, w->len - w->off, "; ");
        w->off += n > 0 ? (size_t)n : 0;
    }
    if (w->off >= w->len - 1)
        w->off = w->len - 1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->off, w->len - w->off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= w->len - w->off) { /* cut: say so */
        memcpy(w->buf + w->len - 4, "...", 4);
        w->off = w->len - 1;
    } else {
        w->off += (size_t)n;
    }
}

/* A value for the log: secrets hidden, long values cut with "...". */
static const char *show(const char *v, int secret, char *buf, size_t len)
{
    if (!v)
        return "(unset)";
    if (secret)
        return "(secret)";
    size_t n = strlen(v);
    size_t room = len > 8 ? len - 8 : 0; /* quotes, "...", NUL */
    int cut = n > room;
    if (cut)
        n = room;
    size_t off = 0;
    buf[off++] = '\'';
    memcpy(buf + off, v, n);
    off += n;
    if (cut) {
        memcpy(buf + off, "...", 3);
        off += 3;
    }
    buf[off++] = '\'';
    buf[off] = 0;
    return buf;
}

static int icontains(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* Never log a value the plugin marks secret, nor one whose key looks like a credential. */
static int secret_key(const struct comp *c, const char *key)
{
    if (c && c->plugin && c->plugin->desc->options)
        for (const struct sluice_option *o = c->plugin->desc->options; o->name; o++) {
            if (!(o->flags & SLUICE_OPT_SECRET))
                continue;
            if (strcmp(o->name, key) == 0 || (o->deprecated && strcmp(o->deprecated, key) == 0) ||
                (o->type == SLUICE_OPT_PREFIX && strncmp(key, o->name, strlen(o->name)) == 0))
                return 1;
        }
    return icontains(key, "password") || icontains(key, "secret") || icontains(key, "jaas") ||
           icontains(key, "token") || icontains(key, "credential");
}

/* ---- Signatures ------------------------------------------------------------------------------ */

static const char *plugin_name(const struct comp *c)
{
    return c->plugin ? c->plugin->desc->name : "(none)";
}

static int same_plugin(const struct comp *a, const struct comp *b)
{
    if (!a->plugin || !b->plugin)
        return a->plugin == b->plugin;
    return a->plugin->desc == b->plugin->desc ||
           (strcmp(a->plugin->desc->name, b->plugin->desc->name) == 0 &&
            strcmp(a->plugin->path, b->plugin->path) == 0);
}

static int same_props(const struct comp *a, const struct comp *b, struct why *w)
{
    int same = 1;
    char v1[80], v2[80];
    for (size_t i = 0; i < a->props.n; i++) {
        const struct prop *p = &a->props.v[i];
        if (a->plugin && strcmp(p->key, "type") == 0)
            continue; /* the resolved plugin is compared instead */
        const struct prop *q = props_find(&b->props, p->key);
        int secret = secret_key(a, p->key);
        if (!q) {
            why_add(w, "%s removed (was %s)", p->key, show(p->value, secret, v1, sizeof(v1)));
            same = 0;
        } else if (strcmp(p->value, q->value) != 0) {
            why_add(w, "%s: %s -> %s", p->key, show(p->value, secret, v1, sizeof(v1)),
                    show(q->value, secret, v2, sizeof(v2)));
            same = 0;
        }
    }
    for (size_t i = 0; i < b->props.n; i++) {
        const struct prop *q = &b->props.v[i];
        if (b->plugin && strcmp(q->key, "type") == 0)
            continue;
        if (!props_find(&a->props, q->key)) {
            why_add(w, "%s added (%s)", q->key,
                    show(q->value, secret_key(b, q->key), v1, sizeof(v1)));
            same = 0;
        }
    }
    return same;
}

static const char *group_name(const struct comp *c)
{
    return c->in_group ? c->in_group->name : "";
}

/* What the properties do not show: the channels, group and members that survived
 * validation. */
static int same_wiring(const struct comp *a, const struct comp *b, struct why *w)
{
    switch (a->kind) {
    case COMP_SOURCE:
    case COMP_SINK: {
        int same = a->n_channels == b->n_channels;
        for (size_t i = 0; same && i < a->n_channels; i++)
            same = strcmp(a->channels[i]->name, b->channels[i]->name) == 0 &&
                   a->optional[i] == b->optional[i];
        if (!same)
            why_add(w, "channels in use changed");
        if (a->kind == COMP_SINK && strcmp(group_name(a), group_name(b)) != 0) {
            why_add(w, "sink group: '%s' -> '%s'", group_name(a), group_name(b));
            same = 0;
        }
        if (a->kind == COMP_SOURCE && a->n_interceptors != b->n_interceptors) {
            why_add(w, "interceptors in use changed");
            same = 0;
        }
        return same;
    }
    case COMP_SINKGROUP: {
        const struct group_conf *x = &a->group, *y = &b->group;
        int same = x->n_sinks == y->n_sinks;
        for (size_t i = 0; same && i < x->n_sinks; i++)
            same = strcmp(x->sinks[i]->name, y->sinks[i]->name) == 0 &&
                   x->priority[i] == y->priority[i];
        if (!same)
            why_add(w, "member sinks changed");
        return same;
    }
    case COMP_CHANNEL:
    case COMP_INTERCEPTOR:
        break;
    }
    return 1;
}

int comp_same(const struct comp *a, const struct comp *b, char *why, size_t len)
{
    struct why w = {.buf = why, .len = len};
    if (why && len)
        why[0] = 0;
    int same = 1;
    if (!same_plugin(a, b)) {
        why_add(&w, "type: %s -> %s", plugin_name(a), plugin_name(b));
        same = 0;
    }
    same &= same_props(a, b, &w);
    same &= same_wiring(a, b, &w);
    return same;
}

/* ---- The plan ------------------------------------------------------------------------------ */

const char *plan_act_word(enum plan_act act)
{
    switch (act) {
    case PLAN_KEEP:
        return "kept";
    case PLAN_ADD:
        return "added";
    case PLAN_RESTART:
        return "restarted";
    case PLAN_REMOVE:
        return "removed";
    }
    return "?";
}

static int planned_kind(enum comp_kind k)
{
    return k == COMP_SOURCE || k == COMP_CHANNEL || k == COMP_SINK || k == COMP_SINKGROUP;
}

struct plan_item *reload_plan_find(const struct reload_plan *p, enum comp_kind kind,
                                   const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].kind == kind && strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}

static struct comp *find_next(const struct agent_model *m, enum comp_kind kind, const char *name)
{
    for (size_t i = 0; i < m->n; i++) {
        struct comp *c = m->comps[i];
        if (c->kind == kind && !c->dropped && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* A kept component restarts because of a neighbour; 1 when it was kept until now. */
static int touch(struct plan_item *it, const char *what, const char *name, const char *word)
{
    if (!it || it->act != PLAN_KEEP)
        return 0;
    it->act = PLAN_RESTART;
    struct why w = {.buf = it->why, .len = sizeof(it->why), .off = strlen(it->why)};
    why_add(&w, "%s %s is %s", what, name, word);
    return 1;
}

static int uses_channel(const struct comp *c, const char *channel)
{
    for (size_t i = 0; c && i < c->n_channels; i++)
        if (strcmp(c->channels[i]->name, channel) == 0)
            return 1;
    return 0;
}

/* One round of spreading; returns how many components it newly restarted. */
static int propagate(struct reload_plan *p)
{
    int moved = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct plan_item *t = &p->v[i];
        if (t->act == PLAN_KEEP)
            continue;
        const char *word = plan_act_word(t->act);
        if (t->kind == COMP_CHANNEL) {
            for (size_t j = 0; j < p->n; j++) {
                struct plan_item *u = &p->v[j];
                if ((u->kind == COMP_SOURCE || u->kind == COMP_SINK) &&
                    (uses_channel(u->old, t->name) || uses_channel(u->next, t->name)))
                    moved += touch(u, "channel", t->name, word);
            }
        } else if (t->kind == COMP_SINK) {
            const struct comp *sides[] = {t->old, t->next};
            for (size_t s = 0; s < 2; s++)
                if (sides[s] && sides[s]->in_group)
                    moved += touch(reload_plan_find(p, COMP_SINKGROUP, sides[s]->in_group->name),
                                   "its sink", t->name, word);
        } else if (t->kind == COMP_SINKGROUP) {
            const struct comp *sides[] = {t->old, t->next};
            for (size_t s = 0; s < 2; s++)
                for (size_t k = 0; sides[s] && k < sides[s]->group.n_sinks; k++)
                    moved += touch(reload_plan_find(p, COMP_SINK, sides[s]->group.sinks[k]->name),
                                   "its sink group", t->name, word);
        }
    }
    return moved;
}

int reload_plan_build(struct reload_plan *p, struct comp *const *running, size_t n_running,
                      const struct agent_model *next)
{
    memset(p, 0, sizeof(*p));
    p->v = calloc(n_running + next->n + 1, sizeof(*p->v));
    if (!p->v)
        return SLUICE_ENOMEM;
    for (size_t i = 0; i < n_running; i++) {
        struct comp *r = running[i];
        if (!planned_kind(r->kind) || reload_plan_find(p, r->kind, r->name))
            continue;
        struct plan_item *it = &p->v[p->n++];
        it->kind = r->kind;
        it->name = r->name;
        it->old = r;
        it->next = find_next(next, r->kind, r->name);
        if (!it->next)
            it->act = PLAN_REMOVE;
        else
            it->act = comp_same(r, it->next, it->why, sizeof(it->why)) ? PLAN_KEEP : PLAN_RESTART;
    }
    for (size_t i = 0; i < next->n; i++) {
        struct comp *c = next->comps[i];
        if (!planned_kind(c->kind) || c->dropped || reload_plan_find(p, c->kind, c->name))
            continue;
        struct plan_item *it = &p->v[p->n++];
        it->kind = c->kind;
        it->name = c->name;
        it->next = c;
        it->act = PLAN_ADD;
    }
    while (propagate(p) > 0)
        ;
    return SLUICE_OK;
}

void reload_plan_free(struct reload_plan *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
}
