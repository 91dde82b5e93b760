/*
 * libFuzzer harness for the libconfig (.cfg) agent file reader (agent/config_libconfig.c): the
 * input is the file's text (NUL-terminated as the reader receives it). What parses must be
 * well-formed entries, an error must leave the set untouched and say why, and the converter
 * must take whatever parsed. Built only with -Dfuzz=true (clang).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_libconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    struct conf_set cs;
    struct sluice_err err = {0};
    conf_set_init(&cs);
    int rc = cfg_parse_buffer(text, "fuzz.cfg", &cs, &err);
    free(text);
    if (rc != SLUICE_OK) {
        if (cs.n != 0 || err.msg[0] == 0 || (rc != SLUICE_ECONFIG && rc != SLUICE_ENOMEM))
            abort();
        return 0;
    }
    for (size_t i = 0; i < cs.n; i++) {
        const struct conf_entry *e = &cs.v[i];
        if (!e->key || !e->value || !e->file || e->line < 0)
            abort();
        if (conf_set_get(&cs, e->key) != e)
            abort();
    }
    char *out_text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&out_text, &len);
    if (!out)
        abort();
    rc = cfg_convert(&cs, out, &err);
    fclose(out);
    if (rc != SLUICE_OK && rc != SLUICE_ECONFIG)
        abort();
    free(out_text);
    conf_set_free(&cs);
    return 0;
}
