/* The bounded frame and packet queue between a transcode's decoding
 * thread and its encoding thread. */
#include "video_queue.h"

#include <errno.h>
#include <string.h>

int video__queue_init(video_queue_t *queue)
{
    int rc;

    memset(queue, 0, sizeof(*queue));
    for (int i = 0; i < VIDEO_QUEUE_MAX_ITEMS; i++) {
        queue->slots[i].frame = av_frame_alloc();
        queue->slots[i].packet = av_packet_alloc();
        if (!queue->slots[i].frame || !queue->slots[i].packet)
            return -ENOMEM;
    }
    rc = pthread_mutex_init(&queue->lock, NULL);
    if (rc != 0)
        return -rc;
    rc = pthread_cond_init(&queue->changed, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&queue->lock);
        return -rc;
    }
    queue->ready = true;
    return 0;
}

void video__queue_free(video_queue_t *queue)
{
    for (int i = 0; i < VIDEO_QUEUE_MAX_ITEMS; i++) {
        av_frame_free(&queue->slots[i].frame);
        av_packet_free(&queue->slots[i].packet);
    }
    if (queue->ready) {
        pthread_cond_destroy(&queue->changed);
        pthread_mutex_destroy(&queue->lock);
        queue->ready = false;
    }
}

/* Returns whether one more item of this kind fits. Called locked. */
static bool has_room(const video_queue_t *queue, bool is_frame)
{
    if (queue->count >= VIDEO_QUEUE_MAX_ITEMS)
        return false;
    return !is_frame || queue->frames < VIDEO_QUEUE_MAX_FRAMES;
}

/* Waits for room and returns the free slot, or NULL once the consumer
 * stopped or the queue is closed. Called locked. */
static video_queue_slot_t *wait_for_slot(video_queue_t *queue, bool is_frame)
{
    while (!queue->stopped && !queue->closed && !has_room(queue, is_frame))
        pthread_cond_wait(&queue->changed, &queue->lock);
    if (queue->stopped || queue->closed)
        return NULL;
    return &queue->slots[(queue->head + queue->count) % VIDEO_QUEUE_MAX_ITEMS];
}

static void commit_slot(video_queue_t *queue, video_queue_slot_t *slot,
                        bool is_frame)
{
    slot->is_frame = is_frame;
    queue->count++;
    if (is_frame)
        queue->frames++;
    pthread_cond_broadcast(&queue->changed);
}

int video__queue_push_frame(video_queue_t *queue, AVFrame *frame)
{
    video_queue_slot_t *slot;

    pthread_mutex_lock(&queue->lock);
    slot = wait_for_slot(queue, true);
    if (slot) {
        av_frame_move_ref(slot->frame, frame);
        commit_slot(queue, slot, true);
    }
    pthread_mutex_unlock(&queue->lock);
    return slot ? 0 : KADR_E_CANCELLED;
}

int video__queue_push_packet(video_queue_t *queue, AVPacket *packet)
{
    video_queue_slot_t *slot;

    pthread_mutex_lock(&queue->lock);
    slot = wait_for_slot(queue, false);
    if (slot) {
        av_packet_move_ref(slot->packet, packet);
        commit_slot(queue, slot, false);
    }
    pthread_mutex_unlock(&queue->lock);
    return slot ? 0 : KADR_E_CANCELLED;
}

void video__queue_close(video_queue_t *queue, int result)
{
    pthread_mutex_lock(&queue->lock);
    if (!queue->closed) {
        queue->closed = true;
        queue->result = result < 0 ? result : 0;
        pthread_cond_broadcast(&queue->changed);
    }
    pthread_mutex_unlock(&queue->lock);
}

/* Moves the oldest item out. Called locked with count above 0. */
static int take_oldest(video_queue_t *queue, AVFrame *frame, AVPacket *packet)
{
    video_queue_slot_t *slot = &queue->slots[queue->head];
    int kind = slot->is_frame ? VIDEO_QUEUE_FRAME : VIDEO_QUEUE_PACKET;

    if (slot->is_frame) {
        av_frame_move_ref(frame, slot->frame);
        queue->frames--;
    } else {
        av_packet_move_ref(packet, slot->packet);
    }
    queue->head = (queue->head + 1) % VIDEO_QUEUE_MAX_ITEMS;
    queue->count--;
    pthread_cond_broadcast(&queue->changed);
    return kind;
}

int video__queue_pop(video_queue_t *queue, AVFrame *frame, AVPacket *packet)
{
    int rc;

    pthread_mutex_lock(&queue->lock);
    while (queue->count == 0 && !queue->closed)
        pthread_cond_wait(&queue->changed, &queue->lock);
    if (queue->closed && queue->result < 0)
        rc = queue->result;
    else if (queue->count > 0)
        rc = take_oldest(queue, frame, packet);
    else
        rc = VIDEO_QUEUE_END;
    pthread_mutex_unlock(&queue->lock);
    return rc;
}

void video__queue_stop(video_queue_t *queue)
{
    pthread_mutex_lock(&queue->lock);
    queue->stopped = true;
    pthread_cond_broadcast(&queue->changed);
    pthread_mutex_unlock(&queue->lock);
}
