/* Separable Lanczos-3 resize in 14-bit fixed point.
 *
 * The filter widens with the reduction factor, so a downscale averages
 * every source pixel (antialiasing). Rows are filtered first into an 8-bit
 * intermediate, then columns. RGBA is resized premultiplied, so that the
 * colour of transparent pixels does not bleed into visible ones. */
#include "image_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEIGHT_BITS 14
#define WEIGHT_ONE (1 << WEIGHT_BITS)
#define LANCZOS_LOBES 3.0

/* For each output pixel along one axis: the first source index and the
 * weights of the taps that follow it. */
typedef struct resize_taps {
    uint32_t *first;
    uint32_t *count;
    int16_t *weights; /* per output pixel, max_taps entries */
    uint32_t max_taps;
} resize_taps_t;

static double lanczos3(double x)
{
    x = fabs(x);
    if (x < 1e-9)
        return 1.0;
    if (x >= LANCZOS_LOBES)
        return 0.0;

    double px = M_PI * x;

    return LANCZOS_LOBES * sin(px) * sin(px / LANCZOS_LOBES) / (px * px);
}

static void taps_free(resize_taps_t *taps)
{
    free(taps->first);
    free(taps->count);
    free(taps->weights);
}

/* Normalises one output pixel's weights to sum to WEIGHT_ONE exactly. The
 * rounding remainder goes to the largest weight. */
static void store_weights(const double *raw, uint32_t count, int16_t *out)
{
    double sum = 0.0;
    int total = 0;
    uint32_t largest = 0;

    for (uint32_t k = 0; k < count; k++)
        sum += raw[k];
    for (uint32_t k = 0; k < count; k++) {
        out[k] = (int16_t)lround(raw[k] / sum * WEIGHT_ONE);
        total += out[k];
        if (out[k] > out[largest])
            largest = k;
    }
    out[largest] = (int16_t)(out[largest] + WEIGHT_ONE - total);
}

static void build_pixel(resize_taps_t *taps, uint32_t i, double scale,
                        double filter_scale, uint32_t src_len, double *raw)
{
    double support = LANCZOS_LOBES * filter_scale;
    double center = (i + 0.5) * scale;
    long lo = (long)floor(center - support);
    long hi = (long)ceil(center + support);

    lo = lo < 0 ? 0 : lo;
    hi = hi > (long)src_len ? (long)src_len : hi;
    if (hi - lo > (long)taps->max_taps)
        hi = lo + (long)taps->max_taps;

    uint32_t count = (uint32_t)(hi - lo);

    for (uint32_t k = 0; k < count; k++)
        raw[k] = lanczos3(((double)lo + k + 0.5 - center) / filter_scale);
    taps->first[i] = (uint32_t)lo;
    taps->count[i] = count;
    store_weights(raw, count, taps->weights + (size_t)i * taps->max_taps);
}

static int taps_build(resize_taps_t *taps, uint32_t src_len, uint32_t dst_len)
{
    double scale = (double)src_len / dst_len;
    double filter_scale = scale > 1.0 ? scale : 1.0;

    taps->max_taps = (uint32_t)ceil(LANCZOS_LOBES * filter_scale) * 2 + 1;
    taps->first = calloc(dst_len, sizeof(*taps->first));
    taps->count = calloc(dst_len, sizeof(*taps->count));
    taps->weights =
        calloc((size_t)dst_len * taps->max_taps, sizeof(*taps->weights));

    double *raw = calloc(taps->max_taps, sizeof(*raw));

    if (taps->first == NULL || taps->count == NULL || taps->weights == NULL ||
        raw == NULL) {
        free(raw);
        taps_free(taps);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < dst_len; i++)
        build_pixel(taps, i, scale, filter_scale, src_len, raw);
    free(raw);
    return 0;
}

static uint8_t clamp_fixed(int32_t acc)
{
    acc = (acc + WEIGHT_ONE / 2) >> WEIGHT_BITS;
    if (acc < 0)
        return 0;
    if (acc > 255)
        return 255;
    return (uint8_t)acc;
}

/* Filters one row. ch is a constant in each caller below, so that the
 * compiler unrolls the channel loops. */
static inline void filter_row_channels(const uint8_t *src, uint32_t ch,
                                       const resize_taps_t *taps,
                                       uint32_t width, uint8_t *dst)
{
    for (uint32_t x = 0; x < width; x++) {
        const int16_t *w = taps->weights + (size_t)x * taps->max_taps;
        const uint8_t *p = src + (size_t)taps->first[x] * ch;
        int32_t acc[4] = {0, 0, 0, 0};

        for (uint32_t k = 0; k < taps->count[x]; k++, p += ch) {
            for (uint32_t c = 0; c < ch; c++)
                acc[c] += w[k] * p[c];
        }
        for (uint32_t c = 0; c < ch; c++)
            dst[(size_t)x * ch + c] = clamp_fixed(acc[c]);
    }
}

static void filter_row(const uint8_t *src, uint32_t ch,
                       const resize_taps_t *taps, uint32_t width, uint8_t *dst)
{
    if (ch == 4)
        filter_row_channels(src, 4, taps, width, dst);
    else
        filter_row_channels(src, 3, taps, width, dst);
}

/* Adds weight * row to acc. restrict lets gcc vectorise the loop (gcc 12
 * does so at -O3, not at -O2). */
static void add_weighted(int32_t *restrict acc, const uint8_t *restrict row,
                         size_t len, int32_t weight)
{
    for (size_t e = 0; e < len; e++)
        acc[e] += weight * row[e];
}

static void filter_column(const uint8_t *src, size_t row_len,
                          const resize_taps_t *taps, uint32_t y, int32_t *acc,
                          uint8_t *dst)
{
    const int16_t *w = taps->weights + (size_t)y * taps->max_taps;

    memset(acc, 0, row_len * sizeof(*acc));
    for (uint32_t k = 0; k < taps->count[y]; k++)
        add_weighted(acc, src + (size_t)(taps->first[y] + k) * row_len, row_len,
                     w[k]);
    for (size_t e = 0; e < row_len; e++)
        dst[e] = clamp_fixed(acc[e]);
}

/* The region to read: a view into src that the passes share. */
typedef struct resize_region {
    const uint8_t *data; /* first pixel of the region */
    size_t stride;       /* bytes from one source row to the next */
    uint32_t width;
    uint32_t height;
    uint32_t channels;
} resize_region_t;

static int pass_rows(const resize_region_t *src, uint32_t width, uint8_t *dst)
{
    resize_taps_t taps;
    int rc = taps_build(&taps, src->width, width);

    if (rc != 0)
        return rc;
    for (uint32_t y = 0; y < src->height; y++)
        filter_row(src->data + y * src->stride, src->channels, &taps, width,
                   dst + (size_t)y * width * src->channels);
    taps_free(&taps);
    return 0;
}

static int pass_columns(const uint8_t *src, uint32_t src_height,
                        image_pixels_t *out)
{
    size_t row_len = (size_t)out->width * out->channels;
    int32_t *acc = malloc(row_len * sizeof(*acc));
    resize_taps_t taps;

    if (acc == NULL)
        return -ENOMEM;

    int rc = taps_build(&taps, src_height, out->height);

    if (rc == 0) {
        for (uint32_t y = 0; y < out->height; y++)
            filter_column(src, row_len, &taps, y, acc, out->data + y * row_len);
        taps_free(&taps);
    }
    free(acc);
    return rc;
}

static int resize_view(const resize_region_t *src, image_pixels_t *out)
{
    size_t tmp_len = (size_t)src->height * out->width * src->channels;
    uint8_t *tmp = malloc(tmp_len);

    if (tmp == NULL)
        return -ENOMEM;

    int rc = pass_rows(src, out->width, tmp);

    if (rc == 0)
        rc = pass_columns(tmp, src->height, out);
    free(tmp);
    return rc;
}

static void premultiply(uint8_t *px, size_t count)
{
    for (size_t i = 0; i < count; i++, px += 4) {
        for (int c = 0; c < 3; c++)
            px[c] = (uint8_t)((px[c] * px[3] + 127) / 255);
    }
}

static void unpremultiply(uint8_t *px, size_t count)
{
    for (size_t i = 0; i < count; i++, px += 4) {
        if (px[3] == 0 || px[3] == 255)
            continue;
        for (int c = 0; c < 3; c++) {
            unsigned v = (px[c] * 255u + px[3] / 2) / px[3];

            px[c] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

/* Copies an RGBA region and premultiplies it. */
static int premultiplied_copy(const resize_region_t *src, uint8_t **copy)
{
    size_t row_len = (size_t)src->width * 4;
    uint8_t *data = malloc(row_len * src->height);

    if (data == NULL)
        return -ENOMEM;
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(data + y * row_len, src->data + y * src->stride, row_len);
    premultiply(data, (size_t)src->width * src->height);
    *copy = data;
    return 0;
}

static int resize_alpha(const resize_region_t *src, image_pixels_t *out)
{
    resize_region_t view = *src;
    uint8_t *copy;
    int rc = premultiplied_copy(src, &copy);

    if (rc != 0)
        return rc;
    view.data = copy;
    view.stride = (size_t)src->width * 4;
    rc = resize_view(&view, out);
    free(copy);
    if (rc == 0)
        unpremultiply(out->data, (size_t)out->width * out->height);
    return rc;
}

int image__resize_region(const image_pixels_t *src, uint32_t x, uint32_t y,
                         uint32_t region_width, uint32_t region_height,
                         uint32_t width, uint32_t height, image_pixels_t *out)
{
    memset(out, 0, sizeof(*out));
    if (src == NULL || src->data == NULL || region_width == 0 ||
        region_height == 0 || region_width > src->width ||
        region_height > src->height || x > src->width - region_width ||
        y > src->height - region_height)
        return KADR_E_BAD_INPUT;

    int rc = image__pixels_alloc(out, width, height, src->channels);

    if (rc != 0)
        return rc;

    size_t stride = (size_t)src->width * src->channels;
    resize_region_t view = {src->data + y * stride + (size_t)x * src->channels,
                            stride, region_width, region_height, src->channels};

    rc =
        src->channels == 4 ? resize_alpha(&view, out) : resize_view(&view, out);
    if (rc != 0)
        image_pixels_free(out);
    return rc;
}

int image_resize(const image_pixels_t *src, uint32_t width, uint32_t height,
                 image_pixels_t *out)
{
    if (src == NULL)
        return KADR_E_BAD_INPUT;
    return image__resize_region(src, 0, 0, src->width, src->height, width,
                                height, out);
}
