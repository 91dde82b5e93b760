/*
 * Shared fixture of the taildir plugin tests: a temporary directory, a conf struct filled as
 * the agent would, the source driven in-process (process() called in a loop until a condition
 * holds or a deadline passes) and a host whose emit captures events or fails on demand.
 */
#ifndef SLUICE_TAILDIR_HARNESS_H
#define SLUICE_TAILDIR_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "../../sources/taildir/taildir_source.h"
#include "test_host.h"

#define TDH_MAX_KV 16

struct tdh {
    struct sluice_ctx ctx;
    struct taildir_conf conf;
    struct sluice_kv fg[TDH_MAX_KV];
    struct sluice_kv hdr[TDH_MAX_KV];
    char groups[256];
    char dir[256];
    char pos[320];
    struct td_source *src;
    int started;
    int no_inotify; /* set before tdh_start: poll only */
};

/* The host the source sees: log capture, emit wrapped. */
extern struct sluice_host tdh_host;
/* When non-zero, emit frees the batch and returns this code. */
extern int tdh_fail_emit;
/* When non-zero, batches of at least this many events fail with SLUICE_ETOOBIG. */
extern size_t tdh_toobig_min;
/* Batches seen by emit (including failed ones). */
extern size_t tdh_emit_calls;

void tdh_init(struct tdh *t);
/* Remove the temp dir and free everything. */
void tdh_fini(struct tdh *t);
/* filegroups.<name> = <dir>/<sub>/<regex> (sub may be "" for the fixture dir itself). */
void tdh_group(struct tdh *t, const char *name, const char *sub, const char *regex);
void tdh_header(struct tdh *t, const char *key, const char *value);
/* create + start; returns the create/start code. */
int tdh_start(struct tdh *t);
/* stop + destroy (positions are written by stop). */
void tdh_stop(struct tdh *t);
/* Call process() until n events were captured or timeout_ms passed; returns the count. */
size_t tdh_run_until(struct tdh *t, size_t n, int timeout_ms);
/* Call process() for ms milliseconds. */
void tdh_run_for(struct tdh *t, int ms);
/* Call process() until pred(t) or timeout; returns pred's last value. */
int tdh_run_until_pred(struct tdh *t, int (*pred)(struct tdh *), int timeout_ms);

/* Paths and files in the fixture dir. */
const char *tdh_path(struct tdh *t, const char *name); /* static buffer */
void tdh_append(struct tdh *t, const char *name, const void *data, size_t len);
void tdh_appends(struct tdh *t, const char *name, const char *text);
uint64_t tdh_inode(struct tdh *t, const char *name);
/* The text of the position file (malloc'd, NUL-terminated) or NULL. */
char *tdh_read_pos(struct tdh *t);
void tdh_write_pos(struct tdh *t, const char *text);

/* Captured events. */
size_t tdh_n(struct tdh *t);
struct sluice_event *tdh_ev(struct tdh *t, size_t i);
/* Body of event i as a NUL-terminated copy in a static buffer (bodies may hold NULs). */
const char *tdh_body(struct tdh *t, size_t i);
int tdh_body_is(struct tdh *t, size_t i, const char *want);
/* How many captured events have exactly this body. */
size_t tdh_count(struct tdh *t, const char *body);
/* Forget captured events. */
void tdh_clear(struct tdh *t);
/* The tracked file with this name, or NULL. */
struct td_file *tdh_file(struct tdh *t, const char *name);

int64_t tdh_now_ms(void);

#endif
