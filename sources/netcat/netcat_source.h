/*
 * Internals of the netcat source shared by its files and its test: the conf struct the agent
 * fills, the source, and the per-connection state (decoder, current line). netcat_source.c
 * holds the options and lifecycle, netcat_conn.c what happens to the bytes of a connection.
 */
#ifndef SLUICE_NETCAT_SOURCE_H
#define SLUICE_NETCAT_SOURCE_H

#include <iconv.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/tcp_server.h"
#include "sluice/plugin.h"

struct netcat_conf {
    char *bind;
    int64_t port;
    int64_t max_line_length;
    int ack_every_event;
    char *encoding;
    int64_t max_connections;
};

/* Lines handed to the channel in one emit (lines read together go together). */
#define NETCAT_BATCH_MAX 1000
#define NETCAT_READ_SIZE (64 * 1024)

struct netcat_source {
    const struct netcat_conf *conf;
    const struct sluice_host *host;
    struct sluice_ctx *ctx;
    const char *encoding; /* conf->encoding, or utf-8 */
    int utf8;             /* encoding is UTF-8: validated here, no iconv */
    size_t max_chars;     /* max-line-length: UTF-16 units, newline included */
    struct tcp_server *srv;
    char refuse[128]; /* reply to a connection over maxConnections */
    size_t refuse_len;
    /* I/O thread only */
    struct sluice_event *batch[NETCAT_BATCH_MAX];
    size_t n_batch;
    uint64_t too_long, malformed, failed; /* for the stop summary */
};

struct netcat_conn {
    iconv_t dec, enc;  /* (iconv_t)-1 for UTF-8 */
    uint8_t carry[16]; /* bytes of a character split across reads */
    size_t n_carry;
    uint8_t *text; /* decoded input (UTF-8) of one read */
    size_t text_cap;
    uint8_t *line; /* the current line so far (UTF-8, no newline) */
    size_t len, cap;
    size_t units; /* its length in Java chars */
    int done;     /* FAILED sent: the rest of the input is ignored */
};

extern const struct tcp_server_ops netcat_conn_ops;
extern const struct sluice_source_ops netcat_source_ops;

/* Queue `text` (UTF-8) as a reply on c, encoded with the source's encoding. */
int netcat_reply(struct netcat_source *s, struct tcp_conn *c, const char *text, size_t len);

#endif
