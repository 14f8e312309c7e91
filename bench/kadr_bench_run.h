/* kadr-bench's run: the request plan for each mode and the timed run. */
#ifndef KADR_BENCH_RUN_H
#define KADR_BENCH_RUN_H

#include "kadr_bench.h"

enum bench_mode { BENCH_UPLOAD, BENCH_READ, BENCH_URLS };

typedef struct bench_config {
    enum bench_mode mode;
    const char *url;
    const char *dir;
    const char *urls_file;
    const char *api_key;
    const char *api_key_file;
    const char *token;
    const char *token_key; /* "kid:base64secret" */
    const char *variants;  /* comma-separated names, or NULL for all */
    bool paid;
    bool quiet;
    bool progress_lines; /* one line per second instead of "\r" */
    double range_share;
    uint64_t range_bytes;
    uint64_t requests;   /* 0: no count limit */
    uint64_t duration_s; /* 0: no time limit */
    uint32_t connections;
    uint32_t timeout_ms;
} bench_config_t;

/* Builds the plan, runs it and prints the summary on stdout. Returns 0,
 * or -1 after printing why the run could not start. */
int bench_run(const bench_config_t *cfg);

#endif
