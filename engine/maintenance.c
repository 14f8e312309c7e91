#include "maintenance.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "log.h"

/* Scrub steps per second at most: each step reads about a tenth of
 * scrub_bytes_per_s, so pauses stay short and stop stays prompt. */
#define SCRUB_STEPS_PER_S 10

/* Seconds between closes of retired volumes: a quarter of their 60 s
 * grace, so a compacted volume's disk space returns within 75 s even
 * when no compaction follows. */
#define MAINTENANCE_CLOSE_INTERVAL_S 15

#define NS_PER_S UINT64_C(1000000000)

struct maintenance {
    app_t *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    double dead_ratio; /* from compact_dead_percent; 0 disables */
    atomic_uint_fast64_t verify_errors;
    atomic_uint_fast64_t scrub_bytes;
    atomic_uint_fast64_t scrub_passes;
    atomic_uint_fast64_t compactions;
    atomic_uint_fast64_t compacted_bytes;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Sleeps until deadline (CLOCK_MONOTONIC) or stop, and returns whether
 * the thread is stopping. */
static bool wait_until(struct maintenance *m, uint64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / NS_PER_S),
                          (long)(deadline % NS_PER_S)};
    bool stopping;

    pthread_mutex_lock(&m->lock);
    while (!m->stopping && now_ns() < deadline)
        if (pthread_cond_timedwait(&m->wake, &m->lock, &ts) == ETIMEDOUT)
            break;
    stopping = m->stopping;
    pthread_mutex_unlock(&m->lock);
    return stopping;
}

static void on_compacted(void *ctx, const store_compact_result_t *r)
{
    struct maintenance *m = ctx;

    metrics_add(m->compactions, 1);
    metrics_add(m->compacted_bytes, r->bytes_copied);
    log_info("compaction.done",
             "volume=%u bytes_before=%llu bytes_copied=%llu moved=%llu "
             "dropped=%llu",
             r->volume_id, (unsigned long long)r->bytes_before,
             (unsigned long long)r->bytes_copied,
             (unsigned long long)r->blobs_moved,
             (unsigned long long)r->blobs_dropped);
}

static void run_compaction(struct maintenance *m)
{
    int rc = store_compact(m->app->store, m->dead_ratio, on_compacted, m);

    if (rc < 0)
        log_error("compaction.failed", "error=\"%s\"", kadr_strerror(rc));
}

static int on_bad_needle(void *ctx, const kadr_hash_t *hash,
                         const store_blob_t *blob, int code)
{
    struct maintenance *m = ctx;
    char hex[KADR_HASH_HEX_LEN + 1];

    kadr_hash_to_hex(hash, hex);
    metrics_add(m->verify_errors, 1);
    log_error("scrub.bad_needle",
              "blob=%s volume=%u offset=%llu length=%llu refcount=%u "
              "error=\"%s\"",
              hex, blob->volume_id, (unsigned long long)blob->offset,
              (unsigned long long)blob->length, blob->refcount,
              kadr_strerror(code));
    return 0;
}

/* Runs one scrub step and returns the pause that keeps the read rate at
 * scrub_bytes_per_s, in ns. */
static uint64_t scrub_step(struct maintenance *m, store_verify_cursor_t *cursor)
{
    uint64_t rate = m->app->cfg->scrub_bytes_per_s;
    uint64_t before = cursor->bytes;
    uint64_t budget = rate / SCRUB_STEPS_PER_S;
    int rc = store_verify_step(m->app->store, cursor, budget > 0 ? budget : 1,
                               on_bad_needle, m);

    if (rc != 0) {
        log_error("scrub.failed", "blobs=%llu error=\"%s\"",
                  (unsigned long long)cursor->blobs, kadr_strerror(rc));
        cursor->done = true;
        return 0;
    }
    metrics_add(m->scrub_bytes, cursor->bytes - before);
    if (rate == 0)
        return 0;
    return (cursor->bytes - before) * NS_PER_S / rate;
}

static void finish_pass(struct maintenance *m,
                        const store_verify_cursor_t *cursor)
{
    metrics_add(m->scrub_passes, 1);
    log_info("scrub.done", "blobs=%llu bytes=%llu errors=%llu",
             (unsigned long long)cursor->blobs,
             (unsigned long long)cursor->bytes,
             (unsigned long long)cursor->errors);
}

struct schedule {
    uint64_t next_close;   /* next close of retired volumes */
    uint64_t next_compact; /* 0: compaction disabled */
    uint64_t next_scrub;   /* 0: scrub disabled */
    bool scrubbing;
    store_verify_cursor_t cursor;
};

static uint64_t seconds_ns(uint64_t s)
{
    return s * NS_PER_S;
}

static uint64_t next_deadline(const struct schedule *s, uint64_t pause_end)
{
    uint64_t next = s->next_close;

    if (s->next_compact != 0 && s->next_compact < next)
        next = s->next_compact;
    if (s->scrubbing && pause_end < next)
        next = pause_end;
    if (!s->scrubbing && s->next_scrub != 0 && s->next_scrub < next)
        next = s->next_scrub;
    return next;
}

/* One turn of the loop: compaction when due, else one scrub step. Returns
 * when the next turn may start. */
static uint64_t run_turn(struct maintenance *m, struct schedule *s)
{
    const config_t *cfg = m->app->cfg;
    uint64_t now = now_ns();
    uint64_t pause = 0;

    if (now >= s->next_close) {
        store_close_retired(m->app->store);
        s->next_close = now + seconds_ns(MAINTENANCE_CLOSE_INTERVAL_S);
    }
    if (s->next_compact != 0 && now >= s->next_compact) {
        run_compaction(m);
        s->next_compact = now_ns() + seconds_ns(cfg->compact_interval_s);
    }
    if (!s->scrubbing && s->next_scrub != 0 && now >= s->next_scrub) {
        s->scrubbing = true;
        memset(&s->cursor, 0, sizeof(s->cursor));
        s->next_scrub = now + seconds_ns(cfg->scrub_interval_s);
    }
    if (s->scrubbing) {
        pause = scrub_step(m, &s->cursor);
        if (s->cursor.done) {
            finish_pass(m, &s->cursor);
            s->scrubbing = false;
        }
    }
    return next_deadline(s, now_ns() + pause);
}

static void *maintenance_main(void *arg)
{
    struct maintenance *m = arg;
    const config_t *cfg = m->app->cfg;
    struct schedule s = {0};
    uint64_t start = now_ns();

    s.next_close = start + seconds_ns(MAINTENANCE_CLOSE_INTERVAL_S);
    if (m->dead_ratio > 0 && cfg->compact_interval_s > 0)
        s.next_compact = start + seconds_ns(cfg->compact_interval_s);
    if (cfg->scrub_interval_s > 0)
        s.next_scrub = start + seconds_ns(cfg->scrub_interval_s);
    while (!wait_until(m, run_turn(m, &s)))
        ;
    return NULL;
}

static struct maintenance *maintenance_new(app_t *app)
{
    struct maintenance *m = calloc(1, sizeof(*m));
    pthread_condattr_t attr;

    if (m == NULL)
        return NULL;
    m->app = app;
    m->dead_ratio = (double)app->cfg->compact_dead_percent / 100.0;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &attr);
    pthread_condattr_destroy(&attr);
    return m;
}

static void maintenance_free(struct maintenance *m)
{
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void maintenance_start(app_t *app)
{
    struct maintenance *m = maintenance_new(app);
    int rc;

    if (m == NULL) {
        log_error("maintenance.start_failed", "error=\"%s\"", strerror(ENOMEM));
        return;
    }
    rc = pthread_create(&m->thread, NULL, maintenance_main, m);
    if (rc != 0) {
        log_error("maintenance.start_failed", "error=\"%s\"", strerror(rc));
        maintenance_free(m);
        return;
    }
    app->maintenance = m;
    log_info("maintenance.started",
             "compact_dead_percent=%llu compact_interval_s=%llu "
             "scrub_interval_s=%llu scrub_bytes_per_s=%llu",
             (unsigned long long)app->cfg->compact_dead_percent,
             (unsigned long long)app->cfg->compact_interval_s,
             (unsigned long long)app->cfg->scrub_interval_s,
             (unsigned long long)app->cfg->scrub_bytes_per_s);
}

void maintenance_stop(app_t *app)
{
    struct maintenance *m = app->maintenance;

    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    app->maintenance = NULL;
    maintenance_free(m);
}

static uint64_t load(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void write_counter(FILE *f, const char *name, const char *help,
                          uint64_t value)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
            name, (unsigned long long)value);
}

void maintenance_write_metrics(FILE *f, app_t *app)
{
    struct maintenance *m = app->maintenance;
    struct maintenance none = {0};

    if (m == NULL)
        m = &none;
    write_counter(f, "kadr_verify_errors_total",
                  "Bad needles found by the background scrub.",
                  load(&m->verify_errors));
    write_counter(f, "kadr_scrub_read_bytes_total",
                  "Payload bytes read by the background scrub.",
                  load(&m->scrub_bytes));
    write_counter(f, "kadr_scrub_passes_total",
                  "Background scrub passes finished.", load(&m->scrub_passes));
    write_counter(f, "kadr_compactions_total",
                  "Volumes compacted in the background.",
                  load(&m->compactions));
    write_counter(f, "kadr_compaction_copied_bytes_total",
                  "Needle bytes copied by background compaction.",
                  load(&m->compacted_bytes));
}
