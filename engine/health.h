/* Worker heartbeat for /healthz: a tiny probe goes through the image lane
 * of the worker pool every second, and the time it waits shows whether
 * the workers still pick up work. */
#ifndef KADR_ENGINE_HEALTH_H
#define KADR_ENGINE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <kadr/error.h>

#include "pool.h"

#define HEALTH_PROBE_INTERVAL_MS 1000

typedef struct health health_t;

typedef struct health_report {
    bool workers_ok;
    uint64_t heartbeat_age_ms; /* since a worker last ran a probe */
    uint64_t probe_wait_ms;    /* how long the probe in the queue waits */
} health_report_t;

/* Starts the probe timer on loop. stall_ms is how long a probe may wait
 * before the workers count as stalled. */
KADR_MUST_CHECK int health_start(uv_loop_t *loop, pool_t *pool,
                                 uint64_t stall_ms, health_t **out);

/* Fills report from the probes so far. Loop thread only. */
void health_get(health_t *health, health_report_t *report);

/* Stops the timer and frees health once its handle has closed. Call after
 * pool_stop, which delivers the done callback of a probe in flight. */
void health_stop(health_t *health);

#endif
