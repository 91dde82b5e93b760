/*
 * regex_extractor's serializers: the `serializers` list and the `serializers.<s>.*` keys read
 * and checked as Flume's RegexExtractorInterceptor reads them (name required, type missing or
 * the case-sensitive "DEFAULT" for the group text as is, the millis serializer with its
 * Joda-Time `pattern`), and the conversion of one group's text into a header value.
 */
#ifndef SLUICE_RX_SERIALIZERS_H
#define SLUICE_RX_SERIALIZERS_H

#include "joda_pattern.h"
#include "sluice/plugin.h"

#define RX_MILLIS_CLASS "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"
#define RX_PASSTHROUGH_CLASS                                                                       \
    "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer"

struct rx_serializer {
    char *id;            /* the name in the serializers list ("s1") */
    const char *header;  /* serializers.<s>.name; points into the conf */
    int millis;          /* 0: the group text as is */
    const char *pattern; /* millis: serializers.<s>.pattern; points into the conf */
    struct joda_pattern jp;
};

struct rx_serializers {
    struct rx_serializer *v;
    size_t n;
};

/* Read list (space-separated ids) and the serializers.* items; warnings go to the log. */
int rx_serializers_build(struct rx_serializers *s, const char *list,
                         const struct sluice_kvlist *items, const struct sluice_host *host,
                         struct sluice_ctx *ctx, struct sluice_err *err);
void rx_serializers_free(struct rx_serializers *s);

/* The header value for group text (NUL-terminated) into out; 0, or -1 with msg. */
int rx_serialize(struct rx_serializer *s, const char *text, size_t len, char *out, size_t out_len,
                 const char **value, char *msg, size_t msg_len);

#endif
