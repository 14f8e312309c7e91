/* The 720.mp4 rendition: decode, turn upright, scale, H.264 + AAC, MP4.
 *
 * Two threads share the work. The reader thread (video_reader.c) demuxes
 * and decodes the video into a bounded queue, with the audio packets in
 * between. The calling thread tone-maps, scales and turns each frame,
 * encodes video and audio and muxes. Each side polls the cancel flag and
 * the time limit, and the reader is joined on every path. */
#include <errno.h>
#include <string.h>

#include "video_internal.h"

/* Output time base used when the source stream states none. */
#define VIDEO_FALLBACK_TIME_BASE 90000

typedef struct transcode {
    const video_params_t *params;
    video_control_t control;
    video_input_t in;
    AVStream *video_in;
    AVCodecContext *decoder;
    AVCodecContext *encoder;
    video_scaler_t scaler;
    video_tonemap_t tonemap;
    AVFormatContext *mux;
    AVStream *video_out;
    video_audio_t audio;
    bool has_audio;
    AVPacket *packet;
    AVPacket *out_packet;
    AVFrame *decoded;
    AVFrame *scaled;
    int64_t start_us;
    int64_t start_pts;
    int64_t last_pts;
    int64_t pts_step;
    int64_t frames;
    int64_t cut_us; /* stop at this input time; 0 for no cut */
    video_reader_t reader;
} transcode_t;

static int open_source(transcode_t *t, const char *src)
{
    AVIOInterruptCB interrupt = {video__control_interrupt, &t->control};
    AVFormatContext *fmt;
    int rc;

    rc = video__open_input(src, &interrupt, &t->in);
    if (rc < 0)
        return rc;
    fmt = t->in.fmt;
    t->video_in = fmt->streams[t->in.video_index];

    rc = video__open_decoder(t->video_in, t->params->threads, &t->decoder);
    if (rc < 0)
        return rc;

    /* The output starts with the first video frame. Audio before it is
     * dropped, so opus or AAC priming, whose first packets have negative
     * timestamps, does not push the video off zero. */
    t->start_us = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    if (t->video_in->start_time != AV_NOPTS_VALUE)
        t->start_us = av_rescale_q(t->video_in->start_time,
                                   t->video_in->time_base, AV_TIME_BASE_Q);
    t->start_pts =
        av_rescale_q(t->start_us, AV_TIME_BASE_Q, t->video_in->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        t->control.duration_s = (double)fmt->duration / AV_TIME_BASE;
    if (t->params->max_output_s > 0) {
        t->cut_us =
            t->start_us + (int64_t)(t->params->max_output_s * AV_TIME_BASE);
        if (t->control.duration_s > t->params->max_output_s)
            t->control.duration_s = t->params->max_output_s;
    }
    return 0;
}

static AVRational output_time_base(const AVStream *st)
{
    if (st->time_base.num > 0 && st->time_base.den > 0)
        return st->time_base;
    return (AVRational){1, VIDEO_FALLBACK_TIME_BASE};
}

static int open_video_encoder(transcode_t *t, uint32_t width, uint32_t height)
{
    AVRational fps = av_guess_frame_rate(t->in.fmt, t->video_in, NULL);
    AVRational time_base = output_time_base(t->video_in);
    bool global_header = t->mux->oformat->flags & AVFMT_GLOBALHEADER;
    int rc;

    rc = video__open_h264(t->params, t->video_in->codecpar, width, height, fps,
                          time_base, global_header, &t->encoder);
    if (rc < 0)
        return rc;

    t->last_pts = -1;
    t->pts_step = 1;
    if (fps.num > 0 && fps.den > 0)
        t->pts_step = av_rescale_q(1, av_inv_q(fps), time_base);
    if (t->pts_step < 1)
        t->pts_step = 1;
    return video__mux_add_stream(t->mux, t->encoder, &t->video_out);
}

static int alloc_frames(transcode_t *t, uint32_t width, uint32_t height)
{
    t->packet = av_packet_alloc();
    t->out_packet = av_packet_alloc();
    t->decoded = av_frame_alloc();
    t->scaled = av_frame_alloc();
    if (!t->packet || !t->out_packet || !t->decoded || !t->scaled)
        return -ENOMEM;

    t->scaled->format = AV_PIX_FMT_YUV420P;
    t->scaled->width = (int)width;
    t->scaled->height = (int)height;
    return video__map_error(av_frame_get_buffer(t->scaled, 0));
}

/* Adds the audio path. An audio stream whose decoder cannot open (an
 * unknown codec or a damaged header) is left out and the video is served
 * without sound, as players do. */
static int open_audio(transcode_t *t)
{
    AVStream *audio_in;
    int rc;

    if (t->in.audio_index < 0)
        return 0;
    audio_in = t->in.fmt->streams[t->in.audio_index];
    rc = video__audio_open(&t->audio, audio_in, t->mux, t->params, t->start_us);
    if (rc == -ENOMEM)
        return rc;
    t->has_audio = rc >= 0;
    return 0;
}

static int open_output(transcode_t *t, const char *dst)
{
    uint32_t width, height;
    int rc;

    video__output_size(&t->in, t->params, &width, &height);
    rc = video__mux_open(dst, &t->mux);
    if (rc < 0)
        return rc;
    rc = open_video_encoder(t, width, height);
    if (rc < 0)
        return rc;

    rc = open_audio(t);
    if (rc < 0)
        return rc;

    rc = video__scaler_init(&t->scaler, AV_PIX_FMT_YUV420P, width, height,
                            t->in.rotation, t->in.mirror);
    if (rc < 0)
        return rc;
    rc = alloc_frames(t, width, height);
    if (rc < 0)
        return rc;
    return video__mux_start(t->mux, dst);
}

/* Returns the frame's timestamp in the encoder's time base, counted from
 * the input's start and strictly increasing. */
static int64_t next_pts(transcode_t *t, const AVFrame *frame)
{
    int64_t pts = frame->best_effort_timestamp;

    if (pts == AV_NOPTS_VALUE)
        pts = t->last_pts + t->pts_step;
    else
        pts = av_rescale_q(pts - t->start_pts, t->video_in->time_base,
                           t->encoder->time_base);
    if (pts <= t->last_pts)
        pts = t->last_pts + 1;
    t->last_pts = pts;
    return pts;
}

static int encode_frame(transcode_t *t, const AVFrame *frame)
{
    int rc;

    if (t->in.hdr) {
        rc = video__tonemap_run(&t->tonemap, frame, t->video_in->time_base);
        if (rc < 0)
            return rc;
        t->tonemap.out->best_effort_timestamp = frame->best_effort_timestamp;
        frame = t->tonemap.out;
    }
    rc = av_frame_make_writable(t->scaled);
    if (rc < 0)
        return video__map_error(rc);
    rc = video__scaler_run(&t->scaler, frame, t->scaled);
    if (rc < 0)
        return rc;

    t->scaled->pts = next_pts(t, frame);
    t->scaled->pict_type = AV_PICTURE_TYPE_NONE;
    rc = video__mux_encode(t->mux, t->video_out, t->encoder, t->scaled,
                           t->out_packet);
    if (rc < 0)
        return rc;

    t->frames++;
    video__control_report(&t->control, (double)t->scaled->pts *
                                           av_q2d(t->encoder->time_base));
    return 0;
}

/* Encodes the frames and audio packets the reader queues until it has
 * read everything, or until the first error on either thread. */
static int consume(transcode_t *t)
{
    for (;;) {
        int rc = video__control_check(&t->control);

        if (rc < 0)
            return rc;
        rc = video__reader_next(&t->reader, t->decoded, t->packet);
        if (rc <= 0)
            return rc;
        if (rc == VIDEO_QUEUE_FRAME) {
            rc = encode_frame(t, t->decoded);
            av_frame_unref(t->decoded);
        } else {
            rc = t->has_audio ? video__audio_write(&t->audio, t->mux, t->packet)
                              : 0;
            av_packet_unref(t->packet);
        }
        if (rc < 0)
            return rc;
    }
}

/* Runs the reader thread beside consume() on this thread, and joins it
 * on every path. */
static int run(transcode_t *t)
{
    video_reader_t *reader = &t->reader;
    int rc;

    reader->in = &t->in;
    reader->decoder = t->decoder;
    reader->control = &t->control;
    reader->audio_index = t->has_audio ? t->in.audio_index : -1;
    reader->cut_us = t->cut_us;
    reader->start_us = t->start_us;
    rc = video__reader_start(reader);
    if (rc < 0)
        return rc;
    rc = consume(t);
    video__reader_stop(reader);
    return rc;
}

/* Rejects output without a frame, and a whole-file transcode whose
 * packets end well before the declared duration. */
static int check_complete(const transcode_t *t)
{
    if (t->frames == 0)
        return KADR_E_CORRUPT;
    if (t->cut_us > 0)
        return 0;
    return video__check_coverage(t->in.fmt, t->start_us, t->reader.end_us);
}

static int finish(transcode_t *t)
{
    int rc = video__mux_encode(t->mux, t->video_out, t->encoder, NULL,
                               t->out_packet);
    if (rc < 0)
        return rc;
    if (t->has_audio) {
        rc = video__audio_write(&t->audio, t->mux, NULL);
        if (rc < 0)
            return rc;
    }

    rc = check_complete(t);
    if (rc < 0)
        return rc;
    rc = video__mux_finish(t->mux);
    if (rc < 0)
        return rc;
    video__control_finish(&t->control);
    return 0;
}

static void release(transcode_t *t)
{
    video__reader_free(&t->reader);
    av_frame_free(&t->scaled);
    av_frame_free(&t->decoded);
    av_packet_free(&t->out_packet);
    av_packet_free(&t->packet);
    video__scaler_free(&t->scaler);
    video__tonemap_free(&t->tonemap);
    video__audio_close(&t->audio);
    avcodec_free_context(&t->encoder);
    video__mux_close(&t->mux);
    avcodec_free_context(&t->decoder);
    video__close_input(&t->in);
}

int video_transcode_file(const char *src, const char *dst,
                         const video_params_t *params,
                         video_progress_fn progress, void *progress_ctx,
                         const atomic_int *cancel)
{
    transcode_t t;
    int stop;
    int rc;

    if (!src || !dst || !params)
        return KADR_E_BAD_INPUT;

    memset(&t, 0, sizeof(t));
    t.params = params;
    video__control_init(&t.control, params, progress, progress_ctx, cancel);

    rc = open_source(&t, src);
    if (rc >= 0 && video__input_remuxable(&t.in, params)) {
        rc = video__remux(&t.in, dst, &t.control);
    } else {
        if (rc >= 0)
            rc = open_output(&t, dst);
        if (rc >= 0)
            rc = run(&t);
        if (rc >= 0)
            rc = finish(&t);
    }

    /* An aborted libavformat call reports its own error code; the cause
     * is the cancel flag or the time limit. */
    stop = video__control_check(&t.control);
    if (rc < 0 && stop < 0)
        rc = stop;
    release(&t);
    return rc;
}
