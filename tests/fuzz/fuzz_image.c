/* libFuzzer target for the still-image path as kadrd runs it on an
 * upload: sniff the format, read the header, check it against limits,
 * then decode under those limits. The input sits in a memfd, because the
 * decoders take a path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "format.h"
#include "fuzz_memfd.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Limits well under kadrd's defaults, so that one input cannot pass
 * libFuzzer's memory limit (-rss_limit_mb) or per-input timeout: 16
 * megapixels of RGBA is 64 MiB. */
static const image_limits_t fuzz_limits = {
    .max_pixels = 16u * 1000 * 1000,
    .max_width = 8192,
    .max_height = 8192,
    .max_file_bytes = 16u * 1024 * 1024,
    .max_decode_ms = 5000,
};

static void check_pixels(const image_pixels_t *pixels)
{
    if (pixels->data == NULL || pixels->width == 0 || pixels->height == 0)
        abort();
    if (pixels->channels != 3 && pixels->channels != 4)
        abort();
    if ((uint64_t)pixels->width * pixels->height > fuzz_limits.max_pixels)
        abort();
    /* Touch the last byte, so a short allocation shows up in ASan. */
    if (pixels->data[(size_t)pixels->width * pixels->height * pixels->channels -
                     1] == 0xA5)
        pixels->data[0] ^= 1;
}

static void fuzz_image_file(const char *path, kadr_format_t format,
                            uint32_t min_width)
{
    image_info_t info;
    image_pixels_t pixels = {0};

    if (image_probe_file(path, format, &info) != 0)
        return;
    if (image_check_limits(&info, &fuzz_limits) != 0)
        return;
    if (image_decode_file(path, format, &fuzz_limits, min_width, &pixels) != 0)
        return;
    check_pixels(&pixels);
    image_pixels_free(&pixels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kadr_format_t format = format_sniff(data, size);
    char path[64];
    int fd;

    if (format_kind(format) != KADR_KIND_IMAGE)
        return 0;
    fd = fuzz_memfd_open(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    /* Odd sizes also ask for shrink-on-load, the path kadrd takes when
     * every variant is narrower than the original. */
    fuzz_image_file(path, format, size % 2 == 0 ? 0 : 320);
    close(fd);
    return 0;
}
