/* POST /v1/admin/compact: compacts volumes now, beside the reads and
 * uploads that go on, for an operator who does not want to wait for
 * compact_interval_s or stop kadrd for kadrctl compact. It needs the
 * front-end key, as the other write requests do.
 *
 *   ?volume=ID              compact that volume
 *   ?min_dead_percent=P     compact each volume with at least P % dead
 *                           bytes (0: any dead byte); default 50
 *
 * POST /v1/admin/gc does what kadrctl gc does on a stopped kadrd: it
 * compacts every volume with a dead byte, then drops the derivation
 * cache entries whose variant is gone.
 *
 * The compaction runs on libuv's thread pool, one request at a time, and
 * waits for one that the maintenance thread has under way. The reply
 * lists each volume compacted. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"

/* Dead share a compaction request without parameters compacts at, in
 * percent: the same as kadrctl compact. */
#define ADMIN_COMPACT_DEFAULT_PERCENT 50

struct compact_op {
    const body_ops_t *ops; /* first: the router dispatches through it */
    app_t *app;
    http_request_t *req; /* NULL once the client is gone */
    uint32_t volume_id;  /* 0: every volume past min_dead_ratio */
    double min_dead_ratio;
    bool prune; /* then prune the derivation cache (gc) */
    int pruned; /* derivation cache entries dropped */
    int result;
    json_t *volumes; /* array of the volumes compacted */
    uv_work_t work;
};

/* Set while a compaction request runs. kadrd serves one at a time, so
 * that they never hold more than one thread of libuv's pool. */
static atomic_bool compact_running;

static void on_compacted(void *ctx, const store_compact_result_t *r)
{
    struct compact_op *op = ctx;

    log_info("compaction.done",
             "volume=%u bytes_before=%llu bytes_copied=%llu moved=%llu "
             "dropped=%llu by=admin",
             r->volume_id, (unsigned long long)r->bytes_before,
             (unsigned long long)r->bytes_copied,
             (unsigned long long)r->blobs_moved,
             (unsigned long long)r->blobs_dropped);
    json_array_append_new(op->volumes,
                          json_pack("{s:I,s:I,s:I,s:I,s:I}", "volume",
                                    (json_int_t)r->volume_id, "bytes_before",
                                    (json_int_t)r->bytes_before, "bytes_copied",
                                    (json_int_t)r->bytes_copied, "blobs_moved",
                                    (json_int_t)r->blobs_moved, "blobs_dropped",
                                    (json_int_t)r->blobs_dropped));
}

static void compact_work(uv_work_t *work)
{
    struct compact_op *op = work->data;
    store_compact_result_t result;
    int rc;

    if (op->volume_id == 0) {
        rc =
            store_compact(op->app->store, op->min_dead_ratio, on_compacted, op);
        rc = rc > 0 ? 0 : rc;
        if (rc == 0 && op->prune) {
            op->pruned = store_derived_gc(op->app->store);
            rc = op->pruned < 0 ? op->pruned : 0;
        }
        op->result = rc;
        return;
    }
    rc = store_compact_volume(op->app->store, op->volume_id, &result);
    if (rc == 0)
        on_compacted(op, &result);
    op->result = rc;
}

static void compact_reply(struct compact_op *op)
{
    http_request_t *req = op->req;

    req->user = NULL;
    if (op->result == KADR_E_NOT_FOUND) {
        routes_respond_error(op->app, req, 404, "not_found",
                             "no such volume (see kadrctl volumes)");
        return;
    }
    if (op->result != 0) {
        log_error("compaction.failed", "error=\"%s\" by=admin",
                  kadr_strerror(op->result));
        routes_respond_error(op->app, req, 500, "internal_error",
                             "the compaction failed; see the server log");
        return;
    }
    if (op->prune) {
        log_info("gc.done", "derived_pruned=%d by=admin", op->pruned);
        routes_respond_json(op->app, req, 200, NULL,
                            json_pack("{s:O,s:i}", "compacted", op->volumes,
                                      "derived_pruned", op->pruned));
        return;
    }
    routes_respond_json(op->app, req, 200, NULL,
                        json_pack("{s:O}", "compacted", op->volumes));
}

static void compact_op_free(struct compact_op *op)
{
    json_decref(op->volumes);
    free(op);
}

static void compact_work_done(uv_work_t *work, int status)
{
    struct compact_op *op = work->data;

    if (status != 0)
        op->result = status;
    atomic_store(&compact_running, false);
    if (op->req != NULL)
        compact_reply(op);
    compact_op_free(op);
}

static void compact_on_complete(http_request_t *req)
{
    struct compact_op *op = req->user;
    int rc;

    if (atomic_exchange(&compact_running, true)) {
        req->user = NULL;
        routes_respond_error(op->app, req, 409, "compaction_running",
                             "another compaction request is running; "
                             "retry when it has finished");
        compact_op_free(op);
        return;
    }
    log_info("compaction.requested", "req=%llu volume=%u min_dead_ratio=%.2f",
             (unsigned long long)req->id, op->volume_id, op->min_dead_ratio);
    op->work.data = op;
    rc = uv_queue_work(op->app->loop, &op->work, compact_work,
                       compact_work_done);
    if (rc != 0) {
        op->result = rc;
        atomic_store(&compact_running, false);
        compact_reply(op);
        compact_op_free(op);
    }
}

static void compact_on_abort(http_request_t *req)
{
    struct compact_op *op = req->user;

    req->user = NULL;
    op->req = NULL;
    /* Work in flight frees the op when it ends. */
    if (op->work.data == NULL)
        compact_op_free(op);
}

static void ignore_body(http_request_t *req, const char *data, size_t len)
{
}

static const body_ops_t compact_ops = {
    ignore_body,
    compact_on_complete,
    compact_on_abort,
};

/* Reads an unsigned decimal query parameter into *out. Returns 0 when it
 * is absent (out unchanged), 1 when it is read, -1 when it is not a
 * number up to max. */
static int query_number(http_request_t *req, const char *key, uint64_t max,
                        uint64_t *out)
{
    char text[24];
    char *end;
    unsigned long long value;
    int n = http_request_query(req, key, text, sizeof(text));

    if (n == KADR_E_NOT_FOUND)
        return 0;
    if (n <= 0 || text[0] < '0' || text[0] > '9')
        return -1;
    value = strtoull(text, &end, 10);
    if (*end != '\0' || value > max)
        return -1;
    *out = value;
    return 1;
}

static bool read_compact_query(struct compact_op *op, http_request_t *req)
{
    static const char *const known[] = {"volume", "min_dead_percent", NULL};
    uint64_t volume = 0;
    uint64_t percent = ADMIN_COMPACT_DEFAULT_PERCENT;
    int has_volume = query_number(req, "volume", UINT32_MAX, &volume);
    int has_percent = query_number(req, "min_dead_percent", 100, &percent);

    if (!http_request_query_names_in(req, known))
        return false;
    if (has_volume < 0 || has_percent < 0 || (has_volume && volume == 0) ||
        (has_volume && has_percent))
        return false;
    op->volume_id = (uint32_t)volume;
    op->min_dead_ratio = (double)percent / 100.0;
    return true;
}

/* Returns a new op for req, or NULL after responding. */
static struct compact_op *compact_op_new(app_t *app, http_request_t *req)
{
    struct compact_op *op;

    if (!routes_has_api_key(app, req)) {
        routes_respond_unauthorized(app, req,
                                    "this request needs a front-end key in "
                                    "X-Api-Key");
        return NULL;
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL || (op->volumes = json_array()) == NULL) {
        free(op);
        routes_respond_error(app, req, 503, "overloaded", "out of memory");
        return NULL;
    }
    op->ops = &compact_ops;
    op->app = app;
    op->req = req;
    return op;
}

void route_admin_compact(app_t *app, http_request_t *req)
{
    struct compact_op *op = compact_op_new(app, req);

    if (op == NULL)
        return;
    if (!read_compact_query(op, req)) {
        compact_op_free(op);
        routes_respond_error(app, req, 400, "bad_request",
                             "give volume=ID (1 or more) or "
                             "min_dead_percent=0..100, not both, and no "
                             "other query parameter");
        return;
    }
    req->user = op;
}

void route_admin_gc(app_t *app, http_request_t *req)
{
    static const char *const known[] = {NULL};
    struct compact_op *op = compact_op_new(app, req);

    if (op == NULL)
        return;
    /* A parameter such as volume=ID would suggest a narrower run than
     * the one over every volume that gc does. */
    if (!http_request_query_names_in(req, known)) {
        compact_op_free(op);
        routes_respond_error(app, req, 400, "bad_request",
                             "gc takes no query parameters; compact one "
                             "volume with POST /v1/admin/compact?volume=ID");
        return;
    }
    op->min_dead_ratio = 0.0;
    op->prune = true;
    req->user = op;
}
