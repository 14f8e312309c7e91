/* The media worker pool: threads of its own, apart from libuv's thread
 * pool, so that file I/O never waits behind a transcode. Image work goes
 * ahead of video work, and at most video_max threads run video work at
 * once, so an image always finds a free thread when workers > video_max. */
#ifndef KADR_ENGINE_POOL_H
#define KADR_ENGINE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <kadr/error.h>

typedef struct pool pool_t;

enum pool_lane {
    POOL_LANE_IMAGE = 0,
    POOL_LANE_VIDEO = 1,
};

/* One unit of work, owned by the submitter. run is called on a worker
 * thread, then done (if set) on the loop thread. */
typedef struct pool_work {
    enum pool_lane lane;
    void (*run)(struct pool_work *work);
    void (*done)(struct pool_work *work);
    bool cancelled; /* set when the pool stopped before run was called */
    struct pool_work *next; /* the pool's queue link */
} pool_work_t;

typedef struct pool_counts {
    uint64_t queued[2];
    uint64_t running[2];
} pool_counts_t;

KADR_MUST_CHECK int pool_start(uv_loop_t *loop, uint32_t workers,
                               uint32_t video_max, pool_t **out);

/* Queues work; FIFO within a lane. */
void pool_submit(pool_t *pool, pool_work_t *work);

/* Returns queue depth and running work by lane. */
pool_counts_t pool_get_counts(pool_t *pool);

/* Lets running work finish, joins the threads, calls done for queued
 * work with cancelled set (run is never called for it) and frees the
 * pool. Call from the loop thread. */
void pool_stop(pool_t *pool);

#endif
