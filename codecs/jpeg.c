/* JPEG probe and decode from memory through the TurboJPEG API, with DCT
 * scaling. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* The probe walks the markers up to the first SOS segment. APPn segments
 * (EXIF, ICC, extended XMP with depth maps) can put megabytes before it,
 * and a JPEG whose first SOS segment ends past this many bytes is
 * rejected as too large. */
#define JPEG_HEAD_MAX_BYTES ((size_t)16 << 20)

/* Reads width, height and colourspace with tjDecompressHeader3. */
static int read_header(const uint8_t *buf, size_t len, int *width, int *height,
                       int *colorspace)
{
    tjhandle tj = tjInitDecompress();
    int subsamp;

    if (tj == NULL)
        return -ENOMEM;

    int rc = tjDecompressHeader3(tj, buf, (unsigned long)len, width, height,
                                 &subsamp, colorspace);

    tjDestroy(tj);
    if (rc != 0 || *width <= 0 || *height <= 0)
        return KADR_E_CORRUPT;
    return 0;
}

static int probe_markers(const uint8_t *buf, const jpeg_markers_t *markers,
                         image_info_t *out)
{
    int width, height, colorspace;
    int rc =
        read_header(buf, markers->header_len, &width, &height, &colorspace);

    if (rc != 0)
        return rc;
    out->format = KADR_FORMAT_JPEG;
    out->width = (uint32_t)width;
    out->height = (uint32_t)height;
    out->orientation =
        image__exif_orientation(markers->exif, markers->exif_len);
    out->has_alpha = false;
    return 0;
}

int image__jpeg_probe(const uint8_t *data, size_t len, image_info_t *out)
{
    jpeg_markers_t markers;
    size_t head_len = len < JPEG_HEAD_MAX_BYTES ? len : JPEG_HEAD_MAX_BYTES;
    int rc = image__jpeg_walk_markers(data, head_len, &markers);

    if (rc == -EAGAIN)
        return len < JPEG_HEAD_MAX_BYTES ? KADR_E_CORRUPT : KADR_E_TOO_LARGE;
    if (rc != 0)
        return rc;
    return probe_markers(data, &markers, out);
}

/* Picks the smallest DCT scaling factor whose upright output is still at
 * least min_width wide. TurboJPEG never scales below 1/8.
 * NOTE: TurboJPEG rounds scaled sizes up, so the aspect ratio can drift by
 * under a pixel (600x450 at 5/8 is 375x282, not 375x281.25). */
static tjscalingfactor pick_scaling(uint32_t upright_width, uint32_t min_width)
{
    tjscalingfactor best = {1, 1};
    int count = 0;
    tjscalingfactor *factors = tjGetScalingFactors(&count);
    int width = (int)upright_width;

    if (factors == NULL || min_width == 0 || min_width >= upright_width)
        return best;
    for (int i = 0; i < count; i++) {
        tjscalingfactor f = factors[i];

        if (f.num > f.denom || TJSCALED(width, f) < (int)min_width)
            continue;
        if (TJSCALED(width, f) < TJSCALED(width, best))
            best = f;
    }
    return best;
}

/* Returns whether a TurboJPEG warning means the data ran out before the
 * last row: libjpeg's "Premature end of JPEG file" (JWRN_JPEG_EOF) and
 * "Corrupt JPEG data: premature end of data segment" (JWRN_HIT_MARKER),
 * whose texts have not changed since libjpeg 6b. */
static bool warning_is_short_data(tjhandle tj)
{
    const char *msg = tjGetErrorStr2(tj);

    return msg != NULL && strstr(msg, "remature end") != NULL;
}

/* A decode that only raised warnings (extraneous bytes, a bad marker in
 * the data) still wrote every row, and kadr accepts it as browsers show
 * it. A decode whose data ran out (a file cut off, scans cut short, or a
 * header that claims more rows than the data holds) is rejected, because
 * every row past that point would come out flat grey. TJFLAG_LIMITSCANS
 * rejects a progressive JPEG with more than 500 scans, which could
 * otherwise hold a worker for minutes. Fatal errors are KADR_E_CORRUPT. */
static int decompress(const uint8_t *buf, size_t len, uint8_t *dst, int width,
                      int height, int pixel_format)
{
    tjhandle tj = tjInitDecompress();

    if (tj == NULL)
        return -ENOMEM;

    int rc = tjDecompress2(tj, buf, (unsigned long)len, dst, width, 0, height,
                           pixel_format, TJFLAG_LIMITSCANS);

    if (rc != 0 && tjGetErrorCode(tj) == TJERR_WARNING &&
        !warning_is_short_data(tj))
        rc = 0;
    tjDestroy(tj);
    return rc == 0 ? 0 : KADR_E_CORRUPT;
}

typedef struct jpeg_source {
    const uint8_t *buf;
    size_t len;
    int colorspace;
    bool adobe;
    uint8_t *icc;
    size_t icc_len;
} jpeg_source_t;

static int decode_cmyk(const jpeg_source_t *src, image_pixels_t *out)
{
    size_t count = (size_t)out->width * out->height;
    uint8_t *cmyk = malloc(count * 4);

    if (cmyk == NULL)
        return -ENOMEM;

    int rc = decompress(src->buf, src->len, cmyk, (int)out->width,
                        (int)out->height, TJPF_CMYK);

    if (rc == 0)
        rc = image__cmyk_to_rgb(cmyk, src->adobe, src->icc, src->icc_len, out);
    free(cmyk);
    return rc;
}

static int decode_pixels(const jpeg_source_t *src, const image_info_t *info,
                         uint32_t min_width, image_pixels_t *out)
{
    bool swapped = info->orientation >= 5;
    uint32_t upright_width = swapped ? info->height : info->width;
    tjscalingfactor f = pick_scaling(upright_width, min_width);
    int rc = image__pixels_alloc(out, (uint32_t)TJSCALED((int)info->width, f),
                                 (uint32_t)TJSCALED((int)info->height, f), 3);

    if (rc != 0)
        return rc;
    if (src->colorspace == TJCS_CMYK || src->colorspace == TJCS_YCCK)
        return decode_cmyk(src, out);
    rc = decompress(src->buf, src->len, out->data, (int)out->width,
                    (int)out->height, TJPF_RGB);
    if (rc != 0)
        return rc;
    return image__icc_to_srgb(out, src->icc, src->icc_len);
}

static int decode_buffer(jpeg_source_t *src, const image_info_t *info,
                         uint32_t min_width, image_pixels_t *out)
{
    jpeg_markers_t markers;
    int width, height;
    int rc = image__jpeg_walk_markers(src->buf, src->len, &markers);

    if (rc != 0)
        return rc == -EAGAIN ? KADR_E_CORRUPT : rc;
    if (!image__jpeg_has_end(src->buf, src->len, markers.header_len))
        return KADR_E_CORRUPT;
    rc = read_header(src->buf, src->len, &width, &height, &src->colorspace);
    if (rc != 0)
        return rc;
    rc = image__check_decode(info, (uint32_t)width, (uint32_t)height);
    if (rc != 0)
        return rc;
    src->adobe = markers.adobe;
    rc = image__jpeg_join_icc(&markers, &src->icc, &src->icc_len);
    if (rc != 0)
        return rc;
    rc = decode_pixels(src, info, min_width, out);
    if (rc != 0)
        return rc;
    return image__orient(out, info->orientation);
}

int image__jpeg_decode(const uint8_t *data, size_t len,
                       const image_info_t *info, uint32_t min_width,
                       image_pixels_t *out)
{
    jpeg_source_t src;

    memset(&src, 0, sizeof(src));
    src.buf = data;
    src.len = len;

    int rc = decode_buffer(&src, info, min_width, out);

    free(src.icc);
    return rc;
}
