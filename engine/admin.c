/* Front-end writes to a media record (DELETE, PATCH). Both run their
 * write transaction on libuv's thread pool, because a commit syncs to
 * disk and must not stall the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"
#include "variants.h"
#include "video_job.h"
#include "video_running.h"

#define PATCH_MAX_BODY_BYTES 4096

struct admin_op {
    const body_ops_t *ops; /* first: the router dispatches through it */
    app_t *app;
    http_request_t *req; /* NULL once the client is gone */
    char id[MEDIA_ID_LEN + 1];
    bool is_delete;
    enum media_access access;
    media_t media;
    int result;
    bool job_added; /* a teaser job for media made paid */
    uint64_t job_id;
    uv_work_t work;
    size_t body_len;
    char body[PATCH_MAX_BODY_BYTES + 1];
};

static int apply_change(struct admin_op *op)
{
    store_txn_t *txn;
    int rc = store_txn_begin(op->app->store, true, &txn);

    if (rc != 0)
        return rc;
    if (op->is_delete) {
        rc = media_delete(txn, op->id, &op->media);
    } else {
        rc = media_load(txn, op->id, &op->media);
        op->media.access = op->access;
        if (rc == 0)
            rc = media_save(txn, &op->media);
        if (rc == 0)
            rc = video_job_add_teaser(op->app, txn, &op->media, &op->job_id);
        op->job_added = rc == 1;
        rc = rc == 1 ? 0 : rc;
    }
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static void admin_work(uv_work_t *work)
{
    struct admin_op *op = work->data;

    op->result = apply_change(op);
}

static void admin_reply(struct admin_op *op)
{
    app_t *app = op->app;
    http_request_t *req = op->req;

    req->user = NULL;
    if (op->result == KADR_E_NOT_FOUND) {
        routes_respond_error(app, req, 404, "not_found", "no such media");
    } else if (op->result != 0) {
        log_error("media.write_failed", "media=%s error=\"%s\"", op->id,
                  kadr_strerror(op->result));
        routes_respond_error(app, req, 500, "internal_error",
                             "updating the index failed");
    } else if (op->is_delete) {
        log_info("media.deleted", "media=%s", op->id);
        metrics_add(app->metrics.responses[204], 1);
        http_respond(req, 204, NULL, NULL, 0);
    } else {
        log_info("media.access_changed", "media=%s access=%s", op->id,
                 media_access_name(op->access));
        routes_respond_json(app, req, 200, NULL,
                            media_to_json(&op->media, true));
    }
}

static void submit_teaser_job(const struct admin_op *op)
{
    int rc = video_job_submit(op->app, op->job_id, op->id, 0);

    if (rc != 0)
        log_error("job.submit_failed", "media=%s error=\"%s\"", op->id,
                  kadr_strerror(rc));
}

static void admin_work_done(uv_work_t *work, int status)
{
    struct admin_op *op = work->data;

    if (status != 0)
        op->result = status;
    /* A transcode of the deleted media stops, and its job is dropped. */
    if (op->is_delete && op->result == 0)
        video_running_cancel_deleted(op->id);
    if (op->job_added && op->result == 0)
        submit_teaser_job(op);
    if (op->req != NULL)
        admin_reply(op);
    free(op);
}

static void admin_start(struct admin_op *op)
{
    int rc;

    op->work.data = op;
    rc = uv_queue_work(op->app->loop, &op->work, admin_work, admin_work_done);
    if (rc != 0) {
        op->result = rc;
        admin_reply(op);
        free(op);
    }
}

static struct admin_op *admin_new(app_t *app, http_request_t *req,
                                  const char *id)
{
    struct admin_op *op;

    if (!routes_has_api_key(app, req)) {
        routes_respond_unauthorized(app, req,
                                    "this request needs a front-end key in "
                                    "X-Api-Key");
        return NULL;
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        routes_respond_error(app, req, 503, "overloaded", "out of memory");
        return NULL;
    }
    op->app = app;
    op->req = req;
    strcpy(op->id, id);
    return op;
}

static const body_ops_t delete_ops;

void route_media_delete(app_t *app, http_request_t *req, const char *id)
{
    struct admin_op *op = admin_new(app, req, id);

    if (op == NULL)
        return;
    op->is_delete = true;
    op->ops = &delete_ops;
    req->user = op;
    admin_start(op);
}

/* Parses the PATCH body. A key given twice is rejected, because JSON
 * parsers differ on which of the two values counts, and a front-end that
 * checked the first would see another access than kadrd applies. */
static int parse_patch(struct admin_op *op, const char **detail)
{
    json_t *root =
        json_loadb(op->body, op->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *access = json_string_value(json_object_get(root, "access"));
    int rc = -1;

    if (root == NULL)
        *detail = "the body is not valid JSON or repeats a key";
    else if (access == NULL)
        *detail = "the body needs an \"access\" field";
    else if (media_parse_access(access, &op->access) != 0)
        *detail = "access must be public or paid";
    else
        rc = 0;
    json_decref(root);
    return rc;
}

static void patch_on_body(http_request_t *req, const char *data, size_t len)
{
    struct admin_op *op = req->user;

    if (op->body_len + len > PATCH_MAX_BODY_BYTES) {
        req->user = NULL;
        routes_respond_error(op->app, req, 413, "content_too_large",
                             "a PATCH body is at most 4096 bytes");
        free(op);
        return;
    }
    memcpy(op->body + op->body_len, data, len);
    op->body_len += len;
}

static void patch_on_complete(http_request_t *req)
{
    struct admin_op *op = req->user;
    const char *detail;

    if (parse_patch(op, &detail) != 0) {
        req->user = NULL;
        routes_respond_error(op->app, req, 400, "bad_request", detail);
        free(op);
        return;
    }
    admin_start(op);
}

static void admin_on_abort(http_request_t *req)
{
    struct admin_op *op = req->user;

    req->user = NULL;
    op->req = NULL;
    /* Work in flight frees the op when it ends. */
    if (op->work.data == NULL)
        free(op);
}

static void ignore_body(http_request_t *req, const char *data, size_t len)
{
}

static void ignore_complete(http_request_t *req)
{
}

static const body_ops_t delete_ops = {
    ignore_body,
    ignore_complete,
    admin_on_abort,
};

static const body_ops_t patch_ops = {
    patch_on_body,
    patch_on_complete,
    admin_on_abort,
};

void route_media_patch(app_t *app, http_request_t *req, const char *id)
{
    struct admin_op *op = admin_new(app, req, id);

    if (op == NULL)
        return;
    op->ops = &patch_ops;
    req->user = op;
}
