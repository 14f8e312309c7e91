/* Decoding encoded variants back to pixels in tests, with the reference
 * decoders of each codec (TurboJPEG, libwebp). */
#ifndef KADR_TESTS_IMAGE_BLOB_UTIL_H
#define KADR_TESTS_IMAGE_BLOB_UTIL_H

#include <turbojpeg.h>
#include <webp/decode.h>

#include "image_test_util.h"

/* Decodes an output blob with the reference decoders of each codec. */
static inline void decode_blob(const image_blob_t *blob, image_codec_t codec,
                               image_pixels_t *px)
{
    px->channels = 4;
    if (codec == IMAGE_CODEC_WEBP) {
        int width, height;

        px->data = WebPDecodeRGBA(blob->data, blob->len, &width, &height);
        assert_non_null(px->data);
        px->width = (uint32_t)width;
        px->height = (uint32_t)height;
        return;
    }

    tjhandle tj = tjInitDecompress();
    int width, height, subsamp, colorspace;

    assert_int_equal(tjDecompressHeader3(tj, blob->data, blob->len, &width,
                                         &height, &subsamp, &colorspace),
                     0);
    assert_int_equal(subsamp, TJSAMP_420);
    px->width = (uint32_t)width;
    px->height = (uint32_t)height;
    px->data = malloc((size_t)width * height * 4);
    assert_non_null(px->data);
    assert_int_equal(tjDecompress2(tj, blob->data, blob->len, px->data, width,
                                   0, height, TJPF_RGBA, 0),
                     0);
    tjDestroy(tj);
}

static inline void free_decoded(image_pixels_t *px)
{
    free(px->data);
    px->data = NULL;
}

#endif
