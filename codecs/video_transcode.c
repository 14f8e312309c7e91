/* The 720.mp4 rendition: decode, turn upright, scale, H.264 + AAC, MP4. */
#include <errno.h>
#include <string.h>

#include "video_internal.h"

/* Output time base used when the source stream states none. */
#define VIDEO_FALLBACK_TIME_BASE 90000

/* A file whose packets stop more than VIDEO_TRUNCATION_SLACK_S seconds
 * before VIDEO_MIN_COVERED_SHARE of its declared duration is treated as
 * truncated. The slack keeps one-frame and slide-show clips, whose last
 * frame starts long before the end, acceptable. */
#define VIDEO_MIN_COVERED_SHARE 0.8
#define VIDEO_TRUNCATION_SLACK_S 2.0

typedef struct transcode {
    const video_params_t *params;
    video_control_t control;
    video_input_t in;
    AVStream *video_in;
    AVCodecContext *decoder;
    AVCodecContext *encoder;
    video_scaler_t scaler;
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
    int64_t end_us;
    int64_t frames;
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

    t->start_us = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    t->start_pts =
        av_rescale_q(t->start_us, AV_TIME_BASE_Q, t->video_in->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        t->control.duration_s = (double)fmt->duration / AV_TIME_BASE;
    return 0;
}

static AVRational output_time_base(const AVStream *st)
{
    if (st->time_base.num > 0 && st->time_base.den > 0)
        return st->time_base;
    return (AVRational){1, VIDEO_FALLBACK_TIME_BASE};
}

static void output_size(const transcode_t *t, uint32_t *width, uint32_t *height)
{
    const AVCodecParameters *par = t->video_in->codecpar;
    bool sideways = t->in.rotation == 90 || t->in.rotation == 270;
    uint32_t shown_w = (uint32_t)(sideways ? par->height : par->width);
    uint32_t shown_h = (uint32_t)(sideways ? par->width : par->height);

    /* TODO: a non-square sample aspect ratio is ignored, so anamorphic
     * sources come out squeezed. */
    video__fit_size(shown_w, shown_h, t->params->max_long, t->params->max_short,
                    width, height);
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

static int open_output(transcode_t *t, const char *dst)
{
    uint32_t width, height;
    int rc;

    output_size(t, &width, &height);
    rc = video__mux_open(dst, &t->mux);
    if (rc < 0)
        return rc;
    rc = open_video_encoder(t, width, height);
    if (rc < 0)
        return rc;

    if (t->in.audio_index >= 0) {
        AVStream *audio_in = t->in.fmt->streams[t->in.audio_index];

        /* TODO: an audio stream whose decoder cannot open (a damaged
         * header) fails the whole transcode, though the video could still
         * be served without sound. */
        rc = video__audio_open(&t->audio, audio_in, t->mux, t->params,
                               t->start_us);
        if (rc < 0)
            return rc;
        t->has_audio = true;
    }

    rc = video__scaler_init(&t->scaler, AV_PIX_FMT_YUV420P, width, height,
                            t->in.rotation);
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
    int rc = av_frame_make_writable(t->scaled);

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

/* Decodes packet (NULL to drain the decoder) and encodes what comes out. */
static int decode_video(transcode_t *t, const AVPacket *packet)
{
    int rc = avcodec_send_packet(t->decoder, packet);
    int damaged = 0;

    /* A damaged packet is dropped and decoding goes on. A file with no
     * decodable frame at all fails in finish(). */
    if (packet && video__is_damaged_packet(rc))
        return 0;
    if (rc < 0)
        return video__map_error(rc);

    for (;;) {
        rc = avcodec_receive_frame(t->decoder, t->decoded);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (video__is_damaged_packet(rc)) {
            if (++damaged >= VIDEO_MAX_DAMAGED_FRAMES)
                return KADR_E_CORRUPT;
            continue;
        }
        if (rc < 0)
            return video__map_error(rc);

        rc = encode_frame(t, t->decoded);
        av_frame_unref(t->decoded);
        if (rc < 0)
            return rc;
    }
}

/* Records how far into the media the packets reach, in microseconds. */
static void track_end(transcode_t *t, const AVPacket *packet)
{
    const AVStream *st = t->in.fmt->streams[packet->stream_index];
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    int64_t end_us;

    if (ts == AV_NOPTS_VALUE)
        return;
    end_us = av_rescale_q(ts + packet->duration, st->time_base, AV_TIME_BASE_Q);
    if (end_us > t->end_us)
        t->end_us = end_us;
}

static int route_packet(transcode_t *t, const AVPacket *packet)
{
    if (packet->stream_index == t->in.video_index)
        return decode_video(t, packet);
    if (t->has_audio && packet->stream_index == t->in.audio_index)
        return video__audio_write(&t->audio, t->mux, packet);
    return 0;
}

static int run(transcode_t *t)
{
    for (;;) {
        int rc = video__control_check(&t->control);

        if (rc < 0)
            return rc;
        rc = av_read_frame(t->in.fmt, t->packet);
        if (rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return video__map_error(rc);

        track_end(t, t->packet);
        rc = route_packet(t, t->packet);
        av_packet_unref(t->packet);
        if (rc < 0)
            return rc;
    }
}

/* Rejects a file whose packets end well before its declared duration:
 * an upload cut short in transit. */
static int check_complete(const transcode_t *t)
{
    const AVFormatContext *fmt = t->in.fmt;
    double covered_s = (double)(t->end_us - t->start_us) / AV_TIME_BASE;
    double declared_s;

    if (t->frames == 0)
        return KADR_E_CORRUPT;
    if (fmt->duration == AV_NOPTS_VALUE || fmt->duration <= 0)
        return 0;
    /* NOTE: this relies on the container's declared duration, so a file
     * without one (live WebM recordings) or cut within its last fifth is
     * served as a shorter video instead of being rejected. */
    declared_s = (double)fmt->duration / AV_TIME_BASE;
    if (covered_s + VIDEO_TRUNCATION_SLACK_S <
        VIDEO_MIN_COVERED_SHARE * declared_s)
        return KADR_E_CORRUPT;
    return 0;
}

static int finish(transcode_t *t)
{
    int rc = decode_video(t, NULL);

    if (rc < 0)
        return rc;
    rc = video__mux_encode(t->mux, t->video_out, t->encoder, NULL,
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
    av_frame_free(&t->scaled);
    av_frame_free(&t->decoded);
    av_packet_free(&t->out_packet);
    av_packet_free(&t->packet);
    video__scaler_free(&t->scaler);
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
    if (rc >= 0)
        rc = open_output(&t, dst);
    if (rc >= 0)
        rc = run(&t);
    if (rc >= 0)
        rc = finish(&t);

    /* An aborted libavformat call reports its own error code; the cause
     * is the cancel flag or the time limit. */
    stop = video__control_check(&t.control);
    if (rc < 0 && stop < 0)
        rc = stop;
    release(&t);
    return rc;
}
