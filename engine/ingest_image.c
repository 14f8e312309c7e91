/* Image ingest. An image is decoded and every variant made before the
 * upload is committed, on the media pool's image lane, so a photo that
 * does not decode is rejected with 422 and leaves nothing behind, and a
 * 201 reply means the variants exist. When the same bytes are stored
 * already and every variant is in the derivation cache, only the cached
 * w320.webp is decoded, for the placeholder.
 *
 * TODO: an animated GIF or WebP keeps only its first frame in every
 * variant; making an MP4 of it through the video path would keep the
 * motion (the original keeps every frame). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "upload.h"

#define IMAGE_PRESET_MAX 16

struct image_ingest {
    variant_out_t outs[IMAGE_PRESET_MAX];
    size_t count;
    image_info_t info;
    uint32_t width; /* upright */
    uint32_t height;
    store_staged_t original;
};

static int probe_upright(upload_t *up, struct image_ingest *in,
                         const upload_map_t *body)
{
    int rc = image_probe_mem(body->data, body->len, up->format, &in->info);

    if (rc != 0)
        return rc;
    rc = image_check_limits(&in->info, &up->app->image_limits);
    if (rc != 0)
        return rc;
    in->width = in->info.width;
    in->height = in->info.height;
    if (in->info.orientation >= 5) {
        in->width = in->info.height;
        in->height = in->info.width;
    }
    return 0;
}

/* Marks the variants the derivation cache already has. Returns the
 * number of misses, or 1 + count when the original is not stored. */
static int find_cached(upload_t *up, struct image_ingest *in)
{
    store_txn_t *txn;
    store_blob_t blob;
    int misses = 0;
    int rc = store_txn_begin(up->app->store, false, &txn);

    if (rc != 0)
        return rc;
    if (store_blob_get(txn, &up->hash, &blob) != 0)
        misses = (int)in->count + 1;
    for (size_t i = 0; i < in->count && misses <= (int)in->count; i++) {
        if (variants_find_cached(txn, &up->hash, &in->outs[i]) != 0)
            misses++;
    }
    store_txn_abort(txn);
    return misses;
}

/* Decodes once and makes every variant the cache lacks, each from the
 * smallest larger variant already made (IMAGE_DERIVE_CHAIN), and the
 * BlurHash placeholder. */
/* Marks variant i as shared when an earlier variant staged now has the
 * same bytes, as w640.webp and w1080.webp of a photo at most 640 wide
 * do, so that those bytes are written once. Returns whether it did. */
static bool share_earlier(struct image_ingest *in, const bool *skip,
                          const image_blob_t *blobs, size_t i)
{
    variant_out_t *out = &in->outs[i];

    for (size_t j = 0; j < i; j++) {
        if (skip[j] || in->outs[j].shared || blobs[j].len != blobs[i].len ||
            memcmp(blobs[j].data, blobs[i].data, blobs[i].len) != 0)
            continue;
        out->hash = in->outs[j].hash;
        out->size = blobs[i].len;
        out->width = blobs[i].width;
        out->height = blobs[i].height;
        out->cached = false;
        out->shared = true;
        return true;
    }
    return false;
}

static int render_missing(upload_t *up, struct image_ingest *in,
                          const upload_map_t *body)
{
    image_blob_t blobs[IMAGE_PRESET_MAX];
    bool skip[IMAGE_PRESET_MAX];
    image_pixels_t pixels;
    uint32_t min_width = image_presets_min_width(variants_image_presets,
                                                 variants_image_preset_count,
                                                 in->width, in->height);
    int rc = image_decode_mem(body->data, body->len, up->format,
                              &up->app->image_limits, min_width, &pixels);

    if (rc != 0)
        return rc;
    metrics_add(up->app->metrics.decodes, 1);
    for (size_t i = 0; i < in->count; i++)
        skip[i] = in->outs[i].cached;
    rc = image_render_presets(&pixels, variants_image_presets, in->count, skip,
                              IMAGE_DERIVE_CHAIN, blobs, up->media.blurhash);
    image_pixels_free(&pixels);
    for (size_t i = 0; i < in->count && rc == 0; i++) {
        if (!skip[i] && !share_earlier(in, skip, blobs, i))
            rc = variants_stage_image(up->app->store, &blobs[i], &in->outs[i]);
    }
    for (size_t i = 0; i < in->count; i++)
        image_blob_free(&blobs[i]);
    return rc;
}

/* The cached width-fit variant with the smallest preset size, or -1. */
static int smallest_cached_fit(const struct image_ingest *in)
{
    int best = -1;

    for (size_t i = 0; i < in->count; i++) {
        const image_preset_t *p = &variants_image_presets[i];

        if (!in->outs[i].cached || p->fit != IMAGE_FIT_WIDTH)
            continue;
        if (best < 0 || p->size < variants_image_presets[best].size)
            best = (int)i;
    }
    return best;
}

static int open_cached(upload_t *up, const variant_out_t *out)
{
    store_blob_t blob;

    return variants_open_hash_copy(up->app->store, &out->hash, &blob);
}

/* When every variant comes from the cache, the placeholder is made from
 * the smallest cached width-fit variant (w320.webp by default), not from
 * the original. Being lossy, it can differ from the first upload's
 * placeholder in a quantisation step. */
static int placeholder_from_cached(upload_t *up, struct image_ingest *in)
{
    image_pixels_t pixels;
    char path[64];
    int index = smallest_cached_fit(in);
    int fd;
    int rc;

    if (index < 0)
        return 0;
    fd = open_cached(up, &in->outs[index]);
    if (fd < 0)
        return fd;
    variants_fd_path(fd, path, sizeof(path));
    rc = image_decode_file(path,
                           variants_image_presets[index].codec ==
                                   IMAGE_CODEC_WEBP
                               ? KADR_FORMAT_WEBP
                               : KADR_FORMAT_JPEG,
                           NULL, 0, &pixels);
    close(fd);
    if (rc != 0)
        return rc;
    rc = image_placeholder_encode(&pixels, up->media.blurhash);
    image_pixels_free(&pixels);
    return rc;
}

static int commit_variants(upload_t *up, store_txn_t *txn,
                           struct image_ingest *in)
{
    for (size_t i = 0; i < in->count; i++) {
        bool deduped;
        int rc =
            variants_commit(txn, &up->hash, &in->outs[i], &up->media, &deduped);

        if (rc != 0)
            return rc;
        if (in->outs[i].cached)
            metrics_add(up->app->metrics.derive_hits, 1);
    }
    return 0;
}

static int commit_upload(upload_t *up, struct image_ingest *in)
{
    store_txn_t *txn;
    int rc = store_txn_begin(up->app->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = store_blob_commit(txn, &in->original, &up->deduped);
    if (rc == 0)
        rc = commit_variants(up, txn, in);
    if (rc == 0)
        rc = media_save(txn, &up->media);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static void init_outputs(struct image_ingest *in)
{
    in->count = variants_image_preset_count;
    for (size_t i = 0; i < in->count; i++) {
        const image_preset_t *p = &variants_image_presets[i];

        snprintf(in->outs[i].name, sizeof(in->outs[i].name), "%s", p->name);
    }
}

static void fill_cached_dims(struct image_ingest *in)
{
    for (size_t i = 0; i < in->count; i++) {
        if (in->outs[i].cached)
            image_preset_dims(&variants_image_presets[i], in->width, in->height,
                              &in->outs[i].width, &in->outs[i].height);
    }
}

/* Probes the mapped body and makes the variants the derivation cache
 * lacks. */
static int make_variants(upload_t *up, struct image_ingest *in,
                         const upload_map_t *body)
{
    int rc = probe_upright(up, in, body);

    if (rc != 0)
        return rc;
    rc = find_cached(up, in);
    if (rc < 0)
        return rc;
    return rc > 0 ? render_missing(up, in, body)
                  : placeholder_from_cached(up, in);
}

static int ingest_steps(upload_t *up, struct image_ingest *in)
{
    upload_map_t body;
    int rc;

    /* Checked before mapping, which reads the whole body in. */
    if (up->received > upload_max_bytes(up))
        return KADR_E_TOO_LARGE;
    rc = upload_map_body(up, &body);
    if (rc != 0)
        return rc;
    rc = make_variants(up, in, &body);
    upload_unmap_body(&body);
    if (rc != 0)
        return rc;
    fill_cached_dims(in);
    rc = upload_stage_original(up, &in->original);
    if (rc != 0)
        return rc;
    up->media.status = MEDIA_READY;
    up->media.width = in->width;
    up->media.height = in->height;
    return commit_upload(up, in);
}

/* Releases the pins of the needles staged for the upload. A commit that
 * reached a needle released its pin already, so this does nothing for
 * it. */
static void release_staged(upload_t *up, struct image_ingest *in)
{
    for (size_t i = 0; i < in->count; i++)
        store_staged_release(up->app->store, &in->outs[i].staged);
    store_staged_release(up->app->store, &in->original);
}

static int ingest_image(upload_t *up)
{
    struct image_ingest in;
    int rc;

    memset(&in, 0, sizeof(in));
    init_outputs(&in);
    rc = ingest_steps(up, &in);
    release_staged(up, &in);
    return rc;
}

static void image_work_run(pool_work_t *work)
{
    upload_t *up = (upload_t *)((char *)work - offsetof(upload_t, work));
    uint64_t start_ns = uv_hrtime();

    up->result = ingest_image(up);
    metrics_observe(&up->app->metrics.job_seconds[POOL_LANE_IMAGE],
                    metrics_job_bounds, metrics_job_bound_count,
                    (double)(uv_hrtime() - start_ns) / 1e9);
}

static void image_work_done(pool_work_t *work)
{
    upload_t *up = (upload_t *)((char *)work - offsetof(upload_t, work));

    up->pending--;
    if (work->cancelled)
        up->result = KADR_E_CANCELLED;
    else if (up->result == 0)
        metrics_add(up->app->metrics.jobs_done[POOL_LANE_IMAGE], 1);
    else
        metrics_add(up->app->metrics.jobs_failed[POOL_LANE_IMAGE], 1);
    if (up->result == 0) {
        if (up->deduped) {
            metrics_add(up->app->metrics.dedup_hits, 1);
            metrics_add(up->app->metrics.dedup_bytes_saved, up->received);
        }
        upload_reply_created(up);
        return;
    }
    if (up->result == KADR_E_CANCELLED) {
        upload_fail(up, 503, "shutting_down", "the server is stopping");
        return;
    }
    upload_fail_code(up, up->result, NULL);
}

void ingest_image_start(upload_t *up)
{
    up->work.lane = POOL_LANE_IMAGE;
    up->work.run = image_work_run;
    up->work.done = image_work_done;
    up->pending++;
    pool_submit(up->app->pool, &up->work);
}
