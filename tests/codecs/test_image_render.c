/* Tests for image_render_preset and the JPEG and WebP encoders. */
#include "image_test_util.h"
#include "image_blob_util.h"

static const image_preset_t preset_w1080_jpg = {"w1080.jpg", IMAGE_FIT_WIDTH,
                                                1080, IMAGE_CODEC_JPEG, 82};
static const image_preset_t preset_w1080_webp = {"w1080.webp", IMAGE_FIT_WIDTH,
                                                 1080, IMAGE_CODEC_WEBP, 80};
static const image_preset_t preset_w640_webp = {"w640.webp", IMAGE_FIT_WIDTH,
                                                640, IMAGE_CODEC_WEBP, 80};
static const image_preset_t preset_w320_webp = {"w320.webp", IMAGE_FIT_WIDTH,
                                                320, IMAGE_CODEC_WEBP, 80};
static const image_preset_t preset_s150_jpg = {"s150.jpg", IMAGE_FIT_SQUARE,
                                               150, IMAGE_CODEC_JPEG, 82};
static const image_preset_t preset_preview_jpg = {
    "preview.jpg", IMAGE_FIT_PREVIEW, 48, IMAGE_CODEC_JPEG, 60};

static const image_preset_t *const default_presets[] = {
    &preset_w1080_jpg, &preset_w1080_webp, &preset_w640_webp,
    &preset_w320_webp, &preset_s150_jpg,   &preset_preview_jpg,
};

#define PRESET_COUNT (sizeof(default_presets) / sizeof(default_presets[0]))

static void decode_corpus(const char *name, uint32_t min_width,
                          image_pixels_t *px)
{
    assert_int_equal(image_decode_file(corpus_path(name), KADR_FORMAT_JPEG,
                                       NULL, min_width, px),
                     0);
}

static void check_dims(const image_blob_t *blob, image_codec_t codec,
                       uint32_t width, uint32_t height)
{
    image_pixels_t px;

    assert_int_equal(blob->width, width);
    assert_int_equal(blob->height, height);
    decode_blob(blob, codec, &px);
    assert_int_equal(px.width, width);
    assert_int_equal(px.height, height);
    free_decoded(&px);
}

static bool contains(const image_blob_t *blob, const char *needle)
{
    size_t len = strlen(needle);

    for (size_t i = 0; i + len <= blob->len; i++) {
        if (memcmp(blob->data + i, needle, len) == 0)
            return true;
    }
    return false;
}

/* Walks JPEG markers up to the scan: only APP0 (JFIF), DQT, SOF0, DHT and
 * SOS may appear, so no APP1 (EXIF, XMP), APP2 (ICC) or COM segment. */
static void check_jpeg_segments(const image_blob_t *blob)
{
    size_t off = 2;

    assert_true(blob->len > 4);
    assert_int_equal(blob->data[0], 0xFF);
    assert_int_equal(blob->data[1], 0xD8);
    while (off + 4 <= blob->len) {
        uint8_t marker = blob->data[off + 1];

        assert_int_equal(blob->data[off], 0xFF);
        if (marker != 0xE0 && marker != 0xDB && marker != 0xC0 &&
            marker != 0xC4 && marker != 0xDA)
            print_error("unexpected JPEG marker 0x%02X\n", marker);
        assert_true(marker == 0xE0 || marker == 0xDB || marker == 0xC0 ||
                    marker == 0xC4 || marker == 0xDA);
        if (marker == 0xDA)
            break;
        off += 2 + ((size_t)blob->data[off + 2] << 8 | blob->data[off + 3]);
    }
}

/* Walks the RIFF chunks of a WebP: no EXIF, XMP or ICC chunk. */
static void check_webp_chunks(const image_blob_t *blob)
{
    size_t off = 12;

    assert_true(blob->len > 12);
    assert_memory_equal(blob->data + 8, "WEBP", 4);
    while (off + 8 <= blob->len) {
        const uint8_t *chunk = blob->data + off;
        size_t size = (size_t)chunk[4] | (size_t)chunk[5] << 8 |
                      (size_t)chunk[6] << 16 | (size_t)chunk[7] << 24;

        assert_memory_not_equal(chunk, "EXIF", 4);
        assert_memory_not_equal(chunk, "XMP ", 4);
        assert_memory_not_equal(chunk, "ICCP", 4);
        off += 8 + size + (size & 1);
    }
}

static void check_no_metadata(const image_blob_t *blob, image_codec_t codec)
{
    assert_false(contains(blob, "Exif"));
    assert_false(contains(blob, "http://ns.adobe.com"));
    assert_false(contains(blob, "ICC_PROFILE"));
    if (codec == IMAGE_CODEC_JPEG)
        check_jpeg_segments(blob);
    else
        check_webp_chunks(blob);
}

static void render(const image_pixels_t *src, const image_preset_t *preset,
                   image_blob_t *blob)
{
    assert_int_equal(image_render_preset(src, preset, blob), 0);
    check_no_metadata(blob, preset->codec);
}

static void render_phone_presets(void **state)
{
    static const uint32_t dims[PRESET_COUNT][2] = {
        {1080, 810}, {1080, 810}, {640, 480}, {320, 240}, {150, 150}, {48, 36}};
    image_pixels_t src;

    (void)state;
    decode_corpus("photos/phone-jolla.jpg", 1080, &src);
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        image_blob_t blob;

        render(&src, default_presets[i], &blob);
        check_dims(&blob, default_presets[i]->codec, dims[i][0], dims[i][1]);
        print_message("%s: %zu bytes\n", default_presets[i]->name, blob.len);
        image_blob_free(&blob);
    }
    image_pixels_free(&src);
}

/* Variants never upscale: a 100x68 photo stays 100x68, its square is the
 * 68-pixel side. */
static void render_small_never_upscales(void **state)
{
    static const uint32_t dims[PRESET_COUNT][2] = {
        {100, 68}, {100, 68}, {100, 68}, {100, 68}, {68, 68}, {48, 33}};
    image_pixels_t src;

    (void)state;
    decode_corpus("photos/camera-canon-40d.jpg", 1080, &src);
    assert_int_equal(src.width, 100);
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        image_blob_t blob;

        render(&src, default_presets[i], &blob);
        check_dims(&blob, default_presets[i]->codec, dims[i][0], dims[i][1]);
        image_blob_free(&blob);
    }
    image_pixels_free(&src);
}

/* The GPS photo's variants carry none of its EXIF: no GPS tags, no
 * camera maker. */
static void render_strips_gps(void **state)
{
    image_pixels_t src;

    (void)state;
    decode_corpus("photos/gps-nikon-coolpix.jpg", 320, &src);
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        image_blob_t blob;

        render(&src, default_presets[i], &blob);
        assert_false(contains(&blob, "NIKON"));
        assert_false(contains(&blob, "GPS"));
        image_blob_free(&blob);
    }
    image_pixels_free(&src);
}

/* Stored 450x600 with orientation 6: upright 600x450. Shrink-on-load
 * decodes it at 5/8 scale, 375x282 upright (TurboJPEG rounds up), so the
 * 320-wide variant is 241 rows, not the 240 of the full-size ratio. */
static void render_oriented_upright(void **state)
{
    image_pixels_t src;
    image_blob_t blob;

    (void)state;
    decode_corpus("photos/orientation-landscape_6.jpg", 320, &src);
    render(&src, &preset_w320_webp, &blob);
    /* 600x450 upright gives 320x240, whatever scale the decoder used. */
    check_dims(&blob, IMAGE_CODEC_WEBP, 320, 240);
    image_blob_free(&blob);
    image_pixels_free(&src);
}

static void make_half_transparent(image_pixels_t *px)
{
    px->width = 64;
    px->height = 32;
    px->channels = 4;
    px->data = calloc(64 * 32, 4);
    assert_non_null(px->data);
    for (uint32_t i = 0; i < 64 * 32; i++) {
        uint8_t *p = px->data + i * 4;

        p[0] = 20;
        p[1] = 40;
        p[2] = 200;
        p[3] = i % 64 < 32 ? 255 : 0;
    }
}

static const uint8_t *pixel_at(const image_pixels_t *px, uint32_t x, uint32_t y)
{
    return px->data + ((size_t)y * px->width + x) * px->channels;
}

static void encode_jpeg_flattens_on_white(void **state)
{
    image_pixels_t src, decoded;
    image_blob_t blob;

    (void)state;
    make_half_transparent(&src);
    assert_int_equal(image_encode_jpeg(&src, 90, &blob), 0);
    check_no_metadata(&blob, IMAGE_CODEC_JPEG);
    decode_blob(&blob, IMAGE_CODEC_JPEG, &decoded);
    for (int c = 0; c < 3; c++) {
        assert_true(pixel_at(&decoded, 56, 16)[c] >= 250);
        assert_true(abs(pixel_at(&decoded, 8, 16)[c] - src.data[c]) <= 6);
    }
    free_decoded(&decoded);
    image_blob_free(&blob);
    image_pixels_free(&src);
}

static void encode_webp_keeps_alpha(void **state)
{
    image_pixels_t src, decoded;
    image_blob_t blob;

    (void)state;
    make_half_transparent(&src);
    assert_int_equal(image_encode_webp(&src, 90, &blob), 0);
    check_no_metadata(&blob, IMAGE_CODEC_WEBP);
    decode_blob(&blob, IMAGE_CODEC_WEBP, &decoded);
    assert_int_equal(pixel_at(&decoded, 8, 16)[3], 255);
    assert_int_equal(pixel_at(&decoded, 56, 16)[3], 0);
    free_decoded(&decoded);
    image_blob_free(&blob);
    image_pixels_free(&src);
}

static double mean_gradient(const image_pixels_t *px)
{
    double sum = 0.0;
    size_t n = 0;

    for (uint32_t y = 0; y < px->height; y++) {
        for (uint32_t x = 1; x < px->width; x++, n++)
            sum += abs(pixel_at(px, x, y)[1] - pixel_at(px, x - 1, y)[1]);
    }
    return sum / (double)n;
}

/* The preview is the same size as a plain 48-wide variant but much
 * smoother: its mean neighbour difference is a fraction of the plain
 * one's. */
static void render_preview_blurred(void **state)
{
    static const image_preset_t sharp = {"w48.jpg", IMAGE_FIT_WIDTH, 48,
                                         IMAGE_CODEC_JPEG, 60};
    image_pixels_t src, blurred, plain;
    image_blob_t blob;

    (void)state;
    decode_corpus("photos/gps-nikon-coolpix.jpg", 48, &src);
    render(&src, &preset_preview_jpg, &blob);
    decode_blob(&blob, IMAGE_CODEC_JPEG, &blurred);
    image_blob_free(&blob);
    render(&src, &sharp, &blob);
    decode_blob(&blob, IMAGE_CODEC_JPEG, &plain);
    image_blob_free(&blob);
    assert_int_equal(blurred.width, 48);
    assert_int_equal(blurred.height, 36);

    double blurred_grad = mean_gradient(&blurred);
    double plain_grad = mean_gradient(&plain);

    print_message("mean gradient: preview %.2f, plain %.2f\n", blurred_grad,
                  plain_grad);
    assert_true(blurred_grad * 3.0 < plain_grad);
    free_decoded(&blurred);
    free_decoded(&plain);
    image_pixels_free(&src);
}

/* A 2000x1 strip at 320 wide rounds to 0 rows: it gets 1. */
static void render_height_at_least_one(void **state)
{
    image_pixels_t src = {calloc(2000, 3), 2000, 1, 3, 0, 0};
    image_blob_t blob;

    (void)state;
    assert_non_null(src.data);
    assert_int_equal(image_render_preset(&src, &preset_w320_webp, &blob), 0);
    assert_int_equal(blob.width, 320);
    assert_int_equal(blob.height, 1);
    image_blob_free(&blob);
    image_pixels_free(&src);
}

static void render_rejects_bad_preset(void **state)
{
    image_pixels_t src = {calloc(16 * 16, 3), 16, 16, 3, 0, 0};
    image_preset_t preset = preset_w320_webp;
    image_blob_t blob;

    (void)state;
    assert_non_null(src.data);
    preset.size = 0;
    assert_int_equal(image_render_preset(&src, &preset, &blob),
                     KADR_E_BAD_INPUT);
    preset = preset_w320_webp;
    preset.quality = 101;
    assert_int_equal(image_render_preset(&src, &preset, &blob),
                     KADR_E_BAD_INPUT);
    preset = preset_w320_webp;
    preset.fit = (image_fit_t)9;
    assert_int_equal(image_render_preset(&src, &preset, &blob),
                     KADR_E_BAD_INPUT);
    assert_null(blob.data);
    image_pixels_free(&src);
}

/* The worker's path for an 8 MP upload: one shrink-on-load decode, then
 * every default variant at its exact size. Its speed is measured in
 * bench/, not here. */
static void render_phone_all_presets(void **state)
{
    image_pixels_t src;

    (void)state;
    decode_corpus("photos/phone-jolla.jpg", 1080, &src);
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        image_blob_t blob;
        uint32_t width, height;

        assert_int_equal(image_render_preset(&src, default_presets[i], &blob),
                         0);
        image_preset_dims(default_presets[i], 3264, 2448, &width, &height);
        assert_int_equal(blob.width, width);
        assert_int_equal(blob.height, height);
        image_blob_free(&blob);
    }
    image_pixels_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_phone_presets),
        cmocka_unit_test(render_small_never_upscales),
        cmocka_unit_test(render_strips_gps),
        cmocka_unit_test(render_oriented_upright),
        cmocka_unit_test(encode_jpeg_flattens_on_white),
        cmocka_unit_test(encode_webp_keeps_alpha),
        cmocka_unit_test(render_preview_blurred),
        cmocka_unit_test(render_height_at_least_one),
        cmocka_unit_test(render_rejects_bad_preset),
        cmocka_unit_test(render_phone_all_presets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
