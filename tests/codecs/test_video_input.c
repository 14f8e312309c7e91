/* Tests for reading a display matrix as a mirror and a quarter turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/display.h>

#include "video_internal.h"

/* Matrices built with av_display_rotation_set() and then
 * av_display_matrix_flip(), which flips after the turn. The expected
 * values mean: mirror the frame first, then turn it counterclockwise.
 * libavutil 57 reads av_display_rotation_set(m, 90) back as -90, which
 * is 270 here. */
static void matrix_orientation_table(void **state)
{
    static const struct {
        double angle;
        int hflip, vflip;
        uint32_t rotation;
        bool mirror;
    } cases[] = {
        {0, 0, 0, 0, false},    {90, 0, 0, 270, false}, {180, 0, 0, 180, false},
        {270, 0, 0, 90, false}, {0, 1, 0, 0, true},     {0, 0, 1, 180, true},
        {90, 1, 0, 90, true},   {90, 0, 1, 270, true},  {180, 1, 0, 180, true},
        {270, 1, 0, 270, true}, {270, 0, 1, 90, true},  {90, 1, 1, 90, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t matrix[9];
        uint32_t rotation = 7;
        bool mirror = !cases[i].mirror;

        print_message("angle %.0f hflip %d vflip %d\n", cases[i].angle,
                      cases[i].hflip, cases[i].vflip);
        av_display_rotation_set(matrix, cases[i].angle);
        av_display_matrix_flip(matrix, cases[i].hflip, cases[i].vflip);
        video__matrix_orientation(matrix, &rotation, &mirror);
        assert_int_equal(rotation, cases[i].rotation);
        assert_int_equal(mirror, cases[i].mirror);
    }
}

/* Two mirrored matrices in the 16.16 fixed point of an MP4 track header:
 * a plain mirror and a transposition. */
static void matrix_orientation_from_file(void **state)
{
    static const int32_t mirror_x[9] = {-0x10000, 0, 0, 0,         0x10000,
                                        0,        0, 0, 0x40000000};
    static const int32_t transpose[9] = {0, 0x10000, 0, 0x10000,   0,
                                         0, 0,       0, 0x40000000};
    uint32_t rotation;
    bool mirror;

    (void)state;
    video__matrix_orientation(mirror_x, &rotation, &mirror);
    assert_int_equal(rotation, 0);
    assert_true(mirror);
    /* Flipping x and turning the frame a quarter turn counterclockwise
     * swaps x and y. */
    video__matrix_orientation(transpose, &rotation, &mirror);
    assert_int_equal(rotation, 90);
    assert_true(mirror);
}

static void matrix_orientation_singular(void **state)
{
    static const int32_t zero[9] = {0};
    static const int32_t extreme[9] = {INT32_MIN, 0, 0, 0,         INT32_MAX,
                                       0,         0, 0, 0x40000000};
    uint32_t rotation = 7;
    bool mirror = true;

    (void)state;
    video__matrix_orientation(zero, &rotation, &mirror);
    assert_int_equal(rotation, 0);
    assert_false(mirror);
    /* The most negative value is negated without overflow. */
    video__matrix_orientation(extreme, &rotation, &mirror);
    assert_int_equal(rotation, 0);
    assert_true(mirror);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_orientation_table),
        cmocka_unit_test(matrix_orientation_from_file),
        cmocka_unit_test(matrix_orientation_singular),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
