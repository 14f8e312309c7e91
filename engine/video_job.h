/* Video jobs: one per video upload, queued in the store's jobs database
 * in the same transaction as its media record, so a restart resumes it.
 * A job makes 720.mp4, poster.jpg, poster.webp, preview.jpg and, for
 * paid media, teaser.mp4 on the media pool's video lane, then marks the
 * media ready or failed. While it runs, the running table stores its
 * progress and cancel flag.
 *
 * A stored job counts the runs that began. A run that ends kadrd still
 * counts, so once job_max_tries runs began without an outcome the next
 * start marks the media failed instead of running it again. */
#ifndef KADR_ENGINE_VIDEO_JOB_H
#define KADR_ENGINE_VIDEO_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "media.h"

/* Longest stored job value. */
#define VIDEO_JOB_MAX_BYTES 128

/* Writes the stored form of a job for media_id after tries attempts. */
KADR_MUST_CHECK int video_job_encode(const char *media_id, uint32_t tries,
                                     char *out, size_t size);

/* Queues a stored job on the media pool. */
KADR_MUST_CHECK int video_job_submit(app_t *app, uint64_t job_id,
                                     const char *media_id, uint32_t tries);

/* Inside a write transaction that saved media: stores a job that makes
 * the teaser of a ready video just made paid, when it has none and no
 * job of the media is stored (queued or running) already. Returns
 * 1 with the new job's id in *job_id (queue it with video_job_submit()
 * once the transaction commits), 0 when no job is needed, or a negative
 * code. */
KADR_MUST_CHECK int video_job_add_teaser(app_t *app, store_txn_t *txn,
                                         const media_t *media,
                                         uint64_t *job_id);

/* Queues every job in the store, after a start. Returns the count or a
 * negative code. */
KADR_MUST_CHECK int video_job_resume_all(app_t *app);

#endif
