/* Maps request paths to route handlers and forwards body callbacks to the
 * handler state a route left in req->user. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "log.h"
#include "media.h"
#include "routes.h"

#define MEDIA_PREFIX "/v1/media"

bool routes_has_api_key(const app_t *app, const http_request_t *req)
{
    const char *key = http_request_header(req, "x-api-key");
    size_t len;
    bool match = false;

    if (key == NULL)
        return false;
    len = strlen(key);
    /* Every configured key is compared, so the timing reveals nothing about
     * which one (if any) matched. */
    for (uint32_t i = 0; i < app->cfg->api_key_count; i++) {
        const char *want = app->cfg->api_key_list[i];

        if (strlen(want) == len && CRYPTO_memcmp(want, key, len) == 0)
            match = true;
    }
    return match;
}

void routes_respond_json(app_t *app, http_request_t *req, int status,
                         const char *headers, json_t *doc)
{
    char block[512];
    /* Nine significant digits print a duration of 44.652 s as 44.652. */
    char *text = doc != NULL
                     ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(9))
                     : NULL;

    json_decref(doc);
    if (text == NULL) {
        routes_respond_error(app, req, 500, "internal_error", "out of memory");
        return;
    }
    if (headers == NULL)
        headers = status == 503 ? HTTP_RETRY_AFTER : "";
    snprintf(block, sizeof(block),
             "Content-Type: application/json\r\n"
             "Cache-Control: no-store\r\n%s",
             headers);
    metrics_add(app->metrics.responses[status], 1);
    http_respond(req, status, block, text, strlen(text));
    free(text);
}

void routes_respond_error(app_t *app, http_request_t *req, int status,
                          const char *error, const char *detail)
{
    if (status >= 0 && status < METRICS_STATUS_SLOTS)
        metrics_add(app->metrics.responses[status], 1);
    http_respond_error(req, status, error, detail);
}

void routes_respond_unauthorized(app_t *app, http_request_t *req,
                                 const char *detail)
{
    json_t *doc =
        json_pack("{s:s, s:s}", "error", "unauthorized", "detail", detail);

    routes_respond_json(app, req, 401, ROUTES_KEY_CHALLENGE, doc);
}

/* Splits "/v1/media/{id}[/{variant}]". Returns the number of parts
 * found after the prefix (0, 1 or 2), or -1 if the path is malformed. */
static int split_media_path(const char *path, char *id, size_t id_size,
                            char *variant, size_t variant_size)
{
    const char *rest = path + strlen(MEDIA_PREFIX);
    const char *slash;
    size_t id_len;

    if (*rest == '\0')
        return 0;
    if (*rest != '/')
        return -1;
    rest++;
    slash = strchr(rest, '/');
    id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (!media_id_valid(rest, id_len) || id_len >= id_size)
        return -1;
    memcpy(id, rest, id_len);
    id[id_len] = '\0';
    if (slash == NULL)
        return 1;
    if (strlen(slash + 1) == 0 || strlen(slash + 1) >= variant_size ||
        strchr(slash + 1, '/') != NULL)
        return -1;
    strcpy(variant, slash + 1);
    return 2;
}

static void method_not_allowed(app_t *app, http_request_t *req,
                               const char *allow)
{
    static const char body[] = "{\"error\":\"method_not_allowed\","
                               "\"detail\":\"see the Allow header\"}";
    char headers[128];

    snprintf(headers, sizeof(headers), "Allow: %s\r\n" HTTP_ERROR_HEADERS,
             allow);
    metrics_add(app->metrics.responses[405], 1);
    http_respond(req, 405, headers, body, sizeof(body) - 1);
}

static void route_media(app_t *app, http_request_t *req)
{
    char id[MEDIA_ID_LEN + 1];
    char variant[MEDIA_MAX_NAME];
    enum http_method m = req->method;
    int parts =
        split_media_path(req->path, id, sizeof(id), variant, sizeof(variant));

    if (parts < 0) {
        routes_respond_error(app, req, 404, "not_found", "no such media");
    } else if (parts == 0) {
        if (m == HTTP_M_POST)
            route_upload(app, req);
        else
            method_not_allowed(app, req, "POST");
    } else if (parts == 1) {
        if (m == HTTP_M_GET || m == HTTP_M_HEAD)
            route_media_show(app, req, id);
        else if (m == HTTP_M_DELETE)
            route_media_delete(app, req, id);
        else if (m == HTTP_M_PATCH)
            route_media_patch(app, req, id);
        else
            method_not_allowed(app, req, "GET, HEAD, PATCH, DELETE");
    } else if (m == HTTP_M_GET || m == HTTP_M_HEAD) {
        route_variant(app, req, id, variant);
    } else {
        method_not_allowed(app, req, "GET, HEAD");
    }
}

static bool is_admin_path(const char *path)
{
    return strcmp(path, "/v1/admin/compact") == 0 ||
           strcmp(path, "/v1/admin/gc") == 0;
}

static void on_headers(http_request_t *req, void *ctx)
{
    app_t *app = ctx;
    const char *p = req->path;

    access_log_begin(app, req);
    if (strcmp(p, MEDIA_PREFIX) == 0 ||
        strncmp(p, MEDIA_PREFIX "/", strlen(MEDIA_PREFIX) + 1) == 0)
        route_media(app, req);
    else if (is_admin_path(p) && req->method != HTTP_M_POST)
        method_not_allowed(app, req, "POST");
    else if (strcmp(p, "/v1/admin/compact") == 0)
        route_admin_compact(app, req);
    else if (strcmp(p, "/v1/admin/gc") == 0)
        route_admin_gc(app, req);
    else if (strcmp(p, "/healthz") != 0 && strcmp(p, "/metrics") != 0)
        routes_respond_error(app, req, 404, "not_found", "no such route");
    else if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD)
        method_not_allowed(app, req, "GET, HEAD");
    else if (strcmp(p, "/healthz") == 0)
        route_health(app, req);
    else
        route_metrics(app, req);
}

static const body_ops_t *ops_of(http_request_t *req)
{
    return req->user != NULL ? *(const body_ops_t **)req->user : NULL;
}

static void on_body(http_request_t *req, const char *data, size_t len,
                    void *ctx)
{
    const body_ops_t *ops = ops_of(req);

    if (ops != NULL)
        ops->on_body(req, data, len);
}

static void on_complete(http_request_t *req, void *ctx)
{
    const body_ops_t *ops = ops_of(req);

    if (ops != NULL)
        ops->on_complete(req);
}

static void on_abort(http_request_t *req, void *ctx)
{
    const body_ops_t *ops = ops_of(req);

    access_log_abort(ctx, req);
    if (ops != NULL)
        ops->on_abort(req);
}

static void on_finish(http_request_t *req, int result, void *ctx)
{
    access_log_finish(ctx, req, result);
}

/* Logs a request that the server rejected before routing, such as a
 * malformed head. No route handles it, so it gets no http.access line. */
static void on_reject(const http_request_t *req, int status, const char *detail,
                      void *ctx)
{
    char text[256];

    log_escape(detail, text, sizeof(text));
    log_info("http.rejected", "client=%s status=%d detail=%s", req->client,
             status, text);
}

void routes_handlers(app_t *app, http_handlers_t *out)
{
    memset(out, 0, sizeof(*out));
    out->on_headers = on_headers;
    out->on_body = on_body;
    out->on_complete = on_complete;
    out->on_abort = on_abort;
    out->on_finish = on_finish;
    out->on_reject = on_reject;
    out->ctx = app;
}
