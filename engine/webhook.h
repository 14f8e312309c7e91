/* Webhook: when a media becomes ready or failed, a small JSON document is
 * POSTed to the configured http:// URL from the event loop, with retries
 * and exponential backoff, a bounded queue and a bounded number of tries.
 *
 *   {"event":"media.ready","id":"Qm3x0nS2rTq8vLpW","status":"ready",
 *    "kind":"video","error":null,"time":1764862098}
 *
 * A 2xx reply delivers the event. Any other reply, a refused or broken
 * connection or a timeout is retried after webhook_backoff_ms, doubled
 * each time up to WEBHOOK_MAX_BACKOFF_MS, for webhook_max_tries attempts
 * in all; then the event is dropped and logged. Events go out one at a
 * time in order. All calls are made on the loop thread. */
#ifndef KADR_ENGINE_WEBHOOK_H
#define KADR_ENGINE_WEBHOOK_H

#include <stddef.h>

#include <uv.h>

#include <kadr/error.h>

#include "config.h"
#include "metrics.h"

#define WEBHOOK_MAX_BACKOFF_MS 60000
#define WEBHOOK_MAX_URL 1024
#define WEBHOOK_MAX_REPLY_BYTES 65536 /* a longer reply fails the attempt */

typedef struct webhook webhook_t;

/* Parts of an http:// URL. */
typedef struct webhook_url {
    char host[256];
    char port[6];
    char path[WEBHOOK_MAX_URL];
} webhook_url_t;

/* Splits "http://HOST[:PORT][/PATH]" (an IPv6 host in brackets). Returns
 * 0 or KADR_E_CONFIG for anything else, https:// included. */
KADR_MUST_CHECK int webhook_parse_url(const char *url, webhook_url_t *out);

KADR_MUST_CHECK int webhook_create(uv_loop_t *loop, metrics_t *metrics,
                                   webhook_t **out);

/* Applies webhook_url and the webhook_* limits from cfg; an empty URL
 * turns the webhook off and drops queued events. Returns KADR_E_CONFIG
 * with a message in err for a bad URL. */
KADR_MUST_CHECK int webhook_configure(webhook_t *webhook, const config_t *cfg,
                                      char *err, size_t err_size);

/* Queues one event; error may be NULL or "". Does nothing when webhook is
 * NULL or has no URL. */
void webhook_notify(webhook_t *webhook, const char *media_id,
                    const char *status, const char *kind, const char *error);

/* Queues again the events that the last stop saved in the data folder,
 * and removes their file. Logs what it queued and skipped. */
void webhook_restore(webhook_t *webhook);

/* Saves queued events in the data folder for the next start (dropping
 * them if that fails), aborts the attempt in flight and frees webhook
 * once its handles have closed. */
void webhook_stop(webhook_t *webhook);

#endif
