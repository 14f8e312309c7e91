/* The command line: "--config FILE" first, then every "--key value" or
 * "--key=value" flag over it, so that flags override the file. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_FLAG_NAME 64

static int load_files(config_t *cfg, int argc, char *const *argv, char *err,
                      size_t err_size)
{
    for (int i = 1; i + 1 < argc; i++) {
        int rc;

        if (strcmp(argv[i], "--config") != 0)
            continue;
        rc = config_load_file(cfg, argv[i + 1], err, err_size);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Splits argv[i] into name and value. Returns how many arguments it
 * used (1 or 2), or -1 if it is not a flag with a value. */
static int split_flag(int argc, char *const *argv, int i, char *name,
                      const char **value)
{
    const char *arg = argv[i];
    const char *eq;
    size_t len;

    if (strncmp(arg, "--", 2) != 0)
        return -1;
    arg += 2;
    eq = strchr(arg, '=');
    len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    if (len == 0 || len >= MAX_FLAG_NAME)
        return -1;
    memcpy(name, arg, len);
    name[len] = '\0';
    if (eq != NULL) {
        *value = eq + 1;
        return 1;
    }
    if (i + 1 >= argc)
        return -1;
    *value = argv[i + 1];
    return 2;
}

static int apply_flags(config_t *cfg, int argc, char *const *argv, char *err,
                       size_t err_size)
{
    for (int i = 1; i < argc;) {
        char name[MAX_FLAG_NAME];
        const char *value;
        int used = split_flag(argc, argv, i, name, &value);
        int rc;

        if (used < 0) {
            snprintf(err, err_size, "invalid argument '%s' (see --help)",
                     argv[i]);
            return KADR_E_CONFIG;
        }
        if (strcmp(name, "config") != 0) {
            rc = config_set(cfg, name, value, err, err_size);
            if (rc != 0)
                return rc;
        }
        i += used;
    }
    return 0;
}

int config_parse_args(config_t *cfg, int argc, char *const *argv,
                      const config_t *live,
                      void (*fixed_changed)(const char *name, void *ctx),
                      void *ctx, char *err, size_t err_size)
{
    int rc;

    config_init(cfg);
    rc = load_files(cfg, argc, argv, err, err_size);
    if (rc == 0)
        rc = apply_flags(cfg, argc, argv, err, err_size);
    if (rc == 0 && live != NULL)
        rc = config_keep_fixed(cfg, live, fixed_changed, ctx);
    if (rc == 0)
        rc = config_finish(cfg, err, err_size);
    if (rc == -ENOMEM)
        snprintf(err, err_size, "out of memory");
    return rc;
}
