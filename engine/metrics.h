/* Counters for /metrics, updated from any thread with relaxed atomics. */
#ifndef KADR_ENGINE_METRICS_H
#define KADR_ENGINE_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define METRICS_STATUS_SLOTS 600 /* status codes 0..599 */
#define METRICS_MAX_BUCKETS 16   /* finite histogram bounds */
#define METRICS_MAX_REGISTERED 32
#define METRICS_LANES 2 /* by enum pool_lane */

/* The route label of kadr_http_requests_total and the latency histogram. */
enum metrics_route {
    METRICS_ROUTE_UPLOAD = 0, /* POST /v1/media */
    METRICS_ROUTE_MEDIA,      /* GET, PATCH, DELETE /v1/media/{id} */
    METRICS_ROUTE_VARIANT,    /* GET, HEAD /v1/media/{id}/{variant} */
    METRICS_ROUTE_METRICS,    /* /metrics */
    METRICS_ROUTE_HEALTH,     /* /healthz */
    METRICS_ROUTE_OTHER,      /* anything else: 404 and 405 */
    METRICS_ROUTE_COUNT,
};

/* Counts per bucket (not cumulative) plus the total and the sum. */
typedef struct metrics_histogram {
    atomic_uint_fast64_t buckets[METRICS_MAX_BUCKETS + 1]; /* last: +Inf */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us; /* microseconds */
} metrics_histogram_t;

/* A counter or gauge that another module adds by name at startup. */
typedef struct metrics_registered {
    const char *name; /* Prometheus name, static storage */
    const char *help; /* static storage */
    bool gauge;
    atomic_uint_fast64_t value;
} metrics_registered_t;

typedef struct metrics {
    atomic_uint_fast64_t responses[METRICS_STATUS_SLOTS];
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t uploads_ok[3];       /* by kadr_kind_t */
    atomic_uint_fast64_t uploads_rejected[3]; /* by kadr_kind_t */
    atomic_uint_fast64_t dedup_hits;
    atomic_uint_fast64_t dedup_bytes_saved;
    atomic_uint_fast64_t derive_hits;
    atomic_uint_fast64_t decodes;
    atomic_uint_fast64_t jobs_done[2];   /* by pool lane */
    atomic_uint_fast64_t jobs_failed[2]; /* by pool lane */

    /* Every response the router finished, by route and status. */
    atomic_uint_fast64_t requests[METRICS_ROUTE_COUNT][METRICS_STATUS_SLOTS];
    metrics_histogram_t latency[METRICS_ROUTE_COUNT];
    metrics_histogram_t job_seconds[METRICS_LANES];
    atomic_uint_fast64_t webhook_sent;
    atomic_uint_fast64_t webhook_retries;
    atomic_uint_fast64_t webhook_dropped;
    atomic_uint_fast64_t log_suppressed;

    /* Loop thread only: written by metrics_register before the server
     * starts, read by /metrics. */
    metrics_registered_t registered[METRICS_MAX_REGISTERED];
    uint32_t registered_count;
} metrics_t;

/* Upper bounds in seconds of the request latency and job duration
 * buckets; the +Inf bucket follows each list. */
extern const double metrics_latency_bounds[];
extern const unsigned metrics_latency_bound_count;
extern const double metrics_job_bounds[];
extern const unsigned metrics_job_bound_count;

/* Adds one observation of seconds to a histogram with those bounds. */
void metrics_observe(metrics_histogram_t *h, const double *bounds,
                     unsigned bound_count, double seconds);

/* Returns the route label for a request's method and path (no query). */
enum metrics_route metrics_route_of(const char *path);

/* Returns the name of a route label. */
const char *metrics_route_name(enum metrics_route route);

/* Adds a counter (gauge false) or gauge that /metrics writes as
 * "name value" with help. Call from the loop thread before the server
 * starts; name and help must be static strings. Returns the value to add
 * to with metrics_add (or store to, for a gauge), or NULL when
 * METRICS_MAX_REGISTERED are taken or the name is taken already. */
atomic_uint_fast64_t *metrics_register(metrics_t *m, const char *name,
                                       const char *help, bool gauge);

#define metrics_add(field, n)                                                  \
    atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)

#endif
