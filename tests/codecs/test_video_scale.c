/* Tests for the output size rule and the mirror and quarter-turn plane
 * copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "video_internal.h"

static void fit_size_table(void **state)
{
    static const struct {
        uint32_t width, height, max_long, max_short;
        uint32_t expected_width, expected_height;
    } cases[] = {
        {1920, 1080, 1280, 720, 1280, 720},
        {1080, 1920, 1280, 720, 720, 1280},
        {480, 270, 1280, 720, 480, 270},
        {8, 8, 1280, 720, 8, 8},
        {1081, 1921, 1280, 720, 720, 1280},
        {641, 361, 1280, 720, 640, 360},
        {3840, 1600, 1280, 720, 1280, 534},
        {100, 5000, 1280, 720, 26, 1280},
        {1, 1, 1280, 720, 2, 2},
        {1921, 1081, 0, 0, 1920, 1080},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t width, height;

        print_message("case %zu: %ux%u\n", i, cases[i].width, cases[i].height);
        video__fit_size(cases[i].width, cases[i].height, cases[i].max_long,
                        cases[i].max_short, &width, &height);
        assert_int_equal(width, cases[i].expected_width);
        assert_int_equal(height, cases[i].expected_height);
    }
}

/* The 3x2 plane
 *   1 2 3
 *   4 5 6
 * turned counterclockwise by each quarter turn. */
static void rotate_plane_table(void **state)
{
    static const uint8_t src[6] = {1, 2, 3, 4, 5, 6};
    static const struct {
        uint32_t rotation;
        int dst_width;
        uint8_t expected[6];
    } cases[] = {
        {0, 3, {1, 2, 3, 4, 5, 6}},
        {90, 2, {3, 6, 2, 5, 1, 4}},
        {180, 3, {6, 5, 4, 3, 2, 1}},
        {270, 2, {4, 1, 5, 2, 6, 3}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t dst[6] = {0};

        print_message("rotation %u\n", cases[i].rotation);
        video__rotate_plane(src, 3, 3, 2, 1, dst, cases[i].dst_width,
                            cases[i].rotation, false);
        assert_memory_equal(dst, cases[i].expected, sizeof(dst));
    }
}

/* The same 3x2 plane flipped left to right, then turned:
 *   3 2 1
 *   6 5 4 */
static void rotate_mirrored_plane_table(void **state)
{
    static const uint8_t src[6] = {1, 2, 3, 4, 5, 6};
    static const struct {
        uint32_t rotation;
        int dst_width;
        uint8_t expected[6];
    } cases[] = {
        {0, 3, {3, 2, 1, 6, 5, 4}},
        {90, 2, {1, 4, 2, 5, 3, 6}},
        {180, 3, {4, 5, 6, 1, 2, 3}},
        {270, 2, {6, 3, 5, 2, 4, 1}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t dst[6] = {0};

        print_message("mirrored, rotation %u\n", cases[i].rotation);
        video__rotate_plane(src, 3, 3, 2, 1, dst, cases[i].dst_width,
                            cases[i].rotation, true);
        assert_memory_equal(dst, cases[i].expected, sizeof(dst));
    }
}

/* Size of the plane that spans several 32x32 tiles with partial ones at
 * the right and bottom edges. */
#define TILED_WIDTH 70
#define TILED_HEIGHT 45

/* Returns the index in the turned plane of source pixel (x, y), from the
 * definition: flip x when mirrored, then turn counterclockwise. */
static size_t expected_index(int x, int y, uint32_t rotation, bool mirror)
{
    int w = TILED_WIDTH, h = TILED_HEIGHT;

    if (mirror)
        x = w - 1 - x;
    switch (rotation) {
    case 90:
        return (size_t)(w - 1 - x) * h + (size_t)y;
    case 180:
        return (size_t)(h - 1 - y) * w + (size_t)(w - 1 - x);
    case 270:
        return (size_t)x * h + (size_t)(h - 1 - y);
    default:
        return (size_t)y * w + (size_t)x;
    }
}

static void rotate_tiled_plane(void **state)
{
    static uint8_t src[TILED_WIDTH * TILED_HEIGHT];
    static uint8_t dst[TILED_WIDTH * TILED_HEIGHT];
    static const uint32_t rotations[] = {0, 90, 180, 270};

    (void)state;
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + i / TILED_WIDTH);
    for (int mirror = 0; mirror <= 1; mirror++) {
        for (size_t r = 0; r < 4; r++) {
            uint32_t rotation = rotations[r];
            bool sideways = rotation == 90 || rotation == 270;
            int dst_width = sideways ? TILED_HEIGHT : TILED_WIDTH;

            print_message("mirror %d, rotation %u\n", mirror, rotation);
            memset(dst, 0, sizeof(dst));
            video__rotate_plane(src, TILED_WIDTH, TILED_WIDTH, TILED_HEIGHT, 1,
                                dst, dst_width, rotation, mirror);
            for (int y = 0; y < TILED_HEIGHT; y++) {
                for (int x = 0; x < TILED_WIDTH; x++)
                    assert_int_equal(
                        dst[expected_index(x, y, rotation, mirror)],
                        src[y * TILED_WIDTH + x]);
            }
        }
    }
}

static void rotate_mirrored_rgb_plane(void **state)
{
    /* A 2x1 RGB plane, red then blue: mirrored it reads blue then red. */
    static const uint8_t src[8] = {255, 0, 0, 0, 0, 255, 9, 9};
    static const uint8_t expected[6] = {0, 0, 255, 255, 0, 0};
    uint8_t dst[6] = {0};

    (void)state;
    video__rotate_plane(src, 8, 2, 1, 3, dst, 6, 0, true);
    assert_memory_equal(dst, expected, sizeof(dst));
}

static void rotate_rgb_plane(void **state)
{
    /* A 2x1 RGB plane, red then blue, with padded source rows. */
    static const uint8_t src[8] = {255, 0, 0, 0, 0, 255, 9, 9};
    static const uint8_t expected[6] = {0, 0, 255, 255, 0, 0};
    uint8_t dst[6] = {0};

    (void)state;
    video__rotate_plane(src, 8, 2, 1, 3, dst, 3, 90, false);
    assert_memory_equal(dst, expected, sizeof(dst));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fit_size_table),
        cmocka_unit_test(rotate_plane_table),
        cmocka_unit_test(rotate_rgb_plane),
        cmocka_unit_test(rotate_mirrored_plane_table),
        cmocka_unit_test(rotate_tiled_plane),
        cmocka_unit_test(rotate_mirrored_rgb_plane),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
