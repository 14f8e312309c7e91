#include "health.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct health {
    uv_loop_t *loop;
    pool_t *pool;
    uv_timer_t timer;
    pool_work_t probe;
    uint64_t stall_ms;
    bool in_flight;
    uint64_t submitted_ms;       /* uv_now when the probe was queued */
    atomic_uint_fast64_t ran_ns; /* uv_hrtime when a worker last ran it */
    uint64_t started_ns;
};

static void probe_run(pool_work_t *work)
{
    health_t *health = (health_t *)((char *)work - offsetof(health_t, probe));

    atomic_store(&health->ran_ns, uv_hrtime());
}

static void probe_done(pool_work_t *work)
{
    health_t *health = (health_t *)((char *)work - offsetof(health_t, probe));

    health->in_flight = false;
}

static void on_timer(uv_timer_t *timer)
{
    health_t *health = timer->data;

    if (health->in_flight)
        return;
    health->in_flight = true;
    health->submitted_ms = uv_now(health->loop);
    health->probe.lane = POOL_LANE_IMAGE;
    health->probe.run = probe_run;
    health->probe.done = probe_done;
    pool_submit(health->pool, &health->probe);
}

int health_start(uv_loop_t *loop, pool_t *pool, uint64_t stall_ms,
                 health_t **out)
{
    health_t *health = calloc(1, sizeof(*health));
    int rc;

    if (health == NULL)
        return -ENOMEM;
    health->loop = loop;
    health->pool = pool;
    health->stall_ms = stall_ms;
    health->started_ns = uv_hrtime();
    atomic_init(&health->ran_ns, health->started_ns);
    rc = uv_timer_init(loop, &health->timer);
    if (rc != 0) {
        free(health);
        return rc;
    }
    health->timer.data = health;
    rc = uv_timer_start(&health->timer, on_timer, 0, HEALTH_PROBE_INTERVAL_MS);
    if (rc != 0) {
        health_stop(health);
        return rc;
    }
    *out = health;
    return 0;
}

void health_get(health_t *health, health_report_t *report)
{
    uint64_t ran_ns = atomic_load(&health->ran_ns);

    report->heartbeat_age_ms = (uv_hrtime() - ran_ns) / 1000000;
    report->probe_wait_ms =
        health->in_flight ? uv_now(health->loop) - health->submitted_ms : 0;
    report->workers_ok = report->probe_wait_ms <= health->stall_ms;
}

static void on_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void health_stop(health_t *health)
{
    if (health == NULL)
        return;
    uv_close((uv_handle_t *)&health->timer, on_closed);
}
