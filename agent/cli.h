/*
 * The command line: `sluice agent|check|plugins|describe|convert` with the option names of
 * Flume's `flume-ng agent` (-n/--name, -f/--conf-file, -c/--conf, --no-reload-conf, -Dk=v).
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stddef.h>

struct cli_define {
    char *key;
    char *value;
};

struct cli_opts {
    const char *cmd; /* agent, check, plugins, describe, convert, help, version */
    const char *name;
    const char **files;
    size_t n_files;
    const char *conf_dir;
    int no_reload;
    long poll_interval;
    struct cli_define *defs;
    size_t n_defs;
    const char *plugin_path;
    const char *arg; /* describe TYPE / convert FILE */
    int markdown;
};

/* Returns 0, or -1 with msg set (usage error). */
int cli_parse(int argc, char **argv, struct cli_opts *o, char *msg, size_t len);
void cli_free(struct cli_opts *o);
/* The value of -Dkey=value, or NULL. */
const char *cli_define_get(const struct cli_opts *o, const char *key);
const char *cli_usage_text(void);

#endif
