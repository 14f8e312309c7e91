#include "video_job.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "media.h"
#include "upload.h"
#include "variants.h"
#include "video_running.h"
#include "webhook.h"

enum video_output {
    OUT_MP4 = 0,
    OUT_POSTER_JPEG,
    OUT_POSTER_WEBP,
    OUT_PREVIEW,
    OUT_TEASER, /* paid media only */
    OUT_COUNT,
};

static const char *const output_names[OUT_COUNT] = {
    VARIANT_VIDEO,   VARIANT_POSTER_JPEG, VARIANT_POSTER_WEBP,
    VARIANT_PREVIEW, VIDEO_JOB_TEASER,
};

typedef struct video_job {
    pool_work_t work; /* first: the pool hands this pointer back */
    app_t *app;
    uint64_t id;
    uint32_t tries;
    char media_id[MEDIA_ID_LEN + 1];
    int result;
    bool retry;
    uint64_t started_ns;
    video_running_t *running; /* NULL when the table was full */
} video_job_t;

struct video_outputs {
    variant_out_t outs[OUT_COUNT];
    int count;      /* OUT_COUNT with a teaser, else OUT_TEASER */
    uint32_t width; /* of 720.mp4 */
    uint32_t height;
};

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

/* Reads the record and the original's location. */
static int load_source(app_t *app, const char *id, media_t *media,
                       store_blob_t *blob)
{
    store_txn_t *txn;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0)
        return rc;
    rc = media_load(txn, id, media);
    if (rc == 0)
        rc = store_blob_get(txn, &media->original, blob);
    store_txn_abort(txn);
    return rc;
}

static int count_cache_misses(app_t *app, const media_t *media,
                              struct video_outputs *vo)
{
    store_txn_t *txn;
    int misses = 0;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0)
        return rc;
    for (int i = 0; i < vo->count; i++) {
        if (variants_find_cached(txn, &media->original, &vo->outs[i]) != 0)
            misses++;
    }
    store_txn_abort(txn);
    return misses;
}

static int stage_mp4(app_t *app, int fd, struct video_outputs *vo,
                     enum video_output which)
{
    variant_out_t *out = &vo->outs[which];
    video_info_t info;
    char path[64];
    int rc;

    variants_fd_path(fd, path, sizeof(path));
    rc = video_probe_file(path, &info);
    if (rc != 0)
        return rc;
    if (which == OUT_MP4) {
        vo->width = info.width;
        vo->height = info.height;
    }
    rc = variants_hash_fd(fd, &out->size, &out->hash);
    if (rc != 0)
        return rc;
    out->width = info.width;
    out->height = info.height;
    out->cached = false;
    return store_blob_stage(app->store, fd, out->size, &out->hash,
                            KADR_FORMAT_MP4, &out->staged);
}

static void report_progress(void *ctx, int percent)
{
    video_running_t *running = ctx;

    atomic_store(&running->percent, percent);
}

/* Makes 720.mp4, or with which OUT_TEASER the first video_teaser_s
 * seconds of it. */
static int transcode(video_job_t *job, const char *src,
                     struct video_outputs *vo, enum video_output which)
{
    app_t *app = job->app;
    int fd = variants_open_tmpfile(store_tmp_dir(app->store));
    video_params_t params = app->video_params;
    const atomic_int *cancel = &app->cancel_all;
    char path[64];
    int rc;

    if (fd < 0)
        return fd;
    if (which == OUT_TEASER)
        params.max_output_s = (double)app->cfg->video_teaser_s;
    if (job->running != NULL)
        cancel = &job->running->cancel;
    variants_fd_path(fd, path, sizeof(path));
    rc = video_transcode_file(
        src, path, &params,
        which == OUT_MP4 && job->running != NULL ? report_progress : NULL,
        job->running, cancel);
    if (rc == 0)
        rc = stage_mp4(app, fd, vo, which);
    close(fd);
    return rc;
}

static int render_posters(app_t *app, const char *src, struct video_outputs *vo)
{
    image_preset_t presets[] = {
        {VARIANT_POSTER_JPEG, IMAGE_FIT_WIDTH, vo->width, IMAGE_CODEC_JPEG, 82},
        {VARIANT_POSTER_WEBP, IMAGE_FIT_WIDTH, vo->width, IMAGE_CODEC_WEBP, 80},
        {VARIANT_PREVIEW, IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
    };
    image_pixels_t pixels = {0};
    int rc = video_grab_poster(src, &pixels);

    for (int i = 0; rc == 0 && i < 3; i++) {
        image_blob_t blob;

        rc = image_render_preset(&pixels, &presets[i], &blob);
        if (rc != 0)
            break;
        rc = variants_stage_image(app->store, &blob, &vo->outs[i + 1]);
        image_blob_free(&blob);
    }
    image_pixels_free(&pixels);
    return rc;
}

static int make_outputs(video_job_t *job, const store_blob_t *original,
                        struct video_outputs *vo)
{
    app_t *app = job->app;
    int fd = variants_open_blob_copy(app->store, original);
    char path[64];
    int rc;

    if (fd < 0)
        return fd;
    variants_fd_path(fd, path, sizeof(path));
    metrics_add(app->metrics.decodes, 1);
    rc = transcode(job, path, vo, OUT_MP4);
    if (rc == 0)
        rc = render_posters(app, path, vo);
    if (rc == 0 && vo->count > OUT_TEASER)
        rc = transcode(job, path, vo, OUT_TEASER);
    close(fd);
    return rc;
}

static int commit_outputs(app_t *app, video_job_t *job,
                          struct video_outputs *vo)
{
    store_txn_t *txn;
    media_t media;
    int rc = store_txn_begin(app->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = media_load(txn, job->media_id, &media);
    for (int i = 0; rc == 0 && i < vo->count; i++) {
        bool deduped;

        rc = variants_commit(txn, &media.original, &vo->outs[i], &media,
                             &deduped);
        if (rc == 0 && vo->outs[i].cached)
            metrics_add(app->metrics.derive_hits, 1);
    }
    if (rc == 0) {
        media.status = MEDIA_READY;
        rc = media_save(txn, &media);
    }
    if (rc == 0 || rc == KADR_E_NOT_FOUND)
        rc = store_job_del(txn, job->id);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static int run_job(video_job_t *job)
{
    app_t *app = job->app;
    struct video_outputs vo;
    store_blob_t original;
    media_t media;
    int rc = load_source(app, job->media_id, &media, &original);

    if (rc != 0)
        return rc;
    memset(&vo, 0, sizeof(vo));
    /* TODO: a video made paid after it is ready gets no teaser until
     * its job runs again. */
    vo.count = media.access == MEDIA_PAID && app->cfg->video_teaser_s > 0
                   ? OUT_COUNT
                   : OUT_TEASER;
    for (int i = 0; i < vo.count; i++)
        snprintf(vo.outs[i].name, sizeof(vo.outs[i].name), "%s",
                 output_names[i]);
    rc = count_cache_misses(app, &media, &vo);
    if (rc > 0)
        rc = make_outputs(job, &original, &vo);
    if (rc < 0)
        return rc;
    return commit_outputs(app, job, &vo);
}

/* Failures that another try cannot fix. */
static bool is_permanent(int code)
{
    return code == KADR_E_CORRUPT || code == KADR_E_UNSUPPORTED ||
           code == KADR_E_NO_VIDEO || code == KADR_E_TOO_LARGE ||
           code == KADR_E_TIMEOUT || code == KADR_E_CODEC ||
           code == KADR_E_NOT_FOUND;
}

/* Marks the media failed and drops the job, or stores one more try. */
static int record_failure(video_job_t *job, bool final)
{
    char value[VIDEO_JOB_MAX_BYTES];
    store_txn_t *txn;
    media_t media;
    int rc = store_txn_begin(job->app->store, true, &txn);

    if (rc != 0)
        return rc;
    if (!final) {
        rc = video_job_encode(job->media_id, job->tries, value, sizeof(value));
        if (rc == 0)
            rc = store_job_del(txn, job->id);
        if (rc == 0)
            rc = store_job_add(txn, value, strlen(value), &job->id);
    } else if (media_load(txn, job->media_id, &media) == 0) {
        media.status = MEDIA_FAILED;
        snprintf(media.error, sizeof(media.error), "%s",
                 kadr_strerror(job->result));
        rc = media_save(txn, &media);
        if (rc == 0)
            rc = store_job_del(txn, job->id);
    } else {
        rc = store_job_del(txn, job->id);
    }
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
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

static void job_run(pool_work_t *work)
{
    video_job_t *job = (video_job_t *)work;
    bool final;

    job->started_ns = uv_hrtime();
    start_running(job);
    job->result = run_job(job);
    job->retry = false;
    /* Deleted while running: the record is gone, so the job goes too. */
    if (job->result == KADR_E_CANCELLED && deleted_while_running(job)) {
        (void)record_failure(job, true);
        return;
    }
    /* Cancelled at shutdown: the stored job resumes at the next start. */
    if (job->result == 0 || job->result == KADR_E_CANCELLED)
        return;
    /* TODO: a run that crashes kadrd never gets here, so a video that
     * makes a decoder crash runs again at every start without end; count
     * the try in the stored job before the run to bound that. */
    job->tries++;
    final =
        is_permanent(job->result) || job->tries >= job->app->cfg->job_max_tries;
    if (record_failure(job, final) == 0)
        job->retry = !final;
}

static void job_done(pool_work_t *work)
{
    video_job_t *job = (video_job_t *)work;
    app_t *app = job->app;
    double ms = (double)(uv_hrtime() - job->started_ns) / 1e6;

    video_running_remove(job->running);
    job->running = NULL;

    if (work->cancelled || job->result == KADR_E_CANCELLED) {
        log_info("job.stopped", "media=%s job=%llu", job->media_id,
                 (unsigned long long)job->id);
        free(job);
        return;
    }
    metrics_observe(&app->metrics.job_seconds[POOL_LANE_VIDEO],
                    metrics_job_bounds, metrics_job_bound_count, ms / 1e3);
    if (job->result == 0) {
        metrics_add(app->metrics.jobs_done[POOL_LANE_VIDEO], 1);
        log_info("job.done", "media=%s job=%llu ms=%.0f", job->media_id,
                 (unsigned long long)job->id, ms);
    } else {
        metrics_add(app->metrics.jobs_failed[POOL_LANE_VIDEO], 1);
        log_warn("job.failed",
                 "media=%s job=%llu tries=%u retry=%d error=\"%s\"",
                 job->media_id, (unsigned long long)job->id, job->tries,
                 job->retry, kadr_strerror(job->result));
    }
    if (job->retry && !app->stopping) {
        pool_submit(app->pool, &job->work);
        return;
    }
    if (!job->retry)
        webhook_notify(app->webhook, job->media_id,
                       job->result == 0 ? "ready" : "failed", "video",
                       job->result == 0 ? NULL : kadr_strerror(job->result));
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
