/* GET /metrics in the Prometheus text format, and GET /healthz. */
#include <stdio.h>
#include <stdlib.h>

#include "health.h"
#include "log.h"
#include "maintenance.h"
#include "routes.h"

static const char *const lane_names[2] = {"image", "video"};
static const char *const kind_names[3] = {"unsupported", "image", "video"};

static uint64_t load(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void write_counter(FILE *f, const char *name, const char *help,
                          uint64_t value)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
            name, (unsigned long long)value);
}

static void write_gauge(FILE *f, const char *name, const char *help,
                        uint64_t value)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name,
            name, (unsigned long long)value);
}

static void write_http(FILE *f, metrics_t *m)
{
    fputs("# HELP kadr_http_responses_total Responses by status code.\n"
          "# TYPE kadr_http_responses_total counter\n",
          f);
    for (int code = 100; code < METRICS_STATUS_SLOTS; code++) {
        uint64_t n = load(&m->responses[code]);

        if (n > 0)
            fprintf(f, "kadr_http_responses_total{code=\"%d\"} %llu\n", code,
                    (unsigned long long)n);
    }
    write_counter(f, "kadr_http_received_bytes_total",
                  "Upload body bytes received.", load(&m->bytes_in));
    write_counter(f, "kadr_http_sent_bytes_total", "Media body bytes sent.",
                  load(&m->bytes_out));
}

static void write_histogram(FILE *f, const char *name, const char *label,
                            metrics_histogram_t *h, const double *bounds,
                            unsigned bound_count)
{
    uint64_t cumulative = 0;

    for (unsigned b = 0; b <= bound_count; b++) {
        cumulative += load(&h->buckets[b]);
        if (b < bound_count)
            fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, label, bounds[b],
                    (unsigned long long)cumulative);
        else
            fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, label,
                    (unsigned long long)cumulative);
    }
    fprintf(f, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, label,
            (double)load(&h->sum_us) / 1e6, name, label,
            (unsigned long long)load(&h->count));
}

static void write_routes(FILE *f, metrics_t *m)
{
    fputs("# HELP kadr_http_requests_total Finished requests by route and "
          "status.\n# TYPE kadr_http_requests_total counter\n",
          f);
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
        for (int code = 100; code < METRICS_STATUS_SLOTS; code++) {
            uint64_t n = load(&m->requests[r][code]);

            if (n > 0)
                fprintf(f,
                        "kadr_http_requests_total{route=\"%s\",code=\"%d\"}"
                        " %llu\n",
                        metrics_route_name((enum metrics_route)r), code,
                        (unsigned long long)n);
        }
    }
    fputs("# HELP kadr_http_request_duration_seconds Time from the request "
          "head to the last response byte, by route.\n"
          "# TYPE kadr_http_request_duration_seconds histogram\n",
          f);
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
        char label[48];

        snprintf(label, sizeof(label), "route=\"%s\"",
                 metrics_route_name((enum metrics_route)r));
        write_histogram(f, "kadr_http_request_duration_seconds", label,
                        &m->latency[r], metrics_latency_bounds,
                        metrics_latency_bound_count);
    }
}

static void write_server(FILE *f, app_t *app)
{
    http_server_counters_t c;

    if (app->server == NULL)
        return;
    http_server_get_counters(app->server, &c);
    write_gauge(f, "kadr_http_connections_open", "Open client connections.",
                c.connections_open);
    write_counter(f, "kadr_http_connections_accepted_total",
                  "Client connections accepted.", c.connections_accepted);
    write_counter(f, "kadr_http_connections_rejected_total",
                  "Connections closed at once over max_connections.",
                  c.connections_rejected);
    write_counter(f, "kadr_http_server_rejected_total",
                  "Requests the server answered itself: 400, 413, 414, 431.",
                  c.bad_requests);
    write_counter(f, "kadr_http_timeouts_total",
                  "Connections closed on a header, body or idle timeout.",
                  c.timeouts);
    write_counter(f, "kadr_http_wire_received_bytes_total",
                  "Bytes read from client sockets, heads included.",
                  c.bytes_received);
    write_counter(f, "kadr_http_wire_sent_bytes_total",
                  "Bytes written to client sockets, heads included.",
                  c.bytes_sent);
}

static void write_operations(FILE *f, metrics_t *m)
{
    write_counter(f, "kadr_webhook_sent_total",
                  "Webhook events delivered with a 2xx reply.",
                  load(&m->webhook_sent));
    write_counter(f, "kadr_webhook_retries_total",
                  "Webhook attempts that failed and were retried.",
                  load(&m->webhook_retries));
    write_counter(f, "kadr_webhook_dropped_total",
                  "Webhook events given up after webhook_max_tries or a "
                  "full queue.",
                  load(&m->webhook_dropped));
    write_counter(f, "kadr_log_suppressed_total",
                  "Log lines dropped by log_rate_limit.",
                  load(&m->log_suppressed));
    for (uint32_t i = 0; i < m->registered_count; i++) {
        metrics_registered_t *r = &m->registered[i];

        if (r->gauge)
            write_gauge(f, r->name, r->help, load(&r->value));
        else
            write_counter(f, r->name, r->help, load(&r->value));
    }
}

static void write_uploads(FILE *f, metrics_t *m)
{
    fputs("# HELP kadr_uploads_total Uploads by kind and result.\n"
          "# TYPE kadr_uploads_total counter\n",
          f);
    for (int k = 0; k < 3; k++) {
        fprintf(f, "kadr_uploads_total{kind=\"%s\",result=\"ok\"} %llu\n",
                kind_names[k], (unsigned long long)load(&m->uploads_ok[k]));
        fprintf(f, "kadr_uploads_total{kind=\"%s\",result=\"rejected\"} %llu\n",
                kind_names[k],
                (unsigned long long)load(&m->uploads_rejected[k]));
    }
    write_counter(f, "kadr_dedup_hits_total",
                  "Uploads whose bytes were stored already.",
                  load(&m->dedup_hits));
    write_counter(f, "kadr_dedup_saved_bytes_total",
                  "Bytes not stored again thanks to dedup.",
                  load(&m->dedup_bytes_saved));
    write_counter(f, "kadr_derive_cache_hits_total",
                  "Variants taken from the derivation cache.",
                  load(&m->derive_hits));
    write_counter(f, "kadr_decodes_total",
                  "Originals decoded to make variants.", load(&m->decodes));
}

static void write_jobs(FILE *f, app_t *app)
{
    pool_counts_t counts = pool_get_counts(app->pool);
    metrics_t *m = &app->metrics;

    fputs("# HELP kadr_jobs Work queued and running by lane.\n"
          "# TYPE kadr_jobs gauge\n",
          f);
    for (int l = 0; l < 2; l++) {
        fprintf(f, "kadr_jobs{lane=\"%s\",state=\"queued\"} %llu\n",
                lane_names[l], (unsigned long long)counts.queued[l]);
        fprintf(f, "kadr_jobs{lane=\"%s\",state=\"running\"} %llu\n",
                lane_names[l], (unsigned long long)counts.running[l]);
    }
    fputs("# HELP kadr_jobs_finished_total Jobs by lane and result.\n"
          "# TYPE kadr_jobs_finished_total counter\n",
          f);
    for (int l = 0; l < 2; l++) {
        fprintf(f,
                "kadr_jobs_finished_total{lane=\"%s\",result=\"done\"} "
                "%llu\n",
                lane_names[l], (unsigned long long)load(&m->jobs_done[l]));
        fprintf(f,
                "kadr_jobs_finished_total{lane=\"%s\",result=\"failed\"} "
                "%llu\n",
                lane_names[l], (unsigned long long)load(&m->jobs_failed[l]));
    }
    fputs("# HELP kadr_job_duration_seconds Time a worker spent on one "
          "job, by lane.\n# TYPE kadr_job_duration_seconds histogram\n",
          f);
    for (int l = 0; l < 2; l++) {
        char label[32];

        snprintf(label, sizeof(label), "lane=\"%s\"", lane_names[l]);
        write_histogram(f, "kadr_job_duration_seconds", label,
                        &m->job_seconds[l], metrics_job_bounds,
                        metrics_job_bound_count);
    }
}

static int write_store(FILE *f, app_t *app)
{
    store_stats_t st;
    store_txn_t *txn;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0)
        return rc;
    rc = store_get_stats(txn, &st);
    store_txn_abort(txn);
    if (rc != 0)
        return rc;
    write_gauge(f, "kadr_store_blobs", "Indexed blobs.", st.blobs);
    write_gauge(f, "kadr_store_media", "Media records.", st.media);
    write_gauge(f, "kadr_store_jobs", "Stored video jobs.", st.jobs);
    write_gauge(f, "kadr_store_live_bytes", "Bytes of referenced blobs.",
                st.live_bytes);
    write_gauge(f, "kadr_store_dead_bytes",
                "Bytes of unreferenced blobs, reclaimed by compaction.",
                st.dead_bytes);
    write_gauge(f, "kadr_store_volumes", "Volume files.", st.volumes);
    return 0;
}

void route_metrics(app_t *app, http_request_t *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc;

    if (f == NULL) {
        routes_respond_error(app, req, 503, "overloaded", "out of memory");
        return;
    }
    write_http(f, &app->metrics);
    write_routes(f, &app->metrics);
    write_server(f, app);
    write_uploads(f, &app->metrics);
    write_jobs(f, app);
    maintenance_write_metrics(f, app);
    rc = write_store(f, app);
    write_operations(f, &app->metrics);
    fclose(f);
    if (rc != 0)
        log_error("metrics.store_failed", "error=\"%s\"", kadr_strerror(rc));
    metrics_add(app->metrics.responses[200], 1);
    http_respond(req, 200,
                 "Content-Type: text/plain; version=0.0.4\r\n"
                 "Cache-Control: no-store\r\n",
                 text, len);
    free(text);
}

static bool store_healthy(app_t *app)
{
    store_txn_t *txn;
    store_stats_t st;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc == 0) {
        rc = store_get_stats(txn, &st);
        store_txn_abort(txn);
    }
    if (rc != 0)
        log_error("health.store_failed", "error=\"%s\"", kadr_strerror(rc));
    return rc == 0;
}

/* 200 when the index reads and a worker ran the last heartbeat probe in
 * time, else 503; the body names the part that failed. */
void route_health(app_t *app, http_request_t *req)
{
    health_report_t report = {true, 0, 0};
    pool_counts_t counts = pool_get_counts(app->pool);
    bool store_ok = store_healthy(app);
    bool ok;

    if (app->health != NULL)
        health_get(app->health, &report);
    if (!report.workers_ok)
        log_error("health.workers_stalled", "probe_wait_ms=%llu",
                  (unsigned long long)report.probe_wait_ms);
    ok = store_ok && report.workers_ok;
    routes_respond_json(
        app, req, ok ? 200 : 503, NULL,
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "status",
                  ok ? "ok" : "unhealthy", "store", store_ok ? "ok" : "error",
                  "workers", report.workers_ok ? "ok" : "stalled",
                  "worker_heartbeat_age_ms",
                  (json_int_t)report.heartbeat_age_ms, "worker_probe_wait_ms",
                  (json_int_t)report.probe_wait_ms, "jobs_queued",
                  (json_int_t)(counts.queued[0] + counts.queued[1]),
                  "jobs_running",
                  (json_int_t)(counts.running[0] + counts.running[1])));
}
