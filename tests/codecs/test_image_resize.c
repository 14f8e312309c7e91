/* Tests for image_resize. */
#include "image_test_util.h"

static void fill(image_pixels_t *px, uint32_t width, uint32_t height,
                 uint32_t channels)
{
    px->width = width;
    px->height = height;
    px->channels = channels;
    px->data = calloc((size_t)width * height, channels);
    assert_non_null(px->data);
}

static uint8_t *pixel_at(const image_pixels_t *px, uint32_t x, uint32_t y)
{
    return px->data + ((size_t)y * px->width + x) * px->channels;
}

static void resize_exact_sizes(void **state)
{
    static const uint32_t sizes[][4] = {
        {640, 480, 320, 240}, {640, 480, 1, 1},  {3, 5, 7, 11},
        {1, 1, 9, 4},         {1000, 10, 17, 3}, {10, 1000, 2, 999},
    };

    (void)state;
    for (uint32_t channels = 3; channels <= 4; channels++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            image_pixels_t src, out;

            fill(&src, sizes[i][0], sizes[i][1], channels);
            assert_int_equal(image_resize(&src, sizes[i][2], sizes[i][3], &out),
                             0);
            assert_int_equal(out.width, sizes[i][2]);
            assert_int_equal(out.height, sizes[i][3]);
            assert_int_equal(out.channels, channels);
            image_pixels_free(&out);
            image_pixels_free(&src);
        }
    }
}

static void resize_flat_colour_stays_flat(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 301, 203, 3);
    for (size_t i = 0; i < (size_t)301 * 203; i++) {
        src.data[i * 3] = 200;
        src.data[i * 3 + 1] = 10;
        src.data[i * 3 + 2] = 99;
    }
    assert_int_equal(image_resize(&src, 97, 61, &out), 0);
    for (size_t i = 0; i < (size_t)97 * 61; i++) {
        assert_int_equal(out.data[i * 3], 200);
        assert_int_equal(out.data[i * 3 + 1], 10);
        assert_int_equal(out.data[i * 3 + 2], 99);
    }
    image_pixels_free(&out);
    image_pixels_free(&src);
}

/* A one-pixel checkerboard averages to mid grey when shrunk: an
 * unfiltered (nearest) resize would return black or white. */
static void resize_downscale_antialiased(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 400, 300, 3);
    for (uint32_t y = 0; y < 300; y++) {
        for (uint32_t x = 0; x < 400; x++)
            memset(pixel_at(&src, x, y), (x + y) % 2 ? 255 : 0, 3);
    }
    assert_int_equal(image_resize(&src, 133, 100, &out), 0);
    for (uint32_t y = 5; y < 95; y++) {
        for (uint32_t x = 5; x < 128; x++)
            assert_true(abs(pixel_at(&out, x, y)[0] - 128) <= 6);
    }
    image_pixels_free(&out);
    image_pixels_free(&src);
}

/* A horizontal ramp stays a ramp: each output pixel is close to the mean
 * of the source pixels it covers. */
static void resize_keeps_gradient(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 256, 16, 3);
    for (uint32_t y = 0; y < 16; y++) {
        for (uint32_t x = 0; x < 256; x++)
            memset(pixel_at(&src, x, y), (int)x, 3);
    }
    assert_int_equal(image_resize(&src, 64, 4, &out), 0);
    for (uint32_t x = 2; x < 62; x++) {
        int expected = (int)(x * 4 + 1);

        assert_true(abs(pixel_at(&out, x, 2)[0] - expected) <= 2);
    }
    image_pixels_free(&out);
    image_pixels_free(&src);
}

/* Left half opaque red, right half fully transparent green: resized
 * premultiplied, no green bleeds into the visible pixels. */
static void resize_alpha_no_bleed(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 64, 8, 4);
    for (uint32_t y = 0; y < 8; y++) {
        for (uint32_t x = 0; x < 64; x++) {
            uint8_t *p = pixel_at(&src, x, y);

            p[0] = x < 32 ? 255 : 0;
            p[1] = x < 32 ? 0 : 255;
            p[3] = x < 32 ? 255 : 0;
        }
    }
    assert_int_equal(image_resize(&src, 16, 2, &out), 0);
    for (uint32_t x = 0; x < 16; x++) {
        const uint8_t *p = pixel_at(&out, x, 1);

        if (p[3] > 16)
            assert_true(p[1] <= 8);
    }
    assert_int_equal(pixel_at(&out, 0, 0)[3], 255);
    assert_int_equal(pixel_at(&out, 15, 0)[3], 0);
    image_pixels_free(&out);
    image_pixels_free(&src);
}

static void resize_rejects_bad_input(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 4, 4, 3);
    assert_int_equal(image_resize(&src, 0, 4, &out), KADR_E_BAD_INPUT);
    assert_int_equal(image_resize(&src, 4, 0, &out), KADR_E_BAD_INPUT);
    assert_int_equal(image_resize(NULL, 4, 4, &out), KADR_E_BAD_INPUT);
    src.channels = 2;
    assert_int_equal(image_resize(&src, 2, 2, &out), KADR_E_BAD_INPUT);
    src.channels = 3;
    image_pixels_free(&src);
}

/* 8 MP to 1080 wide, without shrink-on-load: the worst case a worker
 * meets. The bound is loose because tests run under sanitizers. */
/* A full 8 MP frame, as when a decoder cannot shrink on load. Its speed
 * is measured in bench/, not here. */
static void resize_8mp_exact_size(void **state)
{
    image_pixels_t src, out;

    (void)state;
    fill(&src, 3264, 2448, 3);
    assert_int_equal(image_resize(&src, 1080, 810, &out), 0);
    assert_int_equal(out.width, 1080);
    assert_int_equal(out.height, 810);
    assert_int_equal(out.channels, 3);
    image_pixels_free(&out);
    image_pixels_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resize_exact_sizes),
        cmocka_unit_test(resize_flat_colour_stays_flat),
        cmocka_unit_test(resize_downscale_antialiased),
        cmocka_unit_test(resize_keeps_gradient),
        cmocka_unit_test(resize_alpha_no_bleed),
        cmocka_unit_test(resize_rejects_bad_input),
        cmocka_unit_test(resize_8mp_exact_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
