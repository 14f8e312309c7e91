/* The poster frame: the first frame that is not near-black, upright, as
 * packed RGB at the size of the 720.mp4 rendition. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"

/* The search stops at the first frame brighter than this mean luma (on
 * 0..255), or after VIDEO_POSTER_MAX_FRAMES frames or
 * VIDEO_POSTER_MAX_SECONDS of media, keeping the brightest frame seen. */
#define VIDEO_POSTER_DARK_LUMA 24.0
#define VIDEO_POSTER_MAX_FRAMES 90
#define VIDEO_POSTER_MAX_SECONDS 3.0

/* Side of the grey thumbnail the mean luma is measured on, in pixels. */
#define VIDEO_POSTER_PROBE_SIDE 32

typedef struct poster_search {
    video_input_t in;
    AVStream *stream;
    AVCodecContext *decoder;
    struct SwsContext *gray;
    AVPacket *packet;
    AVFrame *frame;
    AVFrame *best;
    double best_luma;
    int frames;
    bool done;
} poster_search_t;

static int open_search(poster_search_t *s, const char *src)
{
    int rc = video__open_input(src, NULL, &s->in);

    if (rc < 0)
        return rc;
    s->stream = s->in.fmt->streams[s->in.video_index];
    rc = video__open_decoder(s->stream, 0, &s->decoder);
    if (rc < 0)
        return rc;

    s->packet = av_packet_alloc();
    s->frame = av_frame_alloc();
    s->best = av_frame_alloc();
    if (!s->packet || !s->frame || !s->best)
        return -ENOMEM;
    s->best_luma = -1.0;
    return 0;
}

static int mean_luma(poster_search_t *s, const AVFrame *frame, double *out)
{
    uint8_t pixels[VIDEO_POSTER_PROBE_SIDE * VIDEO_POSTER_PROBE_SIDE];
    uint8_t *planes[4] = {pixels, NULL, NULL, NULL};
    int strides[4] = {VIDEO_POSTER_PROBE_SIDE, 0, 0, 0};
    uint64_t sum = 0;

    s->gray = sws_getCachedContext(s->gray, frame->width, frame->height,
                                   frame->format, VIDEO_POSTER_PROBE_SIDE,
                                   VIDEO_POSTER_PROBE_SIDE, AV_PIX_FMT_GRAY8,
                                   SWS_AREA, NULL, NULL, NULL);
    if (!s->gray)
        return KADR_E_CODEC;
    if (sws_scale(s->gray, (const uint8_t *const *)frame->data, frame->linesize,
                  0, frame->height, planes, strides) <= 0)
        return KADR_E_CODEC;

    for (size_t i = 0; i < sizeof(pixels); i++)
        sum += pixels[i];
    *out = (double)sum / sizeof(pixels);
    return 0;
}

static double frame_seconds(const poster_search_t *s, const AVFrame *frame)
{
    int64_t pts = frame->best_effort_timestamp;
    int64_t start = s->stream->start_time;

    if (pts == AV_NOPTS_VALUE)
        return 0.0;
    if (start != AV_NOPTS_VALUE)
        pts -= start;
    return (double)pts * av_q2d(s->stream->time_base);
}

static int consider_frame(poster_search_t *s, AVFrame *frame)
{
    double luma;
    int rc = mean_luma(s, frame, &luma);

    if (rc < 0)
        return rc;
    if (luma > s->best_luma) {
        av_frame_unref(s->best);
        rc = av_frame_ref(s->best, frame);
        if (rc < 0)
            return video__map_error(rc);
        s->best_luma = luma;
    }

    s->frames++;
    s->done = luma >= VIDEO_POSTER_DARK_LUMA ||
              s->frames >= VIDEO_POSTER_MAX_FRAMES ||
              frame_seconds(s, frame) >= VIDEO_POSTER_MAX_SECONDS;
    return 0;
}

/* Decodes packet (NULL to drain) and looks at each frame until done. */
static int decode_packet(poster_search_t *s, const AVPacket *packet)
{
    int rc = avcodec_send_packet(s->decoder, packet);
    int damaged = 0;

    if (packet && video__is_damaged_packet(rc))
        return 0;
    if (rc < 0)
        return video__map_error(rc);

    while (!s->done) {
        rc = avcodec_receive_frame(s->decoder, s->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (video__is_damaged_packet(rc)) {
            if (++damaged >= VIDEO_MAX_DAMAGED_FRAMES)
                return KADR_E_CORRUPT;
            continue;
        }
        if (rc < 0)
            return video__map_error(rc);

        rc = consider_frame(s, s->frame);
        av_frame_unref(s->frame);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int search_frames(poster_search_t *s)
{
    int rc;

    while (!s->done) {
        rc = av_read_frame(s->in.fmt, s->packet);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0)
            return video__map_error(rc);

        rc = 0;
        if (s->packet->stream_index == s->in.video_index)
            rc = decode_packet(s, s->packet);
        av_packet_unref(s->packet);
        if (rc < 0)
            return rc;
    }
    if (!s->done) {
        rc = decode_packet(s, NULL);
        if (rc < 0)
            return rc;
    }
    return s->best_luma < 0 ? KADR_E_CORRUPT : 0;
}

static int copy_rows(const AVFrame *rgb, image_pixels_t *out)
{
    size_t row = (size_t)rgb->width * 3;
    uint8_t *data = malloc(row * (size_t)rgb->height);

    if (!data)
        return -ENOMEM;
    for (int y = 0; y < rgb->height; y++)
        memcpy(data + row * (size_t)y,
               rgb->data[0] + (ptrdiff_t)y * rgb->linesize[0], row);

    out->data = data;
    out->width = (uint32_t)rgb->width;
    out->height = (uint32_t)rgb->height;
    out->channels = 3;
    return 0;
}

static int convert_best(const poster_search_t *s, const video_params_t *params,
                        image_pixels_t *out)
{
    const AVFrame *best = s->best;
    video_tonemap_t tonemap = {0};
    uint32_t width, height;
    video_scaler_t scaler;
    AVFrame *rgb = av_frame_alloc();
    int rc;

    if (!rgb)
        return -ENOMEM;
    if (s->in.hdr) {
        rc = video__tonemap_run(&tonemap, best, s->stream->time_base);
        if (rc < 0)
            goto fail_frame;
        best = tonemap.out;
    }
    /* From the header's size, not the frame's, as the transcode does: a
     * stream whose frames change size is scaled to the size it declares. */
    video__output_size(&s->in, params, &width, &height);
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = (int)width;
    rgb->height = (int)height;
    rc = video__map_error(av_frame_get_buffer(rgb, 0));
    if (rc < 0)
        goto fail_frame;

    rc =
        video__scaler_init(&scaler, AV_PIX_FMT_RGB24, (uint32_t)rgb->width,
                           (uint32_t)rgb->height, s->in.rotation, s->in.mirror);
    if (rc < 0)
        goto fail_frame;
    rc = video__scaler_run(&scaler, best, rgb);
    if (rc >= 0)
        rc = copy_rows(rgb, out);
    video__scaler_free(&scaler);

fail_frame:
    video__tonemap_free(&tonemap);
    av_frame_free(&rgb);
    return rc;
}

static void release(poster_search_t *s)
{
    av_frame_free(&s->best);
    av_frame_free(&s->frame);
    av_packet_free(&s->packet);
    sws_freeContext(s->gray);
    avcodec_free_context(&s->decoder);
    video__close_input(&s->in);
}

int video_grab_poster(const char *src, const video_params_t *params,
                      image_pixels_t *out)
{
    poster_search_t search;
    int rc;

    if (!src || !params || !out)
        return KADR_E_BAD_INPUT;

    memset(&search, 0, sizeof(search));
    memset(out, 0, sizeof(*out));
    rc = open_search(&search, src);
    if (rc >= 0)
        rc = search_frames(&search);
    if (rc >= 0)
        rc = convert_best(&search, params, out);
    release(&search);
    return rc;
}
