/* Tests for the bounded frame and packet queue between a transcode's
 * decoding and encoding threads. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "video_queue.h"

/* Frames a producer thread pushes in the threaded tests. */
#define PRODUCED_FRAMES 200

/* Maximum wait for the producer thread to fill the queue, in
 * milliseconds: far above what it needs on a loaded machine. */
#define FILL_WAIT_MS 10000

/* Waits until the queue contains VIDEO_QUEUE_MAX_FRAMES frames, so that
 * the producer's next frame blocks. Fails the test after FILL_WAIT_MS. */
static void wait_until_full(video_queue_t *queue)
{
    struct timespec pause = {0, 1000 * 1000};
    bool full = false;

    for (int waited = 0; !full && waited < FILL_WAIT_MS; waited++) {
        pthread_mutex_lock(&queue->lock);
        full = queue->frames == VIDEO_QUEUE_MAX_FRAMES;
        pthread_mutex_unlock(&queue->lock);
        if (!full)
            nanosleep(&pause, NULL);
    }
    assert_true(full);
}

/* Fills frame with a 16x16 gray picture whose pts is pts. */
static void make_frame(AVFrame *frame, int64_t pts)
{
    frame->format = AV_PIX_FMT_GRAY8;
    frame->width = 16;
    frame->height = 16;
    assert_int_equal(av_frame_get_buffer(frame, 0), 0);
    memset(frame->data[0], (int)(pts & 0xff), 16);
    frame->pts = pts;
}

static void make_packet(AVPacket *packet, int64_t pts)
{
    assert_int_equal(av_new_packet(packet, 32), 0);
    packet->pts = pts;
}

static void push_frame_ok(video_queue_t *queue, int64_t pts)
{
    AVFrame *frame = av_frame_alloc();

    assert_non_null(frame);
    make_frame(frame, pts);
    assert_int_equal(video__queue_push_frame(queue, frame), 0);
    /* The picture moved: the caller's frame is empty. */
    assert_null(frame->buf[0]);
    av_frame_free(&frame);
}

static void push_packet_ok(video_queue_t *queue, int64_t pts)
{
    AVPacket *packet = av_packet_alloc();

    assert_non_null(packet);
    make_packet(packet, pts);
    assert_int_equal(video__queue_push_packet(queue, packet), 0);
    assert_null(packet->buf);
    av_packet_free(&packet);
}

typedef struct popped {
    AVFrame *frame;
    AVPacket *packet;
} popped_t;

static void popped_init(popped_t *p)
{
    p->frame = av_frame_alloc();
    p->packet = av_packet_alloc();
    assert_non_null(p->frame);
    assert_non_null(p->packet);
}

static void popped_free(popped_t *p)
{
    av_frame_free(&p->frame);
    av_packet_free(&p->packet);
}

/* Pops one item, checks its kind and pts, and releases it. */
static void expect_item(video_queue_t *queue, popped_t *p, int kind,
                        int64_t pts)
{
    int rc = video__queue_pop(queue, p->frame, p->packet);

    assert_int_equal(rc, kind);
    if (kind == VIDEO_QUEUE_FRAME) {
        assert_int_equal(p->frame->pts, pts);
        assert_int_equal(p->frame->width, 16);
        assert_int_equal(p->frame->data[0][0], (int)(pts & 0xff));
        av_frame_unref(p->frame);
    } else if (kind == VIDEO_QUEUE_PACKET) {
        assert_int_equal(p->packet->pts, pts);
        assert_int_equal(p->packet->size, 32);
        av_packet_unref(p->packet);
    }
}

static void queue_keeps_order(void **state)
{
    video_queue_t queue;
    popped_t p;

    (void)state;
    assert_int_equal(video__queue_init(&queue), 0);
    popped_init(&p);
    push_frame_ok(&queue, 1);
    push_packet_ok(&queue, 2);
    push_packet_ok(&queue, 3);
    push_frame_ok(&queue, 4);
    video__queue_close(&queue, 0);

    expect_item(&queue, &p, VIDEO_QUEUE_FRAME, 1);
    expect_item(&queue, &p, VIDEO_QUEUE_PACKET, 2);
    expect_item(&queue, &p, VIDEO_QUEUE_PACKET, 3);
    expect_item(&queue, &p, VIDEO_QUEUE_FRAME, 4);
    expect_item(&queue, &p, VIDEO_QUEUE_END, 0);
    /* The end stays the end. */
    expect_item(&queue, &p, VIDEO_QUEUE_END, 0);
    popped_free(&p);
    video__queue_free(&queue);
}

static void queue_error_drops_items(void **state)
{
    video_queue_t queue;
    popped_t p;

    (void)state;
    assert_int_equal(video__queue_init(&queue), 0);
    popped_init(&p);
    push_frame_ok(&queue, 1);
    push_packet_ok(&queue, 2);
    video__queue_close(&queue, KADR_E_CORRUPT);
    /* A second close does not replace the first result. */
    video__queue_close(&queue, 0);

    assert_int_equal(video__queue_pop(&queue, p.frame, p.packet),
                     KADR_E_CORRUPT);
    assert_null(p.frame->buf[0]);
    assert_null(p.packet->buf);
    popped_free(&p);
    /* The queued frame and packet are released here; LeakSanitizer
     * reports them otherwise. */
    video__queue_free(&queue);
}

static void queue_push_after_stop(void **state)
{
    video_queue_t queue;
    AVFrame *frame = av_frame_alloc();
    AVPacket *packet = av_packet_alloc();

    (void)state;
    assert_non_null(frame);
    assert_non_null(packet);
    assert_int_equal(video__queue_init(&queue), 0);
    video__queue_stop(&queue);

    make_frame(frame, 7);
    make_packet(packet, 8);
    assert_int_equal(video__queue_push_frame(&queue, frame), KADR_E_CANCELLED);
    assert_int_equal(video__queue_push_packet(&queue, packet),
                     KADR_E_CANCELLED);
    /* A rejected push leaves the item with the caller. */
    assert_non_null(frame->buf[0]);
    assert_int_equal(frame->pts, 7);
    assert_non_null(packet->buf);
    av_frame_free(&frame);
    av_packet_free(&packet);
    video__queue_free(&queue);
}

static void queue_free_zeroed(void **state)
{
    video_queue_t queue;

    (void)state;
    memset(&queue, 0, sizeof(queue));
    video__queue_free(&queue);
    assert_false(queue.ready);
}

/* A producer thread that pushes PRODUCED_FRAMES frames, each followed by
 * two packets, and records how it ended. */
typedef struct producer {
    video_queue_t *queue;
    int pushed_frames;
    int result;
} producer_t;

static int produce_one(video_queue_t *queue, int64_t i)
{
    AVFrame *frame = av_frame_alloc();
    AVPacket *packet = av_packet_alloc();
    int rc;

    assert_non_null(frame);
    assert_non_null(packet);
    make_frame(frame, i * 3);
    rc = video__queue_push_frame(queue, frame);
    for (int k = 1; rc == 0 && k <= 2; k++) {
        make_packet(packet, i * 3 + k);
        rc = video__queue_push_packet(queue, packet);
        av_packet_unref(packet);
    }
    av_frame_free(&frame);
    av_packet_free(&packet);
    return rc;
}

static void *producer_main(void *opaque)
{
    producer_t *producer = opaque;
    int rc = 0;

    for (int i = 0; i < PRODUCED_FRAMES && rc == 0; i++) {
        rc = produce_one(producer->queue, i);
        if (rc == 0)
            producer->pushed_frames++;
    }
    producer->result = rc;
    video__queue_close(producer->queue, rc);
    return NULL;
}

/* Frames and packets cross threads in order; the producer runs ahead by
 * at most VIDEO_QUEUE_MAX_FRAMES frames. */
static void queue_threads_in_order(void **state)
{
    video_queue_t queue;
    producer_t producer = {&queue, 0, 1};
    pthread_t thread;
    popped_t p;

    (void)state;
    assert_int_equal(video__queue_init(&queue), 0);
    popped_init(&p);
    assert_int_equal(pthread_create(&thread, NULL, producer_main, &producer),
                     0);

    /* Nothing was popped yet, so the producer waits on a full queue. */
    wait_until_full(&queue);

    for (int64_t i = 0; i < PRODUCED_FRAMES; i++) {
        expect_item(&queue, &p, VIDEO_QUEUE_FRAME, i * 3);
        expect_item(&queue, &p, VIDEO_QUEUE_PACKET, i * 3 + 1);
        expect_item(&queue, &p, VIDEO_QUEUE_PACKET, i * 3 + 2);
    }
    expect_item(&queue, &p, VIDEO_QUEUE_END, 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(producer.result, 0);
    assert_int_equal(producer.pushed_frames, PRODUCED_FRAMES);
    popped_free(&p);
    video__queue_free(&queue);
}

/* A consumer that stops early wakes a producer blocked on a full queue,
 * which then ends with KADR_E_CANCELLED. */
static void queue_stop_wakes_producer(void **state)
{
    video_queue_t queue;
    producer_t producer = {&queue, 0, 1};
    pthread_t thread;
    popped_t p;

    (void)state;
    assert_int_equal(video__queue_init(&queue), 0);
    popped_init(&p);
    assert_int_equal(pthread_create(&thread, NULL, producer_main, &producer),
                     0);
    expect_item(&queue, &p, VIDEO_QUEUE_FRAME, 0);
    wait_until_full(&queue);

    video__queue_stop(&queue);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(producer.result, KADR_E_CANCELLED);
    assert_in_range(producer.pushed_frames, VIDEO_QUEUE_MAX_FRAMES,
                    VIDEO_QUEUE_MAX_FRAMES + 1);
    popped_free(&p);
    video__queue_free(&queue);
}

/* A producer error reaches a consumer that waits on an empty queue. */
static void queue_error_wakes_consumer(void **state)
{
    video_queue_t queue;
    popped_t p;

    (void)state;
    assert_int_equal(video__queue_init(&queue), 0);
    popped_init(&p);
    push_frame_ok(&queue, 0);
    expect_item(&queue, &p, VIDEO_QUEUE_FRAME, 0);
    video__queue_close(&queue, KADR_E_TIMEOUT);
    assert_int_equal(video__queue_pop(&queue, p.frame, p.packet),
                     KADR_E_TIMEOUT);
    popped_free(&p);
    video__queue_free(&queue);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_keeps_order),
        cmocka_unit_test(queue_error_drops_items),
        cmocka_unit_test(queue_push_after_stop),
        cmocka_unit_test(queue_free_zeroed),
        cmocka_unit_test(queue_threads_in_order),
        cmocka_unit_test(queue_stop_wakes_producer),
        cmocka_unit_test(queue_error_wakes_consumer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
