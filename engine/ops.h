/* The operator-facing services around the server: the access log's
 * request clocks, the webhook sender and the worker heartbeat. */
#ifndef KADR_ENGINE_OPS_H
#define KADR_ENGINE_OPS_H

#include <kadr/error.h>

#include "app.h"

/* Starts them after the pool; on error what started is stopped. */
KADR_MUST_CHECK int ops_start(app_t *app);

/* Stops them; call after pool_stop. Safe on a partial start. */
void ops_stop(app_t *app);

#endif
