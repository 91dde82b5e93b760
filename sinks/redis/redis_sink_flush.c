/*
 * Building the EVALSHA argument vector of one flush from the batch's aggregate (layout in
 * redis_sink_lua.c). Arguments are copied into one growing text buffer and pointed to at the
 * end, so nothing is allocated per entry once the buffers have grown to the batch's size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_sink.h"

int rs_cmd_init(struct rs_cmd *c, size_t batch_size)
{
    memset(c, 0, sizeof(*c));
    c->cap = 64 * 1024;
    c->txt = malloc(c->cap);
    /* 12 fixed, 3 per window, 4 per slice, 3 per entry: each at most one per event */
    c->cap_args = 12 + batch_size * 3 + (batch_size + 1) * 4 + batch_size * 3;
    c->off = calloc(c->cap_args, sizeof(*c->off));
    c->lens = calloc(c->cap_args, sizeof(*c->lens));
    c->argv = calloc(c->cap_args, sizeof(*c->argv));
    c->cap_sent = batch_size + 1;
    c->sent = calloc(c->cap_sent, sizeof(*c->sent));
    if (!c->txt || !c->off || !c->lens || !c->argv || !c->sent) {
        rs_cmd_free(c);
        return -1;
    }
    return 0;
}

void rs_cmd_free(struct rs_cmd *c)
{
    free(c->txt);
    free(c->off);
    free(c->lens);
    free(c->argv);
    free(c->sent);
    memset(c, 0, sizeof(*c));
}

static int push(struct rs_cmd *c, const char *s, size_t n)
{
    if (c->n >= c->cap_args)
        return -1;
    if (c->len + n > c->cap) {
        size_t cap = c->cap;
        while (c->len + n > cap)
            cap *= 2;
        char *t = realloc(c->txt, cap);
        if (!t)
            return -1;
        c->txt = t;
        c->cap = cap;
    }
    memcpy(c->txt + c->len, s, n);
    c->off[c->n] = c->len;
    c->lens[c->n++] = n;
    c->len += n;
    return 0;
}

static int push_s(struct rs_cmd *c, const char *s)
{
    return push(c, s, strlen(s));
}

static int push_i(struct rs_cmd *c, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%" PRId64, v);
    return push(c, b, (size_t)n);
}

int rs_flush_build(struct rs_cmd *c, const struct rs_flush_args *fa, const struct rs_map *m)
{
    c->n = 0;
    c->len = 0;
    c->n_sent = 0;
    int rc = 0;
    for (int i = 0; i < 3; i++) /* EVALSHA sha 0: filled by rs_conn_eval */
        rc |= push(c, "", 0);
    /* which slices go: those with counts, or with offsets to record */
    for (uint32_t i = 0; i < m->ns; i++)
        if (m->s[i].n_entries > 0 || (m->s[i].tlen > 0 && m->s[i].hi != RS_NO_OFFSET))
            c->sent[c->n_sent++] = i;
    rc |= push_s(c, fa->seed ? "seed" : "hincrby");
    rc |= push_s(c, fa->key);
    rc |= push_s(c, fa->inst);
    rc |= push_i(c, (int64_t)fa->seq);
    rc |= push_i(c, fa->ttl_s);
    rc |= push_i(c, fa->now_s);
    if (fa->has_due)
        rc |= push_i(c, fa->due_ms);
    else
        rc |= push(c, "", 0);
    rc |= push_i(c, m->nw);
    rc |= push_i(c, (int64_t)c->n_sent);
    for (uint32_t i = 0; i < m->nw; i++) {
        char id[32], field[32] = "";
        int64_t end = m->w[i].start_ms + fa->window_ms;
        rs_window_id(m->w[i].start_ms, id, sizeof(id));
        if (fa->seed)
            rs_format_local(end, field, sizeof(field));
        rc |= push_s(c, id);
        rc |= push_i(c, end);
        rc |= push_s(c, field);
    }
    for (size_t k = 0; k < c->n_sent; k++) {
        const struct rs_slice *s = &m->s[c->sent[k]];
        rc |= push(c, rs_map_str(m, s->toff), s->tlen);
        rc |= push_i(c, s->lo == RS_NO_OFFSET ? -1 : s->lo);
        rc |= push_i(c, s->hi == RS_NO_OFFSET ? -1 : s->hi);
        rc |= push_i(c, s->n_entries);
    }
    for (size_t k = 0; k < c->n_sent; k++) {
        const struct rs_slice *s = &m->s[c->sent[k]];
        for (uint32_t e = s->first; e; e = m->e[e - 1].next) {
            const struct rs_entry *en = &m->e[e - 1];
            rc |= push_i(c, (int64_t)en->win + 1);
            rc |= push(c, rs_map_str(m, en->goff), en->glen);
            rc |= push_i(c, en->count);
        }
    }
    if (rc)
        return -1;
    for (size_t i = 0; i < c->n; i++)
        c->argv[i] = c->txt + c->off[i];
    return 0;
}
