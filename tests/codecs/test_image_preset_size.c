/* Tests for image_preset_dims and image_presets_min_width: variant sizes
 * never pass the original or their encoder's maximum side, so tall and
 * wide images and one-pixel slivers get valid variants. */
#include "image_test_util.h"

#define WEBP_MAX 16383u
#define JPEG_MAX 65500u

static const image_preset_t presets[] = {
    {"w1080.jpg", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_JPEG, 82},
    {"w1080.webp", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_WEBP, 80},
    {"w640.webp", IMAGE_FIT_WIDTH, 640, IMAGE_CODEC_WEBP, 80},
    {"w320.webp", IMAGE_FIT_WIDTH, 320, IMAGE_CODEC_WEBP, 80},
    {"s150.jpg", IMAGE_FIT_SQUARE, 150, IMAGE_CODEC_JPEG, 80},
    {"preview.jpg", IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
};

#define COUNT (sizeof(presets) / sizeof(presets[0]))

/* One original and the size of every preset above made from it. */
typedef struct size_case {
    uint32_t width, height;
    uint32_t want[COUNT][2];
} size_case_t;

static const size_case_t cases[] = {
    /* An ordinary photo: every preset is width-bound. */
    {3264,
     2448,
     {{1080, 810}, {1080, 810}, {640, 480}, {320, 240}, {150, 150}, {32, 24}}},
    /* A long screenshot: w1080.webp would be 17000 tall, so it is fitted
     * to WebP's 16383 rows and 1080 * 16383 / 17000 = 1040.8 columns. */
    {1080,
     17000,
     {{1080, 17000},
      {1041, 16383},
      {640, 10074},
      {320, 5037},
      {150, 150},
      {32, 504}}},
    /* Wider than the preset: the 1080-wide height 15300 fits WebP. */
    {1200,
     17000,
     {{1080, 15300},
      {1080, 15300},
      {640, 9067},
      {320, 4533},
      {150, 150},
      {32, 453}}},
    /* WebP's maximum height exactly, then one row over. */
    {1080,
     16383,
     {{1080, 16383},
      {1080, 16383},
      {640, 9708},
      {320, 4854},
      {150, 150},
      {32, 485}}},
    {1080,
     16384,
     {{1080, 16384},
      {1080, 16383},
      {640, 9709},
      {320, 4855},
      {150, 150},
      {32, 485}}},
    /* One-pixel slivers: never narrower than 1, never taller than the
     * codec writes. */
    {1,
     16383,
     {{1, 16383}, {1, 16383}, {1, 16383}, {1, 16383}, {1, 1}, {1, 16383}}},
    {1,
     16384,
     {{1, 16384}, {1, 16383}, {1, 16383}, {1, 16383}, {1, 1}, {1, 16384}}},
    {1,
     70000,
     {{1, 65500}, {1, 16383}, {1, 16383}, {1, 16383}, {1, 1}, {1, 65500}}},
    {2,
     40000,
     {{2, 40000}, {1, 16383}, {1, 16383}, {1, 16383}, {2, 2}, {2, 40000}}},
    /* Wide images are bound by the preset width, heights at least 1. */
    {16384, 1, {{1080, 1}, {1080, 1}, {640, 1}, {320, 1}, {1, 1}, {32, 1}}},
    {20000,
     1000,
     {{1080, 54}, {1080, 54}, {640, 32}, {320, 16}, {150, 150}, {32, 2}}},
    {16383, 1, {{1080, 1}, {1080, 1}, {640, 1}, {320, 1}, {1, 1}, {32, 1}}},
    /* Smaller than every preset: never upscaled. */
    {100, 68, {{100, 68}, {100, 68}, {100, 68}, {100, 68}, {68, 68}, {32, 22}}},
    {1, 1, {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}}},
};

static void preset_size_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t i = 0; i < COUNT; i++) {
            uint32_t w, h;

            image_preset_dims(&presets[i], cases[c].width, cases[c].height, &w,
                              &h);
            if (w != cases[c].want[i][0] || h != cases[c].want[i][1])
                print_message("%ux%u %s -> %ux%u\n", cases[c].width,
                              cases[c].height, presets[i].name, w, h);
            assert_int_equal(w, cases[c].want[i][0]);
            assert_int_equal(h, cases[c].want[i][1]);
        }
    }
}

static void preset_size_codec_max_side(void **state)
{
    (void)state;
    assert_int_equal(image_codec_max_side(IMAGE_CODEC_WEBP), WEBP_MAX);
    assert_int_equal(image_codec_max_side(IMAGE_CODEC_JPEG), JPEG_MAX);
}

/* A preset wider than its codec writes is held to the codec's side. */
static void preset_size_wide_preset_capped(void **state)
{
    const image_preset_t wide_webp = {"w20000.webp", IMAGE_FIT_WIDTH, 20000,
                                      IMAGE_CODEC_WEBP, 80};
    const image_preset_t square_webp = {"s20000.webp", IMAGE_FIT_SQUARE, 20000,
                                        IMAGE_CODEC_WEBP, 80};
    uint32_t w, h;

    (void)state;
    image_preset_dims(&wide_webp, 20000, 1, &w, &h);
    assert_int_equal(w, WEBP_MAX);
    assert_int_equal(h, 1);
    image_preset_dims(&wide_webp, 20000, 20000, &w, &h);
    assert_int_equal(w, WEBP_MAX);
    assert_int_equal(h, WEBP_MAX);
    image_preset_dims(&wide_webp, 20000, 10000, &w, &h);
    assert_int_equal(w, WEBP_MAX);
    assert_int_equal(h, 8192);
    image_preset_dims(&square_webp, 20000, 18000, &w, &h);
    assert_int_equal(w, WEBP_MAX);
    assert_int_equal(h, WEBP_MAX);
}

static void preset_size_empty_original(void **state)
{
    uint32_t w = 7, h = 7;

    (void)state;
    image_preset_dims(&presets[1], 0, 100, &w, &h);
    assert_int_equal(w, 0);
    assert_int_equal(h, 0);
}

/* Over a grid of shapes around the codec limits: each side at least 1,
 * within the codec, within the original, and the aspect ratio kept to
 * within one pixel of rounding on the shorter side. */
static void preset_size_bounds_sweep(void **state)
{
    static const uint32_t sides[] = {1,     2,     3,     150,   1079,  1080,
                                     1081,  16382, 16383, 16384, 16385, 20000,
                                     32766, 32767, 65500, 65501, 70000};
    const size_t n = sizeof(sides) / sizeof(sides[0]);

    (void)state;
    for (size_t a = 0; a < n; a++) {
        for (size_t b = 0; b < n; b++) {
            uint32_t width = sides[a], height = sides[b];

            for (size_t i = 0; i < COUNT; i++) {
                uint32_t max = image_codec_max_side(presets[i].codec);
                uint32_t w, h;
                double exact;

                image_preset_dims(&presets[i], width, height, &w, &h);
                assert_in_range(w, 1, max);
                assert_in_range(h, 1, max);
                assert_in_range(w, 1, width);
                assert_in_range(h, 1, height);
                if (presets[i].fit == IMAGE_FIT_SQUARE)
                    continue;
                assert_in_range(w, 1, presets[i].size);
                /* Compare along the shorter output side. */
                if (w <= h) {
                    exact = (double)width * h / height;
                    assert_true(exact < 1.0 ||
                                (w > exact - 1.0 && w < exact + 1.0));
                } else {
                    exact = (double)height * w / width;
                    assert_true(exact < 1.0 ||
                                (h > exact - 1.0 && h < exact + 1.0));
                }
            }
        }
    }
}

/* A shrink-on-load decode must still cover the widest variant and the
 * tallest one. */
static void preset_size_min_width_tall(void **state)
{
    (void)state;
    assert_int_equal(image_presets_min_width(presets, COUNT, 1080, 17000),
                     1080);
    assert_int_equal(image_presets_min_width(presets, COUNT, 2160, 34000),
                     1080);
    assert_int_equal(image_presets_min_width(presets, COUNT, 1, 16384), 1);
    /* A one-row output needs every source row: no shrink at all. */
    assert_int_equal(image_presets_min_width(presets, COUNT, 16384, 1), 16384);
    assert_int_equal(image_presets_min_width(presets, COUNT, 3264, 2448), 1080);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(preset_size_table),
        cmocka_unit_test(preset_size_codec_max_side),
        cmocka_unit_test(preset_size_wide_preset_capped),
        cmocka_unit_test(preset_size_empty_original),
        cmocka_unit_test(preset_size_bounds_sweep),
        cmocka_unit_test(preset_size_min_width_tall),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
