/* Output sizing and frame conversion: swscale, then a mirror and a
 * quarter turn. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "video_internal.h"

static uint32_t even_size(double exact, uint32_t cap)
{
    uint32_t size = 2 * (uint32_t)lround(exact / 2.0);

    cap &= ~1u;
    if (cap < 2)
        cap = 2;
    if (size > cap)
        size = cap;
    if (size < 2)
        size = 2;
    return size;
}

static double bound_scale(uint32_t size, uint32_t bound)
{
    if (bound == 0 || size <= bound)
        return 1.0;
    return (double)bound / size;
}

static uint32_t min_bound(uint32_t size, uint32_t bound)
{
    return bound != 0 && bound < size ? bound : size;
}

void video__fit_size(uint32_t width, uint32_t height, uint32_t max_long,
                     uint32_t max_short, uint32_t *out_width,
                     uint32_t *out_height)
{
    bool landscape = width >= height;
    uint32_t bound_w = landscape ? max_long : max_short;
    uint32_t bound_h = landscape ? max_short : max_long;
    double scale =
        fmin(bound_scale(width, bound_w), bound_scale(height, bound_h));

    *out_width = even_size(width * scale, min_bound(width, bound_w));
    *out_height = even_size(height * scale, min_bound(height, bound_h));
}

void video__output_size(const video_input_t *in, const video_params_t *params,
                        uint32_t *width, uint32_t *height)
{
    uint32_t shown_w, shown_h;

    video__display_size(in, &shown_w, &shown_h);
    video__fit_size(shown_w, shown_h, params->max_long, params->max_short,
                    width, height);
}

static bool is_sideways(uint32_t rotation)
{
    return rotation == 90 || rotation == 270;
}

int video__scaler_init(video_scaler_t *scaler, enum AVPixelFormat fmt,
                       uint32_t width, uint32_t height, uint32_t rotation,
                       bool mirror)
{
    AVFrame *coded;
    int rc;

    memset(scaler, 0, sizeof(*scaler));
    if (fmt != AV_PIX_FMT_YUV420P && fmt != AV_PIX_FMT_RGB24)
        return KADR_E_BAD_INPUT;
    scaler->fmt = fmt;
    scaler->width = width;
    scaler->height = height;
    scaler->rotation = rotation;
    scaler->mirror = mirror;
    if (rotation == 0 && !mirror)
        return 0;

    coded = av_frame_alloc();
    if (!coded)
        return -ENOMEM;
    coded->format = fmt;
    coded->width = (int)(is_sideways(rotation) ? height : width);
    coded->height = (int)(is_sideways(rotation) ? width : height);
    rc = av_frame_get_buffer(coded, 0);
    if (rc < 0) {
        av_frame_free(&coded);
        return video__map_error(rc);
    }
    scaler->coded = coded;
    return 0;
}

/* Tells swscale the source's YUV matrix and range when the frame states
 * them, so posters and transcodes keep their colours. */
static void apply_colorspace(struct SwsContext *sws, const AVFrame *in,
                             bool rgb_out)
{
    int *inv_table, *table;
    int src_range, dst_range, brightness, contrast, saturation;
    const int *coefficients;

    if (sws_getColorspaceDetails(sws, &inv_table, &src_range, &table,
                                 &dst_range, &brightness, &contrast,
                                 &saturation) < 0)
        return;

    coefficients = inv_table;
    if (in->colorspace != AVCOL_SPC_UNSPECIFIED &&
        in->colorspace != AVCOL_SPC_RGB)
        coefficients = sws_getCoefficients(in->colorspace);
    if (in->color_range == AVCOL_RANGE_JPEG)
        src_range = 1;

    /* A failure here leaves swscale's defaults, which still convert. */
    (void)sws_setColorspaceDetails(
        sws, coefficients, src_range, rgb_out ? table : coefficients,
        rgb_out ? 1 : 0, brightness, contrast, saturation);
}

static int prepare_context(video_scaler_t *scaler, const AVFrame *in,
                           const AVFrame *target)
{
    if (scaler->sws && scaler->in_width == in->width &&
        scaler->in_height == in->height && scaler->in_format == in->format)
        return 0;

    sws_freeContext(scaler->sws);
    scaler->sws = sws_getContext(in->width, in->height, in->format,
                                 target->width, target->height, scaler->fmt,
                                 SWS_BICUBIC, NULL, NULL, NULL);
    if (!scaler->sws)
        return KADR_E_CODEC;

    apply_colorspace(scaler->sws, in, scaler->fmt == AV_PIX_FMT_RGB24);
    scaler->in_width = in->width;
    scaler->in_height = in->height;
    scaler->in_format = in->format;
    return 0;
}

static void rotate_frame(const AVFrame *src, AVFrame *dst, uint32_t rotation,
                         bool mirror)
{
    if (src->format == AV_PIX_FMT_RGB24) {
        video__rotate_plane(src->data[0], src->linesize[0], src->width,
                            src->height, 3, dst->data[0], dst->linesize[0],
                            rotation, mirror);
        return;
    }

    for (int plane = 0; plane < 3; plane++) {
        int shift = plane == 0 ? 0 : 1;

        video__rotate_plane(src->data[plane], src->linesize[plane],
                            src->width >> shift, src->height >> shift, 1,
                            dst->data[plane], dst->linesize[plane], rotation,
                            mirror);
    }
}

int video__scaler_run(video_scaler_t *scaler, const AVFrame *in, AVFrame *out)
{
    AVFrame *target = scaler->coded ? scaler->coded : out;
    int rc;

    if (in->width <= 0 || in->height <= 0)
        return KADR_E_CORRUPT;
    rc = prepare_context(scaler, in, target);
    if (rc < 0)
        return rc;

    rc = sws_scale(scaler->sws, (const uint8_t *const *)in->data, in->linesize,
                   0, in->height, target->data, target->linesize);
    if (rc <= 0)
        return KADR_E_CODEC;

    if (scaler->coded)
        rotate_frame(scaler->coded, out, scaler->rotation, scaler->mirror);
    return 0;
}

void video__scaler_free(video_scaler_t *scaler)
{
    sws_freeContext(scaler->sws);
    scaler->sws = NULL;
    av_frame_free(&scaler->coded);
}
