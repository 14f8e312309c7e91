/* Route handlers. Each is called from the router once a request's headers
 * are complete. A handler that reads a body stores in req->user a state
 * whose first member points to its body_ops. */
#ifndef KADR_ENGINE_ROUTES_H
#define KADR_ENGINE_ROUTES_H

#include <stdbool.h>

#include "app.h"
#include <jansson.h>

#include "http.h"

typedef struct body_ops {
    void (*on_body)(http_request_t *req, const char *data, size_t len);
    void (*on_complete)(http_request_t *req);
    void (*on_abort)(http_request_t *req);
} body_ops_t;

/* Installs the router as the server's handler table. */
void routes_handlers(app_t *app, http_handlers_t *out);

/* Returns whether the request carries a valid front-end API key in
 * X-Api-Key, compared in constant time. */
bool routes_has_api_key(const app_t *app, const http_request_t *req);

void route_upload(app_t *app, http_request_t *req);
void route_media_show(app_t *app, http_request_t *req, const char *id);
void route_variant(app_t *app, http_request_t *req, const char *id,
                   const char *variant);
void route_media_delete(app_t *app, http_request_t *req, const char *id);
void route_media_patch(app_t *app, http_request_t *req, const char *id);
void route_metrics(app_t *app, http_request_t *req);
void route_admin_compact(app_t *app, http_request_t *req);
/* POST /v1/admin/gc: compacts every volume with a dead byte and prunes
 * the derivation cache. */
void route_admin_gc(app_t *app, http_request_t *req);
void route_health(app_t *app, http_request_t *req);

/* Sends a JSON document (consumed) with the given status and extra
 * header lines. */
void routes_respond_json(app_t *app, http_request_t *req, int status,
                         const char *headers, json_t *doc);

/* Sends an error reply and counts it. */
void routes_respond_error(app_t *app, http_request_t *req, int status,
                          const char *error, const char *detail);

/* The challenge every 401 carries (RFC 9110, section 11.6.1): the
 * front-end key goes in the X-Api-Key header. */
#define ROUTES_KEY_CHALLENGE "WWW-Authenticate: ApiKey header=\"X-Api-Key\"\r\n"

/* Sends 401 unauthorized with the key challenge and detail. */
void routes_respond_unauthorized(app_t *app, http_request_t *req,
                                 const char *detail);

#endif
