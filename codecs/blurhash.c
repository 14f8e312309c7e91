/* BlurHash placeholder strings, written from the format's published
 * description (github.com/woltapp/blurhash, "Algorithm"): a DCT of the
 * image in linear light, quantised and written in base 83. */
#include "image_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Side, in pixels, the input is reduced to before the transform: the
 * placeholder keeps at most 9 cosine components per axis, so a few dozen
 * pixels carry every frequency it can store. */
#define BLURHASH_WORK_SIDE 32
#define BLURHASH_MAX_COMPONENTS 9

/* Placeholder terms along the longer and the shorter side. */
#define PLACEHOLDER_LONG_TERMS 4
#define PLACEHOLDER_SHORT_TERMS 3

static const char base83_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "#$%*+,-.:;=?@[]^_{|}~";

/* Appends value as digits base-83 digits, most significant first. */
static char *put_base83(char *out, uint32_t value, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = base83_digits[value % 83];
        value /= 83;
    }
    return out + digits;
}

static double clamp(double value, double low, double high)
{
    if (value < low)
        return low;
    if (value > high)
        return high;
    return value;
}

static double srgb_to_linear(uint8_t value)
{
    double v = value / 255.0;

    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static uint32_t linear_to_srgb(double value)
{
    double v = clamp(value, 0.0, 1.0);

    if (v <= 0.0031308)
        return (uint32_t)(v * 12.92 * 255.0 + 0.5);
    return (uint32_t)((1.055 * pow(v, 1.0 / 2.4) - 0.055) * 255.0 + 0.5);
}

/* Linear RGB of every pixel, alpha composited onto white as the JPEG
 * variants show it. */
static double *linear_pixels(const image_pixels_t *px)
{
    size_t count = (size_t)px->width * px->height;
    double *lin = malloc(count * 3 * sizeof(*lin));
    double table[256];

    if (lin == NULL)
        return NULL;
    for (int v = 0; v < 256; v++)
        table[v] = srgb_to_linear((uint8_t)v);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = px->data + i * px->channels;
        double alpha = px->channels == 4 ? p[3] / 255.0 : 1.0;

        for (int c = 0; c < 3; c++)
            lin[i * 3 + c] = table[p[c]] * alpha + (1.0 - alpha);
    }
    return lin;
}

/* One basis function's weight per colour channel. */
static void component(const double *lin, uint32_t width, uint32_t height,
                      uint32_t cx, uint32_t cy, double out[3])
{
    double scale = (cx == 0 && cy == 0) ? 1.0 : 2.0;

    out[0] = out[1] = out[2] = 0.0;
    for (uint32_t y = 0; y < height; y++) {
        double basis_y = cos(M_PI * cy * y / height);

        for (uint32_t x = 0; x < width; x++) {
            double basis = cos(M_PI * cx * x / width) * basis_y;
            const double *p = lin + ((size_t)y * width + x) * 3;

            out[0] += basis * p[0];
            out[1] += basis * p[1];
            out[2] += basis * p[2];
        }
    }
    for (int c = 0; c < 3; c++)
        out[c] *= scale / ((double)width * height);
}

static uint32_t quantise_ac(double value, double max_value)
{
    double v = value / max_value;
    double root = copysign(sqrt(fabs(v)), v);
    double q = floor(root * 9.0 + 9.5);

    return (uint32_t)clamp(q, 0.0, 18.0);
}

static char *put_factors(char *out, double (*factors)[3], uint32_t count)
{
    double actual_max = 0.0;
    double max_value = 1.0;

    for (uint32_t i = 1; i < count; i++) {
        for (int c = 0; c < 3; c++)
            actual_max = fmax(actual_max, fabs(factors[i][c]));
    }
    if (count > 1) {
        double q = floor(actual_max * 166.0 - 0.5);
        uint32_t quantised = (uint32_t)clamp(q, 0.0, 82.0);

        max_value = (quantised + 1) / 166.0;
        out = put_base83(out, quantised, 1);
    } else {
        out = put_base83(out, 0, 1);
    }
    out = put_base83(out,
                     linear_to_srgb(factors[0][0]) << 16 |
                         linear_to_srgb(factors[0][1]) << 8 |
                         linear_to_srgb(factors[0][2]),
                     4);
    for (uint32_t i = 1; i < count; i++) {
        uint32_t r = quantise_ac(factors[i][0], max_value);
        uint32_t g = quantise_ac(factors[i][1], max_value);
        uint32_t b = quantise_ac(factors[i][2], max_value);

        out = put_base83(out, r * 19 * 19 + g * 19 + b, 2);
    }
    return out;
}

static int encode_linear(const double *lin, uint32_t width, uint32_t height,
                         uint32_t x_count, uint32_t y_count, char *out)
{
    double(*factors)[3] = calloc((size_t)x_count * y_count, sizeof(*factors));
    char *end;

    if (factors == NULL)
        return -ENOMEM;
    for (uint32_t cy = 0; cy < y_count; cy++) {
        for (uint32_t cx = 0; cx < x_count; cx++)
            component(lin, width, height, cx, cy, factors[cy * x_count + cx]);
    }
    end = put_base83(out, (x_count - 1) + (y_count - 1) * 9, 1);
    end = put_factors(end, factors, x_count * y_count);
    *end = '\0';
    free(factors);
    return 0;
}

/* Reduces large inputs first: the transform costs width * height per
 * component. */
static int work_pixels(const image_pixels_t *src, image_pixels_t *work,
                       bool *owned)
{
    uint32_t longest = src->width > src->height ? src->width : src->height;
    uint64_t w, h;

    *owned = false;
    if (longest <= BLURHASH_WORK_SIDE) {
        *work = *src;
        return 0;
    }
    w = (uint64_t)src->width * BLURHASH_WORK_SIDE / longest;
    h = (uint64_t)src->height * BLURHASH_WORK_SIDE / longest;
    *owned = true;
    return image_resize(src, w > 0 ? (uint32_t)w : 1, h > 0 ? (uint32_t)h : 1,
                        work);
}

int image_blurhash_encode(const image_pixels_t *src, uint32_t x_components,
                          uint32_t y_components,
                          char out[IMAGE_BLURHASH_MAX + 1])
{
    image_pixels_t work;
    bool owned;
    double *lin;
    int rc;

    out[0] = '\0';
    if (src == NULL || src->data == NULL || src->width == 0 ||
        src->height == 0 || (src->channels != 3 && src->channels != 4) ||
        x_components < 1 || x_components > BLURHASH_MAX_COMPONENTS ||
        y_components < 1 || y_components > BLURHASH_MAX_COMPONENTS)
        return KADR_E_BAD_INPUT;
    rc = work_pixels(src, &work, &owned);
    if (rc != 0)
        return rc;
    lin = linear_pixels(&work);
    rc = lin == NULL ? -ENOMEM
                     : encode_linear(lin, work.width, work.height, x_components,
                                     y_components, out);
    free(lin);
    if (owned)
        image_pixels_free(&work);
    return rc;
}

int image_placeholder_encode(const image_pixels_t *src,
                             char out[IMAGE_BLURHASH_MAX + 1])
{
    if (src != NULL && src->width < src->height)
        return image_blurhash_encode(src, PLACEHOLDER_SHORT_TERMS,
                                     PLACEHOLDER_LONG_TERMS, out);
    return image_blurhash_encode(src, PLACEHOLDER_LONG_TERMS,
                                 PLACEHOLDER_SHORT_TERMS, out);
}
