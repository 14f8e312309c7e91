/* Tests for image_render_presets: one decode, every preset, each derived
 * from the smallest larger output (chain) or from the decode (direct). */
#include "image_test_util.h"
#include "image_blob_util.h"

static const image_preset_t presets[] = {
    {"w1080.jpg", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_JPEG, 82},
    {"w1080.webp", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_WEBP, 80},
    {"w640.webp", IMAGE_FIT_WIDTH, 640, IMAGE_CODEC_WEBP, 80},
    {"w320.webp", IMAGE_FIT_WIDTH, 320, IMAGE_CODEC_WEBP, 80},
    {"s150.jpg", IMAGE_FIT_SQUARE, 150, IMAGE_CODEC_JPEG, 80},
    {"preview.jpg", IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
};

#define COUNT (sizeof(presets) / sizeof(presets[0]))

/* Expected sizes for the 3264x2448 phone photo. */
static const uint32_t phone_dims[COUNT][2] = {
    {1080, 810}, {1080, 810}, {640, 480}, {320, 240}, {150, 150}, {32, 24}};

static void decode_phone(image_pixels_t *px)
{
    uint32_t min_width = image_presets_min_width(presets, COUNT, 3264, 2448);

    assert_int_equal(image_decode_file(corpus_path("photos/phone-jolla.jpg"),
                                       KADR_FORMAT_JPEG, NULL, min_width, px),
                     0);
    assert_true(px->width < 3264);
}

static double mean_abs_diff(const image_pixels_t *a, const image_pixels_t *b)
{
    size_t n = (size_t)a->width * a->height * 4;
    double sum = 0.0;

    for (size_t i = 0; i < n; i++)
        sum += abs(a->data[i] - b->data[i]);
    return sum / (double)n;
}

static void free_blobs(image_blob_t *blobs)
{
    for (size_t i = 0; i < COUNT; i++)
        image_blob_free(&blobs[i]);
}

static void render_set_phone_dims(void **state)
{
    image_blob_t blobs[COUNT];
    char hash[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t px;

    (void)state;
    decode_phone(&px);
    assert_int_equal(image_render_presets(&px, presets, COUNT, NULL,
                                          IMAGE_DERIVE_CHAIN, blobs, hash),
                     0);
    for (size_t i = 0; i < COUNT; i++) {
        image_pixels_t out;

        assert_int_equal(blobs[i].width, phone_dims[i][0]);
        assert_int_equal(blobs[i].height, phone_dims[i][1]);
        decode_blob(&blobs[i], presets[i].codec, &out);
        assert_int_equal(out.width, phone_dims[i][0]);
        assert_int_equal(out.height, phone_dims[i][1]);
        free_decoded(&out);
    }
    assert_int_equal(strlen(hash), 28);
    free_blobs(blobs);
    image_pixels_free(&px);
}

/* Chained outputs look like the ones made straight from the decode. */
static void render_set_chain_matches_direct(void **state)
{
    image_blob_t chain[COUNT], direct[COUNT];
    image_pixels_t px;

    (void)state;
    decode_phone(&px);
    assert_int_equal(image_render_presets(&px, presets, COUNT, NULL,
                                          IMAGE_DERIVE_CHAIN, chain, NULL),
                     0);
    assert_int_equal(image_render_presets(&px, presets, COUNT, NULL,
                                          IMAGE_DERIVE_DIRECT, direct, NULL),
                     0);
    for (size_t i = 0; i < COUNT; i++) {
        image_pixels_t a, b;

        decode_blob(&chain[i], presets[i].codec, &a);
        decode_blob(&direct[i], presets[i].codec, &b);
        assert_int_equal(a.width, b.width);
        assert_int_equal(a.height, b.height);

        double diff = mean_abs_diff(&a, &b);

        print_message("%s: mean difference %.2f\n", presets[i].name, diff);
        assert_true(diff < 4.0);
        free_decoded(&a);
        free_decoded(&b);
    }
    free_blobs(chain);
    free_blobs(direct);
    image_pixels_free(&px);
}

static void render_set_skips_entries(void **state)
{
    static const bool skip[COUNT] = {false, true, false, true, true, false};
    image_blob_t blobs[COUNT];
    image_pixels_t px;

    (void)state;
    decode_phone(&px);
    assert_int_equal(image_render_presets(&px, presets, COUNT, skip,
                                          IMAGE_DERIVE_CHAIN, blobs, NULL),
                     0);
    for (size_t i = 0; i < COUNT; i++) {
        if (skip[i]) {
            assert_null(blobs[i].data);
            assert_int_equal(blobs[i].len, 0);
        } else {
            assert_non_null(blobs[i].data);
            assert_int_equal(blobs[i].width, phone_dims[i][0]);
        }
    }
    free_blobs(blobs);
    image_pixels_free(&px);
}

/* A 400x300 RGBA image: left half opaque blue, right half clear. */
static void make_half_clear(image_pixels_t *px)
{
    memset(px, 0, sizeof(*px));
    px->width = 400;
    px->height = 300;
    px->channels = 4;
    px->data = malloc(400 * 300 * 4);
    assert_non_null(px->data);
    for (uint32_t i = 0; i < 400 * 300; i++) {
        uint8_t *p = px->data + (size_t)i * 4;

        p[0] = 20;
        p[1] = 40;
        p[2] = 200;
        p[3] = i % 400 < 200 ? 255 : 0;
    }
}

static void render_set_alpha_per_codec(void **state)
{
    image_blob_t blobs[COUNT];
    image_pixels_t px;

    (void)state;
    make_half_clear(&px);
    assert_int_equal(image_render_presets(&px, presets, COUNT, NULL,
                                          IMAGE_DERIVE_CHAIN, blobs, NULL),
                     0);
    for (size_t i = 0; i < COUNT; i++) {
        image_pixels_t out;
        const uint8_t *right;

        decode_blob(&blobs[i], presets[i].codec, &out);
        right = out.data +
                ((size_t)(out.height / 2) * out.width + out.width * 7 / 8) * 4;
        if (presets[i].codec == IMAGE_CODEC_WEBP) {
            assert_int_equal(right[3], 0);
        } else if (presets[i].fit != IMAGE_FIT_PREVIEW) {
            /* Flattened on white; s150 is the centre crop, so its right
             * edge is in the clear half. */
            assert_int_equal(right[3], 255);
            assert_true(right[0] >= 250 && right[1] >= 250 && right[2] >= 250);
        }
        free_decoded(&out);
    }
    assert_int_equal(blobs[0].width, 400);
    assert_int_equal(blobs[3].width, 320);
    free_blobs(blobs);
    image_pixels_free(&px);
}

static void render_set_rejects_bad_input(void **state)
{
    image_blob_t blobs[COUNT];
    image_pixels_t px;

    (void)state;
    make_half_clear(&px);
    assert_int_equal(image_render_presets(NULL, presets, COUNT, NULL,
                                          IMAGE_DERIVE_CHAIN, blobs, NULL),
                     KADR_E_BAD_INPUT);
    assert_int_equal(image_render_presets(&px, NULL, COUNT, NULL,
                                          IMAGE_DERIVE_CHAIN, blobs, NULL),
                     KADR_E_BAD_INPUT);
    for (size_t i = 0; i < COUNT; i++)
        assert_null(blobs[i].data);
    image_pixels_free(&px);
}

/* Fills pixels with a gradient along both axes, so resized outputs are
 * not all one colour. */
static void make_gradient(image_pixels_t *px, uint32_t width, uint32_t height,
                          uint32_t channels)
{
    memset(px, 0, sizeof(*px));
    px->data = malloc((size_t)width * height * channels);
    assert_non_null(px->data);
    px->width = width;
    px->height = height;
    px->channels = channels;
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = px->data + ((size_t)y * width + x) * channels;

            p[0] = (uint8_t)(x * 255 / width);
            p[1] = (uint8_t)(y * 255 / height);
            p[2] = 128;
            if (channels == 4)
                p[3] = (uint8_t)(255 - (y & 0x7f));
        }
    }
}

/* Tall, wide and one-pixel originals render every preset, each within
 * its encoder's maximum side: WebP variants of a 17000-row image are
 * fitted to 16383 rows, JPEG ones keep every row. */
static void render_set_tall_and_slivers(void **state)
{
    static const struct {
        uint32_t width, height, channels;
        uint32_t want[COUNT][2];
    } cases[] = {
        {1,
         16384,
         3,
         {{1, 16384}, {1, 16383}, {1, 16383}, {1, 16383}, {1, 1}, {1, 16384}}},
        {16384,
         1,
         3,
         {{1080, 1}, {1080, 1}, {640, 1}, {320, 1}, {1, 1}, {32, 1}}},
        {3,
         16385,
         4,
         {{3, 16385}, {3, 16383}, {3, 16383}, {3, 16383}, {3, 3}, {3, 16385}}},
        {1,
         16383,
         4,
         {{1, 16383}, {1, 16383}, {1, 16383}, {1, 16383}, {1, 1}, {1, 16383}}},
        {120,
         17000,
         3,
         {{120, 17000},
          {116, 16383},
          {116, 16383},
          {116, 16383},
          {120, 120},
          {32, 4533}}},
    };

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        image_blob_t blobs[COUNT];
        char hash[IMAGE_BLURHASH_MAX + 1];
        image_pixels_t px;

        make_gradient(&px, cases[c].width, cases[c].height, cases[c].channels);
        assert_int_equal(image_render_presets(&px, presets, COUNT, NULL,
                                              IMAGE_DERIVE_CHAIN, blobs, hash),
                         0);
        for (size_t i = 0; i < COUNT; i++) {
            image_pixels_t out;

            if (blobs[i].width != cases[c].want[i][0] ||
                blobs[i].height != cases[c].want[i][1])
                print_message("%ux%u %s: %ux%u\n", cases[c].width,
                              cases[c].height, presets[i].name, blobs[i].width,
                              blobs[i].height);
            assert_int_equal(blobs[i].width, cases[c].want[i][0]);
            assert_int_equal(blobs[i].height, cases[c].want[i][1]);
            decode_blob(&blobs[i], presets[i].codec, &out);
            assert_int_equal(out.width, cases[c].want[i][0]);
            assert_int_equal(out.height, cases[c].want[i][1]);
            free_decoded(&out);
        }
        free_blobs(blobs);
        image_pixels_free(&px);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_set_phone_dims),
        cmocka_unit_test(render_set_chain_matches_direct),
        cmocka_unit_test(render_set_skips_entries),
        cmocka_unit_test(render_set_alpha_per_codec),
        cmocka_unit_test(render_set_rejects_bad_input),
        cmocka_unit_test(render_set_tall_and_slivers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
