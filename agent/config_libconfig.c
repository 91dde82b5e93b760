/*
 * Agent files in libconfig syntax (.cfg) load into the same conf_set as Flume .properties
 * files, and cfg_convert() prints the .cfg form of a conf_set, so users can move to the
 * structured syntax without changing what the agent sees.
 *
 * Mapping (.cfg -> dotted Flume keys):
 * - A setting's path of names, joined with '.', is the Flume key. Top-level settings are
 *   normally agent names: `a1 = { channels = { c1 = { capacity = 1000; }; }; };` gives
 *   `a1.channels.c1.capacity = 1000`. A top-level scalar gives a key without a dot (Flume
 *   ignores those; they can still serve ${} substitution).
 * - Scalars: strings as they are (libconfig escapes \\ \" \n \r \t \f \xNN apply, so a
 *   literal backslash is written "\\"), integers in decimal (hex too; 64-bit values work
 *   with or without the L suffix: libconfig 1.5 would silently truncate a large literal
 *   without L, so the text gets the L added before parsing; leading zeros never mean octal),
 *   floats in their shortest exact form (integral ones as "1500.0"), booleans as
 *   "true"/"false".
 * - An array or list of scalars becomes one space-separated value: `channels = ["c1", "c2"];`
 *   gives "c1 c2". A list holding groups, arrays or lists is an error.
 * - A group's own value: in Flume a key can have a value and sub-keys at once (serializer =
 *   TEXT plus serializer.appendNewline = false). The member named "*" (CFG_SELF) holds the
 *   value of its group's own key, so
 *       serializer = { * = "TEXT"; appendNewline = false; };
 *   gives both keys. ("*" is a valid name in libconfig 1.5, unlike "_", "-" or "", and no
 *   Flume key part uses it.) It must be a scalar or array/list; "*" at the top level, holding
 *   a group, or in a name-list group (whose value is its members' names) is an error.
 * - Name lists: a group whose path ends in sources, sinks, channels, sinkgroups or
 *   configfilters directly under an agent (a1.sources), or in interceptors, filegroups or
 *   serializers inside a component (a1.sources.r1.interceptors, ...interceptors.i1.serializers)
 *   also sets that key itself to its member names in order, space-separated:
 *   `sources = { r1 = {...}; r2 = {...}; };` gives `a1.sources = r1 r2` plus r1's and r2's
 *   keys. Members may be scalars (taildir: `filegroups = { f1 = "/var/log/.*"; };`).
 * - Every entry records file and line (libconfig's setting line; a name list takes its
 *   group's line). Syntax errors read "FILE:LINE: <libconfig message>" (SLUICE_ECONFIG).
 *   @include is refused (load several files instead) and nesting is limited to CFG_MAX_DEPTH.
 *
 * Converter (conf_set -> .cfg), the reverse, for keys and values trimmed as Flume trims them:
 * - Keys split on '.' into nested groups, in the order keys first appear. Each part must be a
 *   libconfig name ([A-Za-z*][-A-Za-z0-9_*]*) other than the reserved "*"; otherwise
 *   SLUICE_ECONFIG naming key and file:line. A key with both a value and sub-keys becomes a
 *   group whose first member is `* = value;`. Nothing is written when there is an error.
 * - A name-list key is written as a group of its listed members, in list order (duplicates
 *   once); a listed name without keys becomes an empty group `r1 = { };`. Sub-keys of members
 *   that are not listed (or of a name list that has no value) are ignored by Flume; they are
 *   left out and shown in a `# not listed in KEY, ignored by Flume:` comment instead, so the
 *   converted agent behaves the same and nothing vanishes unseen.
 * - Canonical decimal integers (0, -12, 4444; L added beyond 32 bits) and exactly "true" /
 *   "false" are written bare, everything else as an escaped string. Empty values (which Flume
 *   ignores) are left out and listed in a comment at the top.
 * Round trip: properties -> cfg_convert -> cfg_parse_buffer gives the same trimmed key/value
 * set as Flume sees, apart from the entries the comments name.
 */
#include "config_libconfig.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define CFG_MAX_DEPTH 100
/* The member name that holds a group's own value (a libconfig 1.5 name: [A-Za-z*]...). */
#define CFG_SELF "*"

/* ---- Shared rules ------------------------------------------------------------------------- */

static int name_is(const char *s, size_t n, const char *const *set)
{
    for (; *set; set++)
        if (strlen(*set) == n && memcmp(s, *set, n) == 0)
            return 1;
    return 0;
}

static const char *const agent_lists[] = {"sources",    "sinks",         "channels",
                                          "sinkgroups", "configfilters", NULL};
static const char *const component_lists[] = {"interceptors", "filegroups", "serializers", NULL};

/* Is the key of `depth` parts, whose second part is `kind` and last part `last`, a name list?
 * (a1.sources: depth 2; a1.sources.r1.interceptors and deeper: depth >= 4.) */
static int is_name_list(size_t depth, const char *kind, size_t kind_len, const char *last,
                        size_t last_len)
{
    if (depth == 2)
        return name_is(last, last_len, agent_lists);
    return depth >= 4 && name_is(kind, kind_len, agent_lists) &&
           name_is(last, last_len, component_lists);
}

/* libconfig's setting names: [A-Za-z*][-A-Za-z0-9_*]* */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '*'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '*'))
            return 0;
    }
    return 1;
}

/* Is this name the reserved member for a group's own value? */
static int is_self(const char *s, size_t n)
{
    return n == strlen(CFG_SELF) && memcmp(s, CFG_SELF, n) == 0;
}

/* Why a key part cannot be a .cfg name (for messages; the part is invalid or reserved). */
static const char *bad_name_why(const char *s, size_t n)
{
    return is_self(s, n) ? "is reserved in .cfg for a group's own value"
                         : "is not a libconfig setting name ([A-Za-z*][-A-Za-z0-9_*]*)";
}

/* ---- Parsing: text fix-ups libconfig 1.5 needs ---------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
           c == '_' || c == '*';
}

/* The token before a string, for string_fits(). */
enum prev_tok { PT_NONE, PT_EQUALS, PT_OPEN, PT_COMMA, PT_STRING, PT_OTHER };

/* libconfig's grammar takes a string only as a value (after = or :), as an array or list
 * element (after [ ( or a comma inside one) or glued to the string before it. */
static int string_fits(enum prev_tok prev, char innermost)
{
    return prev == PT_EQUALS || prev == PT_OPEN || prev == PT_STRING ||
           (prev == PT_COMMA && (innermost == '[' || innermost == '('));
}

/*
 * Walk the text with libconfig's token rules just far enough to find integer literals, and
 * return a copy in which every one outside the 32-bit range carries the L suffix (libconfig
 * 1.5 truncates it otherwise; later versions promote it themselves, and accept the L too).
 * A literal beyond 64 bits and @include are errors. Strings, comments and names are skipped.
 * A string where the grammar takes none is a syntax error that libconfig 1.5 would leak the
 * string token of (its parser has no destructor for a discarded lookahead): the copy then
 * ends just before that string and *bad_string_line holds its line (else 0).
 */
static char *prepare_text(const char *text, const char *file, struct sluice_err *err, int *rc,
                          int *bad_string_line)
{
    size_t len = strlen(text);
    /* An added L follows a literal of at least 10 characters. */
    char *out = len < SIZE_MAX / 2 ? malloc(len + len / 8 + 16) : NULL;
    char *brackets = malloc(len + 1); /* the brackets open at this point, innermost last */
    if (!out || !brackets) {
        free(out);
        free(brackets);
        *rc = err_set(err, SLUICE_ENOMEM, "%s: out of memory", file);
        return NULL;
    }
    size_t i = 0, o = 0, depth = 0;
    int line = 1, line_start = 1;
    enum prev_tok prev = PT_NONE;
    *bad_string_line = 0;
    while (i < len) {
        char c = text[i];
        if (c == '\n') {
            out[o++] = text[i++];
            line++;
            line_start = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            out[o++] = text[i++];
            continue;
        }
        int at_start = line_start;
        line_start = 0;
        size_t j = i;
        enum prev_tok tok = PT_OTHER;
        if (c == '"') { /* string: to the closing quote, a backslash escapes the next byte */
            if (!string_fits(prev, depth ? brackets[depth - 1] : 0)) {
                *bad_string_line = line;
                break;
            }
            tok = PT_STRING;
            for (j++; j < len && text[j] != '"'; j++) {
                if (text[j] == '\\' && j + 1 < len)
                    j++;
                if (text[j] == '\n')
                    line++;
            }
            j = j < len ? j + 1 : j;
        } else if (c == '#' || (c == '/' && text[i + 1] == '/')) {
            tok = prev; /* comments are not tokens */
            while (j < len && text[j] != '\n')
                j++;
        } else if (c == '/' && text[i + 1] == '*') {
            tok = prev;
            for (j += 2; j < len && !(text[j] == '*' && text[j + 1] == '/'); j++)
                if (text[j] == '\n')
                    line++;
            j = j < len ? j + 2 : j;
        } else if (c == '@' && at_start && strncmp(text + i, "@include", 8) == 0) {
            free(brackets);
            free(out);
            *rc = err_set(err, SLUICE_ECONFIG,
                          "%s:%d: @include is not supported; load each file on its own instead",
                          file, line);
            return NULL;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*') {
            while (j < len && is_name_char(text[j]))
                j++;
        } else if (is_digit(c) || ((c == '-' || c == '+') && is_digit(text[i + 1]))) {
            int hex =
                c == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X') && is_xdigit(text[i + 2]);
            j += hex ? 2 : 1;
            while (j < len && (hex ? is_xdigit(text[j]) : is_digit(text[j])))
                j++;
            int is_float =
                !hex && (text[j] == '.' ||
                         ((text[j] == 'e' || text[j] == 'E') &&
                          (is_digit(text[j + 1]) ||
                           ((text[j + 1] == '-' || text[j + 1] == '+') && is_digit(text[j + 2])))));
            if (is_float) {
                if (text[j] == '.')
                    for (j++; is_digit(text[j]); j++)
                        ;
                if ((text[j] == 'e' || text[j] == 'E') &&
                    (is_digit(text[j + 1]) ||
                     ((text[j + 1] == '-' || text[j + 1] == '+') && is_digit(text[j + 2]))))
                    for (j += 2; is_digit(text[j]); j++)
                        ;
            } else {
                /* Leading zeros go: libconfig 1.5 reads 0123 as decimal, later versions as
                 * octal; sluice keeps it decimal whatever the library. */
                size_t k = i, sign = !hex && (text[i] == '-' || text[i] == '+');
                for (k += sign + (hex ? 2 : 0); text[k] == '0' && k + 1 < j; k++)
                    ;
                char num[64];
                size_t nlen = j - i, sig = j - k; /* all / significant digits */
                int has_l = text[j] == 'L';
                errno = 0;
                unsigned long long u = 0;
                long long v = 0;
                if (sig < sizeof(num) - 1) {
                    num[0] = text[i];
                    memcpy(num + sign, text + k, sig);
                    num[sign + sig] = '\0';
                    if (hex)
                        u = strtoull(num, NULL, 16);
                    else
                        v = strtoll(num, NULL, 10);
                }
                if (sig >= sizeof(num) - 1 || errno == ERANGE || (hex && u > INT64_MAX)) {
                    free(brackets);
                    free(out);
                    *rc = err_set(err, SLUICE_ECONFIG,
                                  "%s:%d: integer %.*s%s does not fit in a signed 64-bit integer",
                                  file, line, (int)(nlen > 40 ? 40 : nlen), text + i,
                                  nlen > 40 ? "..." : "");
                    return NULL;
                }
                if (hex) /* written as is: 0x prefix and all */
                    k = i;
                else if (sign)
                    out[o++] = text[i];
                memcpy(out + o, text + k, j - k);
                o += j - k;
                i = j;
                if (!has_l && (hex ? u > INT32_MAX : (v > INT32_MAX || v < INT32_MIN)))
                    out[o++] = 'L';
                prev = PT_OTHER;
                continue;
            }
        } else {
            j++;
            if (c == '=' || c == ':')
                tok = PT_EQUALS;
            else if (c == ',')
                tok = PT_COMMA;
            else if (c == '[' || c == '(' || c == '{') {
                brackets[depth++] = c;
                tok = c == '{' ? PT_OTHER : PT_OPEN;
            } else if ((c == ']' || c == ')' || c == '}') && depth > 0)
                depth--;
        }
        prev = tok;
        memcpy(out + o, text + i, j - i);
        o += j - i;
        i = j;
    }
    free(brackets);
    out[o] = '\0';
    return out;
}

/* ---- Parsing: settings to entries ------------------------------------------------------------ */

struct walker {
    const char *file;
    struct conf_set *set;
    struct sluice_err *err;
    char *path; /* dotted key of the current setting */
    size_t path_len, path_cap;
    size_t part[CFG_MAX_DEPTH + 1]; /* offset of each part in path */
    char *val;                      /* value being built */
    size_t val_len, val_cap;
};

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return SLUICE_OK;
    size_t c = *cap ? *cap : 128;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return SLUICE_ENOMEM;
        c *= 2;
    }
    char *b = realloc(*buf, c);
    if (!b)
        return SLUICE_ENOMEM;
    *buf = b;
    *cap = c;
    return SLUICE_OK;
}

static int val_add(struct walker *w, const char *s)
{
    size_t n = strlen(s);
    int sep = w->val_len > 0;
    if (grow(&w->val, &w->val_cap, w->val_len + n + 2) != SLUICE_OK)
        return SLUICE_ENOMEM;
    if (sep)
        w->val[w->val_len++] = ' ';
    memcpy(w->val + w->val_len, s, n + 1);
    w->val_len += n;
    return SLUICE_OK;
}

static const char *setting_file(const struct walker *w, const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    return f ? f : w->file;
}

/* Shortest text that reads back as the same double; integral values keep a ".0". */
static void format_double(double d, char *buf, size_t size)
{
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
        snprintf(buf, size, "%.1f", d);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Text of a scalar into buf (or a pointer to libconfig's string); NULL if not a scalar. */
static const char *scalar_text(const config_setting_t *s, char *buf, size_t size)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        return config_setting_get_string(s);
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, size, "%lld", config_setting_get_int64(s));
        return buf;
    case CONFIG_TYPE_FLOAT:
        format_double(config_setting_get_float(s), buf, size);
        return buf;
    case CONFIG_TYPE_BOOL:
        return config_setting_get_bool(s) ? "true" : "false";
    default:
        return NULL;
    }
}

static int put(struct walker *w, const config_setting_t *s, const char *value)
{
    int rc = conf_set_put(w->set, w->path, w->path_len, value, strlen(value), setting_file(w, s),
                          (int)config_setting_source_line(s));
    if (rc != SLUICE_OK)
        return err_set(w->err, rc, "%s:%u: %s: %s", setting_file(w, s),
                       config_setting_source_line(s), w->path, sluice_strerror(rc));
    return SLUICE_OK;
}

static int walk(struct walker *w, const config_setting_t *s, size_t depth);

/* A member `* = value;` (m) of the group at w->path: the value of the group's own key. */
static int walk_self(struct walker *w, const config_setting_t *m, size_t depth, int name_list)
{
    if (depth == 0)
        return err_set(w->err, SLUICE_ECONFIG,
                       "%s:%u: \"" CFG_SELF "\" sets the value of its group's own key, so it "
                       "cannot stand at the top level",
                       setting_file(w, m), config_setting_source_line(m));
    if (name_list)
        return err_set(w->err, SLUICE_ECONFIG,
                       "%s:%u: %s: \"" CFG_SELF "\" cannot set a name list; its value is the "
                       "names of the group's members",
                       setting_file(w, m), config_setting_source_line(m), w->path);
    if (config_setting_is_group(m))
        return err_set(w->err, SLUICE_ECONFIG,
                       "%s:%u: %s: \"" CFG_SELF "\" is the group's own value, so it must be a "
                       "string, number, boolean or list of them, not a group",
                       setting_file(w, m), config_setting_source_line(m), w->path);
    return walk(w, m, depth);
}

/* Walk the members of group g, whose own path has `depth` parts. */
static int walk_members(struct walker *w, const config_setting_t *g, size_t depth, int name_list)
{
    size_t base = w->path_len;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        size_t n = strlen(name);
        if (is_self(name, n)) {
            w->path_len = base;
            if (w->path)
                w->path[base] = '\0';
            int rc = walk_self(w, m, depth, name_list);
            if (rc != SLUICE_OK)
                return rc;
            continue;
        }
        if (depth >= CFG_MAX_DEPTH)
            return err_set(w->err, SLUICE_ECONFIG, "%s:%u: %s.%s: nested deeper than %d levels",
                           setting_file(w, m), config_setting_source_line(m), w->path, name,
                           CFG_MAX_DEPTH);
        if (grow(&w->path, &w->path_cap, base + n + 2) != SLUICE_OK)
            return err_set(w->err, SLUICE_ENOMEM, "%s: out of memory", w->file);
        w->path_len = base;
        if (depth > 0)
            w->path[w->path_len++] = '.';
        w->part[depth] = w->path_len;
        memcpy(w->path + w->path_len, name, n + 1);
        w->path_len += n;
        int rc = walk(w, m, depth + 1);
        if (rc != SLUICE_OK)
            return rc;
    }
    w->path_len = base;
    if (w->path)
        w->path[base] = '\0';
    return SLUICE_OK;
}

/* One setting whose path (w->path) has `depth` parts. */
static int walk(struct walker *w, const config_setting_t *s, size_t depth)
{
    char num[64];
    const char *text = scalar_text(s, num, sizeof(num));
    if (text)
        return put(w, s, text);
    if (config_setting_is_group(s)) {
        const char *kind = depth >= 2 ? w->path + w->part[1] : "";
        size_t kind_len = depth >= 3 ? w->part[2] - 1 - w->part[1] : strlen(kind);
        const char *last = w->path + w->part[depth - 1];
        int name_list = is_name_list(depth, kind, kind_len, last, w->path_len - w->part[depth - 1]);
        if (name_list) {
            w->val_len = 0;
            if (val_add(w, "") != SLUICE_OK)
                return err_set(w->err, SLUICE_ENOMEM, "%s: out of memory", w->file);
            for (int i = 0; i < config_setting_length(s); i++)
                if (val_add(w, config_setting_name(config_setting_get_elem(s, (unsigned)i))) !=
                    SLUICE_OK)
                    return err_set(w->err, SLUICE_ENOMEM, "%s: out of memory", w->file);
            int rc = put(w, s, w->val);
            if (rc != SLUICE_OK)
                return rc;
        }
        return walk_members(w, s, depth, name_list);
    }
    /* Array or list: its scalars joined by single spaces. */
    w->val_len = 0;
    if (val_add(w, "") != SLUICE_OK)
        return err_set(w->err, SLUICE_ENOMEM, "%s: out of memory", w->file);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *t = scalar_text(e, num, sizeof(num));
        if (!t)
            return err_set(w->err, SLUICE_ECONFIG,
                           "%s:%u: %s: a list may hold only strings, numbers and booleans",
                           setting_file(w, e), config_setting_source_line(e), w->path);
        if (val_add(w, t) != SLUICE_OK)
            return err_set(w->err, SLUICE_ENOMEM, "%s: out of memory", w->file);
    }
    return put(w, s, w->val);
}

int cfg_parse_buffer(const char *text, const char *file, struct conf_set *out,
                     struct sluice_err *err)
{
    if (!file)
        file = "(buffer)";
    if (!text)
        return err_set(err, SLUICE_EINVAL, "%s: no text", file);
    int rc = SLUICE_OK, bad_string_line = 0;
    char *prepared = prepare_text(text, file, err, &rc, &bad_string_line);
    if (!prepared)
        return rc;
    config_t cfg;
    config_init(&cfg);
    int parsed = config_read_string(&cfg, prepared);
    if (bad_string_line && (parsed || config_error_line(&cfg) >= bad_string_line)) {
        /* the text before the misplaced string holds no earlier error */
        rc = err_set(err, SLUICE_ECONFIG,
                     "%s:%d: syntax error: a string cannot stand here (only after = or :, or in "
                     "a [...] or (...) list)",
                     file, bad_string_line);
        config_destroy(&cfg);
        free(prepared);
        return rc;
    }
    if (!parsed) {
        const char *f = config_error_file(&cfg);
        rc = err_set(err, SLUICE_ECONFIG, "%s:%d: %s", f ? f : file, config_error_line(&cfg),
                     config_error_text(&cfg));
        config_destroy(&cfg);
        free(prepared);
        return rc;
    }
    free(prepared);
    /* Collect into a private set, so that an error leaves `out` untouched. */
    struct conf_set tmp;
    conf_set_init(&tmp);
    struct walker w = {.file = file, .set = &tmp, .err = err};
    rc = walk_members(&w, config_root_setting(&cfg), 0, 0);
    if (rc == SLUICE_OK && (rc = conf_set_merge(out, &tmp)) != SLUICE_OK)
        err_set(err, rc, "%s: %s", file, sluice_strerror(rc));
    free(w.path);
    free(w.val);
    conf_set_free(&tmp);
    config_destroy(&cfg);
    return rc;
}

int cfg_parse_file(const char *path, struct conf_set *out, struct sluice_err *err)
{
    char *data;
    size_t len;
    int rc = conf_read_file(path, &data, &len, err);
    if (rc != SLUICE_OK)
        return rc;
    const char *nul = memchr(data, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = data; p < nul; p++)
            line += *p == '\n';
        free(data);
        return err_set(err, SLUICE_ECONFIG, "%s:%d: NUL byte in the file", path, line);
    }
    rc = cfg_parse_buffer(data, path, out, err);
    free(data);
    return rc;
}

/* ---- Converting: conf_set to a tree of dotted-key parts ------------------------------------- */

struct node {
    const char *name; /* a part of some entry's (trimmed) key */
    size_t name_len;
    size_t parent, first_child, last_child, next; /* node indices; 0 = none (0 is the root) */
    size_t depth;                                 /* parts in this node's key */
    const struct conf_entry *entry;               /* the key's own value, if any */
    const char *key, *value;                      /* trimmed views of entry's strings */
    size_t key_len, value_len;
    int listed; /* written as a member of its parent's name list */
};

struct tree {
    struct node *v;
    size_t n, cap;
    size_t *index; /* (parent, name) -> node index + 1 */
    size_t index_cap;
    const struct conf_entry **empty; /* entries left out for an empty value */
    size_t n_empty;
};

/* Java's String.trim(): every byte <= ' ' at both ends. */
static const char *trim(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n && (unsigned char)*s <= ' ')
        s++, n--;
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    *len = n;
    return s;
}

static size_t child_hash(size_t parent, const char *name, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)parent * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 32;
    return (size_t)h;
}

static size_t *child_slot(const struct tree *t, size_t parent, const char *name, size_t n)
{
    size_t mask = t->index_cap - 1;
    for (size_t i = child_hash(parent, name, n) & mask;; i = (i + 1) & mask) {
        size_t e = t->index[i];
        if (e == 0)
            return &t->index[i];
        const struct node *c = &t->v[e - 1];
        if (c->parent == parent && c->name_len == n && memcmp(c->name, name, n) == 0)
            return &t->index[i];
    }
}

static size_t find_child(const struct tree *t, size_t parent, const char *name, size_t n)
{
    size_t e = *child_slot(t, parent, name, n);
    return e ? e - 1 : 0;
}

/* The child of parent called name, created when missing; 0 when out of memory. */
static size_t get_child(struct tree *t, size_t parent, const char *name, size_t n)
{
    size_t found = find_child(t, parent, name, n);
    if (found)
        return found;
    if (t->n == t->cap) {
        size_t cap = t->cap * 2;
        struct node *v = cap < SIZE_MAX / sizeof(*v) ? realloc(t->v, cap * sizeof(*v)) : NULL;
        if (!v)
            return 0;
        t->v = v;
        t->cap = cap;
    }
    if (t->index_cap / 2 < t->n + 1) {
        size_t cap = t->index_cap * 2;
        size_t *idx = cap < SIZE_MAX / sizeof(*idx) ? calloc(cap, sizeof(*idx)) : NULL;
        if (!idx)
            return 0;
        free(t->index);
        t->index = idx;
        t->index_cap = cap;
        for (size_t i = 1; i < t->n; i++)
            *child_slot(t, t->v[i].parent, t->v[i].name, t->v[i].name_len) = i + 1;
    }
    size_t i = t->n++;
    t->v[i] = (struct node){
        .name = name, .name_len = n, .parent = parent, .depth = t->v[parent].depth + 1};
    if (t->v[parent].last_child)
        t->v[t->v[parent].last_child].next = i;
    else
        t->v[parent].first_child = i;
    t->v[parent].last_child = i;
    *child_slot(t, parent, name, n) = i + 1;
    return i;
}

static int tree_build(struct tree *t, const struct conf_set *cs, struct sluice_err *err)
{
    t->cap = 64;
    t->index_cap = 128;
    t->v = calloc(t->cap, sizeof(*t->v));
    t->index = calloc(t->index_cap, sizeof(*t->index));
    t->empty = calloc(cs->n ? cs->n : 1, sizeof(*t->empty));
    if (!t->v || !t->index || !t->empty)
        return err_set(err, SLUICE_ENOMEM, "out of memory");
    t->n = 1; /* the root */
    char shown[200];
    for (size_t i = 0; i < cs->n; i++) {
        const struct conf_entry *e = &cs->v[i];
        size_t klen, vlen;
        const char *key = trim(e->key, &klen);
        const char *value = trim(e->value, &vlen);
        if (vlen == 0) {
            t->empty[t->n_empty++] = e;
            continue;
        }
        size_t at = 0, depth = 0;
        for (size_t s = 0;; depth++) {
            size_t p = s;
            while (p < klen && key[p] != '.')
                p++;
            if (depth >= CFG_MAX_DEPTH)
                return err_set(err, SLUICE_ECONFIG, "%s:%d: key \"%s\" has more than %d parts",
                               e->file, e->line, conf_show_bytes(shown, sizeof(shown), key, klen),
                               CFG_MAX_DEPTH);
            at = get_child(t, at, key + s, p - s);
            if (!at)
                return err_set(err, SLUICE_ENOMEM, "out of memory");
            if (p == klen)
                break;
            s = p + 1;
        }
        struct node *nd = &t->v[at];
        nd->entry = e; /* equal keys after trimming: the later entry wins */
        nd->key = key;
        nd->key_len = klen;
        nd->value = value;
        nd->value_len = vlen;
    }
    return SLUICE_OK;
}

static void tree_free(struct tree *t)
{
    free(t->v);
    free(t->index);
    free(t->empty);
}

/* ---- Converting: writing ------------------------------------------------------------------- */

struct writer {
    struct tree *t;
    FILE *f;
    struct sluice_err *err;
};

static void indent(FILE *f, size_t level)
{
    for (size_t i = 0; i < level; i++)
        fputs("    ", f);
}

static void write_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '"':
            fputs("\\\"", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\f':
            fputs("\\f", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02X", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

/* 0, or [-]?[1-9][0-9]* within 64 bits: reads back as exactly the same text. */
static int canonical_int(const char *s, size_t n, long long *out)
{
    char buf[24];
    size_t d = n && s[0] == '-';
    if (n == 0 || n >= sizeof(buf) || d == n || (s[d] == '0' && n > 1))
        return 0;
    for (size_t i = d; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtoll(buf, NULL, 10);
    return errno == 0;
}

static void write_value(FILE *f, const char *v, size_t n)
{
    long long ll;
    if (canonical_int(v, n, &ll))
        fprintf(f, "%lld%s", ll, (ll > INT32_MAX || ll < INT32_MIN) ? "L" : "");
    else if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0))
        fwrite(v, 1, n, f);
    else
        write_string(f, v, n);
}

/* Comment lines listing every entry under node i (inclusive), pre-order. */
static void write_dropped(struct writer *w, size_t i, size_t level)
{
    const struct node *nd = &w->t->v[i];
    char shown[300];
    if (nd->entry) {
        indent(w->f, level);
        fprintf(w->f, "#   %s = ", conf_show_bytes(shown, sizeof(shown), nd->key, nd->key_len));
        write_string(w->f, nd->value, nd->value_len);
        fputc('\n', w->f);
    }
    for (size_t c = nd->first_child; c; c = w->t->v[c].next)
        write_dropped(w, c, level);
}

static int write_node(struct writer *w, size_t i, size_t level);

/* The dotted key of node i, shown as in messages (bounded). */
static const char *node_path(const struct tree *t, size_t i, char *buf, size_t size)
{
    char raw[512];
    size_t o = sizeof(raw);
    raw[--o] = '\0';
    for (size_t a = i; a; a = t->v[a].parent) {
        size_t n = t->v[a].name_len;
        if (n + 4 > o) { /* too long to show in full: keep the tail */
            o -= 3;
            memcpy(raw + o, "...", 3);
            break;
        }
        o -= n;
        memcpy(raw + o, t->v[a].name, n);
        if (t->v[a].parent)
            raw[--o] = '.';
    }
    return conf_show_bytes(buf, size, raw + o, strlen(raw + o));
}

/* The name list at node i: a group of the listed members, then comments for the rest. */
static int write_name_list(struct writer *w, size_t i, size_t level)
{
    struct tree *t = w->t;
    char shown[200];
    if (t->v[i].entry) {
        indent(w->f, level);
        fprintf(w->f, "%.*s = {\n", (int)t->v[i].name_len, t->v[i].name);
        const char *v = t->v[i].value, *end = v + t->v[i].value_len;
        while (v < end) { /* Flume splits the list on \s+ */
            while (v < end && (*v == ' ' || (*v >= '\t' && *v <= '\r')))
                v++;
            const char *s = v;
            while (v < end && !(*v == ' ' || (*v >= '\t' && *v <= '\r')))
                v++;
            if (v == s)
                break;
            const struct node *nd = &t->v[i];
            if (!valid_name(s, (size_t)(v - s)) || is_self(s, (size_t)(v - s)))
                return err_set(w->err, SLUICE_ECONFIG,
                               "%s:%d: key \"%s\": listed name \"%.*s\" %s, so the key cannot "
                               "be written as .cfg",
                               nd->entry->file, nd->entry->line,
                               conf_show_bytes(shown, sizeof(shown), nd->key, nd->key_len),
                               (int)(v - s), s, bad_name_why(s, (size_t)(v - s)));
            size_t c = get_child(t, i, s, (size_t)(v - s));
            if (!c)
                return err_set(w->err, SLUICE_ENOMEM, "out of memory");
            if (t->v[c].listed)
                continue; /* listed twice: Flume merges duplicates */
            t->v[c].listed = 1;
            if (!t->v[c].entry && !t->v[c].first_child) {
                indent(w->f, level + 1);
                fprintf(w->f, "%.*s = { };\n", (int)(v - s), s);
                continue;
            }
            int rc = write_node(w, c, level + 1);
            if (rc != SLUICE_OK)
                return rc;
        }
    }
    int header = 0;
    for (size_t c = t->v[i].first_child; c; c = t->v[c].next) {
        if (t->v[c].listed || (!t->v[c].entry && !t->v[c].first_child))
            continue;
        if (!header) {
            const struct node *nd = &t->v[i];
            char path[200];
            indent(w->f, level + (nd->entry ? 1 : 0));
            fprintf(w->f, "# not listed in %s%s, ignored by Flume:\n",
                    node_path(t, i, path, sizeof(path)), nd->entry ? "" : " (no value)");
            header = 1;
        }
        write_dropped(w, c, level + (t->v[i].entry ? 1 : 0));
    }
    if (t->v[i].entry) {
        indent(w->f, level);
        fputs("};\n", w->f);
    }
    return SLUICE_OK;
}

static int write_node(struct writer *w, size_t i, size_t level)
{
    struct tree *t = w->t;
    const struct node *nd = &t->v[i];
    const char *kind = "";
    size_t kind_len = 0;
    if (nd->depth >= 2) {
        size_t a = i;
        while (t->v[a].depth > 2)
            a = t->v[a].parent;
        kind = t->v[a].name;
        kind_len = t->v[a].name_len;
    }
    if (!valid_name(nd->name, nd->name_len) || is_self(nd->name, nd->name_len)) {
        char shown[200], part[100];
        const struct node *m = nd; /* the first key through this part, for the message */
        while (!m->entry)
            m = &t->v[m->first_child];
        return err_set(w->err, SLUICE_ECONFIG,
                       "%s:%d: key \"%s\": \"%s\" %s, so the key cannot be written as .cfg",
                       m->entry->file, m->entry->line,
                       conf_show_bytes(shown, sizeof(shown), m->key, m->key_len),
                       conf_show_bytes(part, sizeof(part), nd->name, nd->name_len),
                       bad_name_why(nd->name, nd->name_len));
    }
    if (is_name_list(nd->depth, kind, kind_len, nd->name, nd->name_len))
        return write_name_list(w, i, level);
    indent(w->f, level);
    fprintf(w->f, "%.*s = ", (int)nd->name_len, nd->name);
    if (nd->entry && !nd->first_child) {
        write_value(w->f, nd->value, nd->value_len);
        fputs(";\n", w->f);
        return SLUICE_OK;
    }
    fputs("{\n", w->f);
    if (nd->entry) { /* a value and sub-keys: the value goes first, as the group's own */
        indent(w->f, level + 1);
        fputs(CFG_SELF " = ", w->f);
        write_value(w->f, nd->value, nd->value_len);
        fputs(";\n", w->f);
    }
    for (size_t c = nd->first_child; c; c = t->v[c].next) {
        int rc = write_node(w, c, level + 1);
        if (rc != SLUICE_OK)
            return rc;
    }
    indent(w->f, level);
    fputs("};\n", w->f);
    return SLUICE_OK;
}

int cfg_convert(const struct conf_set *cs, FILE *out, struct sluice_err *err)
{
    struct tree t = {0};
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = NULL;
    int rc = tree_build(&t, cs, err);
    if (rc != SLUICE_OK)
        goto done;
    /* Write to memory first: on an error nothing reaches `out`. */
    mem = open_memstream(&text, &text_len);
    if (!mem) {
        rc = err_set(err, SLUICE_ENOMEM, "out of memory");
        goto done;
    }
    fputs("# sluice agent configuration in libconfig syntax. Group paths join with '.' into\n"
          "# the Flume keys of the .properties form (see the README, \"libconfig files\").\n",
          mem);
    if (t.n_empty) {
        char shown[300];
        fputs("# Left out, because Flume ignores keys with an empty value:\n", mem);
        for (size_t i = 0; i < t.n_empty; i++) {
            size_t kl;
            const char *k = trim(t.empty[i]->key, &kl);
            fprintf(mem, "#   %s (%s:%d)\n", conf_show_bytes(shown, sizeof(shown), k, kl),
                    t.empty[i]->file, t.empty[i]->line);
        }
    }
    struct writer w = {.t = &t, .f = mem, .err = err};
    for (size_t c = t.v[0].first_child; c && rc == SLUICE_OK; c = t.v[c].next)
        rc = write_node(&w, c, 0);
    if (fclose(mem) != 0 && rc == SLUICE_OK)
        rc = err_set(err, SLUICE_ENOMEM, "out of memory");
    mem = NULL;
    if (rc != SLUICE_OK)
        goto done;
    if (fwrite(text, 1, text_len, out) != text_len || fflush(out) != 0)
        rc = err_set(err, SLUICE_EIO, "writing the .cfg text: %s", strerror(errno));
done:
    if (mem)
        fclose(mem);
    free(text);
    tree_free(&t);
    return rc;
}
