/* GET /metrics in the Prometheus text format, and GET /healthz. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
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
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
            name, name, (unsigned long long)value);
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
    write_counter(f, "kadr_http_sent_bytes_total",
                  "Media body bytes sent.", load(&m->bytes_out));
}

static void write_uploads(FILE *f, metrics_t *m)
{
    fputs("# HELP kadr_uploads_total Uploads by kind and result.\n"
          "# TYPE kadr_uploads_total counter\n",
          f);
    for (int k = 0; k < 3; k++) {
        fprintf(f, "kadr_uploads_total{kind=\"%s\",result=\"ok\"} %llu\n",
                kind_names[k], (unsigned long long)load(&m->uploads_ok[k]));
        fprintf(f,
                "kadr_uploads_total{kind=\"%s\",result=\"rejected\"} %llu\n",
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
    fputs("# HELP kadr_jobs_finished_total Video jobs by result.\n"
          "# TYPE kadr_jobs_finished_total counter\n",
          f);
    for (int l = 0; l < 2; l++) {
        fprintf(f, "kadr_jobs_finished_total{lane=\"%s\",result=\"done\"} "
                   "%llu\n",
                lane_names[l], (unsigned long long)load(&m->jobs_done[l]));
        fprintf(f,
                "kadr_jobs_finished_total{lane=\"%s\",result=\"failed\"} "
                "%llu\n",
                lane_names[l], (unsigned long long)load(&m->jobs_failed[l]));
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
    write_uploads(f, &app->metrics);
    write_jobs(f, app);
    rc = write_store(f, app);
    fclose(f);
    if (rc != 0)
        log_error("metrics.store_failed", "error=%s", kadr_strerror(rc));
    metrics_add(app->metrics.responses[200], 1);
    http_respond(req, 200,
                 "Content-Type: text/plain; version=0.0.4\r\n"
                 "Cache-Control: no-store\r\n",
                 text, len);
    free(text);
}

void route_health(app_t *app, http_request_t *req)
{
    store_txn_t *txn;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0) {
        log_error("health.store_failed", "error=%s", kadr_strerror(rc));
        routes_respond_error(app, req, 503, "unhealthy",
                             "the index cannot be read");
        return;
    }
    store_txn_abort(txn);
    routes_respond_json(app, req, 200, NULL,
                        json_pack("{s:s}", "status", "ok"));
}
