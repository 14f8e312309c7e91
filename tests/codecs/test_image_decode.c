/* Tests for image_probe_file, image_check_limits and image_decode_file. */
#include "image_test_util.h"

#include <sys/resource.h>
#include <turbojpeg.h>

typedef struct photo_case {
    const char *name;
    kadr_format_t format;
    uint32_t width; /* as stored */
    uint32_t height;
    uint32_t orientation;
} photo_case_t;

static const photo_case_t photo_cases[] = {
    {"photos/camera-canon-40d.jpg", KADR_FORMAT_JPEG, 100, 68, 1},
    {"photos/empty-exif-tag.jpg", KADR_FORMAT_JPEG, 2164, 1626, 1},
    {"photos/gps-nikon-coolpix.jpg", KADR_FORMAT_JPEG, 640, 480, 1},
    {"photos/iphone.heic", KADR_FORMAT_HEIC, 2566, 3313, 1},
    {"photos/orientation-landscape_1.jpg", KADR_FORMAT_JPEG, 600, 450, 1},
    {"photos/orientation-landscape_3.jpg", KADR_FORMAT_JPEG, 600, 450, 3},
    {"photos/orientation-landscape_6.jpg", KADR_FORMAT_JPEG, 450, 600, 6},
    {"photos/orientation-landscape_8.jpg", KADR_FORMAT_JPEG, 450, 600, 8},
    {"photos/orientation-portrait_1.jpg", KADR_FORMAT_JPEG, 450, 600, 1},
    {"photos/orientation-portrait_5.jpg", KADR_FORMAT_JPEG, 600, 450, 5},
    {"photos/orientation-portrait_6.jpg", KADR_FORMAT_JPEG, 600, 450, 6},
    {"photos/orientation-portrait_8.jpg", KADR_FORMAT_JPEG, 600, 450, 8},
    {"photos/phone-jolla.jpg", KADR_FORMAT_JPEG, 3264, 2448, 1},
    {"broken/invalid-exif.jpg", KADR_FORMAT_JPEG, 636, 227, 1},
};

#define CASE_COUNT(table) (sizeof(table) / sizeof((table)[0]))

static void probe_corpus_photos(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(photo_cases); i++) {
        const photo_case_t *c = &photo_cases[i];
        image_info_t info;

        print_message("probe %s\n", c->name);
        assert_int_equal(
            image_probe_file(corpus_path(c->name), c->format, &info), 0);
        assert_int_equal(info.format, c->format);
        assert_int_equal(info.width, c->width);
        assert_int_equal(info.height, c->height);
        assert_int_equal(info.orientation, c->orientation);
        assert_false(info.has_alpha);
    }
}

static void decode_corpus_photos_upright(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(photo_cases); i++) {
        const photo_case_t *c = &photo_cases[i];
        bool swap = c->orientation >= 5;
        image_pixels_t px;

        print_message("decode %s\n", c->name);
        assert_int_equal(
            image_decode_file(corpus_path(c->name), c->format, NULL, 0, &px),
            0);
        assert_int_equal(px.width, swap ? c->height : c->width);
        assert_int_equal(px.height, swap ? c->width : c->height);
        assert_int_equal(px.channels, 3);
        image_pixels_free(&px);
    }
}

static void decode_photo(const char *name, uint32_t min_width,
                         image_pixels_t *px)
{
    assert_int_equal(image_decode_file(corpus_path(name), KADR_FORMAT_JPEG,
                                       NULL, min_width, px),
                     0);
}

/* TurboJPEG scales by n/8: 3264 wide gives 1224 at 3/8 and 1632 at 1/2. */
static void decode_shrinks_on_load(void **state)
{
    image_pixels_t px;

    (void)state;
    decode_photo("photos/phone-jolla.jpg", 1080, &px);
    assert_int_equal(px.width, 1224);
    assert_int_equal(px.height, 918);
    image_pixels_free(&px);
    decode_photo("photos/phone-jolla.jpg", 1224, &px);
    assert_int_equal(px.width, 1224);
    image_pixels_free(&px);
    decode_photo("photos/phone-jolla.jpg", 1225, &px);
    assert_int_equal(px.width, 1632);
    assert_int_equal(px.height, 1224);
    image_pixels_free(&px);
    decode_photo("photos/phone-jolla.jpg", 10000, &px);
    assert_int_equal(px.width, 3264);
    image_pixels_free(&px);
}

/* Stored 450x600 with orientation 6 is 600 wide upright, so a minimum of
 * 300 allows half scale: 225x300 stored, 300x225 upright. */
static void decode_shrink_uses_upright_width(void **state)
{
    image_pixels_t px;

    (void)state;
    decode_photo("photos/orientation-landscape_6.jpg", 300, &px);
    assert_int_equal(px.width, 300);
    assert_int_equal(px.height, 225);
    image_pixels_free(&px);
    decode_photo("photos/orientation-landscape_6.jpg", 301, &px);
    assert_int_equal(px.width, 375);
    image_pixels_free(&px);
}

/* Decodes with TurboJPEG alone: stored pixels, no orientation. */
static void decode_stored(const char *name, image_pixels_t *px)
{
    size_t len;
    uint8_t *jpeg = read_all(corpus_path(name), &len);
    tjhandle tj = tjInitDecompress();
    int width, height, subsamp, colorspace;

    assert_non_null(tj);
    assert_int_equal(tjDecompressHeader3(tj, jpeg, len, &width, &height,
                                         &subsamp, &colorspace),
                     0);
    px->width = (uint32_t)width;
    px->height = (uint32_t)height;
    px->channels = 3;
    px->data = malloc((size_t)width * height * 3);
    assert_non_null(px->data);
    assert_int_equal(
        tjDecompress2(tj, jpeg, len, px->data, width, 0, height, TJPF_RGB, 0),
        0);
    tjDestroy(tj);
    free(jpeg);
}

static void thumb_of(const char *name, bool upright,
                     double thumb[THUMB_SIDE * THUMB_SIDE])
{
    image_pixels_t px;

    if (upright)
        decode_photo(name, 0, &px);
    else
        decode_stored(name, &px);
    grey_thumb(&px, thumb);
    image_pixels_free(&px);
}

static void check_upright(const char *name, const char *reference)
{
    double expected[THUMB_SIDE * THUMB_SIDE];
    double upright[THUMB_SIDE * THUMB_SIDE];
    double stored[THUMB_SIDE * THUMB_SIDE];

    thumb_of(reference, true, expected);
    thumb_of(name, true, upright);
    thumb_of(name, false, stored);

    double upright_mad = thumb_mad(upright, expected);
    double stored_mad = thumb_mad(stored, expected);

    print_message("%s: upright %.1f, as stored %.1f\n", name, upright_mad,
                  stored_mad);
    assert_true(upright_mad < 12.0);
    assert_true(stored_mad > 25.0);
}

static void decode_orientations_upright(void **state)
{
    (void)state;
    check_upright("photos/orientation-landscape_3.jpg",
                  "photos/orientation-landscape_1.jpg");
    check_upright("photos/orientation-landscape_6.jpg",
                  "photos/orientation-landscape_1.jpg");
    check_upright("photos/orientation-landscape_8.jpg",
                  "photos/orientation-landscape_1.jpg");
    check_upright("photos/orientation-portrait_5.jpg",
                  "photos/orientation-portrait_1.jpg");
    check_upright("photos/orientation-portrait_6.jpg",
                  "photos/orientation-portrait_1.jpg");
    check_upright("photos/orientation-portrait_8.jpg",
                  "photos/orientation-portrait_1.jpg");
}

/* A 2x3 JPEG whose pixels are all different, written with an APP1 EXIF
 * segment holding one orientation tag. */
static void write_oriented(char path[64], uint16_t orientation)
{
    static const uint8_t exif_template[] = {
        0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0,    0,    'M', 'M',
        0,    42,   0,    0,    0,   8,   0,   1,   0x01, 0x12, 0,   3,
        0,    0,    0,    1,    0,   0,   0,   0,   0,    0,    0,   0};
    uint8_t rgb[2 * 3 * 3];
    uint8_t *jpeg = NULL;
    unsigned long len = 0;
    tjhandle tj = tjInitCompress();

    for (int i = 0; i < 6; i++) {
        rgb[i * 3] = (uint8_t)(i * 50);
        rgb[i * 3 + 1] = (uint8_t)(i * 50);
        rgb[i * 3 + 2] = (uint8_t)(i * 50);
    }
    assert_int_equal(tjCompress2(tj, rgb, 2, 0, 3, TJPF_RGB, &jpeg, &len,
                                 TJSAMP_444, 100, 0),
                     0);

    uint8_t *out = malloc(len + sizeof(exif_template));

    memcpy(out, jpeg, 2);
    memcpy(out + 2, exif_template, sizeof(exif_template));
    out[2 + 29] = (uint8_t)orientation; /* low byte of the SHORT value */
    memcpy(out + 2 + sizeof(exif_template), jpeg + 2, len - 2);
    write_temp(path, out, len + sizeof(exif_template));
    free(out);
    tjFree(jpeg);
    tjDestroy(tj);
}

/* Every orientation, on the 2x3 image with grey levels 0, 50, ... 250 in
 * reading order: where each stored pixel lands upright. */
static void decode_all_eight_orientations(void **state)
{
    static const uint8_t expected[9][6] = {
        [1] = {0, 1, 2, 3, 4, 5}, [2] = {1, 0, 3, 2, 5, 4},
        [3] = {5, 4, 3, 2, 1, 0}, [4] = {4, 5, 2, 3, 0, 1},
        [5] = {0, 2, 4, 1, 3, 5}, [6] = {4, 2, 0, 5, 3, 1},
        [7] = {5, 3, 1, 4, 2, 0}, [8] = {1, 3, 5, 0, 2, 4},
    };

    (void)state;
    for (uint16_t o = 1; o <= 8; o++) {
        char path[64];
        image_pixels_t px;

        write_oriented(path, o);
        assert_int_equal(
            image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px), 0);
        unlink(path);
        assert_int_equal(px.width, o >= 5 ? 3 : 2);
        assert_int_equal(px.height, o >= 5 ? 2 : 3);
        for (int i = 0; i < 6; i++) {
            int got = px.data[i * 3];
            int want = expected[o][i] * 50;

            if (abs(got - want) > 4)
                print_error("orientation %u pixel %d: %d, expected %d\n", o, i,
                            got, want);
            assert_true(abs(got - want) <= 4);
        }
        image_pixels_free(&px);
    }
}

static uint32_t crc_png(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data,
                        uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    memcpy(out + 4, type, 4);
    if (len > 0)
        memcpy(out + 8, data, len);

    uint32_t crc = crc_png(out + 4, len + 4);

    out[8 + len] = (uint8_t)(crc >> 24);
    out[9 + len] = (uint8_t)(crc >> 16);
    out[10 + len] = (uint8_t)(crc >> 8);
    out[11 + len] = (uint8_t)crc;
    return 12 + len;
}

/* A valid PNG signature and IHDR declaring 50000x50000 RGB, then a few
 * bytes of zlib data and IEND: under 100 bytes on disk. */
static size_t make_png_bomb(uint8_t out[128])
{
    static const uint8_t ihdr[13] = {0,    0, 0xC3, 0x50, 0, 0, 0xC3,
                                     0x50, 8, 2,    0,    0, 0};
    static const uint8_t idat[11] = {0x78, 0x9C, 0x63, 0x60, 0x18, 0x05,
                                     0xA3, 0x60, 0x14, 0x0C, 0x00};
    size_t len = 8;

    memcpy(out, "\x89PNG\r\n\x1A\n", 8);
    len += put_chunk(out + len, "IHDR", ihdr, sizeof(ihdr));
    len += put_chunk(out + len, "IDAT", idat, sizeof(idat));
    len += put_chunk(out + len, "IEND", NULL, 0);
    return len;
}

/* SOI, SOF0 declaring 50000x50000 with three components, SOS, a few data
 * bytes and EOI. */
static const uint8_t jpeg_bomb[] = {
    0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xC3, 0x50, 0xC3, 0x50,
    0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF,
    0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00,
    0x3F, 0x00, 0x12, 0x34, 0x56, 0x78, 0xFF, 0xD9};

static long max_rss_kib(void)
{
    struct rusage usage;

    assert_int_equal(getrusage(RUSAGE_SELF, &usage), 0);
    return usage.ru_maxrss;
}

static void check_bomb(const uint8_t *bytes, size_t len, kadr_format_t format)
{
    static const image_limits_t limits = {
        .max_pixels = 100000000, .max_width = 20000, .max_height = 20000};
    char path[64];
    image_info_t info;
    image_pixels_t px;

    write_temp(path, bytes, len);
    assert_int_equal(image_probe_file(path, format, &info), 0);
    assert_int_equal(info.width, 50000);
    assert_int_equal(info.height, 50000);
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);

    double start = seconds_now();
    long rss_before = max_rss_kib();

    assert_int_equal(image_decode_file(path, format, &limits, 0, &px),
                     KADR_E_TOO_LARGE);
    assert_null(px.data);
    /* No caller limits: the built-in cap of 2^28 pixels still applies. */
    assert_int_equal(image_decode_file(path, format, NULL, 0, &px),
                     KADR_E_TOO_LARGE);
    /* Reported, not asserted: timings depend on the host. */
    print_message("bomb rejected in %.1f ms\n",
                  (seconds_now() - start) * 1000.0);
    /* 50000x50000 RGB would be 7.5 GB: the peak grows by far less. */
    assert_true(max_rss_kib() - rss_before < 64 * 1024);
    unlink(path);
}

static void decode_png_bomb_too_large(void **state)
{
    uint8_t png[128];
    size_t len = make_png_bomb(png);

    (void)state;
    assert_true(len < 100);
    check_bomb(png, len, KADR_FORMAT_PNG);
}

static void decode_jpeg_bomb_too_large(void **state)
{
    (void)state;
    check_bomb(jpeg_bomb, sizeof(jpeg_bomb), KADR_FORMAT_JPEG);
}

static void check_limits_each_field(void **state)
{
    image_info_t info = {.format = KADR_FORMAT_JPEG,
                         .width = 4000,
                         .height = 3000,
                         .orientation = 1,
                         .file_bytes = 5000000};
    image_limits_t limits = {0};

    (void)state;
    assert_int_equal(image_check_limits(&info, NULL), 0);
    assert_int_equal(image_check_limits(&info, &limits), 0);
    limits.max_pixels = 12000000;
    assert_int_equal(image_check_limits(&info, &limits), 0);
    limits.max_pixels = 11999999;
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    limits = (image_limits_t){.max_width = 3999};
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    limits = (image_limits_t){.max_height = 2999};
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    limits = (image_limits_t){.max_file_bytes = 5000000};
    assert_int_equal(image_check_limits(&info, &limits), 0);
    limits = (image_limits_t){.max_file_bytes = 4999999};
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    info.width = 0;
    assert_int_equal(image_check_limits(&info, NULL), KADR_E_CORRUPT);
}

/* A photo stored 3000 x 4000 with orientation 6 is 4000 x 3000 upright:
 * max_width and max_height bound the upright size. */
static void check_limits_upright(void **state)
{
    image_info_t info = {.format = KADR_FORMAT_JPEG,
                         .width = 3000,
                         .height = 4000,
                         .orientation = 6,
                         .file_bytes = 5000000};
    image_limits_t limits = {.max_width = 4000, .max_height = 3000};

    (void)state;
    assert_int_equal(image_check_limits(&info, &limits), 0);
    limits.max_width = 3999;
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    limits = (image_limits_t){.max_width = 4000, .max_height = 2999};
    assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    for (uint32_t orientation = 1; orientation <= 4; orientation++) {
        info.orientation = orientation;
        limits = (image_limits_t){.max_width = 3000, .max_height = 4000};
        assert_int_equal(image_check_limits(&info, &limits), 0);
        limits.max_height = 3000;
        assert_int_equal(image_check_limits(&info, &limits), KADR_E_TOO_LARGE);
    }
}

static void decode_truncated_png_corrupt(void **state)
{
    image_pixels_t px;
    image_info_t info;
    const char *path = corpus_path("broken/png-truncated.png");

    (void)state;
    assert_int_equal(image_probe_file(path, KADR_FORMAT_PNG, &info), 0);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_PNG, NULL, 0, &px),
                     KADR_E_CORRUPT);
    assert_null(px.data);
}

/* The corpus file named jpeg-truncated.jpg is byte for byte the complete
 * phone-jolla.jpg (811904 bytes, ending in EOI), so it decodes whole. */
static void decode_corpus_jpeg_truncated(void **state)
{
    image_pixels_t px;

    (void)state;
    decode_photo("broken/jpeg-truncated.jpg", 0, &px);
    assert_int_equal(px.width, 3264);
    assert_int_equal(px.height, 2448);
    image_pixels_free(&px);
}

/* Scan data cut short but closed with an EOI marker, and a header that
 * claims more rows than the data holds: both would decode to grey rows,
 * and both are rejected. */
static void decode_short_scan_jpeg(void **state)
{
    size_t len;
    uint8_t *jpeg = read_all(corpus_path("photos/phone-jolla.jpg"), &len);
    char path[64];
    image_pixels_t px;
    size_t cut = len / 2;

    (void)state;
    jpeg[cut] = 0xFF;
    jpeg[cut + 1] = 0xD9;
    write_temp(path, jpeg, cut + 2);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px),
                     KADR_E_CORRUPT);
    unlink(path);
    free(jpeg);

    jpeg = read_all(corpus_path("photos/orientation-landscape_1.jpg"), &len);
    for (size_t i = 0; i + 9 < len; i++) {
        /* SOF0: FF C0, length, precision, height (big-endian). */
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
            jpeg[i + 5] = 0x10; /* 450 rows become 4290 */
            break;
        }
    }
    write_temp(path, jpeg, len);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px),
                     KADR_E_CORRUPT);
    unlink(path);
    free(jpeg);
}

/* Finds the last SOS segment of a JPEG: returns its offset and length. */
static size_t last_sos(const uint8_t *jpeg, size_t len, size_t *seg_len)
{
    size_t found = 0;

    for (size_t i = 2; i + 3 < len; i++) {
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) {
            found = i;
            *seg_len = 2 + ((size_t)jpeg[i + 2] << 8 | jpeg[i + 3]);
        }
    }
    return found;
}

/* A progressive JPEG with hundreds of scans (here empty copies of its
 * last scan header) is rejected quickly instead of holding a worker. */
static void decode_scan_bomb_jpeg(void **state)
{
    uint8_t rgb[64 * 64 * 3];
    unsigned char *jpeg = NULL;
    unsigned long jpeg_len = 0;
    tjhandle tj = tjInitCompress();
    size_t seg_len = 0;
    char path[64];
    image_pixels_t px;

    (void)state;
    memset(rgb, 0x80, sizeof(rgb));
    assert_int_equal(tjCompress2(tj, rgb, 64, 0, 64, TJPF_RGB, &jpeg, &jpeg_len,
                                 TJSAMP_420, 80, TJFLAG_PROGRESSIVE),
                     0);
    tjDestroy(tj);

    size_t sos = last_sos(jpeg, jpeg_len, &seg_len);
    size_t copies = 600;
    uint8_t *bomb = malloc(jpeg_len + copies * seg_len);

    assert_true(sos > 0);
    assert_non_null(bomb);
    memcpy(bomb, jpeg, jpeg_len - 2);
    for (size_t i = 0; i < copies; i++)
        memcpy(bomb + jpeg_len - 2 + i * seg_len, jpeg + sos, seg_len);
    memcpy(bomb + jpeg_len - 2 + copies * seg_len, "\xff\xd9", 2);
    write_temp(path, bomb, jpeg_len + copies * seg_len);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px),
                     KADR_E_CORRUPT);
    unlink(path);
    free(bomb);
    tjFree(jpeg);
}

/* A JPEG cut inside its scan data has no EOI marker: it is rejected, as
 * is one cut before the scan. One with bytes after its EOI still decodes. */
static void decode_cut_jpeg(void **state)
{
    size_t len;
    uint8_t *jpeg = read_all(corpus_path("photos/phone-jolla.jpg"), &len);
    uint8_t *padded = malloc(len + 4096);
    char path[64];
    image_pixels_t px;

    (void)state;
    assert_non_null(padded);
    const size_t cuts[] = {200000, len / 2, len - 2, 300};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        write_temp(path, jpeg, cuts[i]);
        assert_int_equal(
            image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px),
            KADR_E_CORRUPT);
        unlink(path);
    }
    memcpy(padded, jpeg, len);
    memset(padded + len, 0x5a, 4096);
    write_temp(path, padded, len + 4096);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px),
                     0);
    assert_int_equal(px.width, 3264);
    assert_int_equal(px.height, 2448);
    image_pixels_free(&px);
    unlink(path);
    free(padded);
    free(jpeg);
}

static void decode_invalid_exif_jpeg(void **state)
{
    image_pixels_t px;

    (void)state;
    decode_photo("broken/invalid-exif.jpg", 0, &px);
    assert_int_equal(px.width, 636);
    assert_int_equal(px.height, 227);
    image_pixels_free(&px);
}

typedef struct tiny_case {
    const char *name;
    kadr_format_t format;
    int result;
    uint32_t width, height, channels;
} tiny_case_t;

/* tiny/webp.webp is a 26-byte VP8L stream. Its header reads as 11330x446
 * and its data is far too short for that. tiny/gif.gif has a screen
 * descriptor and no image. */
static const tiny_case_t tiny_cases[] = {
    {"tiny/jpeg.jpg", KADR_FORMAT_JPEG, 0, 1, 1, 3},
    {"tiny/png-transparent.png", KADR_FORMAT_PNG, 0, 1, 1, 4},
    {"tiny/gif-transparent.gif", KADR_FORMAT_GIF, 0, 1, 1, 4},
    {"tiny/heif.heif", KADR_FORMAT_HEIC, 0, 64, 64, 3},
    {"tiny/webp.webp", KADR_FORMAT_WEBP, KADR_E_CORRUPT, 0, 0, 0},
    {"tiny/gif.gif", KADR_FORMAT_GIF, KADR_E_CORRUPT, 0, 0, 0},
    {"broken/empty.bin", KADR_FORMAT_JPEG, KADR_E_CORRUPT, 0, 0, 0},
    {"tiny/bmp.bmp", KADR_FORMAT_BMP, KADR_E_UNSUPPORTED, 0, 0, 0},
    {"tiny/tiff.tif", KADR_FORMAT_TIFF, KADR_E_UNSUPPORTED, 0, 0, 0},
};

static void decode_tiny_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(tiny_cases); i++) {
        const tiny_case_t *c = &tiny_cases[i];
        image_pixels_t px;
        int rc =
            image_decode_file(corpus_path(c->name), c->format, NULL, 0, &px);

        print_message("%s: %s\n", c->name, kadr_strerror(rc));
        assert_int_equal(rc, c->result);
        assert_int_equal(px.width, c->width);
        assert_int_equal(px.height, c->height);
        assert_int_equal(px.channels, c->channels);
        image_pixels_free(&px);
    }
}

static void decode_transparent_tiny_alpha(void **state)
{
    image_pixels_t px;

    (void)state;
    assert_int_equal(image_decode_file(corpus_path("tiny/gif-transparent.gif"),
                                       KADR_FORMAT_GIF, NULL, 0, &px),
                     0);
    assert_int_equal(px.data[3], 0);
    image_pixels_free(&px);
    assert_int_equal(image_decode_file(corpus_path("tiny/png-transparent.png"),
                                       KADR_FORMAT_PNG, NULL, 0, &px),
                     0);
    assert_int_equal(px.data[3], 0);
    image_pixels_free(&px);
}

static void decode_missing_file(void **state)
{
    image_pixels_t px;

    (void)state;
    assert_int_equal(
        image_decode_file("/nonexistent/x.jpg", KADR_FORMAT_JPEG, NULL, 0, &px),
        -ENOENT);
}

/* TurboJPEG writes CMYK as Adobe does, inverted (255 is no ink), and
 * marks the file with an APP14 Adobe segment. */
static void decode_cmyk_jpeg(void **state)
{
    static const uint8_t inks[3][4] = {
        {0, 255, 255, 0}, /* red: no cyan, full magenta and yellow */
        {255, 128, 0, 0}, /* (0, 128, 255) azure */
        {0, 0, 0, 128}};  /* half black: grey 127 */
    static const uint8_t rgb[3][3] = {
        {255, 0, 0}, {0, 127, 255}, {127, 127, 127}};

    (void)state;
    for (int i = 0; i < 3; i++) {
        uint8_t cmyk[16 * 16 * 4];
        uint8_t *jpeg = NULL;
        unsigned long len = 0;
        tjhandle tj = tjInitCompress();
        char path[64];
        image_pixels_t px;

        for (int p = 0; p < 16 * 16; p++) {
            for (int c = 0; c < 4; c++)
                cmyk[p * 4 + c] = (uint8_t)(255 - inks[i][c]);
        }
        assert_int_equal(tjCompress2(tj, cmyk, 16, 0, 16, TJPF_CMYK, &jpeg,
                                     &len, TJSAMP_444, 100, 0),
                         0);
        write_temp(path, jpeg, len);
        tjFree(jpeg);
        tjDestroy(tj);
        assert_int_equal(
            image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px), 0);
        unlink(path);
        assert_int_equal(px.channels, 3);
        for (int c = 0; c < 3; c++) {
            int got = px.data[(8 * 16 + 8) * 3 + c];

            print_message("colour %d channel %d: %d, expected %d\n", i, c, got,
                          rgb[i][c]);
            assert_true(abs(got - rgb[i][c]) <= 4);
        }
        image_pixels_free(&px);
    }
}

typedef struct convert_case {
    const char *args;   /* ImageMagick options before the output name */
    const char *prefix; /* ImageMagick format prefix of the output */
    kadr_format_t format;
    uint32_t channels;
    uint8_t rgba[4]; /* expected pixel at (4, 4) */
} convert_case_t;

static const convert_case_t convert_cases[] = {
    {"-size 9x7 xc:'rgb(255,0,0)' -depth 16",
     "png48:",
     KADR_FORMAT_PNG,
     3,
     {255, 0, 0, 255}},
    {"-size 9x7 xc:'rgba(0,0,255,0.5)' -depth 16",
     "png64:",
     KADR_FORMAT_PNG,
     4,
     {0, 0, 255, 128}},
    {"-size 9x7 xc:'rgb(0,255,0)'",
     "png8:",
     KADR_FORMAT_PNG,
     3,
     {0, 255, 0, 255}},
    {"-size 9x7 xc:'rgb(128,128,128)' -colorspace Gray -depth 8",
     "png:",
     KADR_FORMAT_PNG,
     3,
     {128, 128, 128, 255}},
    {"-size 9x7 xc:black -colorspace Gray -depth 1",
     "png:",
     KADR_FORMAT_PNG,
     3,
     {0, 0, 0, 255}},
    {"-size 9x7 xc:'rgb(0,0,255)' -interlace PNG",
     "png24:",
     KADR_FORMAT_PNG,
     3,
     {0, 0, 255, 255}},
    {"-size 9x7 xc:none -fill 'rgb(255,255,0)' -draw 'point 4,4'",
     "png8:",
     KADR_FORMAT_PNG,
     4,
     {255, 255, 0, 255}},
    {"-size 9x7 xc:'rgb(255,0,255)' -interlace GIF",
     "gif:",
     KADR_FORMAT_GIF,
     3,
     {255, 0, 255, 255}},
    {"-size 9x7 xc:'rgb(200,100,50)' -define webp:lossless=true",
     "webp:",
     KADR_FORMAT_WEBP,
     3,
     {200, 100, 50, 255}},
    {"-size 9x7 xc:'rgba(200,100,50,0.5)' -define webp:lossless=true",
     "webp:",
     KADR_FORMAT_WEBP,
     4,
     {200, 100, 50, 128}},
    {"-delay 10 -size 9x7 xc:'rgb(10,20,30)' xc:'rgb(250,250,250)' "
     "-define webp:lossless=true",
     "webp:",
     KADR_FORMAT_WEBP,
     4,
     {10, 20, 30, 255}},
    {"-size 9x7 xc:'rgb(200,100,50)' -quality 90",
     "webp:",
     KADR_FORMAT_WEBP,
     3,
     {200, 100, 50, 255}},
    {"-size 9x7 xc:'rgba(200,100,50,0.5)' -quality 90",
     "webp:",
     KADR_FORMAT_WEBP,
     4,
     {200, 100, 50, 128}},
    {"-size 9x7 xc:'rgb(0,128,255)'",
     "avif:",
     KADR_FORMAT_AVIF,
     3,
     {0, 128, 255, 255}},
    {"-size 9x7 xc:'rgb(0,128,255)' -colorspace CMYK -quality 100",
     "jpg:",
     KADR_FORMAT_JPEG,
     3,
     {0, 128, 255, 255}},
};

static void check_converted(const convert_case_t *c, const char *path)
{
    image_pixels_t px;
    char output[128];

    snprintf(output, sizeof(output), "%s%s", c->prefix, path);
    assert_true(run_command("convert %s %s", c->args, output));
    assert_int_equal(sniff_path(path), c->format);
    assert_int_equal(image_decode_file(path, c->format, NULL, 0, &px), 0);
    assert_int_equal(px.width, 9);
    assert_int_equal(px.height, 7);
    assert_int_equal(px.channels, c->channels);
    for (uint32_t ch = 0; ch < c->channels; ch++) {
        int got = px.data[(4 * 9 + 4) * px.channels + ch];
        /* Lossy AVIF and WebP shift a flat colour by a few levels. */
        bool lossy =
            strstr(c->args, "lossless") == NULL &&
            (c->format == KADR_FORMAT_AVIF || c->format == KADR_FORMAT_WEBP);
        int tolerance = lossy ? 12 : 4;

        if (abs(got - c->rgba[ch]) > tolerance)
            print_error("%s: channel %u is %d, expected %d\n", c->args, ch, got,
                        c->rgba[ch]);
        assert_true(abs(got - c->rgba[ch]) <= tolerance);
    }
    image_pixels_free(&px);
}

/* Bit depths, palettes, grey, interlacing, alpha and animation, made with
 * ImageMagick's convert. */
static void decode_generated_variants(void **state)
{
    (void)state;
    if (!have_convert())
        skip();
    for (size_t i = 0; i < CASE_COUNT(convert_cases); i++) {
        char path[64];

        write_temp(path, "", 0);
        print_message("convert %s\n", convert_cases[i].args);
        check_converted(&convert_cases[i], path);
        unlink(path);
    }
}

/* Decodes one damaged copy: it decodes or fails with a kadr code, never
 * with a crash, a sanitizer report or another error. */
static void check_damaged(const uint8_t *data, size_t len, kadr_format_t format)
{
    static const image_limits_t limits = {.max_pixels = 50000000};
    char path[64];
    image_pixels_t px;

    write_temp(path, data, len);

    int rc = image_decode_file(path, format, &limits, 0, &px);

    unlink(path);
    if (rc != 0 && rc != KADR_E_CORRUPT && rc != KADR_E_TOO_LARGE)
        print_error("%s, %zu bytes: %s\n", format_name(format), len,
                    kadr_strerror(rc));
    assert_true(rc == 0 || rc == KADR_E_CORRUPT || rc == KADR_E_TOO_LARGE);
    if (rc == 0)
        assert_non_null(px.data);
    else
        assert_null(px.data);
    image_pixels_free(&px);
}

/* 40 cuts and 40 copies with a few random bytes changed, per format. */
static void damage_file(const char *path)
{
    size_t len;
    uint8_t *data = read_all(path, &len);
    uint8_t *copy = malloc(len);
    kadr_format_t format = sniff_path(path);

    assert_non_null(copy);
    srand(7);
    for (size_t i = 1; i <= 40; i++)
        check_damaged(data, len * i / 41, format);
    for (int i = 0; i < 40; i++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + i % 8; k++)
            copy[(size_t)rand() % len] = (uint8_t)rand();
        check_damaged(copy, len, format);
    }
    free(copy);
    free(data);
}

static void decode_damaged_inputs(void **state)
{
    static const char *const formats[] = {"png", "gif", "webp", "heic"};
    const char *photo = corpus_path("photos/camera-canon-40d.jpg");
    char source[4096];

    (void)state;
    snprintf(source, sizeof(source), "%s", photo);
    damage_file(source);
    if (!have_convert())
        return;
    for (size_t i = 0; i < CASE_COUNT(formats); i++) {
        char path[64];

        write_temp(path, "", 0);
        assert_true(run_command("convert %s %s:%s", source, formats[i], path));
        damage_file(path);
        unlink(path);
    }
}

/* orientation-landscape_3.jpg carries Apple's "Generic RGB Profile"
 * (gamma 1.8): converted to sRGB (gamma about 2.2), its mid tones come
 * out lighter than the stored values. */
static void decode_converts_icc_profile(void **state)
{
    image_pixels_t converted, stored;
    const char *name = "photos/orientation-landscape_3.jpg";

    (void)state;
    decode_photo(name, 0, &converted);
    decode_stored(name, &stored);

    size_t n = (size_t)stored.width * stored.height * 3;
    double sum_converted = 0.0, sum_stored = 0.0;

    for (size_t i = 0; i < n; i++) {
        sum_converted += converted.data[i];
        sum_stored += stored.data[i];
    }
    print_message("mean level: stored %.1f, converted %.1f\n", sum_stored / n,
                  sum_converted / n);
    assert_true(sum_converted / n > sum_stored / n + 5.0);
    image_pixels_free(&converted);
    image_pixels_free(&stored);
}

/* A 12-megapixel PNG takes well over a millisecond to decode on any
 * host, so a 1 ms decode limit rejects it once the decode returns. */
static void decode_time_limit(void **state)
{
    static const image_limits_t limits = {.max_decode_ms = 1};
    char path[64];
    image_pixels_t px;

    (void)state;
    if (!have_convert())
        skip();
    write_temp(path, "", 0);
    assert_true(run_command("convert -size 4000x3000 plasma:fractal -seed 7 "
                            "png24:%s",
                            path));
    assert_int_equal(image_decode_file(path, KADR_FORMAT_PNG, &limits, 0, &px),
                     KADR_E_TIMEOUT);
    assert_null(px.data);
    unlink(path);
}

/* The file size limit applies before anything is decoded. */
static void decode_file_size_limit(void **state)
{
    const char *path = corpus_path("photos/phone-jolla.jpg");
    image_limits_t limits = {.max_file_bytes = 1000};
    image_info_t info;
    image_pixels_t px;

    (void)state;
    assert_int_equal(image_probe_file(path, KADR_FORMAT_JPEG, &info), 0);
    assert_true(info.file_bytes > 1000);
    assert_int_equal(image_decode_file(path, KADR_FORMAT_JPEG, &limits, 0, &px),
                     KADR_E_TOO_LARGE);
    limits.max_file_bytes = info.file_bytes;
    assert_int_equal(
        image_decode_file(path, KADR_FORMAT_JPEG, &limits, 1080, &px), 0);
    image_pixels_free(&px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_corpus_photos),
        cmocka_unit_test(decode_corpus_photos_upright),
        cmocka_unit_test(decode_shrinks_on_load),
        cmocka_unit_test(decode_shrink_uses_upright_width),
        cmocka_unit_test(decode_orientations_upright),
        cmocka_unit_test(decode_all_eight_orientations),
        cmocka_unit_test(decode_png_bomb_too_large),
        cmocka_unit_test(decode_jpeg_bomb_too_large),
        cmocka_unit_test(check_limits_each_field),
        cmocka_unit_test(check_limits_upright),
        cmocka_unit_test(decode_truncated_png_corrupt),
        cmocka_unit_test(decode_corpus_jpeg_truncated),
        cmocka_unit_test(decode_cut_jpeg),
        cmocka_unit_test(decode_short_scan_jpeg),
        cmocka_unit_test(decode_scan_bomb_jpeg),
        cmocka_unit_test(decode_invalid_exif_jpeg),
        cmocka_unit_test(decode_tiny_files),
        cmocka_unit_test(decode_transparent_tiny_alpha),
        cmocka_unit_test(decode_missing_file),
        cmocka_unit_test(decode_cmyk_jpeg),
        cmocka_unit_test(decode_generated_variants),
        cmocka_unit_test(decode_damaged_inputs),
        cmocka_unit_test(decode_converts_icc_profile),
        cmocka_unit_test(decode_time_limit),
        cmocka_unit_test(decode_file_size_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
