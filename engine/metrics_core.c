/* Histograms, route labels and registered counters for /metrics. */
#include "metrics.h"

#include <string.h>

/* Request latency: 0.5 ms to 10 s, the range between a cached ranged read
 * and a large upload. */
const double metrics_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                         0.025,  0.05,  0.1,    0.25,  0.5,
                                         1,      2.5,   5,      10};
const unsigned metrics_latency_bound_count =
    sizeof(metrics_latency_bounds) / sizeof(metrics_latency_bounds[0]);

/* Job duration: 10 ms (a cached variant) to 30 min (the default
 * video_time_limit_s). */
const double metrics_job_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5, 5,
                                     10,   30,   60,  120,  300, 600, 1800};
const unsigned metrics_job_bound_count =
    sizeof(metrics_job_bounds) / sizeof(metrics_job_bounds[0]);

static const char *const route_names[METRICS_ROUTE_COUNT] = {
    "upload", "media", "variant", "metrics", "healthz", "other"};

void metrics_observe(metrics_histogram_t *h, const double *bounds,
                     unsigned bound_count, double seconds)
{
    unsigned b = 0;

    while (b < bound_count && seconds > bounds[b])
        b++;
    metrics_add(h->buckets[b], 1);
    metrics_add(h->count, 1);
    metrics_add(h->sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0));
}

enum metrics_route metrics_route_of(const char *path)
{
    static const char prefix[] = "/v1/media";
    const char *rest;

    if (strcmp(path, "/metrics") == 0)
        return METRICS_ROUTE_METRICS;
    if (strcmp(path, "/healthz") == 0)
        return METRICS_ROUTE_HEALTH;
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return METRICS_ROUTE_OTHER;
    rest = path + sizeof(prefix) - 1;
    if (*rest == '\0')
        return METRICS_ROUTE_UPLOAD;
    if (*rest != '/' || rest[1] == '\0')
        return METRICS_ROUTE_OTHER;
    return strchr(rest + 1, '/') != NULL ? METRICS_ROUTE_VARIANT
                                         : METRICS_ROUTE_MEDIA;
}

const char *metrics_route_name(enum metrics_route route)
{
    return route < METRICS_ROUTE_COUNT ? route_names[route] : "other";
}

atomic_uint_fast64_t *metrics_register(metrics_t *m, const char *name,
                                       const char *help, bool gauge)
{
    metrics_registered_t *r;

    for (uint32_t i = 0; i < m->registered_count; i++) {
        if (strcmp(m->registered[i].name, name) == 0)
            return NULL;
    }
    if (m->registered_count == METRICS_MAX_REGISTERED)
        return NULL;
    r = &m->registered[m->registered_count++];
    r->name = name;
    r->help = help;
    r->gauge = gauge;
    atomic_init(&r->value, 0);
    return &r->value;
}
