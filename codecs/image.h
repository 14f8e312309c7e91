/* Still images: header probe, upright sRGB decode, resize and encode.
 *
 * Nothing here knows about HTTP or storage, and nothing here logs: every
 * function returns 0 or a negative code from <kadr/error.h>. */
#ifndef KADR_CODECS_IMAGE_H
#define KADR_CODECS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>

#include "format.h"

/* Decoded pixels, upright, sRGB, 8 bits per channel, rows packed with no
 * padding (stride = width * channels). channels is 3 (RGB) or 4 (RGBA,
 * not premultiplied). data is owned and freed by image_pixels_free().
 * full_width and full_height are the upright size of the original before
 * any shrink-on-load (0: the same as width and height); variant sizes
 * follow from them, so they do not depend on the scale a decoder chose. */
typedef struct image_pixels {
    uint8_t *data;
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint32_t full_width;
    uint32_t full_height;
} image_pixels_t;

/* An encoded image in memory, owned, freed by image_blob_free(). */
typedef struct image_blob {
    uint8_t *data;
    size_t len;
    uint32_t width;
    uint32_t height;
} image_blob_t;

/* Limits checked from the header and the file size, before any pixel is
 * decoded, except max_decode_ms, which bounds the decode itself. Zero
 * means no limit for that field. */
typedef struct image_limits {
    uint64_t max_pixels;
    uint32_t max_width;
    uint32_t max_height;
    uint64_t max_file_bytes;
    uint64_t max_decode_ms;
} image_limits_t;

/* What the header says, before decoding. width and height are as stored;
 * orientation is the EXIF value 1..8 (1 when absent or invalid). */
typedef struct image_info {
    kadr_format_t format;
    uint32_t width;
    uint32_t height;
    uint32_t orientation;
    bool has_alpha;
    uint64_t file_bytes; /* size of the file or buffer probed */
} image_info_t;

typedef enum image_fit {
    IMAGE_FIT_WIDTH = 1,  /* scale to size pixels wide, keep aspect */
    IMAGE_FIT_SQUARE = 2, /* centre crop to a size x size square */
    IMAGE_FIT_PREVIEW = 3 /* size pixels wide, heavily blurred */
} image_fit_t;

typedef enum image_codec {
    IMAGE_CODEC_JPEG = 1,
    IMAGE_CODEC_WEBP = 2,
} image_codec_t;

/* One output variant: "w1080.jpg" is {"w1080.jpg", IMAGE_FIT_WIDTH, 1080,
 * IMAGE_CODEC_JPEG, 82}. No variant is ever larger than its source. */
typedef struct image_preset {
    const char *name;
    image_fit_t fit;
    uint32_t size;
    image_codec_t codec;
    int quality;
} image_preset_t;

/* Largest encoded image probed or decoded, in bytes (256 MiB). */
#define IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)

/* Reads the header of an image of the given format from the len bytes at
 * data. The bytes stay the caller's and must not change during the call,
 * which only reads them and never past len, so a read-only mapping of
 * part of a file serves. Sets out->file_bytes to len. Fails with
 * KADR_E_CORRUPT if len is 0 or the header cannot be parsed,
 * KADR_E_TOO_LARGE if len is over IMAGE_MAX_FILE_BYTES, and KADR_E_UNSUPPORTED
 * if the format is not an image kadr serves. */
KADR_MUST_CHECK int image_probe_mem(const uint8_t *data, size_t len,
                                    kadr_format_t format, image_info_t *out);

/* Maps an image file read-only and probes it with image_probe_mem().
 * Fails with -errno if the file cannot be opened or mapped, and with
 * KADR_E_TOO_LARGE, before mapping, if it is over 256 MiB. */
KADR_MUST_CHECK int image_probe_file(const char *path, kadr_format_t format,
                                     image_info_t *out);

/* Checks an image's header and file size against limits:
 * KADR_E_TOO_LARGE if over. max_width and max_height bound the upright
 * size, after the EXIF orientation. */
KADR_MUST_CHECK int image_check_limits(const image_info_t *info,
                                       const image_limits_t *limits);

/* Decodes an image of len bytes at data to upright sRGB pixels: EXIF
 * orientation applied, ICC profile converted, CMYK and 16-bit input
 * reduced, GIF first frame. The bytes are borrowed as for
 * image_probe_mem(), which this calls first. min_width is the widest
 * output the caller will derive, so a decoder may shrink on load but
 * never below min_width (0: full size). It bounds the upright width
 * only: for a square crop of side s from a landscape image, pass at
 * least s * width / height. limits is checked from the header first. A
 * decode that takes longer than limits->max_decode_ms fails with
 * KADR_E_TIMEOUT. On success *out owns its pixels. */
KADR_MUST_CHECK int image_decode_mem(const uint8_t *data, size_t len,
                                     kadr_format_t format,
                                     const image_limits_t *limits,
                                     uint32_t min_width, image_pixels_t *out);

/* Maps an image file read-only and decodes it with image_decode_mem().
 * Fails as image_probe_file() does if the file cannot be mapped. */
KADR_MUST_CHECK int image_decode_file(const char *path, kadr_format_t format,
                                      const image_limits_t *limits,
                                      uint32_t min_width, image_pixels_t *out);

/* Resizes with an antialiased filter to exactly width x height. */
KADR_MUST_CHECK int image_resize(const image_pixels_t *src, uint32_t width,
                                 uint32_t height, image_pixels_t *out);

/* Returns the largest width and height, in pixels, that the codec's
 * encoder writes: 16383 for WebP (WEBP_MAX_DIMENSION), 65500 for JPEG
 * (libjpeg-turbo's JPEG_MAX_DIMENSION). */
uint32_t image_codec_max_side(image_codec_t codec);

/* Writes the size a preset makes from an upright original of width x
 * height: never larger than the original, aspect ratio kept, each side
 * at least 1 and at most image_codec_max_side() of the preset's codec
 * (a width-fit variant too tall for its codec is scaled down to the
 * codec's maximum height). Writes 0 x 0 for an empty original. */
void image_preset_dims(const image_preset_t *preset, uint32_t width,
                       uint32_t height, uint32_t *out_width,
                       uint32_t *out_height);

/* Returns the narrowest upright width a decoder may shrink an original of
 * width x height to and still make every preset in the list without
 * upscaling. */
uint32_t image_presets_min_width(const image_preset_t *presets, size_t count,
                                 uint32_t width, uint32_t height);

/* Makes one variant from upright pixels: fit, resize, encode. The output
 * carries no metadata (no EXIF, XMP, ICC or comments). */
KADR_MUST_CHECK int image_render_preset(const image_pixels_t *src,
                                        const image_preset_t *preset,
                                        image_blob_t *out);

/* Where image_render_presets takes each preset's pixels from. */
typedef enum image_derive {
    /* From the smallest width-fit output already made that is still large
     * enough (w640 from w1080, s150 from w320), else from the decode. */
    IMAGE_DERIVE_CHAIN = 0,
    /* Every output from the decoded pixels. */
    IMAGE_DERIVE_DIRECT = 1,
} image_derive_t;

/* Longest BlurHash string: 1 + 1 + 4 + 2 * (9 * 9 - 1) characters. */
#define IMAGE_BLURHASH_MAX 166

/* Makes presets[i] into out[i] for each i where skip is NULL or skip[i]
 * is false (skipped entries of out are zeroed), from one decode. Presets
 * are made largest first, so IMAGE_DERIVE_CHAIN can resize each from a
 * smaller source. When placeholder is not NULL it receives the BlurHash
 * from image_placeholder_encode() of the smallest width-fit output made
 * (or of src when there is none). On failure
 * every out[i] is freed. */
KADR_MUST_CHECK int image_render_presets(const image_pixels_t *src,
                                         const image_preset_t *presets,
                                         size_t count, const bool *skip,
                                         image_derive_t derive,
                                         image_blob_t *out, char *placeholder);

/* Writes the BlurHash of pixels (alpha composited onto white) with
 * x_components by y_components cosine terms, each 1..9, into out as a
 * NUL-terminated string of 6 + 2 * (x * y - 1) characters. */
KADR_MUST_CHECK int image_blurhash_encode(const image_pixels_t *src,
                                          uint32_t x_components,
                                          uint32_t y_components,
                                          char out[IMAGE_BLURHASH_MAX + 1]);

/* Writes kadr's placeholder for pixels: a BlurHash with 4 terms along
 * the longer side and 3 along the shorter (28 characters). */
KADR_MUST_CHECK int image_placeholder_encode(const image_pixels_t *src,
                                             char out[IMAGE_BLURHASH_MAX + 1]);

/* Encodes pixels; alpha is flattened onto white for JPEG, kept for WebP. */
KADR_MUST_CHECK int image_encode_jpeg(const image_pixels_t *src, int quality,
                                      image_blob_t *out);
KADR_MUST_CHECK int image_encode_webp(const image_pixels_t *src, int quality,
                                      image_blob_t *out);

void image_pixels_free(image_pixels_t *pixels);
void image_blob_free(image_blob_t *blob);

#endif
