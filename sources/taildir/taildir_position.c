/*
 * The taildir position file, byte for byte Flume's: a JSON array written as Gson writes it,
 * `[{"inode":N,"pos":N,"file":"/abs"}]`, no whitespace, strings with Gson's HTML-safe escapes,
 * and an empty file when nothing is tracked. Reading accepts any member order (jansson), so a
 * file Flume wrote is read as is. Unlike Flume, which truncates and rewrites in place, the file
 * is replaced atomically (tmp + fsync + rename), so a crash never leaves it half-written.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "taildir_source.h"

/* ---- writing ---------------------------------------------------------------------------- */

int td_buf_add(struct td_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is malformed (overlong, surrogate,
 * above U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0)
        return 0; /* overlong */
    if (c == 0xED && s[1] >= 0xA0)
        return 0; /* surrogate */
    if (c == 0xF0 && s[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xF4 && s[1] >= 0x90)
        return 0; /* above U+10FFFF */
    return n;
}

int td_json_string(struct td_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    if (td_buf_add(b, "\"", 1))
        return -1;
    while (*s) {
        size_t n = utf8_seq(s);
        if (n == 0)
            return -1;
        char esc[8];
        const char *rep = NULL;
        if (n == 1) {
            switch (*s) {
            case '"':
                rep = "\\\"";
                break;
            case '\\':
                rep = "\\\\";
                break;
            case '\t':
                rep = "\\t";
                break;
            case '\b':
                rep = "\\b";
                break;
            case '\n':
                rep = "\\n";
                break;
            case '\r':
                rep = "\\r";
                break;
            case '\f':
                rep = "\\f";
                break;
            case '<':
            case '>':
            case '&':
            case '=':
            case '\'':
                snprintf(esc, sizeof(esc), "\\u%04x", *s);
                rep = esc;
                break;
            default:
                if (*s < 0x20) {
                    snprintf(esc, sizeof(esc), "\\u%04x", *s);
                    rep = esc;
                }
            }
        } else if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
            rep = s[2] == 0xA8 ? "\\u2028" : "\\u2029"; /* Gson escapes these two too */
        }
        if (rep ? td_buf_add(b, rep, strlen(rep)) : td_buf_add(b, (const char *)s, n))
            return -1;
        s += n;
    }
    return td_buf_add(b, "\"", 1);
}

int td_mkdir_parents(const char *path, char *msg, size_t msg_len)
{
    char *p = strdup(path);
    if (!p) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    char *slash = strrchr(p, '/');
    if (!slash || slash == p) {
        free(p);
        return 0;
    }
    *slash = 0;
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == 0) {
            char c = *q;
            *q = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                snprintf(msg, msg_len, "cannot create directory %s: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            *q = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    int rc = stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
    if (rc)
        snprintf(msg, msg_len, "%s is not a directory", p);
    free(p);
    return rc;
}

int td_pos_write_atomic(const char *path, const char *text, size_t len, char *msg, size_t msg_len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(msg, msg_len, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t off = 0;
    const char *what = NULL;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            what = "write";
            break;
        }
        off += (size_t)w;
    }
    if (!what && fsync(fd) != 0)
        what = "fsync";
    int e = errno;
    if (close(fd) != 0 && !what) {
        what = "close";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "rename";
        e = errno;
    }
    if (what) {
        snprintf(msg, msg_len, "%s of %s failed: %s", what, tmp, strerror(e ? e : EIO));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    /* make the rename itself durable */
    char *dir = strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash) {
            if (slash == dir)
                slash[1] = 0;
            else
                *slash = 0;
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
        free(dir);
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

void td_pos_entries_free(struct td_pos_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].file);
    free(e);
}

/* A JSON number that is a whole number >= 0 (Gson writes longs; accept 12.0 too). */
static int get_whole(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return -1;
        *out = (int64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d < 0 || d > 9.0e18 || d != (double)(int64_t)d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    return -1;
}

static int read_all(const char *path, char **buf, size_t *len, int *err_no)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    struct stat st;
    int bad = 0;
    if (fstat(fd, &st) != 0)
        bad = errno;
    else if (!S_ISREG(st.st_mode))
        bad = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    else if (st.st_size > TD_POSFILE_MAX)
        bad = EFBIG;
    if (bad) {
        *err_no = bad;
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *p = malloc(cap);
    if (!p) {
        close(fd);
        *err_no = ENOMEM;
        return -1;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > TD_POSFILE_MAX) {
                free(p);
                close(fd);
                *err_no = EFBIG;
                return -1;
            }
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                close(fd);
                *err_no = ENOMEM;
                return -1;
            }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err_no = errno;
            free(p);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    *buf = p;
    *len = n;
    return 0;
}

static int only_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return 0;
    return 1;
}

int td_pos_load(const char *path, const struct sluice_host *host, struct sluice_ctx *ctx,
                struct td_pos_entry **out, size_t *n_out)
{
    char *text = NULL;
    size_t len = 0;
    int e = 0;
    *out = NULL;
    *n_out = 0;
    if (read_all(path, &text, &len, &e) != 0) {
        if (e == ENOENT)
            host->log(ctx, SLUICE_LOG_INFO, "File not found: %s, not updating position", path);
        else
            host->log(ctx, SLUICE_LOG_ERROR,
                      "Failed loading positionFile: %s: %s; starting without positions", path,
                      strerror(e));
        return e == ENOMEM ? SLUICE_ENOMEM : 0;
    }
    if (only_space(text, len)) { /* Flume leaves it empty when nothing was tracked */
        free(text);
        return 0;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!root || !json_is_array(root)) {
        if (root)
            host->log(ctx, SLUICE_LOG_ERROR,
                      "Failed loading positionFile: %s: not a JSON array; starting without "
                      "positions",
                      path);
        else
            host->log(ctx, SLUICE_LOG_ERROR,
                      "Failed loading positionFile: %s: line %d column %d: %s; starting without "
                      "positions",
                      path, jerr.line, jerr.column, jerr.text);
        json_decref(root);
        return 0;
    }
    size_t n = json_array_size(root), k = 0;
    struct td_pos_entry *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (n && !v) {
        json_decref(root);
        return SLUICE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(root, i);
        json_t *ji = json_is_object(o) ? json_object_get(o, "inode") : NULL;
        json_t *jp = json_is_object(o) ? json_object_get(o, "pos") : NULL;
        json_t *jf = json_is_object(o) ? json_object_get(o, "file") : NULL;
        int64_t inode = -1, pos = -1;
        int ok = ji && jp && jf && json_is_string(jf) && get_whole(ji, &inode) == 0 &&
                 get_whole(jp, &pos) == 0;
        if (!ok) {
            char *dump = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
            host->log(ctx, SLUICE_LOG_ERROR,
                      "Detected missing or invalid value in position file %s, entry %zu: %s; "
                      "entry ignored",
                      path, i + 1, dump ? dump : "?");
            free(dump);
            continue;
        }
        v[k].inode = (uint64_t)inode;
        v[k].pos = pos;
        if (!(v[k].file = strdup(json_string_value(jf)))) {
            json_decref(root);
            td_pos_entries_free(v, k);
            return SLUICE_ENOMEM;
        }
        k++;
    }
    json_decref(root);
    *out = v;
    *n_out = k;
    return 0;
}
