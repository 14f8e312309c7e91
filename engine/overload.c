/* Backpressure for uploads: caps on uploads in flight and on queued
 * media work. A new upload past either cap gets 503 with Retry-After. */
#include "overload.h"

#include <jansson.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "routes.h"
#include "upload.h"

/* Share of physical memory that upload buffers may take by default.
 * NOTE: a chosen share, not measured: decodes of admitted uploads take
 * memory of their own on top of it. */
#define UPLOAD_MEMORY_SHARE 16
/* Queued jobs per worker thread by default, in each pool lane. NOTE: a
 * chosen depth; at about a second an image job it keeps the wait for a
 * worker near half a minute. */
#define QUEUED_JOBS_PER_WORKER 32

/* Memory one upload takes while its body streams: two buffers. */
#define UPLOAD_MEMORY_BYTES                                                    \
    (2 * (uint64_t)(UPLOAD_BUFFER_BYTES + UPLOAD_SLACK_BYTES))

static uint64_t default_max_uploads(const app_t *app)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    uint64_t by_memory = 64;

    if (pages > 0 && page_size > 0)
        by_memory = (uint64_t)pages * (uint64_t)page_size /
                    UPLOAD_MEMORY_SHARE / UPLOAD_MEMORY_BYTES;
    if (by_memory > app->max_connections)
        by_memory = app->max_connections;
    return by_memory > 0 ? by_memory : 1;
}

uint64_t overload_max_uploads(const app_t *app)
{
    if (app->cfg->max_uploads > 0)
        return app->cfg->max_uploads;
    return default_max_uploads(app);
}

uint64_t overload_max_queued_jobs(const app_t *app)
{
    uint64_t workers = app->cfg->workers > 0 ? app->cfg->workers : 1;

    if (app->cfg->max_queued_jobs > 0)
        return app->cfg->max_queued_jobs;
    return QUEUED_JOBS_PER_WORKER * workers;
}

/* Returns the reason a new upload must wait, or NULL when it may start. */
static const char *overload_reason(app_t *app)
{
    pool_counts_t counts;
    uint64_t max_queued = overload_max_queued_jobs(app);

    if (app->uploads_in_flight >= overload_max_uploads(app))
        return "uploads";
    counts = pool_get_counts(app->pool);
    if (counts.queued[POOL_LANE_IMAGE] >= max_queued)
        return "image_queue";
    if (counts.queued[POOL_LANE_VIDEO] >= max_queued)
        return "video_queue";
    return NULL;
}

bool overload_reject_upload(app_t *app, http_request_t *req)
{
    const char *reason = overload_reason(app);
    json_t *doc;

    if (reason == NULL)
        return false;
    log_warn("upload.overloaded", "req=%llu reason=%s in_flight=%llu",
             (unsigned long long)req->id, reason,
             (unsigned long long)app->uploads_in_flight);
    doc = json_pack("{s:s, s:s}", "error", "overloaded", "detail",
                    "too much work in progress; retry after the "
                    "Retry-After seconds");
    routes_respond_json(app, req, 503, NULL, doc); /* adds Retry-After */
    return true;
}

void overload_upload_started(app_t *app)
{
    app->uploads_in_flight++;
}

void overload_upload_ended(app_t *app)
{
    if (app->uploads_in_flight > 0)
        app->uploads_in_flight--;
}
