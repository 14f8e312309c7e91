/* Video ingest: the container header is probed and checked against the
 * limits, then the original, a media record in state processing and a
 * video job commit in one transaction. The transcode runs later on the
 * media pool; with ?wait=1 the reply waits for it, up to
 * wait_timeout_ms, and reports how it ended. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "upload.h"
#include "video_job.h"

static int commit_upload(upload_t *up, const store_staged_t *original)
{
    char job[VIDEO_JOB_MAX_BYTES];
    store_txn_t *txn;
    int rc = video_job_encode(up->media.id, 0, job, sizeof(job));

    if (rc != 0)
        return rc;
    rc = store_txn_begin(up->app->store, true, &txn);
    if (rc != 0)
        return rc;
    rc = store_blob_commit(txn, original, &up->deduped);
    if (rc == 0)
        rc = media_save(txn, &up->media);
    if (rc == 0)
        rc = store_job_add(txn, job, strlen(job), &up->job_id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static int probe_and_commit(upload_t *up)
{
    video_info_t info;
    store_staged_t original;
    char url[128];
    int rc;

    upload_body_url(up, url, sizeof(url));
    rc = video_probe_file(url, &info);
    if (rc != 0)
        return rc;
    rc = video_check_limits(&info, &up->app->video_limits);
    if (rc != 0)
        return rc;
    rc = upload_stage_original(up, &original);
    if (rc != 0)
        return rc;
    up->media.status = MEDIA_PROCESSING;
    up->media.width = info.width;
    up->media.height = info.height;
    up->media.duration_s = info.duration_s;
    rc = commit_upload(up, &original);
    /* Releases the pin left by a failure before the commit reached the
     * needle. After the commit this does nothing. */
    store_staged_release(up->app->store, &original);
    return rc;
}

static void probe_work(uv_work_t *work)
{
    upload_t *up = work->data;

    up->result = probe_and_commit(up);
}

static void remove_waiter(app_t *app, upload_t *up)
{
    upload_t **link = &app->waiters;

    while (*link != NULL && *link != up)
        link = &(*link)->next_waiter;
    if (*link == up)
        *link = up->next_waiter;
}

static void on_wait_timer_closed(uv_handle_t *handle)
{
    upload_step_done(handle->data);
}

/* Returns the code whose description a failed record stores as its
 * reason, KADR_E_CODEC for any other reason. */
static int failure_code(const char *reason)
{
    static const int codes[] = {
        KADR_E_CORRUPT,   KADR_E_UNSUPPORTED, KADR_E_NO_VIDEO,
        KADR_E_TOO_LARGE, KADR_E_TIMEOUT,     KADR_E_CODEC,
    };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(reason, kadr_strerror(codes[i])) == 0)
            return codes[i];
    }
    return KADR_E_CODEC;
}

/* Reads the record as stored now. Returns 0, KADR_E_NOT_FOUND when it
 * was deleted, or another code when the store cannot be read. */
static int reload_media(upload_t *up)
{
    store_txn_t *txn;
    media_t latest;
    int rc = store_txn_begin(up->app->store, false, &txn);

    if (rc != 0)
        return rc;
    rc = media_load(txn, up->media.id, &latest);
    if (rc == 0)
        up->media = latest;
    store_txn_abort(txn);
    return rc;
}

/* Sends a waiting upload its response from the record as stored now:
 * 201 while it is ready or still processing, the failure's error reply
 * when it failed, and 404 when it was deleted. A store that cannot be
 * read leaves the record as it was committed. */
static void finish_wait(upload_t *up)
{
    int rc;

    remove_waiter(up->app, up);
    up->waited = true;
    uv_timer_stop(&up->wait_timer);
    uv_close((uv_handle_t *)&up->wait_timer, on_wait_timer_closed);
    rc = reload_media(up);
    if (rc == KADR_E_NOT_FOUND) {
        upload_fail(up, 404, "not_found",
                    "the media was deleted while it was processing");
        return;
    }
    if (rc == 0 && up->media.status == MEDIA_FAILED) {
        upload_fail_media(up, failure_code(up->media.error));
        return;
    }
    upload_reply_created(up);
}

static void on_wait_timeout(uv_timer_t *timer)
{
    finish_wait(timer->data);
}

static void start_wait(upload_t *up)
{
    app_t *app = up->app;

    uv_timer_init(app->loop, &up->wait_timer);
    up->wait_timer.data = up;
    up->pending++;
    uv_timer_start(&up->wait_timer, on_wait_timeout, app->cfg->wait_timeout_ms,
                   0);
    up->next_waiter = app->waiters;
    app->waiters = up;
}

void ingest_video_notify(app_t *app, const char *media_id)
{
    upload_t *up = app->waiters;

    while (up != NULL) {
        upload_t *next = up->next_waiter;

        if (strcmp(up->media.id, media_id) == 0)
            finish_wait(up);
        up = next;
    }
}

static void probe_done(uv_work_t *work, int status)
{
    upload_t *up = work->data;
    int rc;

    up->pending--;
    if (status != 0)
        up->result = status;
    if (up->result != 0) {
        upload_fail_code(up, up->result, NULL);
        return;
    }
    if (up->deduped)
        metrics_add(up->app->metrics.dedup_hits, 1);
    rc = video_job_submit(up->app, up->job_id, up->media.id, 0);
    if (rc != 0)
        log_error("job.submit_failed", "media=%s error=\"%s\"", up->media.id,
                  kadr_strerror(rc));
    if (up->wait && up->req != NULL) {
        start_wait(up);
        return;
    }
    upload_reply_created(up);
}

void ingest_video_start(upload_t *up)
{
    int rc;

    up->io_work.data = up;
    rc = uv_queue_work(up->app->loop, &up->io_work, probe_work, probe_done);
    if (rc != 0) {
        upload_fail_code(up, rc, NULL);
        return;
    }
    up->pending++;
}

void ingest_video_finish_waits(app_t *app)
{
    while (app->waiters != NULL)
        finish_wait(app->waiters);
}
