/* JPEG and WebP encoders. Both write pixel data only: no EXIF, XMP, ICC
 * or comment segments. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/encode.h>

static bool pixels_valid(const image_pixels_t *src)
{
    return src != NULL && src->data != NULL && src->width > 0 &&
           src->height > 0 && (src->channels == 3 || src->channels == 4) &&
           (uint64_t)src->width * src->height <= IMAGE_MAX_DECODE_PIXELS;
}

/* Composites RGBA onto white into a new RGB buffer. */
static uint8_t *flatten_on_white(const image_pixels_t *src)
{
    size_t count = (size_t)src->width * src->height;
    uint8_t *rgb = malloc(count * 3);

    if (rgb == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *px = src->data + i * 4;
        unsigned alpha = px[3];

        for (int c = 0; c < 3; c++)
            rgb[i * 3 + c] =
                (uint8_t)((px[c] * alpha + 255 * (255 - alpha) + 127) / 255);
    }
    return rgb;
}

static int compress_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                        int quality, image_blob_t *out)
{
    unsigned long size = tjBufSize((int)width, (int)height, TJSAMP_420);

    if (size == (unsigned long)-1)
        return KADR_E_TOO_LARGE;

    uint8_t *buf = malloc(size);
    tjhandle tj = tjInitCompress();

    if (buf == NULL || tj == NULL) {
        free(buf);
        if (tj != NULL)
            tjDestroy(tj);
        return -ENOMEM;
    }

    /* TJFLAG_NOREALLOC: buf, sized by tjBufSize, is the output. */
    int rc = tjCompress2(tj, rgb, (int)width, 0, (int)height, TJPF_RGB, &buf,
                         &size, TJSAMP_420, quality, TJFLAG_NOREALLOC);

    tjDestroy(tj);
    if (rc != 0) {
        free(buf);
        return KADR_E_CODEC;
    }
    out->data = buf;
    out->len = size;
    return 0;
}

int image_encode_jpeg(const image_pixels_t *src, int quality, image_blob_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!pixels_valid(src) || quality < 1 || quality > 100)
        return KADR_E_BAD_INPUT;

    uint8_t *flat = NULL;

    if (src->channels == 4) {
        flat = flatten_on_white(src);
        if (flat == NULL)
            return -ENOMEM;
    }

    int rc = compress_rgb(flat != NULL ? flat : src->data, src->width,
                          src->height, quality, out);

    free(flat);
    if (rc == 0) {
        out->width = src->width;
        out->height = src->height;
    }
    return rc;
}

int image_encode_webp(const image_pixels_t *src, int quality, image_blob_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!pixels_valid(src) || quality < 1 || quality > 100 ||
        src->width > WEBP_MAX_DIMENSION || src->height > WEBP_MAX_DIMENSION)
        return KADR_E_BAD_INPUT;

    uint8_t *webp = NULL;
    int stride = (int)(src->width * src->channels);
    size_t len =
        src->channels == 4
            ? WebPEncodeRGBA(src->data, (int)src->width, (int)src->height,
                             stride, (float)quality, &webp)
            : WebPEncodeRGB(src->data, (int)src->width, (int)src->height,
                            stride, (float)quality, &webp);

    if (len == 0) {
        WebPFree(webp);
        return KADR_E_CODEC;
    }
    out->data = malloc(len);
    if (out->data != NULL)
        memcpy(out->data, webp, len);
    WebPFree(webp);
    if (out->data == NULL)
        return -ENOMEM;
    out->len = len;
    out->width = src->width;
    out->height = src->height;
    return 0;
}
