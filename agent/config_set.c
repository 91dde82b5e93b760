/*
 * The flat key/value set every configuration reader fills. Entries keep the order in which
 * their key first appeared; a repeated key replaces value, file and line (last one wins, as
 * java.util.Properties does). An open-addressing index keeps lookups O(1) for 100k+ keys.
 */
#include "config_set.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

void conf_set_init(struct conf_set *cs)
{
    memset(cs, 0, sizeof(*cs));
}

void conf_set_free(struct conf_set *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->v[i].key);
        free(cs->v[i].value);
        free(cs->v[i].file);
    }
    free(cs->v);
    free(cs->index);
    conf_set_init(cs);
}

/* FNV-1a, then a 64-bit finalizer so that similar keys spread over the whole table. */
static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Slot of key in the index: the one holding it, or the empty one where it belongs. Slots hold
 * entry index + 1; 0 is empty. index_cap is a power of two, at most half full. */
static size_t index_slot(const struct conf_set *cs, const char *key, size_t len)
{
    size_t mask = cs->index_cap - 1;
    size_t i = (size_t)key_hash(key, len) & mask;
    for (;;) {
        size_t e = cs->index[i];
        if (e == 0)
            return i;
        const char *k = cs->v[e - 1].key;
        if (strncmp(k, key, len) == 0 && k[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
}

static int index_grow(struct conf_set *cs)
{
    size_t cap = cs->index_cap ? cs->index_cap : 16;
    while (cap / 2 < cs->n + 1) {
        if (cap > SIZE_MAX / 2 / sizeof(size_t))
            return SLUICE_ENOMEM;
        cap *= 2;
    }
    if (cap == cs->index_cap)
        return SLUICE_OK;
    size_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return SLUICE_ENOMEM;
    free(cs->index);
    cs->index = idx;
    cs->index_cap = cap;
    for (size_t i = 0; i < cs->n; i++) {
        const char *k = cs->v[i].key;
        cs->index[index_slot(cs, k, strlen(k))] = i + 1;
    }
    return SLUICE_OK;
}

static char *dup_len(const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

int conf_set_put(struct conf_set *cs, const char *key, size_t key_len, const char *value,
                 size_t value_len, const char *file, int line)
{
    if (!key || (!value && value_len) || memchr(key, '\0', key_len) ||
        (value_len && memchr(value, '\0', value_len)))
        return SLUICE_EINVAL;
    if (!file)
        file = "";
    /* Copy first: key/value/file may point into an entry this call replaces. */
    char *v = dup_len(value ? value : "", value_len);
    char *f = dup_len(file, strlen(file));
    if (!v || !f)
        goto nomem;
    if (cs->index_cap / 2 < cs->n + 1 && index_grow(cs) != SLUICE_OK)
        goto nomem;
    size_t slot = index_slot(cs, key, key_len);
    if (cs->index[slot]) {
        struct conf_entry *e = &cs->v[cs->index[slot] - 1];
        free(e->value);
        free(e->file);
        e->value = v;
        e->file = f;
        e->line = line;
        return SLUICE_OK;
    }
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*cs->v))
            goto nomem;
        struct conf_entry *nv = realloc(cs->v, cap * sizeof(*nv));
        if (!nv)
            goto nomem;
        cs->v = nv;
        cs->cap = cap;
    }
    char *k = dup_len(key, key_len);
    if (!k)
        goto nomem;
    cs->v[cs->n] = (struct conf_entry){.key = k, .value = v, .file = f, .line = line};
    cs->index[slot] = ++cs->n;
    return SLUICE_OK;
nomem:
    free(v);
    free(f);
    return SLUICE_ENOMEM;
}

const struct conf_entry *conf_set_get(const struct conf_set *cs, const char *key)
{
    if (!cs->index || !key)
        return NULL;
    size_t e = cs->index[index_slot(cs, key, strlen(key))];
    return e ? &cs->v[e - 1] : NULL;
}

int conf_set_merge(struct conf_set *dst, const struct conf_set *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct conf_entry *e = &src->v[i];
        int rc =
            conf_set_put(dst, e->key, strlen(e->key), e->value, strlen(e->value), e->file, e->line);
        if (rc != SLUICE_OK)
            return rc;
    }
    return SLUICE_OK;
}

int conf_read_file(const char *path, char **data, size_t *len, struct sluice_err *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, SLUICE_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    int have_st = fstat(fd, &st) == 0;
    if (have_st && S_ISDIR(st.st_mode)) {
        close(fd);
        return err_set(err, SLUICE_EIO, "%s: %s", path, strerror(EISDIR));
    }
    if (have_st && S_ISREG(st.st_mode) && (uint64_t)st.st_size > CONF_FILE_MAX) {
        close(fd);
        return err_set(err, SLUICE_EIO, "%s: larger than %zu MiB; refusing to load it", path,
                       CONF_FILE_MAX >> 20);
    }
    /* A regular file is read in one go (one spare byte sees EOF); pipes and the like grow the
     * buffer as data comes, up to the same bound. */
    size_t cap = (have_st && S_ISREG(st.st_mode)) ? (size_t)st.st_size + 2 : 4096;
    size_t n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return err_set(err, SLUICE_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap - 1) {
            if (cap - 1 > CONF_FILE_MAX)
                break;
            size_t ncap = (cap - 1) * 2 + 1;
            if (ncap > CONF_FILE_MAX + 2)
                ncap = CONF_FILE_MAX + 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return err_set(err, SLUICE_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return err_set(err, SLUICE_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > CONF_FILE_MAX) {
        free(buf);
        return err_set(err, SLUICE_EIO, "%s: larger than %zu MiB; refusing to load it", path,
                       CONF_FILE_MAX >> 20);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SLUICE_OK;
}

/* Length of the valid UTF-8 sequence at s[0..n) (2..4), or 0 (malformed, overlong, surrogate,
 * above U+10FFFF or cut off). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (k == 0 || c > 0xF4 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] >= 0x90))
        return 0;
    return k;
}

const char *conf_show_bytes(char *buf, size_t size, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char c = u[i];
        size_t k = c >= 0x80 ? utf8_len(u + i, len - i) : 0;
        if (k && o + k + 8 >= size) { /* a character that does not fit whole */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && k == 0)) {
            /* control bytes, and bytes that are not UTF-8, as \xNN: log lines stay text */
            o += (size_t)snprintf(buf + o, size - o, "\\x%02X", c);
        } else if (k) {
            memcpy(buf + o, u + i, k);
            o += k;
            i += k - 1;
        } else {
            buf[o++] = (char)c;
        }
        if (i + 1 < len && o + 8 >= size) {
            memcpy(buf + o, "...", 3);
            o += 3;
        }
    }
    buf[o] = '\0';
    return buf;
}
