#include "reload.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "webhook.h"

/* A configuration replaced by a reload. It stays allocated until exit
 * because worker threads may still hold pointers into it.
 * TODO: free it once no job started before the reload is running; each
 * SIGHUP now keeps one config (a few KiB) until exit. */
struct retired_config {
    config_t *cfg;
    struct retired_config *next;
};

void reload_init(reload_t *reload, app_t *app, int argc, char *const *argv,
                 token_keyring_t *first_ring)
{
    memset(reload, 0, sizeof(*reload));
    reload->app = app;
    reload->argc = argc;
    reload->argv = argv;
    reload->first_cfg = app->cfg;
    reload->first_ring = first_ring;
}

void reload_apply_logging(app_t *app)
{
    int level = log_parse_level(app->cfg->log_level);

    if (level >= 0)
        atomic_store(&log_min_level, (enum log_level)level);
    log_set_rate_limit((unsigned)app->cfg->log_rate_limit);
    log_set_suppressed_counter(&app->metrics.log_suppressed);
}

static void on_fixed_changed(const char *name, void *ctx)
{
    (void)ctx;
    log_warn("config.restart_needed", "key=%s", name);
}

static int load_ring(const config_t *cfg, token_keyring_t **out, char *err,
                     size_t err_size)
{
    token_keyring_t *ring = calloc(1, sizeof(*ring));
    int rc;

    if (ring == NULL)
        return -ENOMEM;
    rc = token_keyring_load(ring, cfg->token_keys, cfg->token_keys_file, err,
                            err_size);
    if (rc != 0) {
        token_keyring_clear(ring);
        free(ring);
        return rc;
    }
    *out = ring;
    return 0;
}

static int retire(reload_t *reload, config_t *old)
{
    struct retired_config *node;

    if (old == reload->first_cfg)
        return 0;
    node = malloc(sizeof(*node));
    if (node == NULL)
        return -ENOMEM;
    node->cfg = old;
    node->next = reload->retired;
    reload->retired = node;
    return 0;
}

static void swap_ring(reload_t *reload, token_keyring_t *ring)
{
    if (reload->ring != NULL) {
        token_keyring_clear(reload->ring);
        free(reload->ring);
    } else if (reload->first_ring != NULL) {
        token_keyring_clear(reload->first_ring);
    }
    reload->ring = ring;
    /* Tokens are checked on the loop thread, like this call. */
    reload->app->token_keys = ring;
}

static void free_config(config_t *cfg)
{
    config_free(cfg);
    free(cfg);
}

/* Builds the new configuration and key ring without touching the live
 * ones. Returns 0 or the error, with a message in err. */
static int build(reload_t *reload, config_t **cfg_out,
                 token_keyring_t **ring_out, char *err, size_t err_size)
{
    config_t *cfg = calloc(1, sizeof(*cfg));
    int rc;

    if (cfg == NULL)
        return -ENOMEM;
    rc = config_parse_args(cfg, reload->argc, reload->argv, reload->app->cfg,
                           on_fixed_changed, NULL, err, err_size);
    if (rc == 0)
        rc = load_ring(cfg, ring_out, err, err_size);
    if (rc != 0) {
        free_config(cfg);
        return rc;
    }
    *cfg_out = cfg;
    return 0;
}

int reload_config(reload_t *reload)
{
    app_t *app = reload->app;
    config_t *cfg = NULL;
    token_keyring_t *ring = NULL;
    char err[512] = "out of memory";
    char detail[512];
    int rc = build(reload, &cfg, &ring, err, sizeof(err));

    if (rc == 0)
        rc = retire(reload, app->cfg);
    if (rc != 0) {
        if (cfg != NULL) {
            token_keyring_clear(ring);
            free(ring);
            free_config(cfg);
        }
        log_escape(err, detail, sizeof(detail));
        log_error("config.reload_failed", "error=\"%s\" detail=\"%s\"",
                  kadr_strerror(rc), detail);
        return rc;
    }
    app->cfg = cfg;
    swap_ring(reload, ring);
    reload_apply_logging(app);
    /* config_finish checked webhook_url already. */
    if (app->webhook != NULL &&
        webhook_configure(app->webhook, cfg, err, sizeof(err)) != 0)
        log_error("webhook.config_failed", "url=%s", "(invalid)");
    reload->count++;
    /* Written at any level, so that the operator sees the reload even
     * when the new log_level hides info lines. */
    log_write(LOG_LEVEL_INFO, "config.reloaded",
              "count=%u api_keys=%u token_keys=%zu log_level=%s "
              "access_log=%d",
              reload->count, cfg->api_key_count, ring->count, cfg->log_level,
              cfg->access_log);
    return 0;
}

void reload_free(reload_t *reload)
{
    struct retired_config *node = reload->retired;

    while (node != NULL) {
        struct retired_config *next = node->next;

        free_config(node->cfg);
        free(node);
        node = next;
    }
    reload->retired = NULL;
    if (reload->app->cfg != reload->first_cfg)
        free_config(reload->app->cfg);
    reload->app->cfg = reload->first_cfg;
    if (reload->ring != NULL) {
        token_keyring_clear(reload->ring);
        free(reload->ring);
        reload->ring = NULL;
    }
}
