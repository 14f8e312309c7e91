/* The decoding side of a transcode, on its own thread: demux, decode the
 * video, drop what lies past a teaser cut, and queue frames and the audio
 * packets the encoding side wants in the order they come. */
#include <errno.h>
#include <string.h>

#include "video_internal.h"

/* Returns whether frame starts at or past the teaser cut. */
static bool past_cut(const video_reader_t *reader, const AVFrame *frame)
{
    const AVStream *st = reader->in->fmt->streams[reader->in->video_index];
    int64_t pts = frame->best_effort_timestamp;

    if (reader->cut_us <= 0 || pts == AV_NOPTS_VALUE)
        return false;
    return av_rescale_q(pts, st->time_base, AV_TIME_BASE_Q) >= reader->cut_us;
}

/* Returns whether packet starts at or past the teaser cut. Packets are
 * read in decode order, so video packets past the cut still go to the
 * decoder, which may hold earlier frames, and past_cut() drops the rest. */
static bool packet_past_cut(const video_reader_t *reader,
                            const AVPacket *packet)
{
    const AVStream *st = reader->in->fmt->streams[packet->stream_index];
    int64_t ts = packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts;

    if (reader->cut_us <= 0 || ts == AV_NOPTS_VALUE)
        return false;
    return av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q) >= reader->cut_us;
}

/* Queues the decoded frame unless it lies past the cut. */
static int queue_frame(video_reader_t *reader)
{
    int rc = 0;

    if (!past_cut(reader, reader->decoded))
        rc = video__queue_push_frame(&reader->queue, reader->decoded);
    av_frame_unref(reader->decoded);
    return rc;
}

/* Decodes packet (NULL to drain the decoder) and queues what comes out. */
static int decode_video(video_reader_t *reader, const AVPacket *packet)
{
    int rc = avcodec_send_packet(reader->decoder, packet);
    int damaged = 0;

    /* A damaged packet is dropped and decoding goes on. A file with no
     * decodable frame at all fails once the encoding side sees none. */
    if (packet && video__is_damaged_packet(rc))
        return 0;
    if (rc < 0)
        return video__map_error(rc);

    for (;;) {
        rc = avcodec_receive_frame(reader->decoder, reader->decoded);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (video__is_damaged_packet(rc)) {
            if (++damaged >= VIDEO_MAX_DAMAGED_FRAMES)
                return KADR_E_CORRUPT;
            continue;
        }
        if (rc < 0)
            return video__map_error(rc);

        rc = queue_frame(reader);
        if (rc < 0)
            return rc;
    }
}

static int route_packet(video_reader_t *reader, AVPacket *packet)
{
    bool past = packet_past_cut(reader, packet);
    int rc;

    if (packet->stream_index == reader->in->video_index ||
        packet->stream_index == reader->audio_index) {
        rc = video__control_check_span(reader->control, reader->in->fmt, packet,
                                       reader->start_us);
        if (rc < 0)
            return rc;
    }

    if (packet->stream_index == reader->in->video_index) {
        if (past)
            reader->cut_reached = true;
        return decode_video(reader, packet);
    }
    if (packet->stream_index == reader->audio_index && !past)
        return video__queue_push_packet(&reader->queue, packet);
    return 0;
}

/* Reads packets until the end of the input or the teaser cut. */
static int read_packets(video_reader_t *reader)
{
    for (;;) {
        int rc = video__control_check(reader->control);

        if (rc < 0)
            return rc;
        rc = av_read_frame(reader->in->fmt, reader->packet);
        if (rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return video__map_error(rc);

        video__track_end(reader->in->fmt, reader->packet, &reader->end_us);
        rc = route_packet(reader, reader->packet);
        av_packet_unref(reader->packet);
        if (rc < 0)
            return rc;
        if (reader->cut_reached)
            return 0;
    }
}

static void *reader_main(void *opaque)
{
    video_reader_t *reader = opaque;
    int rc = read_packets(reader);

    if (rc >= 0)
        rc = decode_video(reader, NULL);
    video__queue_close(&reader->queue, rc);
    return NULL;
}

int video__reader_start(video_reader_t *reader)
{
    int rc = video__queue_init(&reader->queue);

    if (rc < 0)
        return rc;
    reader->packet = av_packet_alloc();
    reader->decoded = av_frame_alloc();
    if (!reader->packet || !reader->decoded)
        return -ENOMEM;

    rc = pthread_create(&reader->thread, NULL, reader_main, reader);
    if (rc != 0)
        return -rc;
    reader->running = true;
    return 0;
}

int video__reader_next(video_reader_t *reader, AVFrame *frame, AVPacket *packet)
{
    return video__queue_pop(&reader->queue, frame, packet);
}

void video__reader_stop(video_reader_t *reader)
{
    if (!reader->running)
        return;
    video__queue_stop(&reader->queue);
    pthread_join(reader->thread, NULL);
    reader->running = false;
}

void video__reader_free(video_reader_t *reader)
{
    video__reader_stop(reader);
    video__queue_free(&reader->queue);
    av_frame_free(&reader->decoded);
    av_packet_free(&reader->packet);
}
