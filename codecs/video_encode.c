/* The H.264 encoder of the 720.mp4 rendition (libx264 via libavcodec). */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include <libavutil/opt.h>

#include "video_internal.h"

/* A stream rate above VIDEO_MAX_PLAUSIBLE_FPS is a timestamp clock, not a
 * frame rate: WebM reports 1000 Hz when frames are irregular. The GOP is
 * then sized for VIDEO_ASSUMED_FPS. */
#define VIDEO_MAX_PLAUSIBLE_FPS 240.0
#define VIDEO_ASSUMED_FPS 30.0

/* Keyframe interval in seconds when the caller gives none. */
#define VIDEO_DEFAULT_GOP_S 2.0

static bool plausible_fps(AVRational fps)
{
    return fps.num > 0 && fps.den > 0 && av_q2d(fps) <= VIDEO_MAX_PLAUSIBLE_FPS;
}

static int gop_frames(AVRational fps, double gop_seconds)
{
    double rate = plausible_fps(fps) ? av_q2d(fps) : VIDEO_ASSUMED_FPS;
    double frames;

    if (!(gop_seconds > 0))
        gop_seconds = VIDEO_DEFAULT_GOP_S;
    frames = rate * gop_seconds;
    if (!(frames >= 1.0))
        return 1;
    if (frames > INT32_MAX)
        return INT32_MAX;
    return (int)lround(frames);
}

/* Carries the source's primaries, transfer and YUV matrix over, because
 * the scaler keeps that matrix. HDR sources are tone-mapped to BT.709
 * before scaling, so they are tagged BT.709. The range always becomes
 * limited. */
static void copy_color(AVCodecContext *enc, const AVCodecParameters *source)
{
    enc->color_range = AVCOL_RANGE_MPEG;
    if (video__is_hdr(source)) {
        enc->colorspace = AVCOL_SPC_BT709;
        enc->color_primaries = AVCOL_PRI_BT709;
        enc->color_trc = AVCOL_TRC_BT709;
        return;
    }
    if (source->color_space == AVCOL_SPC_RGB)
        return;
    enc->colorspace = source->color_space;
    enc->color_primaries = source->color_primaries;
    enc->color_trc = source->color_trc;
}

static int set_x264_options(AVCodecContext *enc, const video_params_t *params)
{
    char crf[16];
    int rc;

    snprintf(crf, sizeof(crf), "%d", params->crf);
    rc = av_opt_set(enc->priv_data, "crf", crf, 0);
    if (rc < 0)
        return video__map_error(rc);
    rc = av_opt_set(enc->priv_data, "profile", "high", 0);
    if (rc < 0)
        return video__map_error(rc);
    if (params->preset) {
        rc = av_opt_set(enc->priv_data, "preset", params->preset, 0);
        if (rc < 0)
            return video__map_error(rc);
    }
    return 0;
}

int64_t video__frame_duration(const AVCodecContext *enc)
{
    AVRational fps = enc->framerate;
    int64_t ticks;

    if (!plausible_fps(fps))
        fps = av_d2q(VIDEO_ASSUMED_FPS, 1000);
    ticks = av_rescale_q(1, av_inv_q(fps), enc->time_base);
    return ticks > 0 ? ticks : 1;
}

int video__open_h264(const video_params_t *params,
                     const AVCodecParameters *source, uint32_t width,
                     uint32_t height, AVRational fps, AVRational time_base,
                     bool global_header, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *enc;
    int rc;

    if (!codec)
        return KADR_E_UNSUPPORTED;
    enc = avcodec_alloc_context3(codec);
    if (!enc)
        return -ENOMEM;

    enc->width = (int)width;
    enc->height = (int)height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->sample_aspect_ratio = (AVRational){1, 1};
    enc->time_base = time_base;
    if (plausible_fps(fps))
        enc->framerate = fps;
    enc->gop_size = gop_frames(fps, params->gop_seconds);
    enc->thread_count = params->threads > 0 ? params->threads : 0;
    copy_color(enc, source);
    if (global_header)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    rc = set_x264_options(enc, params);
    if (rc < 0)
        goto fail_free;
    rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        rc = video__map_error(rc);
        goto fail_free;
    }
    *out = enc;
    return 0;

fail_free:
    avcodec_free_context(&enc);
    return rc;
}
