/*
 * sluice's entry point: dispatches the subcommands, sets up logging from Flume's -D
 * properties, loads and validates the configuration, and runs the agent until SIGTERM/SIGINT,
 * reloading the configuration when its files change (polled) or on SIGHUP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "conf_watch.h"
#include "config_libconfig.h"
#include "config_load.h"
#include "config_model.h"
#include "config_properties.h"
#include "config_substitute.h"
#include "errors.h"
#include "log.h"
#include "monitor_http.h"
#include "options.h"
#include "plugin_registry.h"

static int setup_logging(const struct cli_opts *o)
{
    enum sluice_level level = SLUICE_LOG_INFO;
    enum log_target target = LOG_CONSOLE;
    char msg[256];
    const char *spec = cli_define_get(o, "flume.root.logger");
    if (spec && log_parse_root_logger(spec, &level, &target, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "sluice: %s\n", msg);
        return -1;
    }
    const char *dir = cli_define_get(o, "flume.log.dir");
    const char *file = cli_define_get(o, "flume.log.file");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "./logs", file ? file : "flume.log");
    if (log_configure(level, target, path, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "sluice: %s\n", msg);
        return -1;
    }
    return 0;
}

/* ${sys:name} looks up -Dname=value */
static const char *sys_property(void *ud, const char *name)
{
    return cli_define_get(ud, name);
}

/* Read the -f files, substitute, and build the model (the registry is already loaded). */
static int build_model(const struct cli_opts *o, const struct registry *reg, struct conf_set *cs,
                       struct agent_model *m)
{
    struct sluice_err err = {0};
    conf_set_init(cs);
    if (config_load_files(o->files, o->n_files, cs, &err) != SLUICE_OK) {
        LOG_ERROR("%s", err.msg);
        return -1;
    }
    struct diag_list subst_diags = {0};
    int rc = conf_substitute(cs, sys_property, (void *)o, &subst_diags, &err);
    diag_free(&subst_diags);
    if (rc != SLUICE_OK) {
        LOG_ERROR("%s", err.msg);
        return -1;
    }
    char files[1024];
    config_files_desc(o->files, o->n_files, files, sizeof(files));
    if (model_build(m, cs, o->name, reg, files) != SLUICE_OK) {
        LOG_ERROR("out of memory while building the configuration");
        return -1;
    }
    return 0;
}

static int load_model(const struct cli_opts *o, struct registry *reg, struct conf_set *cs,
                      struct agent_model *m)
{
    registry_load_default(reg, o->plugin_path);
    return build_model(o, reg, cs, m);
}

static void summarize(const struct agent_model *m, FILE *out)
{
    size_t ns = model_list(m, COMP_SOURCE, NULL, 0);
    size_t nc = model_list(m, COMP_CHANNEL, NULL, 0);
    size_t nk = model_list(m, COMP_SINK, NULL, 0);
    size_t warnings = 0, errors = 0;
    for (size_t i = 0; i < m->diags.n; i++) {
        if (m->diags.v[i].level == SLUICE_LOG_ERROR)
            errors++;
        else if (m->diags.v[i].level == SLUICE_LOG_WARN)
            warnings++;
    }
    const char *verdict = m->fatal     ? "REFUSES TO START"
                          : m->dropped ? "would run with components dropped"
                                       : "OK";
    fprintf(out,
            "agent %s: %s: %zu source(s), %zu channel(s), %zu sink(s); %zu error(s), %zu "
            "warning(s)\n",
            m->name, verdict, ns, nc, nk, errors, warnings);
}

static int cmd_check(const struct cli_opts *o)
{
    struct registry reg;
    struct conf_set cs;
    struct agent_model m = {0};
    registry_init(&reg);
    int status = 2;
    if (load_model(o, &reg, &cs, &m) == 0) {
        status = model_status(&m);
        if (!m.fatal) {
            /* create every source, sink and interceptor (nothing is started): checks what
             * only the plugins can, e.g. that a regex has the group a sink counts by */
            struct agent a;
            struct sluice_err err = {0};
            if (agent_create_for_check(&a, &m, &err) != SLUICE_OK) {
                LOG_ERROR("agent %s would not start: %s", o->name, err.msg);
                m.fatal = 1;
                status = 2;
            } else {
                agent_destroy(&a);
            }
        }
        summarize(&m, stdout);
    }
    model_free(&m);
    conf_set_free(&cs);
    registry_free(&reg);
    return status;
}

/* -Dflume.monitoring.type=http [-Dflume.monitoring.port=41414] [-Dflume.monitoring.bind=] */
static int start_monitoring(const struct cli_opts *o, struct agent *a, struct monitor **mon)
{
    const char *type = cli_define_get(o, "flume.monitoring.type");
    if (!type)
        return 0;
    if (strcasecmp(type, "http") != 0 &&
        strcmp(type, "org.apache.flume.instrumentation.http.HTTPMetricsServer") != 0) {
        LOG_ERROR("flume.monitoring.type=%s is not supported (supported: http)", type);
        return -1;
    }
    const char *port_s = cli_define_get(o, "flume.monitoring.port");
    const char *bind = cli_define_get(o, "flume.monitoring.bind");
    char *end = NULL;
    long port = port_s ? strtol(port_s, &end, 10) : 41414;
    if (port_s && (*end || end == port_s || port < 0 || port > 65535)) {
        LOG_ERROR("flume.monitoring.port: '%s' is not a port number", port_s);
        return -1;
    }
    struct sluice_err err = {0};
    int bound = 0;
    if (monitor_start(mon, a, bind ? bind : "0.0.0.0", (int)port, &bound, &err) != SLUICE_OK) {
        LOG_ERROR("%s", err.msg);
        return -1;
    }
    LOG_INFO("Monitoring server listening on port %d (GET /metrics)", bound);
    return 0;
}

/* Load the configuration again and apply it; a configuration with errors changes nothing. */
static void reload_config(struct agent *a, const struct cli_opts *o, const struct registry *reg,
                          struct conf_watch *w, const char *why)
{
    char files[1024];
    config_files_desc(o->files, o->n_files, files, sizeof(files));
    LOG_INFO("Reloading the configuration of agent %s (%s): %s", o->name, why, files);
    conf_watch_take(w); /* before reading: an edit made meanwhile is seen by the next poll */
    struct conf_set cs;
    struct agent_model m = {0};
    if (build_model(o, reg, &cs, &m) != 0 || m.fatal)
        LOG_ERROR("Reload rejected: the configuration of agent %s in %s has errors (see "
                  "above); the agent keeps running its current configuration unchanged",
                  o->name, files);
    else
        agent_reload(a, &m);
    model_free(&m);
    conf_set_free(&cs);
}

static int run_until_signal(struct agent *a, const struct cli_opts *o, const struct registry *reg,
                            struct conf_watch *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    long secs = o->poll_interval > 0 && o->poll_interval < 86400L * 365 ? o->poll_interval : 30;
    int64_t interval = (int64_t)secs * 1000;
    int64_t next_poll = mono_ms() + interval;
    for (;;) {
        int sig = 0;
        if (o->no_reload) {
            if (sigwait(&set, &sig) != 0)
                continue;
        } else {
            int64_t left = next_poll - mono_ms();
            if (left < 0)
                left = 0;
            struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                                  .tv_nsec = (long)(left % 1000) * 1000000L};
            sig = sigtimedwait(&set, NULL, &ts);
            if (sig < 0) {
                if (errno == EAGAIN) { /* poll time: Flume's fixed delay */
                    if (conf_watch_changed(w))
                        reload_config(a, o, reg, w, "the file changed");
                    next_poll = mono_ms() + interval;
                }
                continue;
            }
        }
        if (sig == SIGHUP) {
            reload_config(a, o, reg, w, "SIGHUP");
            continue;
        }
        LOG_INFO("%s received, stopping agent %s", sig == SIGTERM ? "SIGTERM" : "SIGINT", a->name);
        return 0;
    }
}

static int cmd_agent(const struct cli_opts *o)
{
    /* Signals are handled by sigwait in this thread; every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct registry reg;
    struct conf_set cs;
    struct agent_model m = {0};
    struct agent a;
    struct conf_watch watch = {0};
    registry_init(&reg);
    int status = 1;
    LOG_INFO("sluice %s starting agent %s", SLUICE_VERSION, o->name);
    if (conf_watch_init(&watch, o->files, o->n_files) != 0) {
        LOG_ERROR("out of memory");
        goto out;
    }
    if (load_model(o, &reg, &cs, &m) != 0)
        goto out;
    if (m.fatal) {
        LOG_ERROR("agent %s refuses to start: the configuration has errors (see above)", o->name);
        goto out;
    }
    const char *drain = cli_define_get(o, "sluice.drainTimeout");
    struct sluice_err err = {0};
    if (agent_create(&a, &m, &err) != SLUICE_OK) {
        LOG_ERROR("agent %s cannot start: %s", o->name, err.msg);
        goto out;
    }
    if (drain)
        a.drain_timeout_ms = atoll(drain);
    if (agent_start(&a, &err) != SLUICE_OK) {
        LOG_ERROR("agent %s cannot start: %s", o->name, err.msg);
        agent_stop(&a);
        agent_destroy(&a);
        goto out;
    }
    struct monitor *mon = NULL;
    if (start_monitoring(o, &a, &mon) != 0) {
        agent_stop(&a);
        agent_destroy(&a);
        goto out;
    }
    LOG_INFO("agent %s started", o->name);
    if (o->no_reload)
        LOG_INFO("Configuration reload: on SIGHUP only (--no-reload-conf)");
    else
        LOG_INFO("Configuration reload: the files are polled every %ld s, and reloaded on SIGHUP",
                 o->poll_interval);
    run_until_signal(&a, o, &reg, &watch);
    monitor_stop(mon);
    agent_stop(&a);
    agent_destroy(&a);
    LOG_INFO("agent %s stopped", o->name);
    status = 0;
out:
    model_free(&m);
    conf_set_free(&cs);
    conf_watch_free(&watch);
    registry_free(&reg);
    return status;
}

static void print_aliases(const struct sluice_plugin *p, FILE *out)
{
    int first = 1;
    for (const char *const *al = p->aliases; al && *al; al++, first = 0)
        fprintf(out, "%s%s", first ? "" : ", ", *al);
}

static int cmd_plugins(const struct cli_opts *o)
{
    struct registry reg;
    registry_init(&reg);
    registry_load_default(&reg, o->plugin_path);
    static const enum sluice_kind kinds[] = {SLUICE_KIND_SOURCE, SLUICE_KIND_CHANNEL,
                                             SLUICE_KIND_SINK, SLUICE_KIND_INTERCEPTOR};
    for (size_t k = 0; k < 4; k++) {
        printf("%ss:\n", kind_name(kinds[k]));
        for (size_t i = 0; i < reg.n; i++) {
            const struct sluice_plugin *p = reg.v[i].desc;
            if (p->kind != (uint32_t)kinds[k])
                continue;
            printf("  %-16s %s\n", p->name, p->summary ? p->summary : "");
            if (p->aliases && p->aliases[0]) {
                printf("  %-16s also: ", "");
                print_aliases(p, stdout);
                printf("\n");
            }
            printf("  %-16s file: %s\n", "", reg.v[i].path);
        }
    }
    for (size_t i = 0; i < reg.n_problems; i++)
        printf("problem: %s\n", reg.problems[i]);
    int rc = reg.n_problems ? 1 : 0;
    registry_free(&reg);
    return rc;
}

static int cmd_describe(const struct cli_opts *o)
{
    struct registry reg;
    registry_init(&reg);
    registry_load_default(&reg, o->plugin_path);
    int found = 0;
    for (int k = SLUICE_KIND_SOURCE; k <= SLUICE_KIND_INTERCEPTOR; k++) {
        const struct plugin_entry *e = registry_find(&reg, (enum sluice_kind)k, o->arg);
        if (!e)
            continue;
        const struct sluice_plugin *p = e->desc;
        if (found)
            printf("\n");
        found = 1;
        if (o->markdown) {
            printf("### `%s` %s\n\n%s\n\n", p->name, kind_name(p->kind),
                   p->summary ? p->summary : "");
            if (p->aliases && p->aliases[0]) {
                printf("Flume names: ");
                for (const char *const *al = p->aliases; *al; al++)
                    printf("%s`%s`", al == p->aliases ? "" : ", ", *al);
                printf("\n\n");
            }
        } else {
            printf("%s %s: %s\n", kind_name(p->kind), p->name, p->summary ? p->summary : "");
            if (p->aliases && p->aliases[0]) {
                printf("Flume names: ");
                print_aliases(p, stdout);
                printf("\n");
            }
            printf("file: %s\nkeys:\n", e->path);
        }
        options_describe(p, stdout, o->markdown);
    }
    if (!found) {
        char names[2048] = "", buf[1024];
        for (int k = SLUICE_KIND_SOURCE; k <= SLUICE_KIND_INTERCEPTOR; k++) {
            registry_names(&reg, (enum sluice_kind)k, buf, sizeof(buf));
            size_t off = strlen(names);
            snprintf(names + off, sizeof(names) - off, "\n  %ss: %s", kind_name(k), buf);
        }
        fprintf(stderr, "sluice: no component type '%s'; known types:%s\n", o->arg, names);
    }
    registry_free(&reg);
    return found ? 0 : 2;
}

/* `sluice man`: the manual page, with every installed component's keys from its table. */
static int cmd_man(const struct cli_opts *o)
{
    struct registry reg;
    registry_init(&reg);
    registry_load_default(&reg, o->plugin_path);
    printf(".TH SLUICE 1 \"\" \"sluice %s\" \"User Commands\"\n"
           ".SH NAME\nsluice \\- a native drop-in replacement for the Apache Flume agent\n"
           ".SH SYNOPSIS\n.B sluice agent\n\\-n NAME \\-f FILE [options]\n.br\n"
           ".B sluice check|plugins|describe|convert|man\n"
           ".SH DESCRIPTION\nsluice reads Flume agent files (.properties, or libconfig .cfg) "
           "and runs the agent NAME: sources, interceptors, channel selectors, channels, sink "
           "runners and sink groups, with Flume's transaction semantics.\n"
           ".SH OPTIONS\n.nf\n",
           SLUICE_VERSION);
    for (const char *t = cli_usage_text(); *t; t++) {
        if (*t == '\\')
            fputs("\\e", stdout);
        else
            putchar(*t);
    }
    printf(".fi\n.SH COMPONENTS\n");
    for (int k = SLUICE_KIND_SOURCE; k <= SLUICE_KIND_INTERCEPTOR; k++) {
        for (size_t i = 0; i < reg.n; i++) {
            const struct sluice_plugin *p = reg.v[i].desc;
            if (p->kind != (uint32_t)k)
                continue;
            printf(".SS %s %s\n%s\n", p->name, kind_name(p->kind), p->summary ? p->summary : "");
            options_describe_man(p, stdout);
        }
    }
    printf(".SH SEE ALSO\nflume-ng(1), the README of the sluice sources\n");
    registry_free(&reg);
    return 0;
}

static int cmd_convert(const struct cli_opts *o)
{
    struct conf_set cs;
    struct sluice_err err = {0};
    conf_set_init(&cs);
    int rc = props_parse_file(o->arg, &cs, &err);
    if (rc == SLUICE_OK)
        rc = cfg_convert(&cs, stdout, &err);
    if (rc != SLUICE_OK)
        fprintf(stderr, "sluice: %s\n", err.msg);
    conf_set_free(&cs);
    return rc == SLUICE_OK ? 0 : 2;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    char msg[512];
    if (cli_parse(argc, argv, &o, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "sluice: %s\n\n%s", msg, cli_usage_text());
        cli_free(&o);
        return 2;
    }
    int rc = 0;
    if (!strcmp(o.cmd, "help")) {
        fputs(cli_usage_text(), stdout);
    } else if (!strcmp(o.cmd, "version")) {
        printf("sluice %s (plugin ABI %d.%d)\n", SLUICE_VERSION, SLUICE_ABI_MAJOR,
               SLUICE_ABI_MINOR);
    } else if (setup_logging(&o) != 0) {
        rc = 2;
    } else if (!strcmp(o.cmd, "agent")) {
        rc = cmd_agent(&o);
    } else if (!strcmp(o.cmd, "check")) {
        rc = cmd_check(&o);
    } else if (!strcmp(o.cmd, "plugins")) {
        rc = cmd_plugins(&o);
    } else if (!strcmp(o.cmd, "describe")) {
        rc = cmd_describe(&o);
    } else if (!strcmp(o.cmd, "convert")) {
        rc = cmd_convert(&o);
    } else if (!strcmp(o.cmd, "man")) {
        rc = cmd_man(&o);
    }
    log_close();
    cli_free(&o);
    return rc;
}
