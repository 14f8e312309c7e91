/* Variant sizes: the width or square side a preset requests, never larger
 * than the original, and each side within what the preset's encoder can
 * write. A width-fit variant whose height would pass the encoder's
 * maximum is scaled down further, aspect ratio kept. */
#include "image_internal.h"

#include <stdio.h> /* jpeglib.h needs FILE */
#include <jpeglib.h>
#include <webp/encode.h>

uint32_t image_codec_max_side(image_codec_t codec)
{
    if (codec == IMAGE_CODEC_WEBP)
        return WEBP_MAX_DIMENSION;
    return JPEG_MAX_DIMENSION;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Returns round(value * numerator / denominator), at least 1. */
static uint32_t scale_side(uint32_t value, uint32_t numerator,
                           uint32_t denominator)
{
    uint64_t scaled =
        ((uint64_t)value * numerator + denominator / 2) / denominator;

    return scaled > 0 ? (uint32_t)scaled : 1;
}

void image_preset_dims(const image_preset_t *preset, uint32_t width,
                       uint32_t height, uint32_t *out_width,
                       uint32_t *out_height)
{
    uint32_t max_side = image_codec_max_side(preset->codec);

    if (width == 0 || height == 0) {
        *out_width = *out_height = 0;
        return;
    }
    if (preset->fit == IMAGE_FIT_SQUARE) {
        uint32_t side = min_u32(width, height);

        *out_width = *out_height =
            min_u32(min_u32(preset->size, side), max_side);
        return;
    }
    *out_width = min_u32(min_u32(preset->size, width), max_side);
    *out_height = scale_side(height, *out_width, width);
    if (*out_height > max_side) {
        /* Fit the height instead: the width shrinks with it, and rounds
         * to no more than the width-fit width. */
        *out_height = max_side;
        *out_width = scale_side(width, max_side, height);
    }
}

uint32_t image_presets_min_width(const image_preset_t *presets, size_t count,
                                 uint32_t width, uint32_t height)
{
    uint64_t need = 1;

    for (size_t i = 0; i < count; i++) {
        uint32_t w, h;
        uint64_t by_height;

        image_preset_dims(&presets[i], width, height, &w, &h);
        /* The output height must fit in the shrunk height too. */
        by_height = ((uint64_t)h * width + height - 1) / height;
        need = w > need ? w : need;
        need = by_height > need ? by_height : need;
    }
    return need < width ? (uint32_t)need : width;
}
