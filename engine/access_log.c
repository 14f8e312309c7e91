#include "access_log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

#define CLOCKS_MIN_CAPACITY 256 /* a power of two */

/* Start times of requests in progress, keyed by request pointer, in an
 * open-addressed table with linear probing. A connection has one request
 * at a time, so the table holds at most max_connections entries. */
struct request_clock {
    const http_request_t *req; /* NULL: empty slot */
    uint64_t start_ns;
};

struct access_log {
    struct request_clock *slots;
    size_t capacity;
    size_t count;
};

static size_t slot_of(const access_log_t *log, const http_request_t *req)
{
    uintptr_t h = (uintptr_t)req;

    h ^= h >> 17;
    h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 7) & (log->capacity - 1);
}

static void put_clock(access_log_t *log, const http_request_t *req,
                      uint64_t start_ns)
{
    size_t i = slot_of(log, req);

    while (log->slots[i].req != NULL && log->slots[i].req != req)
        i = (i + 1) & (log->capacity - 1);
    if (log->slots[i].req == NULL)
        log->count++;
    log->slots[i].req = req;
    log->slots[i].start_ns = start_ns;
}

static int grow(access_log_t *log)
{
    struct request_clock *old = log->slots;
    size_t old_capacity = log->capacity;
    size_t capacity = old_capacity * 2;
    struct request_clock *slots = calloc(capacity, sizeof(*slots));

    if (slots == NULL)
        return -ENOMEM;
    log->slots = slots;
    log->capacity = capacity;
    log->count = 0;
    for (size_t i = 0; i < old_capacity; i++) {
        if (old[i].req != NULL)
            put_clock(log, old[i].req, old[i].start_ns);
    }
    free(old);
    return 0;
}

/* Removes req's clock and returns its start, or 0 if it had none.
 * Entries after the hole move back so that probing stays correct. */
static uint64_t take_clock(access_log_t *log, const http_request_t *req)
{
    size_t mask = log->capacity - 1;
    size_t i = slot_of(log, req);
    uint64_t start_ns;

    while (log->slots[i].req != req) {
        if (log->slots[i].req == NULL)
            return 0;
        i = (i + 1) & mask;
    }
    start_ns = log->slots[i].start_ns;
    log->slots[i].req = NULL;
    log->count--;
    for (size_t j = (i + 1) & mask; log->slots[j].req != NULL;
         j = (j + 1) & mask) {
        struct request_clock moved = log->slots[j];

        log->slots[j].req = NULL;
        log->count--;
        put_clock(log, moved.req, moved.start_ns);
    }
    return start_ns;
}

int access_log_create(access_log_t **out)
{
    access_log_t *log = calloc(1, sizeof(*log));

    if (log == NULL)
        return -ENOMEM;
    log->capacity = CLOCKS_MIN_CAPACITY;
    log->slots = calloc(log->capacity, sizeof(*log->slots));
    if (log->slots == NULL) {
        free(log);
        return -ENOMEM;
    }
    *out = log;
    return 0;
}

void access_log_free(access_log_t *log)
{
    if (log == NULL)
        return;
    free(log->slots);
    free(log);
}

void access_log_begin(app_t *app, http_request_t *req)
{
    access_log_t *log = app->access_log;

    if (log == NULL)
        return;
    /* Keep the load under one half; without room the request is simply
     * not timed. */
    if ((log->count + 1) * 2 > log->capacity && grow(log) != 0)
        return;
    put_clock(log, req, uv_hrtime());
}

void access_log_abort(app_t *app, http_request_t *req)
{
    if (app->access_log != NULL)
        take_clock(app->access_log, req);
}

static const char *method_name(enum http_method method)
{
    static const char *const names[] = {"OTHER", "GET",   "HEAD",   "POST",
                                        "PUT",   "PATCH", "DELETE", "OPTIONS"};

    if ((unsigned)method < sizeof(names) / sizeof(names[0]))
        return names[method];
    return "OTHER";
}

static void count_response(app_t *app, const http_request_t *req, int status,
                           double seconds)
{
    enum metrics_route route = metrics_route_of(req->path);

    if (status >= 0 && status < METRICS_STATUS_SLOTS)
        metrics_add(app->metrics.requests[route][status], 1);
    if (seconds >= 0)
        metrics_observe(&app->metrics.latency[route], metrics_latency_bounds,
                        metrics_latency_bound_count, seconds);
}

void access_log_finish(app_t *app, http_request_t *req, int result)
{
    uint64_t start_ns =
        app->access_log != NULL ? take_clock(app->access_log, req) : 0;
    double seconds =
        start_ns != 0 ? (double)(uv_hrtime() - start_ns) / 1e9 : -1;
    int status = http_request_response_status(req);
    char path[256];

    count_response(app, req, status, seconds);
    if (!app->cfg->access_log)
        return;
    log_escape(req->path, path, sizeof(path));
    log_write(LOG_LEVEL_INFO, "http.access",
              "req=%llu client=%s method=%s path=%s status=%d bytes=%llu "
              "ms=%.3f%s%s",
              (unsigned long long)req->id, req->client,
              method_name(req->method), path, status,
              (unsigned long long)http_request_response_bytes(req),
              seconds >= 0 ? seconds * 1e3 : 0.0, result != 0 ? " error=" : "",
              result != 0 ? kadr_strerror(result) : "");
}
