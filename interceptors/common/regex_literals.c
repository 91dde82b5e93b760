/*
 * regex_literals (see regex_literals.h). A one-pass reader of PCRE2 syntax that tracks only
 * what it must: the current plain run at nesting depth 0. Groups and classes are skipped whole,
 * a quantifier removes the atom it applies to, escapes of classes and assertions end the run,
 * and anything that could change what a plain character means (top-level `|`, inline options,
 * \Q, numeric or named escapes, verbs) makes it give up.
 */
#include "regex_literals.h"

#include <stdlib.h>
#include <string.h>

#include "literal_search.h"

struct reader {
    const char *re;
    size_t n, min_len;
    char *run;
    size_t rl;
    struct regex_literals *lits;
    int oom;
};

/* Keep the current run if long enough: the longest REGEX_LITERALS_MAX runs, longest first. */
static void end_run(struct reader *r)
{
    size_t rl = r->rl;
    r->rl = 0;
    if (rl < r->min_len || rl == 0)
        return;
    struct regex_literals *l = r->lits;
    size_t at = l->n;
    while (at > 0 && l->len[at - 1] < rl)
        at--;
    if (at >= REGEX_LITERALS_MAX)
        return;
    char *s = malloc(rl + 1);
    if (!s) {
        r->oom = 1;
        return;
    }
    memcpy(s, r->run, rl);
    s[rl] = 0;
    if (l->n == REGEX_LITERALS_MAX) {
        free(l->s[REGEX_LITERALS_MAX - 1]);
        l->n--;
    }
    memmove(&l->s[at + 1], &l->s[at], (l->n - at) * sizeof(l->s[0]));
    memmove(&l->len[at + 1], &l->len[at], (l->n - at) * sizeof(l->len[0]));
    l->s[at] = s;
    l->len[at] = rl;
    l->n++;
}

/* A quantifier applies to the last atom: if that was a plain character, it leaves the run. */
static void drop_last_char(struct reader *r)
{
    while (r->rl > 0 && ((unsigned char)r->run[r->rl - 1] & 0xC0) == 0x80)
        r->rl--;
    if (r->rl > 0)
        r->rl--;
}

/* Index just past the class that starts at re[i] == '[', or n when it does not end. */
static size_t skip_class(const char *re, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && re[j] == '^')
        j++;
    if (j < n && re[j] == ']')
        j++;
    while (j < n) {
        if (re[j] == '\\') {
            j += 2;
        } else if (re[j] == '[' && j + 1 < n && re[j + 1] == ':') {
            const char *e = strstr(re + j + 2, ":]");
            if (!e)
                return n;
            j = (size_t)(e - re) + 2;
        } else if (re[j] == ']') {
            return j + 1;
        } else {
            j++;
        }
    }
    return n;
}

/* "(?" forms that are plain groups or lookarounds; anything else (options, verbs) -> give up. */
static int group_ok(const char *p)
{
    if (p[0] != '?')
        return p[0] != '*'; /* (*VERB) */
    char c = p[1];
    if (c == ':' || c == '=' || c == '!' || c == '>' || c == '|' || c == '\'')
        return 1;
    if (c == '<')
        return 1; /* (?<= (?<! or a named group */
    if (c == 'P' && p[2] == '<')
        return 1;
    return 0;
}

/* Returns 0 when the pattern was read to its end, -1 when it gave up. */
static int read_pattern(struct reader *r)
{
    const char *re = r->re;
    size_t n = r->n, i = 0;
    int depth = 0;
    while (i < n && !r->oom) {
        char c = re[i];
        if (depth > 0) {
            if (c == '\\') {
                if (i + 1 < n && re[i + 1] == 'Q')
                    return -1;
                i += 2;
            } else if (c == '[') {
                i = skip_class(re, n, i);
            } else {
                if (c == '(') {
                    if (!group_ok(re + i + 1))
                        return -1;
                    depth++;
                } else if (c == ')') {
                    depth--;
                }
                i++;
            }
            continue;
        }
        switch (c) {
        case '|':
        case ')':
            return -1;
        case '(':
            if (!group_ok(re + i + 1))
                return -1;
            end_run(r);
            depth = 1;
            i++;
            break;
        case '[':
            end_run(r);
            i = skip_class(re, n, i);
            break;
        case '.':
        case '^':
        case '$':
        case ']':
        case '}':
            end_run(r);
            i++;
            break;
        case '*':
        case '+':
        case '?':
            drop_last_char(r);
            end_run(r);
            i++;
            if (i < n && (re[i] == '+' || re[i] == '?'))
                i++;
            break;
        case '{': {
            drop_last_char(r);
            end_run(r);
            const char *e = memchr(re + i, '}', n - i);
            i = e ? (size_t)(e - re) + 1 : n;
            if (i < n && (re[i] == '+' || re[i] == '?'))
                i++;
            break;
        }
        case '\\': {
            if (i + 1 >= n)
                return -1;
            unsigned char e = (unsigned char)re[i + 1];
            if (e >= 0x80)
                return -1;
            if ((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
                if (!strchr("dDwWsShHvVRbBAzZGXK", e))
                    return -1; /* \x \p \Q \1 \k \t ...: not worth understanding */
                end_run(r);
            } else {
                r->run[r->rl++] = (char)e;
            }
            i += 2;
            break;
        }
        default:
            r->run[r->rl++] = c;
            i++;
            break;
        }
    }
    if (depth != 0)
        return -1;
    end_run(r);
    return 0;
}

int regex_literals_find(const char *pattern, size_t min_len, struct regex_literals *lits)
{
    memset(lits, 0, sizeof(*lits));
    struct reader r = {.re = pattern, .n = strlen(pattern), .min_len = min_len, .lits = lits};
    r.run = malloc(r.n + 1);
    if (!r.run)
        return -1;
    int rc = read_pattern(&r);
    free(r.run);
    if (rc != 0 || r.oom) {
        regex_literals_free(lits);
        return r.oom ? -1 : 0;
    }
    return 0;
}

int regex_literals_present(const struct regex_literals *lits, const uint8_t *body, size_t n)
{
    for (size_t i = 0; i < lits->n; i++)
        if (!literal_find(body, n, (const uint8_t *)lits->s[i], lits->len[i]))
            return 0;
    return 1;
}

void regex_literals_free(struct regex_literals *lits)
{
    for (size_t i = 0; i < lits->n; i++)
        free(lits->s[i]);
    memset(lits, 0, sizeof(*lits));
}
