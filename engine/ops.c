#include "ops.h"

#include "access_log.h"
#include "health.h"
#include "log.h"
#include "webhook.h"

static int start_webhook(app_t *app)
{
    char err[512];
    int rc = webhook_create(app->loop, &app->metrics, &app->webhook);

    if (rc != 0)
        return rc;
    rc = webhook_configure(app->webhook, app->cfg, err, sizeof(err));
    if (rc != 0) {
        log_error("webhook.config_failed", "error=\"%s\"", kadr_strerror(rc));
        return rc;
    }
    webhook_restore(app->webhook);
    return 0;
}

int ops_start(app_t *app)
{
    int rc = access_log_create(&app->access_log);

    if (rc == 0)
        rc = start_webhook(app);
    if (rc == 0)
        rc = health_start(app->loop, app->pool, app->cfg->health_stall_ms,
                          &app->health);
    if (rc != 0) {
        log_error("server.start_failed", "error=\"%s\"", kadr_strerror(rc));
        ops_stop(app);
    }
    return rc;
}

void ops_stop(app_t *app)
{
    health_stop(app->health);
    app->health = NULL;
    webhook_stop(app->webhook);
    app->webhook = NULL;
    access_log_free(app->access_log);
    app->access_log = NULL;
}
