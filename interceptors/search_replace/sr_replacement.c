/*
 * Java's replacement syntax for search_replace (see sr_replacement.h). The parse follows
 * Matcher.appendExpandedReplacement() step by step, including its error cases, so a
 * replaceString means here exactly what it means in Flume. PCRE2's own substitute syntax
 * differs (`$$`, `\` kept, `${1}`), which is why it is not used.
 */
#include "sr_replacement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Append a part; a literal run directly after another one is merged into it. */
static int add_part(struct sr_repl *r, size_t *cap, int32_t group, size_t off, size_t len)
{
    if (group < 0 && len == 0)
        return 0;
    if (group < 0 && r->n && r->parts[r->n - 1].group < 0 &&
        r->parts[r->n - 1].off + r->parts[r->n - 1].len == off) {
        r->parts[r->n - 1].len += len;
        return 0;
    }
    if (r->n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct sr_part *p = realloc(r->parts, c * sizeof(*p));
        if (!p)
            return -2;
        r->parts = p;
        *cap = c;
    }
    r->parts[r->n++] = (struct sr_part){.group = group, .off = off, .len = len};
    return 0;
}

int sr_repl_parse(struct sr_repl *r, const char *text, const struct jregex *re, char *msg,
                  size_t msg_len)
{
    memset(r, 0, sizeof(*r));
    size_t n = strlen(text), cap = 0, o = 0; /* o: bytes written to lit */
    r->lit = malloc(n + 1);
    if (!r->lit)
        return -2;
    int rc = 0;
    size_t i = 0;
    while (i < n && rc == 0) {
        char c = text[i];
        if (c == '\\') {
            if (++i == n) {
                snprintf(msg, msg_len, "character to be escaped is missing (a trailing \\)");
                return -1;
            }
            /* the next character is taken literally, all of its UTF-8 bytes */
            size_t len = jtext_char_len((const uint8_t *)text + i, n - i);
            memcpy(r->lit + o, text + i, len);
            rc = add_part(r, &cap, -1, o, len);
            o += len;
            i += len;
        } else if (c == '$') {
            if (++i == n) {
                snprintf(msg, msg_len,
                         "Illegal group reference: group index is missing (write \\$ for a $)");
                return -1;
            }
            int64_t ref;
            if (text[i] == '{') {
                size_t start = ++i;
                while (i < n && is_ascii_alnum(text[i]))
                    i++;
                size_t len = i - start;
                if (len == 0) {
                    snprintf(msg, msg_len, "named capturing group has 0 length name");
                    return -1;
                }
                if (i == n || text[i] != '}') {
                    snprintf(msg, msg_len, "named capturing group is missing trailing '}'");
                    return -1;
                }
                if (text[start] >= '0' && text[start] <= '9') {
                    snprintf(msg, msg_len,
                             "capturing group name {%.*s} starts with digit character", (int)len,
                             text + start);
                    return -1;
                }
                char name[256];
                int num = PCRE2_ERROR_NOSUBSTRING;
                if (len < sizeof(name)) {
                    memcpy(name, text + start, len);
                    name[len] = 0;
                    num = pcre2_substring_number_from_name(re->re, (PCRE2_SPTR)name);
                }
                if (num < 0) {
                    snprintf(msg, msg_len, "No group with name {%.*s}", (int)len, text + start);
                    return -1;
                }
                ref = num;
                i++; /* the '}' */
            } else {
                if (text[i] < '0' || text[i] > '9') {
                    snprintf(msg, msg_len,
                             "Illegal group reference: '$' followed by '%c' (write \\$ for a "
                             "literal $)",
                             (unsigned char)text[i] < 0x80 ? text[i] : '?');
                    return -1;
                }
                ref = text[i++] - '0'; /* the first digit is always part of the reference */
                while (i < n && text[i] >= '0' && text[i] <= '9') {
                    int64_t next = ref * 10 + (text[i] - '0');
                    if (next > re->groups)
                        break; /* the longest number that is still a group */
                    ref = next;
                    i++;
                }
                if (ref > re->groups) {
                    snprintf(msg, msg_len, "No group %lld (the pattern has %u)", (long long)ref,
                             re->groups);
                    return -1;
                }
            }
            rc = add_part(r, &cap, (int32_t)ref, 0, 0);
        } else {
            r->lit[o] = c;
            rc = add_part(r, &cap, -1, o, 1);
            o++;
            i++;
        }
    }
    r->lit[o] = 0;
    return rc;
}

void sr_repl_free(struct sr_repl *r)
{
    free(r->parts);
    free(r->lit);
    memset(r, 0, sizeof(*r));
}

int sr_repl_expand(const struct sr_repl *r, const struct jregex *re, const uint8_t *subject,
                   struct jbuf *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct sr_part *p = &r->parts[i];
        if (p->group < 0) {
            if (jbuf_append(out, r->lit + p->off, p->len) != 0)
                return -1;
            continue;
        }
        size_t s, e;
        int set;
        jregex_group(re, (uint32_t)p->group, &s, &e, &set);
        if (set && jbuf_append(out, subject + s, e - s) != 0) /* unset group: nothing */
            return -1;
    }
    return 0;
}

int sr_repl_is_literal(const struct sr_repl *r)
{
    return r->n == 0 || (r->n == 1 && r->parts[0].group < 0);
}
