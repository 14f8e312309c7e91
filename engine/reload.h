/* SIGHUP: read the command line and the config file again and apply the
 * keys that may change at run time (API keys, token keys, log level,
 * access log, log rate limit, webhook) without closing any connection.
 * Keys that need a restart keep their running values, with a warning. */
#ifndef KADR_ENGINE_RELOAD_H
#define KADR_ENGINE_RELOAD_H

#include "app.h"
#include "token.h"

struct retired_config;

typedef struct reload {
    app_t *app;
    int argc;
    char *const *argv;
    config_t *first_cfg;            /* main's, never freed here */
    token_keyring_t *first_ring;    /* main's, wiped only at exit */
    token_keyring_t *ring;          /* the heap ring in use, or NULL */
    struct retired_config *retired; /* earlier configs, freed at exit */
    unsigned count;
} reload_t;

void reload_init(reload_t *reload, app_t *app, int argc, char *const *argv,
                 token_keyring_t *first_ring);

/* Applies the run-time keys of app->cfg: log level, log rate limit. */
void reload_apply_logging(app_t *app);

/* Reads the configuration again and swaps it in. Loop thread only. On an
 * error the running configuration stays and the error is logged.
 * Returns 0 or the error. */
int reload_config(reload_t *reload);

/* Frees the configs and key rings made by reloads. */
void reload_free(reload_t *reload);

#endif
