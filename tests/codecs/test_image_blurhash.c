/* Tests for the BlurHash placeholder encoder. Expected strings are worked
 * out here from the format's description: a size digit, a maximum-AC
 * digit, four DC digits (sRGB 0xRRGGBB) and two digits per AC term. */
#include "image_test_util.h"

#include <math.h>

static const char digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "#$%*+,-.:;=?@[]^_{|}~";

static uint32_t base83_value(const char *text, int count)
{
    uint32_t value = 0;

    for (int i = 0; i < count; i++) {
        const char *at = strchr(digits, text[i]);

        assert_non_null(at);
        value = value * 83 + (uint32_t)(at - digits);
    }
    return value;
}

static void fill_solid(image_pixels_t *px, uint32_t w, uint32_t h,
                       uint32_t channels, const uint8_t *value)
{
    px->data = malloc((size_t)w * h * channels);
    assert_non_null(px->data);
    px->width = w;
    px->height = h;
    px->channels = channels;
    px->full_width = px->full_height = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        memcpy(px->data + i * channels, value, channels);
}

static void blurhash_solid_colour(void **state)
{
    static const uint8_t red[3] = {255, 0, 0};
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    fill_solid(&px, 40, 30, 3, red);
    assert_int_equal(image_blurhash_encode(&px, 1, 1, hash), 0);
    assert_int_equal(strlen(hash), 6);
    assert_int_equal(base83_value(hash, 1), 0); /* 1 x 1 terms */
    assert_int_equal(base83_value(hash + 1, 1), 0);
    assert_int_equal(base83_value(hash + 2, 4), 0xFF0000);
    assert_int_equal(image_blurhash_encode(&px, 4, 3, hash), 0);
    assert_int_equal(strlen(hash), 6 + 2 * 11);
    assert_int_equal(base83_value(hash, 1), (4 - 1) + (3 - 1) * 9);
    assert_int_equal(base83_value(hash + 2, 4), 0xFF0000);
    image_pixels_free(&px);
}

static void blurhash_transparent_is_white(void **state)
{
    static const uint8_t clear[4] = {0, 0, 0, 0};
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    fill_solid(&px, 8, 8, 4, clear);
    assert_int_equal(image_blurhash_encode(&px, 1, 1, hash), 0);
    assert_int_equal(strlen(hash), 6);
    assert_int_equal(base83_value(hash + 2, 4), 0xFFFFFF);
    image_pixels_free(&px);
}

/* Bright left half, dark right half: the first horizontal term is
 * positive (cos is positive on the left) and larger than the first
 * vertical one. The basis is sampled at x = 0 .. width - 1, as the
 * format's description has it, so a flat direction still gets a small
 * positive term (2 * mean / side), not zero. */
static void blurhash_left_bright(void **state)
{
    static const uint8_t black[3] = {0, 0, 0};
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    fill_solid(&px, 64, 48, 3, black);
    for (uint32_t y = 0; y < 48; y++)
        memset(px.data + (size_t)y * 64 * 3, 255, 32 * 3);
    assert_int_equal(image_blurhash_encode(&px, 4, 3, hash), 0);

    uint32_t first_x = base83_value(hash + 6, 2);
    uint32_t first_y = base83_value(hash + 6 + 2 * 3, 2);

    assert_true(first_x / (19 * 19) > 15);
    assert_true(first_y / (19 * 19) < first_x / (19 * 19));
    assert_true(base83_value(hash + 1, 1) > 0);
    image_pixels_free(&px);
}

/* The DC term is the mean colour in linear light: for a half-white,
 * half-black image that is 0.5 linear, sRGB 188. The reduction to 32
 * pixels before the transform blurs the edge, hence the range. */
static void blurhash_dc_is_linear_mean(void **state)
{
    static const uint8_t black[3] = {0, 0, 0};
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    fill_solid(&px, 64, 48, 3, black);
    for (uint32_t y = 0; y < 48; y++)
        memset(px.data + (size_t)y * 64 * 3, 255, 32 * 3);
    assert_int_equal(image_blurhash_encode(&px, 2, 2, hash), 0);

    uint32_t dc = base83_value(hash + 2, 4);

    assert_in_range(dc >> 16, 182, 192);
    assert_in_range((dc >> 8) & 0xFF, 182, 192);
    image_pixels_free(&px);
}

static void placeholder_follows_orientation(void **state)
{
    static const uint8_t grey[3] = {90, 90, 90};
    char wide[IMAGE_BLURHASH_MAX + 1], tall[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t a, b;

    (void)state;
    fill_solid(&a, 400, 300, 3, grey);
    fill_solid(&b, 300, 400, 3, grey);
    assert_int_equal(image_placeholder_encode(&a, wide), 0);
    assert_int_equal(image_placeholder_encode(&b, tall), 0);
    assert_int_equal(base83_value(wide, 1), 3 + 2 * 9);
    assert_int_equal(base83_value(tall, 1), 2 + 3 * 9);
    assert_int_equal(strlen(wide), 28);
    image_pixels_free(&a);
    image_pixels_free(&b);
}

static void blurhash_rejects_bad_input(void **state)
{
    static const uint8_t grey[3] = {90, 90, 90};
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    fill_solid(&px, 4, 4, 3, grey);
    assert_int_equal(image_blurhash_encode(&px, 0, 3, hash), KADR_E_BAD_INPUT);
    assert_int_equal(image_blurhash_encode(&px, 4, 10, hash), KADR_E_BAD_INPUT);
    assert_int_equal(image_blurhash_encode(NULL, 4, 3, hash), KADR_E_BAD_INPUT);
    assert_int_equal(image_blurhash_encode(&px, 9, 9, hash), 0);
    assert_int_equal(strlen(hash), IMAGE_BLURHASH_MAX);
    image_pixels_free(&px);
}

static void placeholder_of_corpus_photo(void **state)
{
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    assert_int_equal(image_decode_file(corpus_path("photos/phone-jolla.jpg"),
                                       KADR_FORMAT_JPEG, NULL, 320, &px),
                     0);
    assert_int_equal(image_placeholder_encode(&px, hash), 0);
    assert_int_equal(strlen(hash), 28);
    for (size_t i = 0; i < strlen(hash); i++)
        assert_non_null(strchr(digits, hash[i]));
    image_pixels_free(&px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blurhash_solid_colour),
        cmocka_unit_test(blurhash_transparent_is_white),
        cmocka_unit_test(blurhash_left_bright),
        cmocka_unit_test(blurhash_dc_is_linear_mean),
        cmocka_unit_test(placeholder_follows_orientation),
        cmocka_unit_test(blurhash_rejects_bad_input),
        cmocka_unit_test(placeholder_of_corpus_photo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
