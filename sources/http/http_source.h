/*
 * Internals of the http source shared by its files and its test: the conf struct the agent
 * fills, the source, and the JSON handler (http_json.c) that turns a request body into events
 * the way Flume's JSONHandler does.
 */
#ifndef SLUICE_HTTP_SOURCE_H
#define SLUICE_HTTP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

#define HTTP_JSON_HANDLER "org.apache.flume.source.http.JSONHandler"

struct http_conf {
    int64_t port;
    char *bind;
    char *handler;
    struct sluice_kvlist handler_props;
    int64_t max_request_bytes;
    int64_t max_connections;
    int ssl;
    struct sluice_kvlist jetty[4]; /* QueuedThreadPool., HttpConfiguration., ... */
};

struct MHD_Daemon;

struct http_source {
    const struct http_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    struct MHD_Daemon *d;
    int port;
    uint64_t bad_requests, refused;
};

extern const struct sluice_source_ops http_source_ops;

/* ---- http_json.c ---------------------------------------------------------------------- */

enum http_charset { HTTP_CS_UTF8, HTTP_CS_UTF16, HTTP_CS_UTF32 };

/* The charset of a Content-Type value (NULL or none given: UTF-8). 0, or -1 with msg naming
 * the charset when it is not one the JSON handler supports (UTF-8, UTF-16, UTF-32). */
int http_json_charset(const char *content_type, enum http_charset *cs, char *msg, size_t len);

/*
 * A request body (in charset cs) as events: a JSON array of {"headers": {...}, "body": "..."}.
 * Header values and bodies may be strings, numbers or booleans (Gson reads those as strings);
 * a missing or null body is empty; other members are ignored. Bodies are encoded in cs, as
 * Flume's JSONEvent does. Returns the number of events (*evs malloc'd, owned by the caller),
 * or -1 with msg describing the client's mistake (400), or SLUICE_ENOMEM.
 */
long http_json_events(const struct sluice_host *h, enum http_charset cs, const uint8_t *body,
                      size_t len, struct sluice_event ***evs, char *msg, size_t msg_len);

#endif
