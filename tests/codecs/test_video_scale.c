/* Tests for the output size rule and the quarter-turn plane copy. */
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
                            cases[i].rotation);
        assert_memory_equal(dst, cases[i].expected, sizeof(dst));
    }
}

static void rotate_rgb_plane(void **state)
{
    /* A 2x1 RGB plane, red then blue, with padded source rows. */
    static const uint8_t src[8] = {255, 0, 0, 0, 0, 255, 9, 9};
    static const uint8_t expected[6] = {0, 0, 255, 255, 0, 0};
    uint8_t dst[6] = {0};

    (void)state;
    video__rotate_plane(src, 8, 2, 1, 3, dst, 3, 90);
    assert_memory_equal(dst, expected, sizeof(dst));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fit_size_table),
        cmocka_unit_test(rotate_plane_table),
        cmocka_unit_test(rotate_rgb_plane),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
