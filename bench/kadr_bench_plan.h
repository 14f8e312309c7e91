/* The request plan: the server's address and the requests to cycle
 * through, built from the mode's inputs. */
#ifndef KADR_BENCH_PLAN_H
#define KADR_BENCH_PLAN_H

#include "kadr_bench_run.h"

typedef struct bench_target {
    char *head;        /* request head, ending with the blank line */
    char *ranged_head; /* the same with a Range header, or NULL */
    const char *body;  /* borrowed from the plan's files, or NULL */
    size_t body_len;
} bench_target_t;

typedef struct bench_file {
    char *name;
    char *data;
    size_t len;
} bench_file_t;

typedef struct bench_plan {
    struct sockaddr_storage addr;
    char base[320]; /* "http://HOST:PORT", for the summary */
    char host[300]; /* Host header value */
    bench_target_t *targets;
    size_t count;
    size_t cap;
    bench_file_t *files;
    size_t file_count;
    char *auth_header; /* "Authorization: Bearer ...\r\n" or "" */
    char api_key[512];
} bench_plan_t;

/* Fills plan for cfg's mode; read mode uploads the files first on loop.
 * Returns 0, or -1 after printing the reason. */
int bench_plan_build(const bench_config_t *cfg, uv_loop_t *loop,
                     bench_plan_t *plan);

void bench_plan_free(bench_plan_t *plan);

/* Steps shared by the modes; each returns 0 or a negative code, and
 * prints why when the input is at fault. */
int bench_plan_read_api_key(const bench_config_t *cfg, bench_plan_t *plan);
int bench_plan_load_files(const char *dir, bench_plan_t *plan);
int bench_plan_add_uploads(bench_plan_t *plan, const char *query);

/* Adds a GET of path with extra header lines, and the same with a Range
 * of cfg->range_bytes. */
int bench_plan_add_read(bench_plan_t *plan, const bench_config_t *cfg,
                        const char *path, const char *extra_headers);

/* Read mode: uploads the files of cfg->dir once on loop (with ?wait=1),
 * then plans GETs of every variant they got. */
int bench_plan_build_reads(const bench_config_t *cfg, uv_loop_t *loop,
                           bench_plan_t *plan);

#endif
