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

/* Whether the codec can write an image of src's size. image_preset_dims()
 * keeps every variant within it, so a caller passing more has a bug. */
static bool fits_codec(const image_pixels_t *src, image_codec_t codec)
{
    uint32_t max_side = image_codec_max_side(codec);

    return src->width <= max_side && src->height <= max_side;
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
    if (!pixels_valid(src) || quality < 1 || quality > 100 ||
        !fits_codec(src, IMAGE_CODEC_JPEG))
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

/* WebP effort (libwebp's "method", 0..6). Measured on a 1080x810 photo
 * at quality 80 with libwebp 1.2.4 on one core (bench/RESULTS.md): method
 * 2 takes 27 ms and 69.6 KB, the library default 4 takes 82 ms and
 * 65.7 KB. A third of the time for 6 % more bytes. */
#define WEBP_METHOD 2

static int webp_import(const image_pixels_t *src, WebPPicture *picture)
{
    int stride = (int)(src->width * src->channels);

    picture->width = (int)src->width;
    picture->height = (int)src->height;
    if (src->channels == 4)
        return WebPPictureImportRGBA(picture, src->data, stride);
    return WebPPictureImportRGB(picture, src->data, stride);
}

static int webp_compress(const image_pixels_t *src, int quality,
                         WebPMemoryWriter *writer)
{
    WebPConfig config;
    WebPPicture picture;
    int ok;

    if (!WebPConfigInit(&config) || !WebPPictureInit(&picture))
        return KADR_E_CODEC;
    config.quality = (float)quality;
    config.method = WEBP_METHOD;
    if (!WebPValidateConfig(&config))
        return KADR_E_CODEC;
    if (!webp_import(src, &picture)) {
        WebPPictureFree(&picture);
        return -ENOMEM;
    }
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = writer;
    ok = WebPEncode(&config, &picture);
    WebPPictureFree(&picture);
    return ok ? 0 : KADR_E_CODEC;
}

int image_encode_webp(const image_pixels_t *src, int quality, image_blob_t *out)
{
    WebPMemoryWriter writer;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!pixels_valid(src) || quality < 1 || quality > 100 ||
        !fits_codec(src, IMAGE_CODEC_WEBP))
        return KADR_E_BAD_INPUT;
    WebPMemoryWriterInit(&writer);
    rc = webp_compress(src, quality, &writer);
    if (rc != 0) {
        WebPMemoryWriterClear(&writer);
        return rc;
    }
    /* The writer's buffer comes from WebPMalloc, and image_blob_free()
     * calls free(): on Debian 12's libwebp both are the C library's. */
    out->data = writer.mem;
    out->len = writer.size;
    out->width = src->width;
    out->height = src->height;
    return 0;
}
