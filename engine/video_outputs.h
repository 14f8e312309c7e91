/* The variants of one video: 720.mp4, poster.jpg, poster.webp,
 * preview.jpg and, for paid media, teaser.mp4. A video job plans which
 * of them the media needs, makes those the derivation cache does not
 * have, and commits them to the media record. */
#ifndef KADR_ENGINE_VIDEO_OUTPUTS_H
#define KADR_ENGINE_VIDEO_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "media.h"
#include "variants.h"
#include "video_running.h"

/* The free teaser of a paid video: its first video_teaser_s seconds. */
#define VIDEO_OUTPUT_TEASER "teaser.mp4"

/* Minimum time between two lookups of the media record while a
 * transcode runs, in nanoseconds (1 s). */
#define VIDEO_OUTPUT_RECORD_CHECK_NS UINT64_C(1000000000)

enum video_output {
    VIDEO_OUT_MP4 = 0,
    VIDEO_OUT_POSTER_JPEG,
    VIDEO_OUT_POSTER_WEBP,
    VIDEO_OUT_PREVIEW,
    VIDEO_OUT_TEASER, /* paid media only */
    VIDEO_OUT_COUNT,
};

typedef struct video_outputs {
    variant_out_t outs[VIDEO_OUT_COUNT];
    int count; /* VIDEO_OUT_COUNT with a teaser, else VIDEO_OUT_TEASER */
    /* Duration of 720.mp4 in seconds as its moov states it, when this job
     * made or probed it, else 0. */
    double duration_s;
} video_outputs_t;

/* Returns whether media is a video that should have a teaser (it is paid
 * and video_teaser_s is above 0) and has none yet. */
bool video_outputs_need_teaser(const app_t *app, const media_t *media);

/* Reads media_id's record and the location of its original, and plans
 * the outputs it needs. Each output the derivation cache has is marked
 * cached, with its size from the record or else from its blob's header.
 * When the record has no duration and 720.mp4 is cached, vo->duration_s
 * is read from that blob.
 * Returns how many are missing, or a negative code (KADR_E_NOT_FOUND
 * once the media is deleted). */
KADR_MUST_CHECK int video_outputs_plan(app_t *app, const char *media_id,
                                       video_outputs_t *vo,
                                       store_blob_t *original);

/* Returns whether media_id has no record any more (deleted). A lookup
 * that fails for another reason returns false. */
bool video_outputs_media_gone(app_t *app, const char *media_id);

/* Makes and stages the outputs not marked cached, from the original.
 * running, when not NULL, receives the progress of 720.mp4 and provides
 * the cancel flag; otherwise app->cancel_all stops the work. With
 * running, each transcode also looks the record up when its percent
 * changes, at most once per VIDEO_OUTPUT_RECORD_CHECK_NS, and cancels
 * itself with running->deleted set once the record is gone. On failure the
 * outputs staged so far stay staged: release them with video_outputs_release().
 */
KADR_MUST_CHECK int video_outputs_make(app_t *app, const store_blob_t *original,
                                       video_running_t *running,
                                       video_outputs_t *vo);

/* What video_outputs_commit() found in the record. */
typedef struct video_commit {
    /* The record, as stored now, still needs a teaser that the outputs
     * do not have, because the media was made paid meanwhile. */
    bool need_teaser;
    bool made_ready; /* the record was not ready before this commit */
} video_commit_t;

/* Inside a write transaction: adds the outputs the record does not list
 * yet to media_id and marks it ready, filling *out. A record without a
 * duration takes vo->duration_s. KADR_E_NOT_FOUND once
 * the media is deleted. The commit of each output releases its staged
 * needle's pin, even when the transaction is aborted later. */
KADR_MUST_CHECK int video_outputs_commit(app_t *app, store_txn_t *txn,
                                         const char *media_id,
                                         const video_outputs_t *vo,
                                         video_commit_t *out);

/* Releases the staged needles of outputs that will not be committed, as
 * when the media was deleted or a later output failed. Their bytes stay
 * unindexed in the volume until the next start cuts them or a compaction
 * drops them. Does nothing for outputs whose commit was tried. */
void video_outputs_release(app_t *app, video_outputs_t *vo);

#endif
