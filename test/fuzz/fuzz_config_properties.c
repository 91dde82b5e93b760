/*
 * libFuzzer harness for the Flume .properties reader (agent/config_properties.c): the input is
 * an agent file's bytes. Whatever it parses into must be well-formed entries (NUL-free C
 * strings, a positive line), a repeated parse must give the same set, and the .cfg converter
 * must take the set without crashing. Built only with -Dfuzz=true (clang).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_libconfig.h"
#include "config_properties.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf_set cs, again;
    struct sluice_err err = {0};
    conf_set_init(&cs);
    conf_set_init(&again);
    int rc = props_parse_buffer((const char *)data, size, "fuzz.conf", &cs, &err);
    if (rc != SLUICE_OK) {
        if (cs.n != 0 || err.msg[0] == 0)
            abort(); /* an error leaves the set untouched and says why */
        return 0;
    }
    for (size_t i = 0; i < cs.n; i++) {
        const struct conf_entry *e = &cs.v[i];
        if (!e->key || !e->value || e->line < 1 || strcmp(e->file, "fuzz.conf") != 0)
            abort();
        if (conf_set_get(&cs, e->key) != e)
            abort(); /* every key is found again, and only once */
    }
    /* parsing is deterministic and adding the same file again replaces every key */
    if (props_parse_buffer((const char *)data, size, "fuzz.conf", &again, &err) != SLUICE_OK ||
        props_parse_buffer((const char *)data, size, "fuzz.conf", &again, &err) != SLUICE_OK ||
        again.n != cs.n)
        abort();
    for (size_t i = 0; i < cs.n; i++)
        if (strcmp(cs.v[i].key, again.v[i].key) != 0 ||
            strcmp(cs.v[i].value, again.v[i].value) != 0 || cs.v[i].line != again.v[i].line)
            abort();
    /* the converter either writes the set or names the key it cannot express */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        abort();
    rc = cfg_convert(&cs, out, &err);
    fclose(out);
    if (rc != SLUICE_OK && rc != SLUICE_ECONFIG)
        abort();
    free(text);
    conf_set_free(&again);
    conf_set_free(&cs);
    return 0;
}
