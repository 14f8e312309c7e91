/* Reading a video's header and checking it against limits. */
#include <stdio.h>
#include <string.h>

#include "video_internal.h"

/* Returns the frame rate, or 0 when the header does not tell it. The
 * fallback r_frame_rate is only a guess, and when it equals the stream's
 * timestamp clock (1000 Hz in Matroska and WebM) it says nothing about
 * frames, so it is not used then. */
static double stream_fps(const AVStream *st)
{
    AVRational rate = st->avg_frame_rate;
    AVRational clock = av_inv_q(st->time_base);

    if (rate.num > 0 && rate.den > 0)
        return av_q2d(rate);
    rate = st->r_frame_rate;
    if (rate.num <= 0 || rate.den <= 0 || av_cmp_q(rate, clock) == 0)
        return 0.0;
    return av_q2d(rate);
}

static double input_duration(const AVFormatContext *fmt, const AVStream *st)
{
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (double)st->duration * av_q2d(st->time_base);
    return 0.0;
}

static void copy_codec_name(char *dst, size_t size, enum AVCodecID id)
{
    snprintf(dst, size, "%s", avcodec_get_name(id));
}

static void fill_info(const video_input_t *in, video_info_t *out)
{
    const AVStream *video = in->fmt->streams[in->video_index];
    const AVCodecParameters *par = video->codecpar;

    memset(out, 0, sizeof(*out));
    video__display_size(in, &out->width, &out->height);
    out->rotation = in->rotation;
    out->mirrored = in->mirror;
    out->duration_s = input_duration(in->fmt, video);
    out->fps = stream_fps(video);
    if (in->fmt->pb) {
        int64_t size = avio_size(in->fmt->pb);

        out->file_bytes = size > 0 ? (uint64_t)size : 0;
    }
    copy_codec_name(out->video_codec, sizeof(out->video_codec), par->codec_id);

    if (in->audio_index >= 0) {
        const AVStream *audio = in->fmt->streams[in->audio_index];

        out->has_audio = true;
        copy_codec_name(out->audio_codec, sizeof(out->audio_codec),
                        audio->codecpar->codec_id);
    }
}

int video_probe_file(const char *path, video_info_t *out)
{
    video_input_t in;
    int rc;

    if (!path || !out)
        return KADR_E_BAD_INPUT;

    rc = video__open_input(path, NULL, &in);
    if (rc < 0)
        return rc;

    fill_info(&in, out);
    video__close_input(&in);
    return 0;
}

static bool over_limit(double value, double limit)
{
    return limit > 0 && value > limit;
}

int video_check_limits(const video_info_t *info, const video_limits_t *limits)
{
    if (!info || !limits)
        return KADR_E_BAD_INPUT;

    if (over_limit(info->duration_s, limits->max_duration_s))
        return KADR_E_TOO_LARGE;
    if (over_limit(info->width, limits->max_width))
        return KADR_E_TOO_LARGE;
    if (over_limit(info->height, limits->max_height))
        return KADR_E_TOO_LARGE;
    if (over_limit(info->fps, limits->max_fps))
        return KADR_E_TOO_LARGE;
    if (limits->max_file_bytes > 0 && info->file_bytes > limits->max_file_bytes)
        return KADR_E_TOO_LARGE;
    return 0;
}
