/*
 * libFuzzer harness for the whole configuration load path, as `sluice check` runs it: the input
 * is written to a file (once as agent.conf, once as agent.cfg), read by config_load_files,
 * ${} substituted, and built into the agent model with Flume's validation against the real
 * plugins of this build tree (their option tables). Nothing is created or started. Built only
 * with -Dfuzz=true (clang).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_load.h"
#include "config_model.h"
#include "config_substitute.h"
#include "plugin_registry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct registry reg;
static char dir[] = "/tmp/sluice-fuzz-load-XXXXXX";
static char conf_path[64], cfg_path[64];

static void cleanup(void)
{
    unlink(conf_path);
    unlink(cfg_path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    snprintf(conf_path, sizeof(conf_path), "%s/agent.conf", dir);
    snprintf(cfg_path, sizeof(cfg_path), "%s/agent.cfg", dir);
    atexit(cleanup);
    registry_init(&reg);
    static const char *const kinds[] = {"sources", "channels", "sinks", "interceptors"};
    for (size_t k = 0; k < 4; k++) {
        char d[4096];
        snprintf(d, sizeof(d), "%s/%s", FUZZ_BUILD_ROOT, kinds[k]);
        DIR *dh = opendir(d);
        struct dirent *de;
        while (dh && (de = readdir(dh))) {
            char sub[4096 + 256];
            if (de->d_name[0] != '.') {
                snprintf(sub, sizeof(sub), "%s/%s", d, de->d_name);
                registry_scan_dir(&reg, sub);
            }
        }
        if (dh)
            closedir(dh);
    }
    if (reg.n == 0)
        abort(); /* the plugins of the build tree are needed for a meaningful run */
    return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

static const char *sys_property(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "flume.log.dir") == 0 ? "/tmp/logs" : NULL;
}

/* The external config filter runs a command: never from fuzzed input. */
static int runs_commands(const struct conf_set *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        if (strcasestr(cs->v[i].value, "external"))
            return 1;
    return 0;
}

static void load(const char *path)
{
    struct conf_set cs;
    struct sluice_err err = {0};
    conf_set_init(&cs);
    const char *files[] = {path};
    if (config_load_files(files, 1, &cs, &err) != SLUICE_OK) {
        if (cs.n != 0 || err.msg[0] == 0)
            abort();
        conf_set_free(&cs);
        return;
    }
    struct diag_list dl = {.quiet = 1};
    int rc = conf_substitute(&cs, sys_property, NULL, &dl, &err);
    diag_free(&dl);
    if (rc == SLUICE_OK && !runs_commands(&cs)) {
        /* the agent name: the first part of the first key, as most files have one agent */
        char agent[64] = "a1";
        if (cs.n) {
            size_t n = strcspn(cs.v[0].key, ".");
            if (n > 0 && n < sizeof(agent)) {
                memcpy(agent, cs.v[0].key, n);
                agent[n] = 0;
            }
        }
        struct agent_model m;
        memset(&m, 0, sizeof(m));
        m.diags.quiet = 1;
        if (model_build(&m, &cs, agent, &reg, path) != SLUICE_OK)
            abort();
        int st = model_status(&m);
        if (st < 0 || st > 2 || (m.fatal && st != 2))
            abort();
        struct comp *list[64];
        for (int k = COMP_SOURCE; k <= COMP_SINKGROUP; k++)
            (void)model_list(&m, (enum comp_kind)k, list, 64);
        model_free(&m);
    }
    conf_set_free(&cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file(conf_path, data, size);
    load(conf_path);
    write_file(cfg_path, data, size);
    load(cfg_path);
    return 0;
}
