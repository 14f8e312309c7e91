/* Turning decoded planes upright by quarter turns. */
#include <stddef.h>
#include <string.h>

#include "video_internal.h"

/* Returns the destination of source pixel (x, y) of a width x height plane
 * turned counterclockwise by rotation degrees. */
static uint8_t *turned_pixel(uint8_t *dst, int dst_stride, int bpp, int x,
                             int y, int width, int height, uint32_t rotation)
{
    switch (rotation) {
    case 90:
        return dst + (ptrdiff_t)(width - 1 - x) * dst_stride + y * bpp;
    case 180:
        return dst + (ptrdiff_t)(height - 1 - y) * dst_stride +
               (width - 1 - x) * bpp;
    case 270:
        return dst + (ptrdiff_t)x * dst_stride + (height - 1 - y) * bpp;
    default:
        return dst + (ptrdiff_t)y * dst_stride + x * bpp;
    }
}

/* Returns how far the destination moves when x grows by one. */
static ptrdiff_t turned_step(int dst_stride, int bpp, uint32_t rotation)
{
    switch (rotation) {
    case 90:
        return -(ptrdiff_t)dst_stride;
    case 180:
        return -(ptrdiff_t)bpp;
    case 270:
        return dst_stride;
    default:
        return bpp;
    }
}

void video__rotate_plane(const uint8_t *src, int src_stride, int width,
                         int height, int bytes_per_pixel, uint8_t *dst,
                         int dst_stride, uint32_t rotation)
{
    ptrdiff_t step = turned_step(dst_stride, bytes_per_pixel, rotation);
    size_t bpp = (size_t)bytes_per_pixel;

    for (int y = 0; y < height; y++) {
        const uint8_t *from = src + (ptrdiff_t)y * src_stride;
        uint8_t *first = turned_pixel(dst, dst_stride, bytes_per_pixel, 0, y,
                                      width, height, rotation);

        for (int x = 0; x < width; x++)
            memcpy(first + x * step, from + (size_t)x * bpp, bpp);
    }
}
