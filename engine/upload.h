/* One upload in flight, from the first body byte to the reply.
 *
 * The body streams through two bounded buffers while it is hashed with
 * XXH3-128 and sniffed. A body of known length goes straight into an
 * inbound needle of the store, where it stays. A chunked body goes to an
 * unnamed temporary file. Then the image or video ingest takes over and
 * reads the bytes where they were written. The upload is freed once its
 * response is sent (or its client is gone) and no asynchronous step is
 * pending. */
#ifndef KADR_ENGINE_UPLOAD_H
#define KADR_ENGINE_UPLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>
#include <xxhash.h>

#include "app.h"
#include "format.h"
#include "media.h"
#include "pool.h"
#include "routes.h"
#include "variants.h"

#define UPLOAD_BUFFER_BYTES (256 * 1024)
/* Room past a full buffer for the rest of one socket read. */
#define UPLOAD_SLACK_BYTES (128 * 1024)

typedef struct upload {
    const body_ops_t *ops; /* first: the router dispatches through it */
    app_t *app;
    http_request_t *req; /* NULL once responded to or aborted */
    unsigned pending;    /* asynchronous steps in flight */
    uint64_t started_ns;

    /* Streaming: into the inbound needle when it is open, else into the
     * temporary file fd. */
    store_inbound_t inbound;
    int fd;
    XXH3_state_t *xxh;
    uint64_t received;
    uint64_t written;
    uint8_t head[FORMAT_SNIFF_BYTES];
    size_t head_len;
    bool sniffed;
    bool complete;
    bool writing;
    bool paused;
    char *buf[2];
    size_t fill[2];
    int cur;
    uv_work_t write_work;
    const char *write_buf; /* the buffer being written, and its length */
    size_t write_len;
    int write_rc;

    /* Query parameters of the request. */
    enum media_access access;
    char owner[MEDIA_MAX_OWNER + 1];
    bool wait;

    /* Ingest, after the body is complete. */
    kadr_format_t format;
    kadr_kind_t kind;
    kadr_hash_t hash;
    media_t media;
    atomic_bool client_gone; /* set on the loop thread, read by workers */
    int result;              /* 0, or the code that rejected the upload */
    char detail[160];        /* the reason, for the client */
    bool deduped;
    pool_work_t work;      /* image ingest on the media pool */
    uv_work_t io_work;     /* video probe and commit on libuv's pool */
    uint64_t job_id;       /* the video job queued with the record */
    uv_timer_t wait_timer; /* ?wait=1 for videos */
    bool waited; /* replied after a ?wait=1 wait, so the job sent the event */
    struct upload *next_waiter;
} upload_t;

/* Ends the upload with an error reply (if the client is still there). */
void upload_fail(upload_t *up, int status, const char *error,
                 const char *detail);

/* Ends the upload with 201 and the media record. */
void upload_reply_created(upload_t *up);

/* Ends the upload of a media record that exists but failed (up->media,
 * with its reason in up->media.error) with the error reply that fits
 * code, such as 422 corrupt_media. The record is included under "media",
 * so the client learns its id. */
void upload_fail_media(upload_t *up, int code);

/* Marks an asynchronous step done and frees the upload if nothing else
 * references it. */
void upload_step_done(upload_t *up);

/* Ends the upload with the reply that fits code (415, 422, 507...). */
void upload_fail_code(upload_t *up, int code, const char *detail);

/* Stages the original in the store and starts the media record with a
 * new id and the fields every upload has. KADR_E_CANCELLED if the client
 * left meanwhile, with the staged needle released. */
KADR_MUST_CHECK int upload_stage_original(upload_t *up, store_staged_t *out);

/* A read-only mapping of the whole body, wherever it was written. */
typedef struct upload_map {
    const uint8_t *data;
    size_t len;
    void *base; /* the mapping, from the page that contains data */
    size_t base_len;
} upload_map_t;

/* Maps the received body. Returns 0 or -errno. */
KADR_MUST_CHECK int upload_map_body(const upload_t *up, upload_map_t *out);
void upload_unmap_body(upload_map_t *map);

/* Writes the URL that libavformat opens to read the received body: a
 * subfile of the volume or of the temporary file. */
void upload_body_url(const upload_t *up, char *out, size_t size);

/* Returns the largest body the sniffed kind accepts, in bytes:
 * image_max_file_bytes capped at IMAGE_MAX_FILE_BYTES for a photo,
 * video_max_file_bytes for a video (0: no limit). */
uint64_t upload_max_bytes(const upload_t *up);

/* Maps a codec or store code to an HTTP status and error name. */
int upload_status_for(int code, const char **error);

/* Image and video ingest, started when the body is complete. */
void ingest_image_start(upload_t *up);
void ingest_video_start(upload_t *up);

/* Called on the loop thread when a video job has finished (ready or
 * failed) so that uploads waiting with ?wait=1 get their response. */
void ingest_video_notify(app_t *app, const char *media_id);

/* Answers every waiting upload with its current record, at shutdown. */
void ingest_video_finish_waits(app_t *app);

#endif
