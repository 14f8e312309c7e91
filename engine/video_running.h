/* The video transcodes running now: a table, shared by the worker threads
 * and the loop thread, through which a media read shows the progress of
 * its transcode and a DELETE stops it. */
#ifndef KADR_ENGINE_VIDEO_RUNNING_H
#define KADR_ENGINE_VIDEO_RUNNING_H

#include <stdatomic.h>
#include <stdbool.h>

#include <kadr/error.h>

#include "media.h"

/* Most transcodes tracked at once. A job that finds the table full still
 * runs, without progress and without cancel on delete. */
#define VIDEO_RUNNING_MAX 64

/* One running transcode. cancel is what the codec polls. */
typedef struct video_running {
    char media_id[MEDIA_ID_LEN + 1];
    atomic_int cancel;
    atomic_int percent;
    atomic_bool deleted;
    bool used;
} video_running_t;

/* Registers a transcode of media_id. Returns NULL when the table is full.
 * The entry stays valid until video_running_remove(). */
video_running_t *video_running_add(const char *media_id);

/* Releases an entry from video_running_add(). entry may be NULL. */
void video_running_remove(video_running_t *entry);

/* Returns the percent done of the transcode of media_id, or -1 when none
 * runs. */
int video_running_progress(const char *media_id);

/* Stops the transcode of media_id, if one runs, because the media was
 * deleted. */
void video_running_cancel_deleted(const char *media_id);

/* Stops every running transcode, at shutdown. Their jobs stay stored. */
void video_running_cancel_all(void);

#endif
