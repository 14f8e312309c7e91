/* Backpressure for uploads. Past a cap on uploads in flight or on media
 * work waiting in the worker pool, a new upload gets 503 with
 * Retry-After before any of its body is read. Memory and the backlog so
 * stay bounded under overload, and the client knows when to try again. */
#ifndef KADR_ENGINE_OVERLOAD_H
#define KADR_ENGINE_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "http.h"

/* Returns the caps in force: the configured max_uploads and
 * max_queued_jobs, or the defaults derived from the host when they are
 * 0. */
uint64_t overload_max_uploads(const app_t *app);
uint64_t overload_max_queued_jobs(const app_t *app);

/* Sends 503 with Retry-After and returns true when a new upload must
 * wait; returns false when it may start. Loop thread only. */
bool overload_reject_upload(app_t *app, http_request_t *req);

/* Count an upload from its start to its release. Loop thread only. */
void overload_upload_started(app_t *app);
void overload_upload_ended(app_t *app);

#endif
