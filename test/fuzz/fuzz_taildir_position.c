/*
 * libFuzzer harness for the taildir position file reader (sources/taildir/taildir_position.c,
 * Flume's JSON `[{"inode":N,"pos":N,"file":"/abs"}]`): the input is the file's bytes. Every
 * entry it keeps must have a file name and a position >= 0, and writing the entries back in the
 * position file format and loading that again must give the same entries. Built only with
 * -Dfuzz=true (clang).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "taildir_source.h"
#include "test_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pos_fd = -1;
static char pos_path[64];
static struct sluice_host host;
static struct sluice_ctx ctx;

/* Format every message as the agent would, but print nothing. */
static void quiet_log(struct sluice_ctx *c, enum sluice_level level, const char *fmt, ...)
{
    (void)c;
    (void)level;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
}

static void set_file(const void *data, size_t size)
{
    if (pos_fd < 0) {
        pos_fd = memfd_create("fuzz-positions", MFD_CLOEXEC);
        if (pos_fd < 0)
            abort();
        snprintf(pos_path, sizeof(pos_path), "/proc/self/fd/%d", pos_fd);
        host = test_host;
        host.log = quiet_log;
        test_ctx_init(&ctx, "r1");
    }
    if (ftruncate(pos_fd, 0) != 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t k = pwrite(pos_fd, (const char *)data + done, size - done, (off_t)done);
        if (k <= 0)
            abort();
        done += (size_t)k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    set_file(data, size);
    struct td_pos_entry *e = NULL;
    size_t n = 0;
    if (td_pos_load(pos_path, &host, &ctx, &e, &n) != 0)
        abort(); /* only running out of memory fails */
    /* written back as taildir_source.c writes it (entries it cannot write are left out) */
    struct td_buf b = {0};
    size_t *kept = malloc((n ? n : 1) * sizeof(*kept)), n_kept = 0;
    if (!kept)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!e[i].file || e[i].pos < 0)
            abort();
        char head[96];
        size_t mark = b.len;
        snprintf(head, sizeof(head),
                 "%s{\"inode\":%" PRIu64 ",\"pos\":%" PRId64 ",\"file\":", n_kept ? "," : "[",
                 e[i].inode, e[i].pos);
        if (td_buf_add(&b, head, strlen(head)))
            abort();
        if (td_json_string(&b, e[i].file) != 0 || td_buf_add(&b, "}", 1) != 0) {
            b.len = mark; /* not valid UTF-8: the source cannot save it either */
            continue;
        }
        kept[n_kept++] = i;
    }
    if (n_kept && td_buf_add(&b, "]", 1))
        abort();
    set_file(b.p ? b.p : "", n_kept ? b.len : 0);
    struct td_pos_entry *e2 = NULL;
    size_t n2 = 0;
    if (td_pos_load(pos_path, &host, &ctx, &e2, &n2) != 0 || n2 != n_kept)
        abort();
    for (size_t i = 0; i < n_kept; i++) {
        const struct td_pos_entry *a = &e[kept[i]];
        if (e2[i].inode != a->inode || e2[i].pos != a->pos || strcmp(e2[i].file, a->file) != 0)
            abort();
    }
    free(kept);
    td_pos_entries_free(e2, n2);
    td_pos_entries_free(e, n);
    free(b.p);
    return 0;
}
