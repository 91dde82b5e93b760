/*
 * Loading the configuration files given with -f (see config_load.h).
 */
#include "config_load.h"

#include <stdio.h>
#include <string.h>

#include "config_libconfig.h"
#include "config_properties.h"

static int is_cfg(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".cfg") == 0;
}

int config_load_files(const char *const *files, size_t n, struct conf_set *cs,
                      struct sluice_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = is_cfg(files[i]) ? cfg_parse_file(files[i], cs, err)
                                  : props_parse_file(files[i], cs, err);
        if (rc != SLUICE_OK)
            return rc;
    }
    return SLUICE_OK;
}

void config_files_desc(const char *const *files, size_t n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && off < len; i++) {
        int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", files[i]);
        if (k > 0)
            off += (size_t)k;
    }
}
