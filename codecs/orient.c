/* EXIF orientation applied to pixels. */
#include "image_internal.h"

#include <string.h>

/* Where the output pixel (x, y) comes from: sx = ax * x + bx * y + cx and
 * sy = ay * x + by * y + cy, where a c term of 1 means the source's last
 * column (for cx) or row (for cy). Orientations 5 to 8 swap the axes. */
typedef struct orient_map {
    int ax, bx, cx;
    int ay, by, cy;
} orient_map_t;

static const orient_map_t orient_maps[9] = {
    [1] = {1, 0, 0, 0, 1, 0},   /* as stored */
    [2] = {-1, 0, 1, 0, 1, 0},  /* mirrored left to right */
    [3] = {-1, 0, 1, 0, -1, 1}, /* rotated 180 degrees */
    [4] = {1, 0, 0, 0, -1, 1},  /* mirrored top to bottom */
    [5] = {0, 1, 0, 1, 0, 0},   /* transposed */
    [6] = {0, 1, 0, -1, 0, 1},  /* rotated 90 degrees clockwise to view */
    [7] = {0, -1, 1, -1, 0, 1}, /* transversed */
    [8] = {0, -1, 1, 1, 0, 0},  /* rotated 90 degrees counterclockwise */
};

static void copy_row(const image_pixels_t *src, const orient_map_t *map,
                     uint32_t y, uint8_t *dst_row, uint32_t dst_width)
{
    uint32_t ch = src->channels;
    long sx = map->bx * (long)y + map->cx * (long)(src->width - 1);
    long sy = map->by * (long)y + map->cy * (long)(src->height - 1);
    long step = (map->ax + map->ay * (long)src->width) * (long)ch;
    long base = (sy * (long)src->width + sx) * (long)ch;

    for (uint32_t x = 0; x < dst_width; x++)
        memcpy(dst_row + (size_t)x * ch, src->data + base + (long)x * step, ch);
}

int image__orient(image_pixels_t *pixels, uint32_t orientation)
{
    if (orientation < 2 || orientation > 8)
        return 0;

    const orient_map_t *map = &orient_maps[orientation];
    bool swap = orientation >= 5;
    uint32_t width = swap ? pixels->height : pixels->width;
    uint32_t height = swap ? pixels->width : pixels->height;
    image_pixels_t out;
    int rc = image__pixels_alloc(&out, width, height, pixels->channels);

    if (rc != 0)
        return rc;
    for (uint32_t y = 0; y < height; y++)
        copy_row(pixels, map, y, out.data + (size_t)y * width * out.channels,
                 width);
    image_pixels_free(pixels);
    *pixels = out;
    return 0;
}
