/* kadr-bench: an HTTP/1.1 load generator on libuv for kadrd (uploads and
 * variant reads) and for any HTTP server (a list of URLs). */
#ifndef KADR_BENCH_H
#define KADR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#define BENCH_MAX_STATUS 600
/* Latency histogram: 128 sub-buckets per power of two of microseconds,
 * so a percentile is off by at most 1/128 (0.8 %). */
#define BENCH_SUB_BITS 7
#define BENCH_SUB_COUNT (1u << BENCH_SUB_BITS)
#define BENCH_MAX_EXPONENT 40 /* up to 2^40 us, about 12 days */
#define BENCH_BUCKETS ((BENCH_MAX_EXPONENT + 1) * BENCH_SUB_COUNT)

/* Counts and latencies of finished requests. */
typedef struct bench_stats {
    uint64_t buckets[BENCH_BUCKETS];
    uint64_t count;
    uint64_t max_us;
    uint64_t status[BENCH_MAX_STATUS];
    uint64_t connect_errors;
    uint64_t io_errors;
    uint64_t timeouts;
    uint64_t body_bytes;    /* response bodies */
    uint64_t request_bytes; /* request bodies of requests with a response */
    uint64_t total_us;      /* sum of latencies, for the mean */
} bench_stats_t;

/* Adds one response with its status and latency. */
void bench_stats_add(bench_stats_t *stats, int status, uint64_t latency_us,
                     uint64_t body_bytes);

/* Returns the latency in microseconds at quantile q (0..1): the upper
 * bound of the bucket that contains it, or max_us for q = 1. */
uint64_t bench_stats_quantile(const bench_stats_t *stats, double q);

/* Returns requests that failed: socket errors, timeouts and status codes
 * outside 200-399. */
uint64_t bench_stats_errors(const bench_stats_t *stats);

/* One request to send: the head (with a trailing blank line) and an
 * optional body, both borrowed until the response is complete. */
typedef struct bench_request {
    const char *head;
    size_t head_len;
    const char *body;
    size_t body_len;
} bench_request_t;

/* The next request for a connection; returns false when the run is over. */
typedef bool (*bench_next_fn)(void *ctx, bench_request_t *out);

/* Called with each complete response's status and body (the body only
 * when keep_body was set). */
typedef void (*bench_response_fn)(void *ctx, int status, const char *body,
                                  size_t body_len);

typedef struct bench_client_options {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    uint32_t connections;
    uint32_t timeout_ms; /* per request */
    bool keep_body;      /* collect bodies for on_response (setup phase) */
    bench_next_fn next;
    bench_response_fn on_response; /* may be NULL */
    void *ctx;
    bench_stats_t *stats;
} bench_client_options_t;

/* Runs connections until next returns false for each of them and their
 * last responses are in, then returns. Returns 0, or a libuv error if no
 * connection could start. */
int bench_client_run(const bench_client_options_t *opts);

/* Prints the summary: throughput, latency percentiles and max, errors by
 * status and by kind. */
void bench_stats_print(const bench_stats_t *stats, const char *title,
                       double seconds, FILE *out);

#endif
