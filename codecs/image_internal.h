/* Helpers shared by the image files of codecs/, not part of the API. */
#ifndef KADR_CODECS_IMAGE_INTERNAL_H
#define KADR_CODECS_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Largest decode in pixels whatever the caller's limits allow, so that
 * width * height * 4 always fits a size_t and a uint32_t pixel count. */
#define IMAGE_MAX_DECODE_PIXELS ((uint64_t)1 << 28)

/* image.c: pixel buffers. */

KADR_MUST_CHECK int image__pixels_alloc(image_pixels_t *pixels, uint32_t width,
                                        uint32_t height, uint32_t channels);
KADR_MUST_CHECK int image__check_decode(const image_info_t *info,
                                        uint32_t width, uint32_t height);

/* One probe and one decoder per format, each reading the encoded image
 * from data (len bytes, 1 to IMAGE_MAX_FILE_BYTES). They never write to
 * data and never read past len. A decoder gets the info its probe
 * returned and the limits already checked against it. */
KADR_MUST_CHECK int image__jpeg_probe(const uint8_t *data, size_t len,
                                      image_info_t *out);
KADR_MUST_CHECK int image__jpeg_decode(const uint8_t *data, size_t len,
                                       const image_info_t *info,
                                       uint32_t min_width, image_pixels_t *out);
KADR_MUST_CHECK int image__png_probe(const uint8_t *data, size_t len,
                                     image_info_t *out);
KADR_MUST_CHECK int image__png_decode(const uint8_t *data, size_t len,
                                      const image_info_t *info,
                                      image_pixels_t *out);
KADR_MUST_CHECK int image__webp_probe(const uint8_t *data, size_t len,
                                      image_info_t *out);
KADR_MUST_CHECK int image__webp_decode(const uint8_t *data, size_t len,
                                       const image_info_t *info,
                                       image_pixels_t *out);
KADR_MUST_CHECK int image__gif_probe(const uint8_t *data, size_t len,
                                     image_info_t *out);
KADR_MUST_CHECK int image__gif_decode(const uint8_t *data, size_t len,
                                      const image_info_t *info,
                                      image_pixels_t *out);
KADR_MUST_CHECK int image__heif_probe(const uint8_t *data, size_t len,
                                      kadr_format_t format, image_info_t *out);
KADR_MUST_CHECK int image__heif_decode(const uint8_t *data, size_t len,
                                       const image_info_t *info,
                                       image_pixels_t *out);

/* jpeg_markers.c: what kadr needs from the marker segments before the
 * first SOS. Pointers point into the walked buffer. */
#define JPEG_MAX_ICC_CHUNKS 255

typedef struct jpeg_markers {
    size_t header_len;   /* bytes up to the end of the first SOS segment */
    const uint8_t *exif; /* first APP1 payload starting with "Exif\0\0" */
    size_t exif_len;
    bool adobe;         /* an APP14 "Adobe" segment: CMYK is stored inverted */
    uint32_t icc_count; /* chunk count the APP2 ICC segments declare */
    const uint8_t *icc_chunks[JPEG_MAX_ICC_CHUNKS];
    size_t icc_chunk_lens[JPEG_MAX_ICC_CHUNKS];
} jpeg_markers_t;

/* Walks the markers of a JPEG in buf. Returns 0 once the first SOS
 * segment is inside buf, -EAGAIN if buf ends before it, KADR_E_CORRUPT if
 * the marker structure is invalid. */
KADR_MUST_CHECK int image__jpeg_walk_markers(const uint8_t *buf, size_t len,
                                             jpeg_markers_t *out);

/* Returns whether an EOI marker follows the first scan, which starts at
 * scan_start: a JPEG without one was cut off. */
bool image__jpeg_has_end(const uint8_t *buf, size_t len, size_t scan_start);

/* Joins the APP2 ICC chunks into one malloc'd profile. Sets *icc to NULL
 * when there is no profile or a chunk is missing. */
KADR_MUST_CHECK int image__jpeg_join_icc(const jpeg_markers_t *markers,
                                         uint8_t **icc, size_t *icc_len);

/* exif.c: the EXIF orientation (1..8, 1 when absent or invalid) from an
 * APP1 payload that starts with "Exif\0\0". */
uint32_t image__exif_orientation(const uint8_t *exif, size_t len);

/* exif.c: the EXIF orientation (1..8, 1 when absent or invalid) from the
 * EXIF block of a PNG eXIf or WebP EXIF chunk: a TIFF header and its
 * entries, with or without the "Exif\0\0" header before them. */
uint32_t image__exif_block_orientation(const uint8_t *block, size_t len);

/* orient.c: turns pixels upright for an EXIF orientation, replacing
 * *pixels on success. */
KADR_MUST_CHECK int image__orient(image_pixels_t *pixels, uint32_t orientation);

/* icc.c: converts RGB or RGBA pixels in place from an embedded ICC
 * profile to sRGB. A profile that lcms2 cannot parse, that is not RGB, or
 * that already describes sRGB leaves the pixels as they are. */
KADR_MUST_CHECK int image__icc_to_srgb(image_pixels_t *pixels,
                                       const uint8_t *icc, size_t icc_len);

/* icc.c: converts RGB pixels in place from the given CIE xy primaries
 * (red, green, blue, white) with the sRGB transfer curve to sRGB. */
KADR_MUST_CHECK int image__primaries_to_srgb(image_pixels_t *pixels,
                                             const double xy[8]);

/* cmyk.c: converts 4-byte CMYK pixels to RGB in out (already allocated,
 * 3 channels). inverted is true for Adobe CMYK, where 255 means no ink.
 * A CMYK ICC profile, when given, is used instead of the plain formula. */
KADR_MUST_CHECK int image__cmyk_to_rgb(const uint8_t *cmyk, bool inverted,
                                       const uint8_t *icc, size_t icc_len,
                                       image_pixels_t *out);

/* resize.c: resizes the region (x, y, width, height) of src. */
KADR_MUST_CHECK int image__resize_region(const image_pixels_t *src, uint32_t x,
                                         uint32_t y, uint32_t region_width,
                                         uint32_t region_height, uint32_t width,
                                         uint32_t height, image_pixels_t *out);

/* render.c: the fitted (and for previews blurred) pixels of one preset.
 * When the preset needs src exactly as it is, *out is a shallow copy of
 * src and *borrowed is set: the caller must not free it. Otherwise *out
 * owns its pixels and carries src's full size. */
KADR_MUST_CHECK int image__render_pixels(const image_pixels_t *src,
                                         const image_preset_t *preset,
                                         image_pixels_t *out, bool *borrowed);

/* render.c: encodes pixels with the preset's codec and quality. */
KADR_MUST_CHECK int image__encode_preset(const image_pixels_t *pixels,
                                         const image_preset_t *preset,
                                         image_blob_t *out);

/* blur.c: box-blurs pixels in place, passes times in each direction. */
KADR_MUST_CHECK int image__blur_box(image_pixels_t *pixels, uint32_t radius,
                                    unsigned passes);

#endif
