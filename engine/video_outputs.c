#include "video_outputs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const output_names[VIDEO_OUT_COUNT] = {
    VARIANT_VIDEO,   VARIANT_POSTER_JPEG, VARIANT_POSTER_WEBP,
    VARIANT_PREVIEW, VIDEO_OUTPUT_TEASER,
};

bool video_outputs_need_teaser(const app_t *app, const media_t *media)
{
    return media->kind == KADR_KIND_VIDEO && media->access == MEDIA_PAID &&
           app->cfg->video_teaser_s > 0 &&
           media_find_variant(media, VIDEO_OUTPUT_TEASER) == NULL;
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

static bool same_hash(const kadr_hash_t *a, const kadr_hash_t *b)
{
    return memcmp(a->bytes, b->bytes, KADR_HASH_SIZE) == 0;
}

/* Returns the record's entry for out when it names the same blob. */
static const media_variant_t *listed_variant(const media_t *media,
                                             const variant_out_t *out)
{
    const media_variant_t *listed = media_find_variant(media, out->name);

    if (listed == NULL || !same_hash(&listed->hash, &out->hash))
        return NULL;
    return listed;
}

static int count_cache_misses(app_t *app, const media_t *media,
                              video_outputs_t *vo)
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

/* Takes the sizes of cached outputs from the record, which lists them
 * when an earlier job of this media made them. */
static void fill_cached_sizes(const media_t *media, video_outputs_t *vo)
{
    for (int i = 0; i < vo->count; i++) {
        const media_variant_t *listed;

        if (!vo->outs[i].cached)
            continue;
        listed = listed_variant(media, &vo->outs[i]);
        if (listed != NULL) {
            vo->outs[i].width = listed->width;
            vo->outs[i].height = listed->height;
        }
    }
}

/* Reads the size of a cached output from its blob's header, and for an
 * MP4 its duration into *duration_s. */
static int probe_size(app_t *app, variant_out_t *out, double *duration_s)
{
    store_blob_t blob;
    char path[64];
    int rc;
    int fd = variants_open_hash_copy(app->store, &out->hash, &blob);

    if (fd < 0)
        return fd;
    variants_fd_path(fd, path, sizeof(path));
    if (blob.format == KADR_FORMAT_MP4) {
        video_info_t info = {0};

        rc = video_probe_file(path, &info);
        out->width = info.width;
        out->height = info.height;
        *duration_s = info.duration_s;
    } else {
        image_info_t info;

        rc = image_probe_file(path, (kadr_format_t)blob.format, &info);
        out->width = info.width;
        out->height = info.height;
    }
    close(fd);
    return rc;
}

/* Returns whether output i is cached and its blob must be probed: for a
 * size the record does not list, or for the duration of 720.mp4 when
 * the record has none. */
static bool needs_probe(const video_outputs_t *vo, int i, bool duration_missing)
{
    if (!vo->outs[i].cached)
        return false;
    return vo->outs[i].width == 0 || (i == VIDEO_OUT_MP4 && duration_missing);
}

/* Reads the sizes of cached outputs the record does not list, as when
 * the same original was uploaded before under another id: the
 * derivation cache stores the blob but not its size. Also reads the
 * duration of a cached 720.mp4 when the record has none. */
static int probe_cached_sizes(app_t *app, const media_t *media,
                              video_outputs_t *vo)
{
    for (int i = 0; i < vo->count; i++) {
        double duration_s = 0.0;
        int rc;

        if (!needs_probe(vo, i, media->duration_s <= 0.0))
            continue;
        rc = probe_size(app, &vo->outs[i], &duration_s);
        if (rc != 0)
            return rc;
        if (i == VIDEO_OUT_MP4)
            vo->duration_s = duration_s;
    }
    return 0;
}

static bool posters_missing(const video_outputs_t *vo)
{
    return !vo->outs[VIDEO_OUT_POSTER_JPEG].cached ||
           !vo->outs[VIDEO_OUT_POSTER_WEBP].cached ||
           !vo->outs[VIDEO_OUT_PREVIEW].cached;
}

int video_outputs_plan(app_t *app, const char *media_id, video_outputs_t *vo,
                       store_blob_t *original)
{
    media_t media;
    int misses;
    int rc = load_source(app, media_id, &media, original);

    if (rc != 0)
        return rc;
    memset(vo, 0, sizeof(*vo));
    vo->count = media.access == MEDIA_PAID && app->cfg->video_teaser_s > 0
                    ? VIDEO_OUT_COUNT
                    : VIDEO_OUT_TEASER;
    for (int i = 0; i < vo->count; i++)
        snprintf(vo->outs[i].name, sizeof(vo->outs[i].name), "%s",
                 output_names[i]);
    misses = count_cache_misses(app, &media, vo);
    if (misses < 0)
        return misses;
    fill_cached_sizes(&media, vo);
    rc = probe_cached_sizes(app, &media, vo);
    return rc != 0 ? rc : misses;
}

/* Hashes and stages the MP4 in fd as out, and writes its duration as
 * the container states it into *duration_s. */
static int stage_mp4(app_t *app, int fd, variant_out_t *out, double *duration_s)
{
    video_info_t info;
    char path[64];
    int rc;

    variants_fd_path(fd, path, sizeof(path));
    rc = video_probe_file(path, &info);
    if (rc != 0)
        return rc;
    rc = variants_hash_fd(fd, &out->size, &out->hash);
    if (rc != 0)
        return rc;
    out->width = info.width;
    out->height = info.height;
    out->cached = false;
    *duration_s = info.duration_s;
    return store_blob_stage(app->store, fd, out->size, &out->hash,
                            KADR_FORMAT_MP4, &out->staged);
}

bool video_outputs_media_gone(app_t *app, const char *media_id)
{
    store_txn_t *txn;
    const void *value;
    size_t len;
    int rc = store_txn_begin(app->store, false, &txn);

    if (rc != 0)
        return false;
    rc = store_media_get(txn, media_id, &value, &len);
    store_txn_abort(txn);
    return rc == KADR_E_NOT_FOUND;
}

/* Context of the progress callback of one transcode. */
struct transcode_watch {
    app_t *app;
    video_running_t *running;
    bool report_percent; /* false for the teaser: reads show 720.mp4's */
    uint64_t checked_ns; /* when the record was last looked up */
};

/* Updates the running entry and looks the record up when the percent
 * changes at least VIDEO_OUTPUT_RECORD_CHECK_NS after the last lookup.
 * A DELETE through the API cancels the transcode at once, but kadrctl rm
 * runs in another process and only removes the record. */
static void watch_progress(void *ctx, int percent)
{
    struct transcode_watch *watch = ctx;
    uint64_t now = uv_hrtime();

    if (watch->report_percent)
        atomic_store(&watch->running->percent, percent);
    if (now - watch->checked_ns < VIDEO_OUTPUT_RECORD_CHECK_NS)
        return;
    watch->checked_ns = now;
    if (video_outputs_media_gone(watch->app, watch->running->media_id)) {
        atomic_store(&watch->running->deleted, true);
        atomic_store(&watch->running->cancel, 1);
    }
}

/* Makes 720.mp4, or with which VIDEO_OUT_TEASER the first
 * video_teaser_s seconds of it. */
static int transcode(app_t *app, const char *src, video_running_t *running,
                     video_outputs_t *vo, enum video_output which)
{
    int fd = variants_open_tmpfile(store_tmp_dir(app->store));
    video_params_t params = app->video_params;
    const atomic_int *cancel = &app->cancel_all;
    struct transcode_watch watch = {app, running, which == VIDEO_OUT_MP4,
                                    uv_hrtime()};
    double duration_s = 0.0;
    char path[64];
    int rc;

    if (fd < 0)
        return fd;
    if (which == VIDEO_OUT_TEASER)
        params.max_output_s = (double)app->cfg->video_teaser_s;
    if (running != NULL)
        cancel = &running->cancel;
    variants_fd_path(fd, path, sizeof(path));
    rc = video_transcode_file(src, path, &params,
                              running != NULL ? watch_progress : NULL, &watch,
                              cancel);
    if (rc == 0)
        rc = stage_mp4(app, fd, &vo->outs[which], &duration_s);
    if (rc == 0 && which == VIDEO_OUT_MP4)
        vo->duration_s = duration_s;
    close(fd);
    return rc;
}

/* Stages poster.jpg and poster.webp at the size of pixels, which is the
 * size of 720.mp4, and preview.jpg made from pixels by the rule of the
 * image preview: 32 pixels wide, or as wide as a narrower poster. */
static int stage_posters(app_t *app, const image_pixels_t *pixels,
                         video_outputs_t *vo)
{
    const image_preset_t presets[] = {
        {VARIANT_POSTER_JPEG, IMAGE_FIT_WIDTH, pixels->width, IMAGE_CODEC_JPEG,
         82},
        {VARIANT_POSTER_WEBP, IMAGE_FIT_WIDTH, pixels->width, IMAGE_CODEC_WEBP,
         80},
        {VARIANT_PREVIEW, IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
    };
    int rc = 0;

    for (int i = 0; rc == 0 && i < 3; i++) {
        image_blob_t blob;

        rc = image_render_preset(pixels, &presets[i], &blob);
        if (rc != 0)
            break;
        rc = variants_stage_image(app->store, &blob, &vo->outs[i + 1]);
        image_blob_free(&blob);
    }
    return rc;
}

static int render_posters(app_t *app, const char *src, video_outputs_t *vo)
{
    image_pixels_t pixels = {0};
    int rc = video_grab_poster(src, &app->video_params, &pixels);

    if (rc == 0)
        rc = stage_posters(app, &pixels, vo);
    image_pixels_free(&pixels);
    return rc;
}

int video_outputs_make(app_t *app, const store_blob_t *original,
                       video_running_t *running, video_outputs_t *vo)
{
    int fd = variants_open_blob_copy(app->store, original);
    char path[64];
    int rc = 0;

    if (fd < 0)
        return fd;
    variants_fd_path(fd, path, sizeof(path));
    metrics_add(app->metrics.decodes, 1);
    if (!vo->outs[VIDEO_OUT_MP4].cached)
        rc = transcode(app, path, running, vo, VIDEO_OUT_MP4);
    if (rc == 0 && posters_missing(vo))
        rc = render_posters(app, path, vo);
    if (rc == 0 && vo->count > VIDEO_OUT_TEASER &&
        !vo->outs[VIDEO_OUT_TEASER].cached)
        rc = transcode(app, path, running, vo, VIDEO_OUT_TEASER);
    close(fd);
    return rc;
}

/* Adds one output to the record. An output the record already lists
 * with the same blob is left alone, so that blob is not referenced twice.
 * One listed with another blob is replaced, and the old blob loses the
 * record's reference. */
static int commit_one(app_t *app, store_txn_t *txn, const variant_out_t *out,
                      media_t *media)
{
    const media_variant_t *listed = media_find_variant(media, out->name);
    bool deduped;
    int rc;

    if (listed != NULL && same_hash(&listed->hash, &out->hash))
        return 0;
    if (listed != NULL) {
        rc = store_blob_unref(txn, &listed->hash);
        if (rc != 0)
            return rc;
    }
    rc = variants_commit(txn, &media->original, out, media, &deduped);
    if (rc == 0 && out->cached)
        metrics_add(app->metrics.derive_hits, 1);
    return rc;
}

int video_outputs_commit(app_t *app, store_txn_t *txn, const char *media_id,
                         const video_outputs_t *vo, video_commit_t *out)
{
    media_t media;
    int rc = media_load(txn, media_id, &media);

    out->need_teaser = false;
    out->made_ready = false;
    for (int i = 0; rc == 0 && i < vo->count; i++)
        rc = commit_one(app, txn, &vo->outs[i], &media);
    if (rc != 0)
        return rc;
    /* An upload whose header states no duration (a live WebM recording)
     * stored 0. So the record takes the duration of 720.mp4, which its
     * muxer wrote from the packets. */
    if (media.duration_s <= 0.0 && vo->duration_s > 0.0)
        media.duration_s = vo->duration_s;
    out->made_ready = media.status != MEDIA_READY;
    media.status = MEDIA_READY;
    out->need_teaser = video_outputs_need_teaser(app, &media);
    return media_save(txn, &media);
}

/* TODO: give the bytes back as well (cut at the volume's end, punched
 * below it) once the store offers that for staged needles. Until then
 * the bytes of a stopped job's outputs stay in the volume file. */
void video_outputs_release(app_t *app, video_outputs_t *vo)
{
    for (int i = 0; i < vo->count; i++) {
        if (!vo->outs[i].cached)
            store_staged_release(app->store, &vo->outs[i].staged);
    }
}
