/*
 * Event allocation and header maps. One allocation holds the struct and the body, so a plain
 * line costs one malloc; headers grow in a small array since events carry few of them.
 */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include "sluice/plugin.h"

struct sluice_event *event_new(const void *body, size_t len);
void event_free(struct sluice_event *ev);
struct sluice_event *event_dup(const struct sluice_event *ev);
int event_header_set(struct sluice_event *ev, const char *key, const char *value);
const char *event_header_get(const struct sluice_event *ev, const char *key);
void event_header_remove(struct sluice_event *ev, const char *key);
int event_body_set(struct sluice_event *ev, const void *body, size_t len);

#endif
