#include "kadr_bench_run.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kadr_bench_plan.h"

struct run {
    const bench_config_t *cfg;
    bench_plan_t *plan;
    bench_stats_t *stats;
    uv_loop_t *loop;
    uv_timer_t deadline;
    uv_timer_t progress;
    uint64_t issued;
    uint64_t start_ns;
    bool stop;
};

static bool next_request(void *ctx, bench_request_t *out)
{
    struct run *run = ctx;
    const bench_target_t *t;
    double share = run->cfg->range_share;
    bool ranged;

    if (run->stop ||
        (run->cfg->requests > 0 && run->issued >= run->cfg->requests))
        return false;
    t = &run->plan->targets[run->issued % run->plan->count];
    /* Spread ranged requests evenly: request i is ranged when the running
     * share crosses a whole number. */
    ranged =
        t->ranged_head != NULL && floor((double)(run->issued + 1) * share) >
                                      floor((double)run->issued * share);
    out->head = ranged ? t->ranged_head : t->head;
    out->head_len = strlen(out->head);
    out->body = t->body;
    out->body_len = t->body_len;
    run->issued++;
    return true;
}

static double elapsed_s(const struct run *run)
{
    return (double)(uv_hrtime() - run->start_ns) / 1e9;
}

static void on_progress(uv_timer_t *timer)
{
    struct run *run = timer->data;
    double seconds = elapsed_s(run);

    fprintf(stderr,
            "%skadr-bench: %3.0f s, %llu requests, %.1f/s, "
            "%llu errors%s",
            run->cfg->progress_lines ? "" : "\r", seconds,
            (unsigned long long)run->stats->count,
            (double)run->stats->count / seconds,
            (unsigned long long)bench_stats_errors(run->stats),
            run->cfg->progress_lines ? "\n" : "");
    fflush(stderr);
}

static void on_deadline(uv_timer_t *timer)
{
    struct run *run = timer->data;

    run->stop = true;
}

static void start_timers(struct run *run)
{
    uv_timer_init(run->loop, &run->deadline);
    uv_timer_init(run->loop, &run->progress);
    run->deadline.data = run;
    run->progress.data = run;
    /* Neither timer keeps the loop alive: the run ends with its last
     * response. */
    uv_unref((uv_handle_t *)&run->deadline);
    uv_unref((uv_handle_t *)&run->progress);
    if (run->cfg->duration_s > 0)
        uv_timer_start(&run->deadline, on_deadline, run->cfg->duration_s * 1000,
                       0);
    if (!run->cfg->quiet)
        uv_timer_start(&run->progress, on_progress, 1000, 1000);
}

static void close_timers(struct run *run)
{
    uv_close((uv_handle_t *)&run->deadline, NULL);
    uv_close((uv_handle_t *)&run->progress, NULL);
    uv_run(run->loop, UV_RUN_DEFAULT);
}

static const char *mode_name(enum bench_mode mode)
{
    return mode == BENCH_UPLOAD ? "upload"
           : mode == BENCH_READ ? "read"
                                : "urls";
}

static int measure(const bench_config_t *cfg, bench_plan_t *plan,
                   uv_loop_t *loop)
{
    bench_stats_t *stats = calloc(1, sizeof(*stats));
    struct run run = {.cfg = cfg, .plan = plan, .stats = stats, .loop = loop};
    bench_client_options_t opts = {
        .loop = loop,
        .addr = plan->addr,
        .connections = cfg->connections,
        .timeout_ms = cfg->timeout_ms,
        .next = next_request,
        .ctx = &run,
        .stats = stats,
    };
    char title[512];
    int rc;

    if (stats == NULL)
        return -ENOMEM;
    start_timers(&run);
    run.start_ns = uv_hrtime();
    rc = bench_client_run(&opts);
    if (!cfg->quiet && !cfg->progress_lines)
        fputc('\n', stderr);
    close_timers(&run);
    snprintf(title, sizeof(title),
             "kadr-bench %s %s, %u connections, %zu "
             "targets, range share %.2f",
             mode_name(cfg->mode), plan->base, cfg->connections, plan->count,
             cfg->mode == BENCH_UPLOAD ? 0.0 : cfg->range_share);
    if (rc == 0)
        bench_stats_print(stats, title, elapsed_s(&run), stdout);
    if (rc == 0 && stats->count == 0) {
        fprintf(stderr, "kadr-bench: no request got a response\n");
        rc = -1;
    }
    free(stats);
    return rc;
}

int bench_run(const bench_config_t *cfg)
{
    bench_plan_t plan;
    uv_loop_t loop;
    int rc;

    memset(&plan, 0, sizeof(plan));
    if (uv_loop_init(&loop) != 0)
        return -1;
    rc = bench_plan_build(cfg, &loop, &plan);
    if (rc == 0 && plan.count == 0) {
        fprintf(stderr, "kadr-bench: nothing to request\n");
        rc = -1;
    }
    if (rc == 0)
        rc = measure(cfg, &plan, &loop);
    bench_plan_free(&plan);
    uv_loop_close(&loop);
    return rc == 0 ? 0 : -1;
}
