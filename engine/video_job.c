#include "video_job.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "media.h"
#include "upload.h"
#include "video_outputs.h"
#include "video_running.h"
#include "webhook.h"

typedef struct video_job {
    pool_work_t work; /* first: the pool hands this pointer back */
    app_t *app;
    uint64_t id;
    uint32_t tries; /* runs started, as stored */
    char media_id[MEDIA_ID_LEN + 1];
    int result;
    char reason[MEDIA_MAX_ERROR + 1]; /* the failure, as the record shows it */
    bool retry;
    bool again; /* ready, but made paid meanwhile: run again for the teaser */
    bool made_ready; /* this run moved the media to ready */
    bool deleted;    /* the media was deleted, so the job was dropped */
    bool kept_ready; /* failed, but only a teaser was missing */
    uint64_t started_ns;
    video_running_t *running; /* NULL when the table was full */
} video_job_t;

int video_job_encode(const char *media_id, uint32_t tries, char *out,
                     size_t size)
{
    int n =
        snprintf(out, size, "{\"media\":\"%s\",\"tries\":%u}", media_id, tries);

    return n > 0 && (size_t)n < size ? 0 : KADR_E_TOO_LARGE;
}

static int job_decode(const void *value, size_t len, char *media_id,
                      uint32_t *tries)
{
    json_t *root = json_loadb(value, len, 0, NULL);
    const char *id = json_string_value(json_object_get(root, "media"));
    int rc = KADR_E_FORMAT;

    if (id != NULL && media_id_valid(id, strlen(id))) {
        strcpy(media_id, id);
        *tries = (uint32_t)json_integer_value(json_object_get(root, "tries"));
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* Inside txn: replaces the stored job with one that records tries, under
 * the new id *new_id. */
static int rewrite_job(store_txn_t *txn, const video_job_t *job, uint32_t tries,
                       uint64_t *new_id)
{
    char value[VIDEO_JOB_MAX_BYTES];
    int rc = video_job_encode(job->media_id, tries, value, sizeof(value));

    if (rc == 0)
        rc = store_job_del(txn, job->id);
    if (rc == 0)
        rc = store_job_add(txn, value, strlen(value), new_id);
    return rc;
}

/* Stores job->tries with the job. */
static int store_tries(video_job_t *job)
{
    store_txn_t *txn;
    uint64_t new_id;
    int rc = store_txn_begin(job->app->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = rewrite_job(txn, job, job->tries, &new_id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    rc = store_txn_commit(txn);
    if (rc == 0)
        job->id = new_id;
    return rc;
}

/* Commits the outputs and drops the job, in one transaction. When the
 * media was made paid while this run made the outputs of public media,
 * the job stays stored with no try counted and runs again for the
 * teaser. KADR_E_NOT_FOUND, with nothing committed, when the media was
 * deleted. */
static int commit_outputs(video_job_t *job, const video_outputs_t *vo)
{
    store_txn_t *txn;
    video_commit_t found;
    uint64_t new_id = job->id;
    int rc = store_txn_begin(job->app->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = video_outputs_commit(job->app, txn, job->media_id, vo, &found);
    if (rc == 0 && found.need_teaser)
        rc = rewrite_job(txn, job, 0, &new_id);
    else if (rc == 0)
        rc = store_job_del(txn, job->id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    rc = store_txn_commit(txn);
    if (rc != 0)
        return rc;
    job->made_ready = found.made_ready;
    if (found.need_teaser) {
        job->id = new_id;
        job->tries = 0;
        job->again = true;
    }
    return 0;
}

/* Plans, makes and commits the outputs. Outputs staged by a run that
 * commits nothing are released, whatever stopped it. */
static int run_job(video_job_t *job)
{
    video_outputs_t vo;
    store_blob_t original;
    int rc = video_outputs_plan(job->app, job->media_id, &vo, &original);

    if (rc < 0)
        return rc;
    if (rc > 0)
        rc = video_outputs_make(job->app, &original, job->running, &vo);
    if (rc == 0)
        rc = commit_outputs(job, &vo);
    if (rc != 0)
        video_outputs_release(job->app, &vo);
    return rc;
}

/* Failures that another try cannot fix. */
static bool is_permanent(int code)
{
    return code == KADR_E_CORRUPT || code == KADR_E_UNSUPPORTED ||
           code == KADR_E_NO_VIDEO || code == KADR_E_TOO_LARGE ||
           code == KADR_E_TIMEOUT || code == KADR_E_CODEC ||
           code == KADR_E_NOT_FOUND;
}

/* Marks the media failed with job->reason and drops the job. A ready
 * media stays ready: the job only lacked its teaser, and the 720.mp4 and
 * posters it has still serve. */
static int fail_media(video_job_t *job)
{
    store_txn_t *txn;
    media_t media;
    int rc = store_txn_begin(job->app->store, true, &txn);

    if (rc != 0)
        return rc;
    if (media_load(txn, job->media_id, &media) == 0) {
        job->kept_ready = media.status == MEDIA_READY;
        if (!job->kept_ready) {
            media.status = MEDIA_FAILED;
            snprintf(media.error, sizeof(media.error), "%s", job->reason);
            rc = media_save(txn, &media);
        }
    }
    if (rc == 0)
        rc = store_job_del(txn, job->id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

/* Drops the stored job of deleted media. */
static int drop_job(video_job_t *job)
{
    store_txn_t *txn;
    int rc = store_txn_begin(job->app->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = store_job_del(txn, job->id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static uint32_t max_tries(const app_t *app)
{
    return app->cfg->job_max_tries > 0 ? (uint32_t)app->cfg->job_max_tries : 1;
}

/* Fails the media of a job whose every try began and none ended: each
 * run stopped kadrd, or kadrd was stopped during it. */
static void give_up(video_job_t *job)
{
    job->result = KADR_E_CODEC;
    snprintf(job->reason, sizeof(job->reason),
             "kadrd stopped during each of %u tries to process this video",
             job->tries);
    (void)fail_media(job);
}

/* Records the try in the stored job before the run, so a run that ends
 * kadrd (a crash in a decoder, the kernel's out-of-memory killer) still
 * counts. The count stays in memory if the store cannot take it. */
static int count_try(video_job_t *job)
{
    job->tries++;
    return store_tries(job);
}

/* Registers the job in the running table, where reads find its progress
 * and DELETE its cancel flag. */
static void start_running(video_job_t *job)
{
    job->running = video_running_add(job->media_id);
    if (job->running == NULL) {
        log_warn("job.untracked", "media=%s job=%llu", job->media_id,
                 (unsigned long long)job->id);
        return;
    }
    /* Shutdown may have begun before the entry existed. */
    if (atomic_load(&job->app->cancel_all) != 0)
        atomic_store(&job->running->cancel, 1);
}

static bool deleted_while_running(const video_job_t *job)
{
    return job->running != NULL && atomic_load(&job->running->deleted);
}

/* Stops a job whose media was deleted, through the API or by kadrctl rm,
 * at any point before its commit: the job is dropped, and no failure is
 * recorded. Returns false when the record still exists. A job whose drop
 * fails stays stored, and its next run finds the record gone again. */
static bool stop_if_gone(video_job_t *job)
{
    int rc;

    if (!deleted_while_running(job) &&
        !video_outputs_media_gone(job->app, job->media_id))
        return false;
    job->deleted = true;
    rc = drop_job(job);
    if (rc != 0)
        log_warn("job.drop_failed", "media=%s job=%llu error=\"%s\"",
                 job->media_id, (unsigned long long)job->id, kadr_strerror(rc));
    return true;
}

/* Decides what follows a run that ended with job->result. */
static void settle(video_job_t *job)
{
    bool final;

    if (job->result != 0 && stop_if_gone(job))
        return;
    /* Cancelled at shutdown: the try is given back and the stored job
     * resumes at the next start. */
    if (job->result == KADR_E_CANCELLED) {
        job->tries--;
        if (store_tries(job) != 0)
            log_warn("job.try_kept", "media=%s job=%llu tries=%u",
                     job->media_id, (unsigned long long)job->id, job->tries);
        return;
    }
    if (job->result == 0) {
        job->retry = job->again;
        return;
    }
    snprintf(job->reason, sizeof(job->reason), "%s",
             kadr_strerror(job->result));
    final = is_permanent(job->result) || job->tries >= max_tries(job->app);
    if (!final) {
        job->retry = true;
        return;
    }
    (void)fail_media(job);
}

static void job_run(pool_work_t *work)
{
    video_job_t *job = (video_job_t *)work;

    job->started_ns = uv_hrtime();
    job->retry = false;
    job->again = false;
    job->made_ready = false;
    job->deleted = false;
    job->kept_ready = false;
    if (job->tries >= max_tries(job->app)) {
        if (!stop_if_gone(job))
            give_up(job);
        return;
    }
    job->result = count_try(job);
    if (job->result == 0) {
        start_running(job);
        job->result = run_job(job);
    }
    settle(job);
}

static void log_outcome(const video_job_t *job, double ms)
{
    app_t *app = job->app;

    metrics_observe(&app->metrics.job_seconds[POOL_LANE_VIDEO],
                    metrics_job_bounds, metrics_job_bound_count, ms / 1e3);
    if (job->result == 0) {
        metrics_add(app->metrics.jobs_done[POOL_LANE_VIDEO], 1);
        log_info("job.done", "media=%s job=%llu ms=%.0f teaser_next=%d",
                 job->media_id, (unsigned long long)job->id, ms, job->again);
        return;
    }
    metrics_add(app->metrics.jobs_failed[POOL_LANE_VIDEO], 1);
    log_warn("job.failed",
             "media=%s job=%llu tries=%u retry=%d kept_ready=%d "
             "error=\"%s\"",
             job->media_id, (unsigned long long)job->id, job->tries, job->retry,
             job->kept_ready, job->reason);
}

static void job_done(pool_work_t *work)
{
    video_job_t *job = (video_job_t *)work;
    app_t *app = job->app;
    double ms = (double)(uv_hrtime() - job->started_ns) / 1e6;

    video_running_remove(job->running);
    job->running = NULL;

    if (work->cancelled || job->deleted || job->result == KADR_E_CANCELLED) {
        log_info("job.stopped", "media=%s job=%llu cause=%s", job->media_id,
                 (unsigned long long)job->id,
                 job->deleted ? "deleted" : "shutdown");
        /* An upload waiting with ?wait=1 learns of the delete now. */
        if (job->deleted)
            ingest_video_notify(app, job->media_id);
        free(job);
        return;
    }
    log_outcome(job, ms);
    /* media.ready goes out once, from the run that made the media ready,
     * even when the job runs again for a teaser. A teaser made later
     * sends none. media.failed goes out once the failure is final. */
    if (job->result == 0 ? job->made_ready : !job->retry && !job->kept_ready)
        webhook_notify(app->webhook, job->media_id,
                       job->result == 0 ? "ready" : "failed", "video",
                       job->result == 0 ? NULL : job->reason);
    if (job->retry && !app->stopping) {
        if (job->again)
            ingest_video_notify(app, job->media_id);
        pool_submit(app->pool, &job->work);
        return;
    }
    ingest_video_notify(app, job->media_id);
    free(job);
}

int video_job_submit(app_t *app, uint64_t job_id, const char *media_id,
                     uint32_t tries)
{
    video_job_t *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return -ENOMEM;
    job->work.lane = POOL_LANE_VIDEO;
    job->work.run = job_run;
    job->work.done = job_done;
    job->app = app;
    job->id = job_id;
    job->tries = tries;
    snprintf(job->media_id, sizeof(job->media_id), "%s", media_id);
    pool_submit(app->pool, &job->work);
    return 0;
}

/* Stops the walk over the stored jobs at the first one of the media. */
static int match_media(void *user, uint64_t id, const void *value, size_t len)
{
    const char *media_id = user;
    char stored[MEDIA_ID_LEN + 1];
    uint32_t tries;

    (void)id;
    if (job_decode(value, len, stored, &tries) != 0)
        return 0;
    return strcmp(stored, media_id) == 0 ? 1 : 0;
}

/* Returns 1 when a job of media_id is stored, queued or running, 0 when
 * none is, or a negative code. A stored job makes every output the
 * record needs when it runs, the teaser included. */
static int has_stored_job(store_txn_t *txn, const char *media_id)
{
    char id[MEDIA_ID_LEN + 1];

    snprintf(id, sizeof(id), "%s", media_id);
    /* NOTE: this walks every stored job. Only PATCH calls it, and the
     * jobs database contains only the videos not processed yet. */
    return store_job_each(txn, match_media, id);
}

int video_job_add_teaser(app_t *app, store_txn_t *txn, const media_t *media,
                         uint64_t *job_id)
{
    char value[VIDEO_JOB_MAX_BYTES];
    int rc;

    if (media->status != MEDIA_READY || !video_outputs_need_teaser(app, media))
        return 0;
    rc = has_stored_job(txn, media->id);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    rc = video_job_encode(media->id, 0, value, sizeof(value));
    if (rc == 0)
        rc = store_job_add(txn, value, strlen(value), job_id);
    return rc == 0 ? 1 : rc;
}

struct resume_ctx {
    app_t *app;
    int count;
};

static int resume_one(void *user, uint64_t id, const void *value, size_t len)
{
    struct resume_ctx *ctx = user;
    char media_id[MEDIA_ID_LEN + 1];
    uint32_t tries;

    if (job_decode(value, len, media_id, &tries) != 0) {
        log_error("job.unreadable", "job=%llu", (unsigned long long)id);
        return 0;
    }
    if (video_job_submit(ctx->app, id, media_id, tries) != 0)
        return -ENOMEM;
    ctx->count++;
    return 0;
}

int video_job_resume_all(app_t *app)
{
    struct resume_ctx ctx = {app, 0};
    store_txn_t *txn;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0)
        return rc;
    rc = store_job_each(txn, resume_one, &ctx);
    store_txn_abort(txn);
    return rc < 0 ? rc : ctx.count;
}
