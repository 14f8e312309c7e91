/* Turning decoded planes upright: an optional horizontal mirror, then a
 * quarter turn. */
#include <stddef.h>
#include <string.h>

#include "video_internal.h"

/* Returns the destination of source pixel (x, y) of a width x height plane
 * turned counterclockwise by rotation degrees, after a horizontal mirror
 * when mirror is set. */
static uint8_t *turned_pixel(uint8_t *dst, int dst_stride, int bpp, int x,
                             int y, int width, int height, uint32_t rotation,
                             bool mirror)
{
    if (mirror)
        x = width - 1 - x;
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
static ptrdiff_t turned_step(int dst_stride, int bpp, uint32_t rotation,
                             bool mirror)
{
    ptrdiff_t step;

    switch (rotation) {
    case 90:
        step = -(ptrdiff_t)dst_stride;
        break;
    case 180:
        step = -(ptrdiff_t)bpp;
        break;
    case 270:
        step = dst_stride;
        break;
    default:
        step = bpp;
        break;
    }
    return mirror ? -step : step;
}

/* Side of the square tiles a one-byte plane is turned in, in pixels. A
 * quarter turn writes a source row down a destination column. Within a
 * tile those columns touch only VIDEO_ROTATE_TILE destination rows, which
 * stay in cache. */
#define VIDEO_ROTATE_TILE 32

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* Turns the tile of a one-byte plane whose top left is (x0, y0). */
static void rotate_tile(const uint8_t *src, int src_stride, int width,
                        int height, uint8_t *dst, int dst_stride,
                        uint32_t rotation, bool mirror, int x0, int y0)
{
    ptrdiff_t step = turned_step(dst_stride, 1, rotation, mirror);
    int x_end = min_int(x0 + VIDEO_ROTATE_TILE, width);
    int y_end = min_int(y0 + VIDEO_ROTATE_TILE, height);

    for (int y = y0; y < y_end; y++) {
        const uint8_t *from = src + (ptrdiff_t)y * src_stride;
        uint8_t *to = turned_pixel(dst, dst_stride, 1, x0, y, width, height,
                                   rotation, mirror);

        for (int x = x0; x < x_end; x++) {
            *to = from[x];
            to += step;
        }
    }
}

/* Turns a plane of one-byte pixels (the Y, U and V planes of a
 * transcode) tile by tile, with a byte store per pixel. */
static void rotate_bytes(const uint8_t *src, int src_stride, int width,
                         int height, uint8_t *dst, int dst_stride,
                         uint32_t rotation, bool mirror)
{
    for (int y0 = 0; y0 < height; y0 += VIDEO_ROTATE_TILE) {
        for (int x0 = 0; x0 < width; x0 += VIDEO_ROTATE_TILE)
            rotate_tile(src, src_stride, width, height, dst, dst_stride,
                        rotation, mirror, x0, y0);
    }
}

void video__rotate_plane(const uint8_t *src, int src_stride, int width,
                         int height, int bytes_per_pixel, uint8_t *dst,
                         int dst_stride, uint32_t rotation, bool mirror)
{
    ptrdiff_t step = turned_step(dst_stride, bytes_per_pixel, rotation, mirror);
    size_t bpp = (size_t)bytes_per_pixel;

    if (bytes_per_pixel == 1) {
        rotate_bytes(src, src_stride, width, height, dst, dst_stride, rotation,
                     mirror);
        return;
    }
    for (int y = 0; y < height; y++) {
        const uint8_t *from = src + (ptrdiff_t)y * src_stride;
        uint8_t *first = turned_pixel(dst, dst_stride, bytes_per_pixel, 0, y,
                                      width, height, rotation, mirror);

        for (int x = 0; x < width; x++)
            memcpy(first + x * step, from + (size_t)x * bpp, bpp);
    }
}
