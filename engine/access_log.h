/* Per-request bookkeeping at the end of each response: the access log
 * line, requests by route and status, and the latency histogram.
 * NOTE: requests that the HTTP server rejects itself (400, 413, 414,
 * 431, before routing) get no access line; they are counted
 * in kadr_http_server_rejected_total. */
#ifndef KADR_ENGINE_ACCESS_LOG_H
#define KADR_ENGINE_ACCESS_LOG_H

#include <kadr/error.h>

#include "app.h"

typedef struct access_log access_log_t;

KADR_MUST_CHECK int access_log_create(access_log_t **out);
void access_log_free(access_log_t *log);

/* Starts the request's clock; call when its head is complete. */
void access_log_begin(app_t *app, http_request_t *req);

/* Counts the finished response and writes the access line when the
 * access_log key is on: method, path without the query (tokens travel
 * in the query, so they never reach the log), status, body bytes, ms and
 * client. result is on_finish's: 0, or a negative code when the send
 * failed. */
void access_log_finish(app_t *app, http_request_t *req, int result);

/* Drops the clock of a request that ended without a response. */
void access_log_abort(app_t *app, http_request_t *req);

#endif
