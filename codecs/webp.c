/* WebP probe and decode from memory through libwebp. An animation decodes to
 * its first frame. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

/* WebPGetFeatures needs the RIFF header and the first chunk header (VP8,
 * VP8L or VP8X), all within the first few dozen bytes: the probe passes
 * it no more than this. */
#define WEBP_HEAD_BYTES 4096

/* Calls use() with the payload of the first chunk named fourcc, and
 * returns its result. Returns 0 without calling it when the file has no
 * such chunk or cannot be demuxed (a truncated file). */
static int with_chunk(const uint8_t *data, size_t len, const char *fourcc,
                      int (*use)(const uint8_t *, size_t, void *), void *ctx)
{
    WebPData webp = {data, len};
    WebPChunkIterator chunk;
    WebPDemuxer *demux = WebPDemux(&webp);
    int rc = 0;

    if (demux == NULL)
        return 0;
    if (WebPDemuxGetChunk(demux, fourcc, 1, &chunk)) {
        rc = use(chunk.chunk.bytes, chunk.chunk.size, ctx);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPDemuxDelete(demux);
    return rc;
}

static int use_exif(const uint8_t *block, size_t len, void *ctx)
{
    uint32_t *orientation = ctx;

    *orientation = image__exif_block_orientation(block, len);
    return 0;
}

/* Reads the orientation of the EXIF chunk. The chunk usually follows the
 * image data, so this needs the whole file: a truncated one reads as 1. */
static uint32_t read_orientation(const uint8_t *data, size_t len)
{
    uint32_t orientation = 1;

    (void)with_chunk(data, len, "EXIF", use_exif, &orientation);
    return orientation;
}

static int features_to_info(const WebPBitstreamFeatures *features,
                            image_info_t *out)
{
    if (features->width <= 0 || features->height <= 0)
        return KADR_E_CORRUPT;
    out->format = KADR_FORMAT_WEBP;
    out->width = (uint32_t)features->width;
    out->height = (uint32_t)features->height;
    out->has_alpha = features->has_alpha != 0;
    out->orientation = 1;
    return 0;
}

int image__webp_probe(const uint8_t *data, size_t len, image_info_t *out)
{
    WebPBitstreamFeatures features;
    size_t head_len = len < WEBP_HEAD_BYTES ? len : WEBP_HEAD_BYTES;

    if (WebPGetFeatures(data, head_len, &features) != VP8_STATUS_OK)
        return KADR_E_CORRUPT;

    int rc = features_to_info(&features, out);

    if (rc == 0)
        out->orientation = read_orientation(data, len);
    return rc;
}

static int decode_still(const uint8_t *data, size_t len, bool alpha,
                        image_pixels_t *out)
{
    uint32_t width = out->width;
    int rc = image__pixels_alloc(out, width, out->height, alpha ? 4 : 3);

    if (rc != 0)
        return rc;

    size_t size = (size_t)out->width * out->height * out->channels;
    int stride = (int)(out->width * out->channels);
    uint8_t *done = alpha
                        ? WebPDecodeRGBAInto(data, len, out->data, size, stride)
                        : WebPDecodeRGBInto(data, len, out->data, size, stride);

    return done != NULL ? 0 : KADR_E_CORRUPT;
}

static int copy_first_frame(WebPAnimDecoder *decoder, image_pixels_t *out)
{
    WebPAnimInfo anim;
    uint8_t *frame;
    int timestamp;

    if (!WebPAnimDecoderGetInfo(decoder, &anim) ||
        anim.canvas_width != out->width || anim.canvas_height != out->height)
        return KADR_E_CORRUPT;

    int rc = image__pixels_alloc(out, anim.canvas_width, anim.canvas_height, 4);

    if (rc != 0)
        return rc;
    if (!WebPAnimDecoderGetNext(decoder, &frame, &timestamp))
        return KADR_E_CORRUPT;
    memcpy(out->data, frame, (size_t)out->width * out->height * 4);
    return 0;
}

static int decode_animation(const uint8_t *data, size_t len,
                            image_pixels_t *out)
{
    WebPData webp = {data, len};
    WebPAnimDecoderOptions options;

    if (!WebPAnimDecoderOptionsInit(&options))
        return KADR_E_CODEC;
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;

    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, &options);

    if (decoder == NULL)
        return KADR_E_CORRUPT;

    int rc = copy_first_frame(decoder, out);

    WebPAnimDecoderDelete(decoder);
    return rc;
}

static int use_icc(const uint8_t *icc, size_t len, void *ctx)
{
    return image__icc_to_srgb(ctx, icc, len);
}

/* Converts from the ICCP chunk's profile, if the file has one. */
static int convert_icc(const uint8_t *data, size_t len, image_pixels_t *out)
{
    return with_chunk(data, len, "ICCP", use_icc, out);
}

int image__webp_decode(const uint8_t *data, size_t len,
                       const image_info_t *info, image_pixels_t *out)
{
    WebPBitstreamFeatures features;

    if (WebPGetFeatures(data, len, &features) != VP8_STATUS_OK)
        return KADR_E_CORRUPT;

    int rc = image__check_decode(info, (uint32_t)features.width,
                                 (uint32_t)features.height);

    if (rc != 0)
        return rc;
    out->width = info->width;
    out->height = info->height;
    if (features.has_animation)
        rc = decode_animation(data, len, out);
    else
        rc = decode_still(data, len, features.has_alpha != 0, out);
    if (rc != 0)
        return rc;
    rc = convert_icc(data, len, out);
    if (rc != 0)
        return rc;
    return image__orient(out, info->orientation);
}
