/* The remux path of the rendition. A source that is already H.264 High
 * and AAC stereo 48 kHz in MP4 or MOV, upright and small enough, is not
 * decoded: its packets are copied into a new MP4 with moov first. */
#include <errno.h>
#include <string.h>

#include "video_internal.h"

static bool is_mov_family(const AVFormatContext *fmt)
{
    return strstr(fmt->iformat->name, "mp4") != NULL ||
           strstr(fmt->iformat->name, "mov") != NULL;
}

static bool square_pixels(AVRational sar)
{
    return sar.num == 0 || sar.num == sar.den;
}

static bool video_remuxable(const video_input_t *in,
                            const video_params_t *params)
{
    const AVCodecParameters *par = in->fmt->streams[in->video_index]->codecpar;
    uint32_t width, height;

    if (par->codec_id != AV_CODEC_ID_H264 ||
        par->profile != FF_PROFILE_H264_HIGH ||
        par->format != AV_PIX_FMT_YUV420P ||
        par->color_range == AVCOL_RANGE_JPEG || in->rotation != 0 ||
        in->mirror || in->hdr || !square_pixels(par->sample_aspect_ratio))
        return false;

    video__fit_size((uint32_t)par->width, (uint32_t)par->height,
                    params->max_long, params->max_short, &width, &height);
    return width == (uint32_t)par->width && height == (uint32_t)par->height;
}

static bool audio_remuxable(const video_input_t *in)
{
    const AVCodecParameters *par;

    if (in->audio_index < 0)
        return true;
    par = in->fmt->streams[in->audio_index]->codecpar;
    return par->codec_id == AV_CODEC_ID_AAC &&
           par->ch_layout.nb_channels == 2 &&
           par->sample_rate == VIDEO_AUDIO_RATE;
}

int video__input_remuxable(const video_input_t *in,
                           const video_params_t *params)
{
    if (params->max_output_s > 0 || !is_mov_family(in->fmt))
        return 0;
    return video_remuxable(in, params) && audio_remuxable(in);
}

int video_can_remux(const char *src, const video_params_t *params)
{
    video_input_t in;
    int rc;

    if (!src || !params)
        return KADR_E_BAD_INPUT;
    rc = video__open_input(src, NULL, &in);
    if (rc < 0)
        return rc;
    rc = video__input_remuxable(&in, params);
    video__close_input(&in);
    return rc;
}

/* A remux in progress: out[i] carries input stream in_index[i]. */
typedef struct remux {
    video_input_t *in;
    video_control_t *control;
    AVFormatContext *mux;
    AVStream *out[2];
    int in_index[2];
    int count;
    int64_t start_us;
    int64_t end_us;
    AVPacket *packet;
} remux_t;

static int add_copy_stream(remux_t *r, int index)
{
    AVStream *in = r->in->fmt->streams[index];
    AVStream *out = avformat_new_stream(r->mux, NULL);
    int rc;

    if (!out)
        return -ENOMEM;
    rc = avcodec_parameters_copy(out->codecpar, in->codecpar);
    if (rc < 0)
        return video__map_error(rc);
    out->codecpar->codec_tag = 0;
    out->time_base = in->time_base;
    r->out[r->count] = out;
    r->in_index[r->count] = index;
    r->count++;
    return 0;
}

static int open_remux(remux_t *r, const char *dst)
{
    AVFormatContext *fmt = r->in->fmt;
    int rc;

    r->start_us = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    r->end_us = r->start_us;
    r->packet = av_packet_alloc();
    if (!r->packet)
        return -ENOMEM;
    rc = video__mux_open(dst, &r->mux);
    if (rc >= 0)
        rc = add_copy_stream(r, r->in->video_index);
    if (rc >= 0 && r->in->audio_index >= 0)
        rc = add_copy_stream(r, r->in->audio_index);
    if (rc >= 0)
        rc = video__mux_start(r->mux, dst);
    return rc;
}

static int output_slot(const remux_t *r, int stream_index)
{
    for (int i = 0; i < r->count; i++) {
        if (r->in_index[i] == stream_index)
            return i;
    }
    return -1;
}

/* Shifts the packet so the file starts at zero and writes it. */
static int copy_packet(remux_t *r, AVPacket *packet, int slot)
{
    const AVStream *in = r->in->fmt->streams[packet->stream_index];
    int64_t shift = av_rescale_q(r->start_us, AV_TIME_BASE_Q, in->time_base);
    int rc;

    if (packet->pts != AV_NOPTS_VALUE)
        packet->pts -= shift;
    if (packet->dts != AV_NOPTS_VALUE)
        packet->dts -= shift;
    av_packet_rescale_ts(packet, in->time_base, r->out[slot]->time_base);
    packet->stream_index = r->out[slot]->index;
    packet->pos = -1;
    rc = av_interleaved_write_frame(r->mux, packet);
    return rc < 0 ? video__map_error(rc) : 0;
}

/* Copies the packet read to its output unless it reaches past the
 * duration limit. */
static int copy_within_span(remux_t *r, int slot)
{
    int rc = video__control_check_span(r->control, r->in->fmt, r->packet,
                                       r->start_us);

    return rc < 0 ? rc : copy_packet(r, r->packet, slot);
}

static int copy_all(remux_t *r)
{
    for (;;) {
        int slot;
        int rc = video__control_check(r->control);

        if (rc < 0)
            return rc;
        rc = av_read_frame(r->in->fmt, r->packet);
        if (rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return video__map_error(rc);

        video__track_end(r->in->fmt, r->packet, &r->end_us);
        slot = output_slot(r, r->packet->stream_index);
        rc = slot >= 0 ? copy_within_span(r, slot) : 0;
        av_packet_unref(r->packet);
        if (rc < 0)
            return rc;
        video__control_report(r->control,
                              (double)(r->end_us - r->start_us) / AV_TIME_BASE);
    }
}

int video__remux(video_input_t *in, const char *dst, video_control_t *control)
{
    remux_t r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.in = in;
    r.control = control;
    rc = open_remux(&r, dst);
    if (rc >= 0)
        rc = copy_all(&r);
    if (rc >= 0)
        rc = video__check_coverage(in->fmt, r.start_us, r.end_us);
    if (rc >= 0)
        rc = video__mux_finish(r.mux);
    if (rc >= 0)
        video__control_finish(control);
    av_packet_free(&r.packet);
    video__mux_close(&r.mux);
    return rc;
}
