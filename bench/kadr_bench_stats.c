/* Latency histogram and the summary that kadr-bench prints. */
#include "kadr_bench.h"

static unsigned bucket_of(uint64_t us)
{
    unsigned exponent = 0;

    if (us < BENCH_SUB_COUNT)
        return (unsigned)us;
    while ((us >> exponent) >= BENCH_SUB_COUNT * 2)
        exponent++;
    if (exponent >= BENCH_MAX_EXPONENT)
        return BENCH_BUCKETS - 1;
    /* Exponent e covers values [2^(e+7), 2^(e+8)) in steps of 2^e. */
    return (exponent + 1) * BENCH_SUB_COUNT +
           (unsigned)((us >> exponent) - BENCH_SUB_COUNT);
}

static uint64_t bucket_upper(unsigned bucket)
{
    unsigned exponent;
    uint64_t sub;

    if (bucket < BENCH_SUB_COUNT)
        return bucket;
    exponent = bucket / BENCH_SUB_COUNT - 1;
    sub = bucket % BENCH_SUB_COUNT;
    return ((BENCH_SUB_COUNT + sub + 1) << exponent) - 1;
}

void bench_stats_add(bench_stats_t *stats, int status, uint64_t latency_us,
                     uint64_t body_bytes)
{
    stats->buckets[bucket_of(latency_us)]++;
    stats->count++;
    if (latency_us > stats->max_us)
        stats->max_us = latency_us;
    if (status >= 0 && status < BENCH_MAX_STATUS)
        stats->status[status]++;
    stats->body_bytes += body_bytes;
    stats->total_us += latency_us;
}

uint64_t bench_stats_quantile(const bench_stats_t *stats, double q)
{
    uint64_t rank;
    uint64_t seen = 0;

    if (stats->count == 0)
        return 0;
    if (q >= 1)
        return stats->max_us;
    rank = (uint64_t)(q * (double)stats->count);
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; b < BENCH_BUCKETS; b++) {
        seen += stats->buckets[b];
        if (seen >= rank) {
            uint64_t upper = bucket_upper(b);

            return upper < stats->max_us ? upper : stats->max_us;
        }
    }
    return stats->max_us;
}

uint64_t bench_stats_errors(const bench_stats_t *stats)
{
    uint64_t errors =
        stats->connect_errors + stats->io_errors + stats->timeouts;

    for (int code = 0; code < BENCH_MAX_STATUS; code++) {
        if (code < 200 || code >= 400)
            errors += stats->status[code];
    }
    return errors;
}

static void print_ms(FILE *out, const char *label, uint64_t us)
{
    fprintf(out, " %s %.2f ms", label, (double)us / 1000.0);
}

void bench_stats_print(const bench_stats_t *stats, const char *title,
                       double seconds, FILE *out)
{
    double rate = seconds > 0 ? (double)stats->count / seconds : 0;
    double mbps = seconds > 0 ? (double)stats->body_bytes / seconds / 1e6 : 0;
    double sent =
        seconds > 0 ? (double)stats->request_bytes / seconds / 1e6 : 0;
    uint64_t mean_us = stats->count > 0 ? stats->total_us / stats->count : 0;

    fprintf(out, "%s: %llu requests in %.3f s, %llu bytes of request bodies\n",
            title, (unsigned long long)stats->count, seconds,
            (unsigned long long)stats->request_bytes);
    fprintf(out,
            "  throughput  %.1f requests/s, %.2f MB/s of request bodies, "
            "%.2f MB/s of response bodies\n",
            rate, sent, mbps);
    fputs("  latency    ", out);
    print_ms(out, "p50", bench_stats_quantile(stats, 0.50));
    print_ms(out, "p90", bench_stats_quantile(stats, 0.90));
    print_ms(out, "p99", bench_stats_quantile(stats, 0.99));
    print_ms(out, "max", stats->max_us);
    print_ms(out, "mean", mean_us);
    fputs("\n  status     ", out);
    for (int code = 0; code < BENCH_MAX_STATUS; code++) {
        if (stats->status[code] > 0)
            fprintf(out, " %d: %llu", code,
                    (unsigned long long)stats->status[code]);
    }
    fprintf(out,
            "\n  errors      %llu (by status above; connect %llu, "
            "read/write %llu, timeout %llu)\n",
            (unsigned long long)bench_stats_errors(stats),
            (unsigned long long)stats->connect_errors,
            (unsigned long long)stats->io_errors,
            (unsigned long long)stats->timeouts);
}
