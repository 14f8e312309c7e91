/* Counters for /metrics, updated from any thread with relaxed atomics. */
#ifndef KADR_ENGINE_METRICS_H
#define KADR_ENGINE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#define METRICS_STATUS_SLOTS 600 /* status codes 0..599 */

typedef struct metrics {
    atomic_uint_fast64_t responses[METRICS_STATUS_SLOTS];
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t uploads_ok[3];       /* by kadr_kind_t */
    atomic_uint_fast64_t uploads_rejected[3]; /* by kadr_kind_t */
    atomic_uint_fast64_t dedup_hits;
    atomic_uint_fast64_t dedup_bytes_saved;
    atomic_uint_fast64_t derive_hits;
    atomic_uint_fast64_t decodes;
    atomic_uint_fast64_t jobs_done[2];   /* by pool lane */
    atomic_uint_fast64_t jobs_failed[2]; /* by pool lane */
} metrics_t;

#define metrics_add(field, n)                                                \
    atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)

#endif
