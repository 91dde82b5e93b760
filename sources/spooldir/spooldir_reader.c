/*
 * Reading the spooldir source's current file into lines, as Flume's LINE deserializer does on
 * characters: split at '\n' (a '\r' stays in the body), cut after maxLineLength characters
 * (the rest of the line starts the next event), a last line without '\n' is a line. Reading
 * stops at the size the file had when it was opened, so memory stays bounded (one 64 KiB
 * block plus one line of at most maxLineLength characters) and a growing file is noticed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spooldir_source.h"

int sd_file_open(struct sd_source *s, const char *path, const char *rel, int64_t offset,
                 struct sd_file **out)
{
    *out = NULL;
    struct sd_file *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a fifo put there must not block */
    if (f->fd < 0) {
        int e = errno;
        free(f);
        return -e;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = S_ISREG(st.st_mode) ? errno : EINVAL;
        close(f->fd);
        free(f);
        return -e;
    }
    f->path = strdup(path);
    f->rel = strdup(rel);
    f->line_cap = 4 * s->max_units + 8;
    f->line = malloc(f->line_cap);
    f->rbuf = malloc(SD_READ_BLOCK);
    if (!f->path || !f->rel || !f->line || !f->rbuf) {
        sd_file_close(f);
        return -ENOMEM;
    }
    const char *slash = strrchr(f->path, '/');
    f->base = slash ? slash + 1 : f->path;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->mtime_ns = sd_mtime_ns(&st);
    f->committed = offset <= f->size ? offset : f->size;
    sd_file_rewind(f);
    *out = f;
    return 0;
}

void sd_file_close(struct sd_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->rel);
    free(f->line);
    free(f->rbuf);
    free(f);
}

void sd_file_rewind(struct sd_file *f)
{
    f->rbase = f->committed;
    f->rpos = f->rlen = 0;
    f->eof = 0;
    f->line_len = 0;
    f->units = 0;
    f->cut_pending = 0;
    f->bad = 0;
}

/* Keep the unread bytes and read more, never past the size at open. 0 or -errno. */
static int fill(struct sd_file *f)
{
    if (f->rpos > 0) {
        memmove(f->rbuf, f->rbuf + f->rpos, f->rlen - f->rpos);
        f->rbase += (int64_t)f->rpos;
        f->rlen -= f->rpos;
        f->rpos = 0;
    }
    int64_t at = f->rbase + (int64_t)f->rlen;
    size_t want = SD_READ_BLOCK - f->rlen;
    if ((int64_t)want > f->size - at)
        want = (size_t)(f->size - at);
    if (want == 0) {
        f->eof = 1;
        return 0;
    }
    ssize_t n;
    do
        n = pread(f->fd, f->rbuf + f->rlen, want, at);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0) /* shorter than at open: noticed when the file is completed */
        f->eof = 1;
    f->rlen += (size_t)n;
    return 0;
}

static void append_cp(struct sd_file *f, uint32_t cp)
{
    uint8_t *o = f->line + f->line_len;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        f->line_len += 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        f->line_len += 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        f->line_len += 3;
    } else {
        o[0] = (uint8_t)(0xF0 | (cp >> 18));
        o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (uint8_t)(0x80 | (cp & 0x3F));
        f->line_len += 4;
    }
    f->units += cp > 0xFFFF ? 2 : 1; /* Java counts UTF-16 chars */
}

int sd_next_line(struct sd_source *s, struct sd_file *f, int64_t *end)
{
    if (f->bad)
        return SD_BAD;
    for (;;) {
        size_t avail = f->rlen - f->rpos;
        if (avail == 0 && !f->eof) {
            int rc = fill(f);
            if (rc < 0)
                return rc;
            continue;
        }
        int64_t here = f->rbase + (int64_t)f->rpos;
        if (avail == 0) { /* end of file: a last line without '\n' is a line */
            if (f->line_len > 0 || f->cut_pending) {
                f->cut_pending = 0;
                *end = here;
                return SD_LINE;
            }
            return SD_EOF;
        }
        uint32_t cp;
        size_t used;
        int r = sd_decode_char(&s->dec, f->rbuf + f->rpos, avail, f->eof, &cp, &used);
        if (r == 0) {
            int rc = fill(f);
            if (rc < 0)
                return rc;
            if (f->rlen - f->rpos == avail) /* nothing more: decode as at the end */
                f->eof = 1;
            continue;
        }
        if (r < 0) {
            if (s->conf->decode_error_policy == SD_POLICY_FAIL) {
                f->bad = 1;
                f->bad_off = here;
                return SD_BAD;
            }
            f->replaced++;
            if (s->conf->decode_error_policy == SD_POLICY_IGNORE) {
                f->rpos += used;
                continue;
            }
            cp = 0xFFFD;
        }
        if (f->cut_pending) {
            f->cut_pending = 0;
            if (cp == '\n') { /* exactly maxLineLength characters: one whole line */
                f->rpos += used;
                *end = here + (int64_t)used;
                return SD_LINE;
            }
            f->cut_lines++;
            *end = here; /* this character starts the next line */
            return SD_LINE;
        }
        f->rpos += used;
        if (cp == '\n') {
            *end = here + (int64_t)used;
            return SD_LINE;
        }
        append_cp(f, cp);
        if (f->units >= (int64_t)s->max_units)
            f->cut_pending = 1;
    }
}
