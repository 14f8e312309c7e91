/* A bounded queue that carries decoded video frames and undecoded audio
 * packets, in order, from the thread that demuxes and decodes a video to
 * the thread that encodes it. One thread pushes and one pops.
 *
 * The queue contains at most VIDEO_QUEUE_MAX_FRAMES frames and at most
 * VIDEO_QUEUE_MAX_ITEMS items in all, so a burst of audio packets does
 * not stall the producer while its memory stays bounded. Items move in
 * and out with av_frame_move_ref() and av_packet_move_ref(): the queue
 * never copies picture or sound data. */
#ifndef KADR_CODECS_VIDEO_QUEUE_H
#define KADR_CODECS_VIDEO_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include <kadr/error.h>

/* Maximum number of decoded frames in the queue. A 1080p yuv420p frame is about
 * 3 MiB, and a few frames are enough to ride out the uneven pace of a
 * frame-threaded decoder and libx264. */
#define VIDEO_QUEUE_MAX_FRAMES 4

/* Maximum number of items (frames and packets together) in the queue. */
#define VIDEO_QUEUE_MAX_ITEMS 64

/* The kind of item video__queue_pop() returned. */
enum video_queue_item {
    VIDEO_QUEUE_END = 0,    /* the producer closed the queue with 0 */
    VIDEO_QUEUE_FRAME = 1,  /* a frame was moved into the caller's frame */
    VIDEO_QUEUE_PACKET = 2, /* a packet was moved into the caller's packet */
};

typedef struct video_queue_slot {
    AVFrame *frame;   /* holds a picture when is_frame */
    AVPacket *packet; /* holds a packet otherwise */
    bool is_frame;
} video_queue_slot_t;

typedef struct video_queue {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled on every push, pop, close, stop */
    video_queue_slot_t slots[VIDEO_QUEUE_MAX_ITEMS];
    int head;   /* index of the oldest item */
    int count;  /* items queued */
    int frames; /* frames among them */
    bool closed;
    int result;   /* the producer's result, valid once closed */
    bool stopped; /* the consumer gave up: pushes fail from now on */
    bool ready;   /* lock and condition are initialised */
} video_queue_t;

/* Prepares an empty queue. Returns 0, -ENOMEM or another -errno. On
 * failure the queue still goes to video__queue_free(). */
KADR_MUST_CHECK int video__queue_init(video_queue_t *queue);

/* Releases the queue and whatever it still holds. Both threads must be
 * done with it. A zeroed queue is freed safely. */
void video__queue_free(video_queue_t *queue);

/* Moves frame into the queue, waiting while it is full, and leaves frame
 * empty. Returns 0, or KADR_E_CANCELLED once the consumer stopped (frame
 * is then left as it was, for the caller to unref). */
KADR_MUST_CHECK int video__queue_push_frame(video_queue_t *queue,
                                            AVFrame *frame);

/* Moves packet into the queue as video__queue_push_frame() does. */
KADR_MUST_CHECK int video__queue_push_packet(video_queue_t *queue,
                                             AVPacket *packet);

/* Ends the producer's side with result (0 or a negative code). Items
 * already queued are still delivered when result is 0 and dropped when
 * it is an error. Only the first call counts. */
void video__queue_close(video_queue_t *queue, int result);

/* Waits for the next item and moves it into frame or packet, which must
 * be empty. Returns a video_queue_item, or the producer's negative result
 * once it closed the queue with an error. */
KADR_MUST_CHECK int video__queue_pop(video_queue_t *queue, AVFrame *frame,
                                     AVPacket *packet);

/* Ends the consumer's side: a producer waiting for room wakes up and
 * every push from now on returns KADR_E_CANCELLED. */
void video__queue_stop(video_queue_t *queue);

#endif
