/* HEIC and AVIF probe and decode from memory through libheif: the primary
 * image, with libheif's own rotation and mirroring (irot, imir) applied. */
#include "image_internal.h"

#include <errno.h>
#include <libheif/heif.h>
#include <stdlib.h>
#include <string.h>

typedef struct heif_file {
    struct heif_context *context;
    struct heif_image_handle *handle;
} heif_file_t;

static int map_error(struct heif_error error)
{
    switch (error.code) {
    case heif_error_Ok:
        return 0;
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature:
        return KADR_E_UNSUPPORTED;
    case heif_error_Memory_allocation_error:
        /* libheif reports its own limits (image size, box count) here. */
        if (error.subcode == heif_suberror_Security_limit_exceeded)
            return KADR_E_TOO_LARGE;
        return -ENOMEM;
    default:
        return KADR_E_CORRUPT;
    }
}

/* libheif reads the box structure here and the image data on decode,
 * both from data in place: the context must be freed before data is. */
static int open_primary(const uint8_t *data, size_t len, heif_file_t *file)
{
    memset(file, 0, sizeof(*file));
    file->context = heif_context_alloc();
    if (file->context == NULL)
        return -ENOMEM;

    int rc = map_error(heif_context_read_from_memory_without_copy(
        file->context, data, len, NULL));

    if (rc != 0)
        return rc;
    return map_error(
        heif_context_get_primary_image_handle(file->context, &file->handle));
}

static void close_primary(heif_file_t *file)
{
    if (file->handle != NULL)
        heif_image_handle_release(file->handle);
    if (file->context != NULL)
        heif_context_free(file->context);
}

static int fill_info(const heif_file_t *file, kadr_format_t format,
                     image_info_t *out)
{
    int width = heif_image_handle_get_width(file->handle);
    int height = heif_image_handle_get_height(file->handle);

    if (width <= 0 || height <= 0)
        return KADR_E_CORRUPT;
    out->format = format;
    out->width = (uint32_t)width;
    out->height = (uint32_t)height;
    out->has_alpha = heif_image_handle_has_alpha_channel(file->handle) != 0;
    /* libheif turns the image upright itself, from irot and imir. */
    out->orientation = 1;
    return 0;
}

int image__heif_probe(const uint8_t *data, size_t len, kadr_format_t format,
                      image_info_t *out)
{
    heif_file_t file;
    int rc = open_primary(data, len, &file);

    if (rc == 0)
        rc = fill_info(&file, format, out);
    close_primary(&file);
    return rc;
}

static int copy_plane(const struct heif_image *image, image_pixels_t *out)
{
    int stride = 0;
    const uint8_t *plane =
        heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    size_t row_len = (size_t)out->width * out->channels;

    if (plane == NULL || stride < 0 || (size_t)stride < row_len)
        return KADR_E_CODEC;
    for (uint32_t y = 0; y < out->height; y++)
        memcpy(out->data + y * row_len, plane + (size_t)y * (size_t)stride,
               row_len);
    return 0;
}

/* TODO: libheif 1.15 has no scaled decode, so a 12-megapixel HEIC is
 * decoded in full even for a 1080-wide variant (no shrink-on-load). An
 * embedded thumbnail image could serve the small sizes. */
static int decode_primary(const heif_file_t *file, const image_info_t *info,
                          image_pixels_t *out)
{
    struct heif_image *image = NULL;
    enum heif_chroma chroma = info->has_alpha ? heif_chroma_interleaved_RGBA
                                              : heif_chroma_interleaved_RGB;
    int rc = map_error(heif_decode_image(file->handle, &image,
                                         heif_colorspace_RGB, chroma, NULL));

    if (rc != 0)
        return rc == KADR_E_UNSUPPORTED ? rc : KADR_E_CORRUPT;

    int width = heif_image_get_width(image, heif_channel_interleaved);
    int height = heif_image_get_height(image, heif_channel_interleaved);

    rc = image__check_decode(info, (uint32_t)width, (uint32_t)height);
    if (rc == 0)
        rc = image__pixels_alloc(out, info->width, info->height,
                                 info->has_alpha ? 4 : 3);
    if (rc == 0)
        rc = copy_plane(image, out);
    heif_image_release(image);
    return rc;
}

static int convert_icc(const heif_file_t *file, image_pixels_t *out)
{
    size_t len = heif_image_handle_get_raw_color_profile_size(file->handle);
    uint8_t *icc = len > 0 ? malloc(len) : NULL;

    if (icc == NULL)
        return len > 0 ? -ENOMEM : 0;

    int rc =
        map_error(heif_image_handle_get_raw_color_profile(file->handle, icc));

    if (rc == 0)
        rc = image__icc_to_srgb(out, icc, len);
    free(icc);
    return rc;
}

/* An nclx box names primaries and a transfer curve. Converted here: any
 * primaries (Display P3 from phones, BT.2020) with the sRGB or BT.709
 * curve, which on 8-bit output differ too little to matter. */
static int convert_nclx(const heif_file_t *file, image_pixels_t *out)
{
    struct heif_color_profile_nclx *nclx = NULL;
    int rc = map_error(
        heif_image_handle_get_nclx_color_profile(file->handle, &nclx));

    if (rc != 0 || nclx == NULL)
        return 0;

    enum heif_color_primaries primaries = nclx->color_primaries;
    enum heif_transfer_characteristics transfer =
        nclx->transfer_characteristics;
    double xy[8] = {nclx->color_primary_red_x,   nclx->color_primary_red_y,
                    nclx->color_primary_green_x, nclx->color_primary_green_y,
                    nclx->color_primary_blue_x,  nclx->color_primary_blue_y,
                    nclx->color_primary_white_x, nclx->color_primary_white_y};

    heif_nclx_color_profile_free(nclx);
    if (primaries == heif_color_primaries_ITU_R_BT_709_5 ||
        primaries == heif_color_primaries_unspecified)
        return 0;
    /* TODO: convert HDR transfer curves (PQ, HLG). Such images keep their
     * code values and look washed out. */
    if (transfer != heif_transfer_characteristic_IEC_61966_2_1 &&
        transfer != heif_transfer_characteristic_ITU_R_BT_709_5 &&
        transfer != heif_transfer_characteristic_unspecified)
        return 0;
    return image__primaries_to_srgb(out, xy);
}

static int convert_colour(const heif_file_t *file, image_pixels_t *out)
{
    switch (heif_image_handle_get_color_profile_type(file->handle)) {
    case heif_color_profile_type_prof:
    case heif_color_profile_type_rICC:
        return convert_icc(file, out);
    case heif_color_profile_type_nclx:
        return convert_nclx(file, out);
    default:
        return 0;
    }
}

int image__heif_decode(const uint8_t *data, size_t len,
                       const image_info_t *info, image_pixels_t *out)
{
    heif_file_t file;
    int rc = open_primary(data, len, &file);

    if (rc == 0)
        rc = decode_primary(&file, info, out);
    if (rc == 0)
        rc = convert_colour(&file, out);
    close_primary(&file);
    return rc;
}
