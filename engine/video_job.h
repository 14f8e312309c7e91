/* Video jobs: one per video upload, queued in the store's jobs database
 * in the same transaction as its media record, so a restart resumes it.
 * A job makes 720.mp4, poster.jpg, poster.webp, preview.jpg and, for
 * paid media, teaser.mp4 on the media pool's video lane, then marks the
 * media ready or failed. While it runs, the running table stores its
 * progress and cancel flag. */
#ifndef KADR_ENGINE_VIDEO_JOB_H
#define KADR_ENGINE_VIDEO_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"

/* The free teaser of a paid video: its first video_teaser_s seconds. */
#define VIDEO_JOB_TEASER "teaser.mp4"

/* Longest stored job value. */
#define VIDEO_JOB_MAX_BYTES 128

/* Writes the stored form of a job for media_id after tries attempts. */
KADR_MUST_CHECK int video_job_encode(const char *media_id, uint32_t tries,
                                     char *out, size_t size);

/* Queues a stored job on the media pool. */
KADR_MUST_CHECK int video_job_submit(app_t *app, uint64_t job_id,
                                     const char *media_id, uint32_t tries);

/* Queues every job in the store, after a start. Returns the count or a
 * negative code. */
KADR_MUST_CHECK int video_job_resume_all(app_t *app);

#endif
