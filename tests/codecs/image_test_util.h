/* Helpers shared by the image and format tests: corpus paths, temporary
 * files, and small grey thumbnails to compare pixels by. */
#ifndef KADR_TESTS_IMAGE_TEST_UTIL_H
#define KADR_TESTS_IMAGE_TEST_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"

#define THUMB_SIDE 32

/* Returns a static path to name inside the corpus folder ($KADR_CORPUS). */
static inline const char *corpus_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("KADR_CORPUS");

    if (dir == NULL)
        dir = "../shared/corpus";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

/* Reads a whole file into a malloc'd buffer, failing the test if it can't. */
static inline uint8_t *read_all(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");

    assert_non_null(file);
    fseek(file, 0, SEEK_END);

    long size = ftell(file);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);

    assert_non_null(data);
    fseek(file, 0, SEEK_SET);
    *len = fread(data, 1, (size_t)size, file);
    fclose(file);
    assert_int_equal(*len, (size_t)size);
    return data;
}

/* Writes bytes to a new temporary file. The caller unlinks path. */
static inline void write_temp(char path[64], const void *data, size_t len)
{
    strcpy(path, "/tmp/kadr-image-test-XXXXXX");

    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static inline kadr_format_t sniff_path(const char *path)
{
    uint8_t head[FORMAT_SNIFF_BYTES];
    FILE *file = fopen(path, "rb");

    assert_non_null(file);

    size_t len = fread(head, 1, sizeof(head), file);

    fclose(file);
    return format_sniff(head, len);
}

static inline double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Box-averages pixels down to a THUMB_SIDE square of grey levels. */
static inline void grey_thumb(const image_pixels_t *px,
                              double thumb[THUMB_SIDE * THUMB_SIDE])
{
    for (uint32_t ty = 0; ty < THUMB_SIDE; ty++) {
        for (uint32_t tx = 0; tx < THUMB_SIDE; tx++) {
            uint32_t x0 = tx * px->width / THUMB_SIDE;
            uint32_t x1 = (tx + 1) * px->width / THUMB_SIDE;
            uint32_t y0 = ty * px->height / THUMB_SIDE;
            uint32_t y1 = (ty + 1) * px->height / THUMB_SIDE;
            double sum = 0.0;
            unsigned n = 0;

            for (uint32_t y = y0; y < y1; y++) {
                for (uint32_t x = x0; x < x1; x++, n++) {
                    const uint8_t *p =
                        px->data + ((size_t)y * px->width + x) * px->channels;

                    sum += (p[0] + p[1] + p[2]) / 3.0;
                }
            }
            thumb[ty * THUMB_SIDE + tx] = n > 0 ? sum / n : 0.0;
        }
    }
}

static inline double thumb_mad(const double *a, const double *b)
{
    double sum = 0.0;

    for (int i = 0; i < THUMB_SIDE * THUMB_SIDE; i++)
        sum += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return sum / (THUMB_SIDE * THUMB_SIDE);
}

/* Runs a shell command and returns whether it exited with status 0. */
static inline int run_command(const char *format, ...)
{
    char command[1024];
    va_list args;

    va_start(args, format);
    vsnprintf(command, sizeof(command), format, args);
    va_end(args);
    return system(command) == 0;
}

static inline int have_convert(void)
{
    return run_command("convert -version >/dev/null 2>&1");
}

#endif
