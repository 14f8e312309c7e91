/* The daemon's shared state, made once in main and passed to every
 * handler. Fields are set before the loop runs and read-only after,
 * except where noted. */
#ifndef KADR_ENGINE_APP_H
#define KADR_ENGINE_APP_H

#include <stdatomic.h>
#include <stdbool.h>

#include <uv.h>

#include "config.h"
#include "http.h"
#include "image.h"
#include "metrics.h"
#include "pool.h"
#include "store.h"
#include "video.h"

struct upload;
struct health;
struct webhook;
struct access_log;
struct token_keyring;

typedef struct app {
    uv_loop_t *loop;
    /* Replaced by the loop thread on SIGHUP; the old one stays valid
     * until exit, so a worker thread may keep a pointer into it.
     * NOTE: the pointer is a plain field, so a worker that reads it
     * during a reload races with the swap (formally a data race, an
     * aligned pointer store on the targets kadr builds for). */
    config_t *cfg;
    store_t *store;
    /* The reset read transaction kept between requests (read_txn.h).
     * Loop thread only. */
    store_txn_t *loop_read_txn;
    pool_t *pool;
    http_server_t *server;
    metrics_t metrics;
    struct health *health;         /* worker heartbeat for /healthz */
    struct webhook *webhook;       /* NULL until started; loop thread */
    struct access_log *access_log; /* request clocks; loop thread */
    /* Keys that sign access tokens for paid media. */
    const struct token_keyring *token_keys;
    image_limits_t image_limits;
    video_limits_t video_limits;
    video_params_t video_params;
    /* Uploads waiting for their video to be ready; loop thread only. */
    struct upload *waiters;
    /* Uploads from their start to their release; loop thread only. */
    uint64_t uploads_in_flight;
    /* Client connections in effect: max_connections from the config,
     * lowered at start to what the open-file limit allows. The config
     * keeps the configured value for a reload to compare the file with. */
    uint64_t max_connections;
    bool stopping;
    /* Set at shutdown: running transcodes stop and their jobs stay
     * stored, to resume at the next start. */
    atomic_int cancel_all;
    /* Background compaction and scrub; NULL if it did not start. */
    struct maintenance *maintenance;
} app_t;

#endif
