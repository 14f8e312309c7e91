#include "upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <kadr/io.h>

#include "log.h"
#include "overload.h"
#include "webhook.h"

static void upload_on_body(http_request_t *req, const char *data, size_t len);
static void upload_on_complete(http_request_t *req);
static void upload_on_abort(http_request_t *req);

static const body_ops_t upload_ops = {
    upload_on_body,
    upload_on_complete,
    upload_on_abort,
};

static void upload_free(upload_t *up)
{
    store_inbound_cancel(up->app->store, &up->inbound);
    if (up->fd >= 0)
        close(up->fd);
    XXH3_freeState(up->xxh);
    free(up->buf[0]);
    free(up->buf[1]);
    overload_upload_ended(up->app);
    free(up);
}

void upload_step_done(upload_t *up)
{
    up->pending--;
    if (up->req == NULL && up->pending == 0)
        upload_free(up);
}

/* Detaches the request; the upload lives on while steps are pending. */
static void upload_detach(upload_t *up)
{
    http_request_t *req = up->req;

    up->req = NULL;
    atomic_store(&up->client_gone, true);
    if (req != NULL)
        req->user = NULL;
    if (up->pending == 0)
        upload_free(up);
}

/* Logs, counts and sends the rejection of an upload of kind. */
static void respond_rejected(app_t *app, http_request_t *req, kadr_kind_t kind,
                             int status, const char *error, const char *detail)
{
    char reason[160];

    log_escape(detail, reason, sizeof(reason));
    log_info("upload.rejected", "req=%llu status=%d error=%s detail=%s",
             (unsigned long long)req->id, status, error, reason);
    metrics_add(app->metrics.uploads_rejected[kind], 1);
    routes_respond_error(app, req, status, error, detail);
}

void upload_fail(upload_t *up, int status, const char *error,
                 const char *detail)
{
    if (up->req != NULL)
        respond_rejected(up->app, up->req, up->kind, status, error, detail);
    upload_detach(up);
}

void upload_reply_created(upload_t *up)
{
    json_t *doc;
    char hex[KADR_HASH_HEX_LEN + 1];

    if (up->req == NULL) {
        upload_detach(up);
        return;
    }
    kadr_hash_to_hex(&up->hash, hex);
    log_info("upload.done",
             "req=%llu media=%s blob=%s kind=%s format=%s bytes=%llu "
             "dedup=%d status=%s",
             (unsigned long long)up->req->id, up->media.id, hex,
             format_kind_name(up->kind), format_name(up->format),
             (unsigned long long)up->received, up->deduped,
             media_status_name(up->media.status));
    metrics_add(up->app->metrics.uploads_ok[up->kind], 1);
    /* A video job sends the event of the state it reached itself. */
    if (up->media.status != MEDIA_PROCESSING && !up->waited)
        webhook_notify(up->app->webhook, up->media.id,
                       media_status_name(up->media.status),
                       format_kind_name(up->kind), up->media.error);
    doc = media_to_json(&up->media, true);
    routes_respond_json(up->app, up->req, 201, NULL, doc);
    upload_detach(up);
}

void upload_fail_media(upload_t *up, int code)
{
    const char *error;
    int status = upload_status_for(code, &error);
    json_t *doc;

    if (up->req == NULL) {
        upload_detach(up);
        return;
    }
    log_info("upload.rejected", "req=%llu status=%d error=%s media=%s",
             (unsigned long long)up->req->id, status, error, up->media.id);
    metrics_add(up->app->metrics.uploads_rejected[up->kind], 1);
    doc = json_pack("{s:s, s:s, s:o*}", "error", error, "detail",
                    up->media.error, "media", media_to_json(&up->media, true));
    routes_respond_json(up->app, up->req, status, NULL, doc);
    upload_detach(up);
}

int upload_status_for(int code, const char **error)
{
    switch (code) {
    case KADR_E_UNSUPPORTED:
    case KADR_E_NO_VIDEO:
        *error = "unsupported_media_type";
        return 415;
    case KADR_E_CORRUPT:
    case KADR_E_CODEC:
        *error = "corrupt_media";
        return 422;
    case KADR_E_TOO_LARGE:
        *error = "media_over_limit";
        return 422;
    case KADR_E_TIMEOUT:
        *error = "processing_timed_out";
        return 422;
    case KADR_E_DISK_FULL:
    case -ENOSPC:
        *error = "insufficient_storage";
        return 507;
    case KADR_E_COLLISION:
        *error = "hash_collision";
        return 409;
    case -EMFILE:
    case -ENFILE:
    case -ENOMEM:
        *error = "overloaded";
        return 503;
    default:
        *error = "internal_error";
        return 500;
    }
}

void upload_fail_code(upload_t *up, int code, const char *detail)
{
    const char *error;
    int status = upload_status_for(code, &error);

    if (status >= 500 && status != 507)
        log_error("upload.failed", "media=%s error=\"%s\"",
                  up->media.id[0] ? up->media.id : "-", kadr_strerror(code));
    upload_fail(up, status, error, detail ? detail : kadr_strerror(code));
}

int upload_stage_original(upload_t *up, store_staged_t *out)
{
    media_t *m = &up->media;
    int rc;

    if (up->inbound.open)
        rc = store_inbound_stage(up->app->store, &up->inbound, &up->hash,
                                 (uint8_t)up->format, out);
    else
        rc = store_blob_stage(up->app->store, up->fd, up->received, &up->hash,
                              (uint8_t)up->format, out);
    if (rc != 0)
        return rc;
    if (atomic_load(&up->client_gone)) {
        store_staged_release(up->app->store, out);
        return KADR_E_CANCELLED;
    }
    rc = media_new_id(m->id);
    if (rc != 0)
        return rc;
    m->access = up->access;
    snprintf(m->owner, sizeof(m->owner), "%s", up->owner);
    m->kind = up->kind;
    m->format = up->format;
    m->original = up->hash;
    m->size = up->received;
    m->created = (int64_t)time(NULL);
    return 0;
}

static void sniff_head(upload_t *up)
{
    up->sniffed = true;
    up->format = format_sniff(up->head, up->head_len);
    up->kind = format_kind(up->format);
}

static void start_write(upload_t *up);
static void upload_finish(upload_t *up);

uint64_t upload_max_bytes(const upload_t *up)
{
    uint64_t limit;

    if (up->kind == KADR_KIND_VIDEO)
        return up->app->video_limits.max_file_bytes;
    if (up->kind != KADR_KIND_IMAGE)
        return 0;
    limit = up->app->image_limits.max_file_bytes;
    return limit == 0 || limit > IMAGE_MAX_FILE_BYTES ? IMAGE_MAX_FILE_BYTES
                                                      : limit;
}

/* Returns whether the declared length is over upload_max_bytes(), so the
 * upload can be rejected before its body arrives. A chunked body is
 * checked by the ingest once received. */
static bool declared_over_limit(const upload_t *up, const http_request_t *req)
{
    uint64_t limit = upload_max_bytes(up);

    return !req->chunked && limit != 0 && req->content_length > limit;
}

/* Runs on libuv's pool: writes one buffer where the body goes. */
static void write_run(uv_work_t *work)
{
    upload_t *up = work->data;

    if (up->inbound.open) {
        up->write_rc = store_inbound_write(&up->inbound, up->write_buf,
                                           up->write_len, up->written);
        return;
    }
    up->write_rc =
        kadr_pwrite_full(up->fd, up->write_buf, up->write_len, up->written);
}

static void on_write(uv_work_t *work, int status)
{
    upload_t *up = work->data;

    up->writing = false;
    up->fill[up->cur ^ 1] = 0;
    if (up->req == NULL) {
        upload_step_done(up);
        return;
    }
    up->pending--;
    if (status != 0 || up->write_rc != 0) {
        upload_fail_code(up, status != 0 ? status : up->write_rc,
                         "writing the upload failed");
        return;
    }
    up->written += up->write_len;
    if (up->fill[up->cur] >= UPLOAD_BUFFER_BYTES ||
        (up->complete && up->fill[up->cur] > 0)) {
        start_write(up);
        return;
    }
    if (up->paused) {
        up->paused = false;
        http_request_resume(up->req);
    }
    if (up->complete)
        upload_finish(up);
}

static void start_write(upload_t *up)
{
    int rc;

    up->write_buf = up->buf[up->cur];
    up->write_len = up->fill[up->cur];
    up->write_work.data = up;
    rc = uv_queue_work(up->app->loop, &up->write_work, write_run, on_write);
    if (rc != 0) {
        upload_fail_code(up, rc, "writing the upload failed");
        return;
    }
    up->writing = true;
    up->pending++;
    up->cur ^= 1;
}

static void upload_on_body(http_request_t *req, const char *data, size_t len)
{
    upload_t *up = req->user;
    size_t *fill = &up->fill[up->cur];

    if (up->head_len < FORMAT_SNIFF_BYTES) {
        size_t n = FORMAT_SNIFF_BYTES - up->head_len;

        n = n < len ? n : len;
        memcpy(up->head + up->head_len, data, n);
        up->head_len += n;
    }
    if (!up->sniffed && up->head_len == FORMAT_SNIFF_BYTES) {
        sniff_head(up);
        if (up->kind == KADR_KIND_UNSUPPORTED) {
            upload_fail(up, 415, "unsupported_media_type",
                        "the body is not a photo or video format kadr "
                        "serves");
            return;
        }
        if (declared_over_limit(up, req)) {
            upload_fail(up, 422, "media_over_limit",
                        up->kind == KADR_KIND_IMAGE
                            ? "the photo is larger than image_max_file_bytes"
                            : "the video is larger than video_max_file_bytes");
            return;
        }
    }
    if (*fill + len > UPLOAD_BUFFER_BYTES + UPLOAD_SLACK_BYTES) {
        /* The server delivered more than one read after a pause. */
        log_crit("upload.overrun", "req=%llu bytes=%zu",
                 (unsigned long long)req->id, len);
        upload_fail_code(up, -EIO, "internal buffer overrun");
        return;
    }
    XXH3_128bits_update(up->xxh, data, len);
    memcpy(up->buf[up->cur] + *fill, data, len);
    *fill += len;
    up->received += len;
    metrics_add(up->app->metrics.bytes_in, len);
    if (*fill < UPLOAD_BUFFER_BYTES)
        return;
    if (!up->writing) {
        start_write(up);
    } else if (!up->paused) {
        up->paused = true;
        http_request_pause(req);
    }
}

static void upload_finish(upload_t *up)
{
    XXH128_canonicalFromHash((XXH128_canonical_t *)up->hash.bytes,
                             XXH3_128bits_digest(up->xxh));
    if (up->received == 0) {
        upload_fail(up, 400, "empty_body", "the upload has no bytes");
        return;
    }
    if (!up->sniffed)
        sniff_head(up);
    if (up->kind == KADR_KIND_IMAGE)
        ingest_image_start(up);
    else if (up->kind == KADR_KIND_VIDEO)
        ingest_video_start(up);
    else
        upload_fail(up, 415, "unsupported_media_type",
                    "the body is not a photo or video format kadr serves");
}

static void upload_on_complete(http_request_t *req)
{
    upload_t *up = req->user;

    up->complete = true;
    if (up->writing)
        return; /* on_write flushes the rest, then finishes */
    if (up->fill[up->cur] > 0) {
        start_write(up);
        return;
    }
    upload_finish(up);
}

static void upload_on_abort(http_request_t *req)
{
    upload_t *up = req->user;

    log_info("upload.aborted", "req=%llu bytes=%llu",
             (unsigned long long)req->id, (unsigned long long)up->received);
    upload_detach(up);
}

static bool disk_has_room(app_t *app)
{
    struct statvfs vfs;

    if (statvfs(store_tmp_dir(app->store), &vfs) != 0)
        return true; /* the write itself will report the error */
    return (uint64_t)vfs.f_bavail * vfs.f_frsize >=
           app->cfg->disk_reserve_bytes;
}

/* Reads one query parameter: 0 if absent (out set to ""), 1 if present,
 * -1 if it is malformed (a bad %XX escape, an encoded NUL, too long). */
static int query_param(http_request_t *req, const char *key, char *out,
                       size_t size)
{
    int n = http_request_query(req, key, out, size);

    if (n == KADR_E_NOT_FOUND) {
        out[0] = '\0';
        return 0;
    }
    return n < 0 ? -1 : 1;
}

/* An owner tag is an opaque id from the front-end: printable ASCII. */
static bool owner_valid(const char *owner)
{
    for (const char *p = owner; *p != '\0'; p++) {
        if (*p < 0x21 || *p > 0x7e)
            return false;
    }
    return true;
}

static int read_upload_query(upload_t *up, http_request_t *req,
                             const char **detail)
{
    /* Names are case-sensitive. An unknown one is rejected, because a
     * mistyped ACCESS=paid read as absent would publish a paid post. */
    static const char *const known[] = {"access", "owner", "wait", NULL};
    char value[16];
    int found = query_param(req, "access", value, sizeof(value));

    if (!http_request_query_names_in(req, known))
        return *detail = "unknown query parameter: uploads take access, "
                         "owner and wait, in lower case",
               -1;
    if (found < 0 ||
        (found == 1 && media_parse_access(value, &up->access) != 0))
        return *detail = "access must be public or paid", -1;
    found = query_param(req, "owner", up->owner, sizeof(up->owner));
    if (found < 0)
        return *detail = "owner is malformed: over 64 bytes, a bad %XX "
                         "escape or an encoded NUL",
               -1;
    if (!owner_valid(up->owner))
        return *detail = "owner must be printable ASCII without spaces (a "
                         "'+' in a query is a space: send %2B)",
               -1;
    found = query_param(req, "wait", value, sizeof(value));
    if (found < 0 ||
        (found == 1 && strcmp(value, "0") != 0 && strcmp(value, "1") != 0))
        return *detail = "wait must be 0 or 1", -1;
    up->wait = found == 1 && strcmp(value, "1") == 0;
    return 0;
}

static upload_t *upload_new(app_t *app, http_request_t *req)
{
    upload_t *up = calloc(1, sizeof(*up));

    if (up == NULL)
        return NULL;
    up->ops = &upload_ops;
    up->app = app;
    overload_upload_started(app);
    up->req = req;
    up->fd = -1;
    up->started_ns = uv_hrtime();
    up->xxh = XXH3_createState();
    up->buf[0] = malloc(UPLOAD_BUFFER_BYTES + UPLOAD_SLACK_BYTES);
    up->buf[1] = malloc(UPLOAD_BUFFER_BYTES + UPLOAD_SLACK_BYTES);
    if (up->xxh == NULL || up->buf[0] == NULL || up->buf[1] == NULL) {
        upload_free(up);
        return NULL;
    }
    XXH3_128bits_reset(up->xxh);
    return up;
}

static bool check_upload_headers(app_t *app, http_request_t *req)
{
    const char *type;

    if (!routes_has_api_key(app, req)) {
        routes_respond_unauthorized(
            app, req, "uploads need a front-end key in X-Api-Key");
        return false;
    }
    if (!req->has_body) {
        const char *cl = http_request_header(req, "content-length");

        /* Logged and counted like an empty chunked body, which
         * upload_finish rejects. */
        if (cl != NULL)
            respond_rejected(app, req, KADR_KIND_UNSUPPORTED, 400, "empty_body",
                             "the upload has no bytes");
        else
            respond_rejected(app, req, KADR_KIND_UNSUPPORTED, 411,
                             "length_required",
                             "send Content-Length or a chunked body");
        return false;
    }
    type = http_request_header(req, "content-type");
    if (type != NULL && strncasecmp(type, "multipart/", 10) == 0) {
        respond_rejected(app, req, KADR_KIND_UNSUPPORTED, 415,
                         "unsupported_media_type",
                         "send the file's bytes as the raw request body, not "
                         "as a multipart form");
        return false;
    }
    if (!disk_has_room(app)) {
        log_error("upload.disk_full", "req=%llu", (unsigned long long)req->id);
        routes_respond_error(app, req, 507, "insufficient_storage",
                             "free disk space is under the reserve");
        return false;
    }
    return true;
}

/* Opens where the body goes. A body of known length is written in place
 * into an inbound needle. A chunked one goes to a temporary file, which
 * is copied into a needle once complete. */
static int open_destination(upload_t *up, http_request_t *req)
{
    if (!req->chunked)
        return store_inbound_open(up->app->store, req->content_length,
                                  &up->inbound);
    up->fd = variants_open_tmpfile(store_tmp_dir(up->app->store));
    return up->fd < 0 ? up->fd : 0;
}

void route_upload(app_t *app, http_request_t *req)
{
    const char *detail = NULL;
    const char *error;
    upload_t *up;
    int rc;

    if (!check_upload_headers(app, req))
        return;
    if (overload_reject_upload(app, req))
        return;
    up = upload_new(app, req);
    if (up == NULL) {
        routes_respond_error(app, req, 503, "overloaded", "out of memory");
        return;
    }
    if (read_upload_query(up, req, &detail) != 0) {
        upload_free(up);
        respond_rejected(app, req, KADR_KIND_UNSUPPORTED, 400, "bad_request",
                         detail);
        return;
    }
    rc = open_destination(up, req);
    if (rc != 0) {
        int status = upload_status_for(rc, &error);

        log_error("upload.open", "req=%llu error=\"%s\"",
                  (unsigned long long)req->id, kadr_strerror(rc));
        upload_free(up);
        routes_respond_error(app, req, status, error,
                             status == 507 ? "the disk is full"
                                           : "cannot store the upload");
        return;
    }
    req->user = up;
}
