#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct lane_queue {
    pool_work_t *head;
    pool_work_t *tail;
    uint64_t length;
    uint64_t running;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct lane_queue lanes[2];
    uint32_t video_max;
    bool stopping;
    /* Finished work waiting for its done callback on the loop thread. */
    pool_work_t *finished;
    uv_async_t async;
    uint32_t thread_count;
    pthread_t threads[];
};

static void queue_push(struct lane_queue *q, pool_work_t *work)
{
    work->next = NULL;
    if (q->tail != NULL)
        q->tail->next = work;
    else
        q->head = work;
    q->tail = work;
    q->length++;
}

static pool_work_t *queue_pop(struct lane_queue *q)
{
    pool_work_t *work = q->head;

    q->head = work->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->length--;
    q->running++;
    return work;
}

/* Picks the next work under the lock, or NULL if none may run now. */
static pool_work_t *take_work(pool_t *pool)
{
    struct lane_queue *video = &pool->lanes[POOL_LANE_VIDEO];

    if (pool->lanes[POOL_LANE_IMAGE].head != NULL)
        return queue_pop(&pool->lanes[POOL_LANE_IMAGE]);
    if (video->head != NULL && video->running < pool->video_max)
        return queue_pop(video);
    return NULL;
}

static void finish_work(pool_t *pool, pool_work_t *work)
{
    pthread_mutex_lock(&pool->lock);
    pool->lanes[work->lane].running--;
    work->next = pool->finished;
    pool->finished = work;
    /* A video slot may have opened for a waiting thread. */
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    uv_async_send(&pool->async);
}

static void *worker_main(void *arg)
{
    pool_t *pool = arg;

    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        pool_work_t *work = take_work(pool);

        if (work == NULL) {
            pthread_cond_wait(&pool->wake, &pool->lock);
            continue;
        }
        pthread_mutex_unlock(&pool->lock);
        work->cancelled = false;
        work->run(work);
        finish_work(pool, work);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void on_async(uv_async_t *async)
{
    pool_t *pool = async->data;
    pool_work_t *list;

    pthread_mutex_lock(&pool->lock);
    list = pool->finished;
    pool->finished = NULL;
    pthread_mutex_unlock(&pool->lock);
    while (list != NULL) {
        pool_work_t *next = list->next;

        if (list->done != NULL)
            list->done(list);
        list = next;
    }
}

static int start_threads(pool_t *pool)
{
    for (uint32_t i = 0; i < pool->thread_count; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);

        if (rc != 0) {
            pool->thread_count = i;
            return -rc;
        }
    }
    return 0;
}

int pool_start(uv_loop_t *loop, uint32_t workers, uint32_t video_max,
               pool_t **out)
{
    pool_t *pool;
    int rc;

    if (workers == 0)
        return KADR_E_CONFIG;
    pool = calloc(1, sizeof(*pool) + workers * sizeof(pthread_t));
    if (pool == NULL)
        return -ENOMEM;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->video_max = video_max > 0 ? video_max : 1;
    pool->thread_count = workers;
    rc = uv_async_init(loop, &pool->async, on_async);
    if (rc != 0) {
        free(pool);
        return rc;
    }
    pool->async.data = pool;
    rc = start_threads(pool);
    if (rc != 0) {
        pool_stop(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

void pool_submit(pool_t *pool, pool_work_t *work)
{
    pthread_mutex_lock(&pool->lock);
    queue_push(&pool->lanes[work->lane], work);
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

pool_counts_t pool_get_counts(pool_t *pool)
{
    pool_counts_t counts;

    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < 2; i++) {
        counts.queued[i] = pool->lanes[i].length;
        counts.running[i] = pool->lanes[i].running;
    }
    pthread_mutex_unlock(&pool->lock);
    return counts;
}

static void on_async_closed(uv_handle_t *handle)
{
    pool_t *pool = handle->data;

    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}

void pool_stop(pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (uint32_t i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    /* Deliver done callbacks for work that finished while stopping. */
    on_async(&pool->async);
    for (int lane = 0; lane < 2; lane++) {
        while (pool->lanes[lane].head != NULL) {
            pool_work_t *work = queue_pop(&pool->lanes[lane]);

            work->cancelled = true;
            if (work->done != NULL)
                work->done(work);
        }
    }
    uv_close((uv_handle_t *)&pool->async, on_async_closed);
}
