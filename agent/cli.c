/*
 * Command-line parsing (see cli.h). Unknown options are errors that name the option; JVM-only
 * flags that flume-ng users pass (-X..., -javaagent...) are accepted and ignored by
 * bin/flume-ng before they reach us.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  agent     run an agent:   sluice agent -n NAME -f FILE [options]\n"
    "  check     validate a configuration without running it (exit 0 ok, 1 components\n"
    "            would be dropped, 2 the agent would refuse to start)\n"
    "  plugins   list the installed component types and their Flume names\n"
    "  describe  print a component type's configuration keys:  sluice describe TYPE\n"
    "  convert   print a .properties agent file as libconfig (.cfg):  sluice convert FILE\n"
    "  man       print the manual page (with every installed component's keys)\n"
    "\n"
    "options (agent, check):\n"
    "  -n, --name NAME          the agent to run (the key prefix, e.g. a1)\n"
    "  -f, --conf-file FILE     configuration file; may repeat (later files override keys);\n"
    "                           *.cfg is read as libconfig, anything else as .properties\n"
    "  -c, --conf DIR           configuration directory (accepted as flume-ng does)\n"
    "      --no-reload-conf     do not poll the configuration files for changes (SIGHUP\n"
    "                           still reloads them)\n"
    "  -i, --poll-interval SEC  how often the configuration files are polled for changes\n"
    "                           (default 30); a change restarts only what it touches\n"
    "  -Dkey=value              a system property, e.g. -Dflume.root.logger=DEBUG,console\n"
    "      --plugin-path DIRS   colon-separated directories searched for plugins first\n"
    "options (describe):\n"
    "      --markdown           print the key table as markdown\n"
    "  -h, --help               this text\n"
    "      --version            print the version\n";

const char *cli_usage_text(void)
{
    return usage;
}

static int add_file(struct cli_opts *o, const char *f)
{
    const char **v = realloc(o->files, (o->n_files + 1) * sizeof(*v));
    if (!v)
        return -1;
    o->files = v;
    o->files[o->n_files++] = f;
    return 0;
}

static int add_define(struct cli_opts *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    struct cli_define *v = realloc(o->defs, (o->n_defs + 1) * sizeof(*v));
    if (!v)
        return -1;
    o->defs = v;
    struct cli_define *d = &o->defs[o->n_defs];
    d->key = eq ? strndup(kv, (size_t)(eq - kv)) : strdup(kv);
    d->value = strdup(eq ? eq + 1 : "");
    if (!d->key || !d->value) {
        free(d->key);
        free(d->value);
        return -1;
    }
    o->n_defs++;
    return 0;
}

const char *cli_define_get(const struct cli_opts *o, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < o->n_defs; i++)
        if (strcmp(o->defs[i].key, key) == 0)
            v = o->defs[i].value; /* the last one wins */
    return v;
}

void cli_free(struct cli_opts *o)
{
    for (size_t i = 0; i < o->n_defs; i++) {
        free(o->defs[i].key);
        free(o->defs[i].value);
    }
    free(o->defs);
    free(o->files);
    memset(o, 0, sizeof(*o));
}

int cli_parse(int argc, char **argv, struct cli_opts *o, char *msg, size_t len)
{
    memset(o, 0, sizeof(*o));
    o->poll_interval = 30;
    int i = 1;
    if (argc < 2) {
        snprintf(msg, len, "missing command (agent, check, plugins, describe, convert)");
        return -1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        o->cmd = "help";
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-v") || !strcmp(cmd, "version")) {
        o->cmd = "version";
        return 0;
    }
    static const char *const cmds[] = {"agent",    "node",    "check", "plugins",
                                       "describe", "convert", "man"};
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (!strcmp(cmd, cmds[k]))
            o->cmd = cmds[k];
    if (!o->cmd) {
        snprintf(msg, len,
                 "unknown command '%s' (expected agent, check, plugins, describe or "
                 "convert)",
                 cmd);
        return -1;
    }
    if (!strcmp(o->cmd, "node"))
        o->cmd = "agent"; /* flume-ng's deprecated spelling */
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define NEEDS_VALUE(longname)                                                                      \
    do {                                                                                           \
        if (i + 1 >= argc) {                                                                       \
            snprintf(msg, len, "option %s needs a value", a);                                      \
            return -1;                                                                             \
        }                                                                                          \
        val = argv[++i];                                                                           \
    } while (0)
        if (!strcmp(a, "-n") || !strcmp(a, "--name")) {
            NEEDS_VALUE();
            o->name = val;
        } else if (!strncmp(a, "--name=", 7)) {
            o->name = a + 7;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--conf-file")) {
            NEEDS_VALUE();
            if (add_file(o, val))
                goto oom;
        } else if (!strncmp(a, "--conf-file=", 12)) {
            if (add_file(o, a + 12))
                goto oom;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--conf")) {
            NEEDS_VALUE();
            o->conf_dir = val;
        } else if (!strncmp(a, "--conf=", 7)) {
            o->conf_dir = a + 7;
        } else if (!strcmp(a, "--no-reload-conf")) {
            o->no_reload = 1;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--poll-interval")) {
            NEEDS_VALUE();
            char *end;
            errno = 0;
            o->poll_interval = strtol(val, &end, 10);
            if (*end || end == val || o->poll_interval <= 0 || errno) {
                snprintf(msg, len, "%s: '%s' is not a positive number of seconds", a, val);
                return -1;
            }
        } else if (!strncmp(a, "-D", 2) && a[2]) {
            if (add_define(o, a + 2))
                goto oom;
        } else if (!strcmp(a, "--plugin-path") || !strcmp(a, "--plugins-path")) {
            NEEDS_VALUE();
            o->plugin_path = val;
        } else if (!strcmp(a, "--markdown")) {
            o->markdown = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            o->cmd = "help";
            return 0;
        } else if (a[0] != '-' && !o->arg &&
                   (!strcmp(o->cmd, "describe") || !strcmp(o->cmd, "convert"))) {
            o->arg = a;
        } else {
            snprintf(msg, len, "unknown option '%s' for '%s' (see sluice --help)", a, o->cmd);
            return -1;
        }
#undef NEEDS_VALUE
    }
    if (!strcmp(o->cmd, "agent") || !strcmp(o->cmd, "check")) {
        if (!o->name) {
            snprintf(msg, len, "%s: missing required option -n/--name NAME", o->cmd);
            return -1;
        }
        if (o->n_files == 0) {
            snprintf(msg, len, "%s: missing required option -f/--conf-file FILE", o->cmd);
            return -1;
        }
    }
    if ((!strcmp(o->cmd, "describe") || !strcmp(o->cmd, "convert")) && !o->arg) {
        snprintf(msg, len, "%s: missing argument (%s)", o->cmd,
                 !strcmp(o->cmd, "describe") ? "a type, e.g. sluice describe memory"
                                             : "a .properties file");
        return -1;
    }
    return 0;
oom:
    snprintf(msg, len, "out of memory");
    return -1;
}
