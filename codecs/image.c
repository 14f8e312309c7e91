/* Image entry points: probe and decode dispatch by format, from memory or
 * from a mapped file, limit checks, and the buffers every image file
 * shares. */
#include "image_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Maps the whole file of fd read-only with its pages populated up front,
 * so that a decode takes no page fault per 4 KiB page and nothing is
 * copied out of the page cache. An empty file gives *data NULL and *len
 * 0, which image_probe_mem() rejects. */
static int map_fd(int fd, const uint8_t **data, size_t *len)
{
    struct stat st;
    void *map;

    *data = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (st.st_size <= 0)
        return 0;
    if ((uint64_t)st.st_size > IMAGE_MAX_FILE_BYTES)
        return KADR_E_TOO_LARGE;
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
               fd, 0);
    if (map == MAP_FAILED)
        return -errno;
    *data = map;
    *len = (size_t)st.st_size;
    return 0;
}

/* Maps a whole image file as map_fd() does. Release it with
 * unmap_file(). The caller must keep the file from being truncated while
 * it is mapped (a read past the new end raises SIGBUS): kadrd maps only
 * the unnamed temporary files that it writes itself. */
static int map_file(const char *path, const uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -errno;
    rc = map_fd(fd, data, len);
    close(fd); /* the mapping keeps its own reference to the file */
    return rc;
}

static void unmap_file(const uint8_t *data, size_t len)
{
    if (data != NULL)
        munmap((void *)(uintptr_t)data, len);
}

int image__pixels_alloc(image_pixels_t *pixels, uint32_t width, uint32_t height,
                        uint32_t channels)
{
    memset(pixels, 0, sizeof(*pixels));
    if (width == 0 || height == 0 || (channels != 3 && channels != 4))
        return KADR_E_BAD_INPUT;
    if ((uint64_t)width * height > IMAGE_MAX_DECODE_PIXELS)
        return KADR_E_TOO_LARGE;

    /* calloc, so that a decoder stopping early leaves no uninitialised
     * byte behind. */
    pixels->data = calloc((size_t)width * height, channels);
    if (pixels->data == NULL)
        return -ENOMEM;
    pixels->width = width;
    pixels->height = height;
    pixels->channels = channels;
    return 0;
}

/* A decoder re-reads the header it decodes from: it must match what the
 * probe saw, which the limits were checked against. */
int image__check_decode(const image_info_t *info, uint32_t width,
                        uint32_t height)
{
    if (width != info->width || height != info->height)
        return KADR_E_CORRUPT;
    return 0;
}

static bool format_is_image(kadr_format_t format)
{
    switch (format) {
    case KADR_FORMAT_JPEG:
    case KADR_FORMAT_PNG:
    case KADR_FORMAT_WEBP:
    case KADR_FORMAT_GIF:
    case KADR_FORMAT_HEIC:
    case KADR_FORMAT_AVIF:
        return true;
    default:
        return false;
    }
}

static int probe_format(const uint8_t *data, size_t len, kadr_format_t format,
                        image_info_t *out)
{
    switch (format) {
    case KADR_FORMAT_JPEG:
        return image__jpeg_probe(data, len, out);
    case KADR_FORMAT_PNG:
        return image__png_probe(data, len, out);
    case KADR_FORMAT_WEBP:
        return image__webp_probe(data, len, out);
    case KADR_FORMAT_GIF:
        return image__gif_probe(data, len, out);
    case KADR_FORMAT_HEIC:
    case KADR_FORMAT_AVIF:
        return image__heif_probe(data, len, format, out);
    default:
        return KADR_E_UNSUPPORTED;
    }
}

int image_probe_mem(const uint8_t *data, size_t len, kadr_format_t format,
                    image_info_t *out)
{
    memset(out, 0, sizeof(*out));
    out->file_bytes = len;
    if (!format_is_image(format))
        return KADR_E_UNSUPPORTED;
    if (len == 0)
        return KADR_E_CORRUPT;
    if (len > IMAGE_MAX_FILE_BYTES)
        return KADR_E_TOO_LARGE;

    int rc = probe_format(data, len, format, out);

    /* A probe may write fields before it fails. */
    out->file_bytes = len;
    return rc;
}

int image_probe_file(const char *path, kadr_format_t format, image_info_t *out)
{
    const uint8_t *data;
    size_t len;

    memset(out, 0, sizeof(*out));

    int rc = map_file(path, &data, &len);

    if (rc != 0)
        return rc;
    rc = image_probe_mem(data, len, format, out);
    unmap_file(data, len);
    return rc;
}

int image_check_limits(const image_info_t *info, const image_limits_t *limits)
{
    uint64_t pixels = (uint64_t)info->width * info->height;
    /* EXIF orientations 5 to 8 rotate the image by 90 degrees (5 and 7
     * also mirror it), so the stored width is the upright height. */
    bool rotated = info->orientation >= 5;
    uint32_t width = rotated ? info->height : info->width;
    uint32_t height = rotated ? info->width : info->height;

    if (info->width == 0 || info->height == 0)
        return KADR_E_CORRUPT;
    if (pixels > IMAGE_MAX_DECODE_PIXELS)
        return KADR_E_TOO_LARGE;
    if (limits == NULL)
        return 0;
    if (limits->max_pixels != 0 && pixels > limits->max_pixels)
        return KADR_E_TOO_LARGE;
    if (limits->max_width != 0 && width > limits->max_width)
        return KADR_E_TOO_LARGE;
    if (limits->max_height != 0 && height > limits->max_height)
        return KADR_E_TOO_LARGE;
    if (limits->max_file_bytes != 0 &&
        info->file_bytes > limits->max_file_bytes)
        return KADR_E_TOO_LARGE;
    return 0;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int decode_format(const uint8_t *data, size_t len,
                         const image_info_t *info, uint32_t min_width,
                         image_pixels_t *out)
{
    switch (info->format) {
    case KADR_FORMAT_JPEG:
        return image__jpeg_decode(data, len, info, min_width, out);
    case KADR_FORMAT_PNG:
        return image__png_decode(data, len, info, out);
    case KADR_FORMAT_WEBP:
        return image__webp_decode(data, len, info, out);
    case KADR_FORMAT_GIF:
        return image__gif_decode(data, len, info, out);
    case KADR_FORMAT_HEIC:
    case KADR_FORMAT_AVIF:
        return image__heif_decode(data, len, info, out);
    default:
        return KADR_E_UNSUPPORTED;
    }
}

int image_decode_mem(const uint8_t *data, size_t len, kadr_format_t format,
                     const image_limits_t *limits, uint32_t min_width,
                     image_pixels_t *out)
{
    image_info_t info;
    uint64_t start_ms;

    memset(out, 0, sizeof(*out));

    int rc = image_probe_mem(data, len, format, &info);

    if (rc != 0)
        return rc;
    rc = image_check_limits(&info, limits);
    if (rc != 0)
        return rc;
    start_ms = monotonic_ms();
    rc = decode_format(data, len, &info, min_width, out);
    /* TODO: one library call (tjDecompress2, png_read_image,
     * heif_decode_image) cannot be interrupted, so a slow decode is only
     * rejected once it returns. The pixel limits bound how long that is. */
    if (rc == 0 && limits != NULL && limits->max_decode_ms != 0 &&
        monotonic_ms() - start_ms > limits->max_decode_ms)
        rc = KADR_E_TIMEOUT;
    if (rc != 0) {
        image_pixels_free(out);
        return rc;
    }
    out->full_width = info.orientation >= 5 ? info.height : info.width;
    out->full_height = info.orientation >= 5 ? info.width : info.height;
    return 0;
}

int image_decode_file(const char *path, kadr_format_t format,
                      const image_limits_t *limits, uint32_t min_width,
                      image_pixels_t *out)
{
    const uint8_t *data;
    size_t len;

    memset(out, 0, sizeof(*out));

    int rc = map_file(path, &data, &len);

    if (rc != 0)
        return rc;
    rc = image_decode_mem(data, len, format, limits, min_width, out);
    unmap_file(data, len);
    return rc;
}

void image_pixels_free(image_pixels_t *pixels)
{
    if (pixels == NULL)
        return;
    free(pixels->data);
    memset(pixels, 0, sizeof(*pixels));
}

void image_blob_free(image_blob_t *blob)
{
    if (blob == NULL)
        return;
    free(blob->data);
    memset(blob, 0, sizeof(*blob));
}
