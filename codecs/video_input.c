/* Opening a video input: container, stream choice, decoders, rotation. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <libavutil/display.h>

#include "video_internal.h"

/* Returns the index of the main video stream, skipping cover art. */
static int find_video_stream(AVFormatContext *fmt)
{
    int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);

    if (best >= 0 &&
        !(fmt->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return best;

    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];

        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return KADR_E_NO_VIDEO;
}

static int open_container(const char *path, const AVIOInterruptCB *interrupt,
                          AVFormatContext **out)
{
    AVFormatContext *fmt = avformat_alloc_context();
    int rc;

    if (!fmt)
        return -ENOMEM;
    if (interrupt)
        fmt->interrupt_callback = *interrupt;

    /* avformat_open_input() frees fmt when it fails. */
    rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0)
        return video__map_error(rc);

    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return video__map_error(rc);
    }
    *out = fmt;
    return 0;
}

int video__open_input(const char *path, const AVIOInterruptCB *interrupt,
                      video_input_t *in)
{
    const AVCodecParameters *par;
    int rc;

    memset(in, 0, sizeof(*in));
    in->audio_index = -1;

    rc = open_container(path, interrupt, &in->fmt);
    if (rc < 0)
        return rc;

    rc = find_video_stream(in->fmt);
    if (rc < 0)
        goto fail_close;
    in->video_index = rc;

    par = in->fmt->streams[in->video_index]->codecpar;
    if (par->width <= 0 || par->height <= 0) {
        rc = KADR_E_CORRUPT;
        goto fail_close;
    }

    rc = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, in->video_index,
                             NULL, 0);
    in->audio_index = rc >= 0 ? rc : -1;
    in->rotation = video__stream_rotation(in->fmt->streams[in->video_index]);
    return 0;

fail_close:
    avformat_close_input(&in->fmt);
    return rc;
}

void video__close_input(video_input_t *in)
{
    avformat_close_input(&in->fmt);
}

int video__open_decoder(const AVStream *stream, int threads,
                        AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(stream->codecpar->codec_id);
    AVCodecContext *ctx;
    int rc;

    if (!codec)
        return KADR_E_UNSUPPORTED;
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return -ENOMEM;

    rc = avcodec_parameters_to_context(ctx, stream->codecpar);
    if (rc < 0)
        goto fail_free;
    ctx->pkt_timebase = stream->time_base;
    ctx->thread_count = threads > 0 ? threads : 0;
    ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;

    rc = avcodec_open2(ctx, codec, NULL);
    if (rc < 0)
        goto fail_free;
    *out = ctx;
    return 0;

fail_free:
    avcodec_free_context(&ctx);
    return video__map_error(rc);
}

uint32_t video__stream_rotation(const AVStream *stream)
{
    size_t size = 0;
    const uint8_t *matrix =
        av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    double degrees;
    long quarter_turns;

    if (!matrix || size < 9 * sizeof(int32_t))
        return 0;

    /* TODO: a mirrored display matrix (a flip) is read as its rotation
     * only, so a mirrored selfie video stays mirrored. */
    degrees = av_display_rotation_get((const int32_t *)matrix);
    if (isnan(degrees))
        return 0;

    quarter_turns = lround(degrees / 90.0) % 4;
    if (quarter_turns < 0)
        quarter_turns += 4;
    return (uint32_t)quarter_turns * 90;
}
