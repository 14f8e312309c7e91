/* Tests for image_probe_mem and image_decode_mem: the same results as the
 * file versions, from bytes that end exactly at a PROT_NONE guard page and
 * sit in read-only pages, so a read past the end or a write crashes. */
#include "image_test_util.h"

#include <sys/mman.h>

/* A read-only copy of some bytes whose last byte is the last byte before
 * an inaccessible guard page. */
typedef struct guarded {
    uint8_t *map;
    size_t map_len;
    const uint8_t *data;
    size_t len;
} guarded_t;

static void guard_copy(const uint8_t *src, size_t len, guarded_t *out)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = len == 0 ? 1 : (len + page - 1) / page;
    size_t data_len = pages * page;

    out->map_len = data_len + page;
    out->map = mmap(NULL, out->map_len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(out->map != MAP_FAILED);
    if (len > 0)
        memcpy(out->map + data_len - len, src, len);
    assert_int_equal(mprotect(out->map + data_len, page, PROT_NONE), 0);
    assert_int_equal(mprotect(out->map, data_len, PROT_READ), 0);
    out->data = out->map + data_len - len;
    out->len = len;
}

static void guard_free(guarded_t *guarded)
{
    assert_int_equal(munmap(guarded->map, guarded->map_len), 0);
}

/* What a probe and a decode of one input returned. */
typedef struct image_result {
    int probe_rc;
    image_info_t info;
    int decode_rc;
    image_pixels_t pixels;
} image_result_t;

static void result_of_file(const char *path, kadr_format_t format,
                           uint32_t min_width, image_result_t *out)
{
    out->probe_rc = image_probe_file(path, format, &out->info);
    out->decode_rc =
        image_decode_file(path, format, NULL, min_width, &out->pixels);
}

static void result_of_mem(const uint8_t *data, size_t len, kadr_format_t format,
                          uint32_t min_width, image_result_t *out)
{
    guarded_t guarded;

    guard_copy(data, len, &guarded);
    out->probe_rc =
        image_probe_mem(guarded.data, guarded.len, format, &out->info);
    out->decode_rc = image_decode_mem(guarded.data, guarded.len, format, NULL,
                                      min_width, &out->pixels);
    guard_free(&guarded);
}

static void assert_same_info(const image_info_t *file, const image_info_t *mem)
{
    assert_int_equal(mem->format, file->format);
    assert_int_equal(mem->width, file->width);
    assert_int_equal(mem->height, file->height);
    assert_int_equal(mem->orientation, file->orientation);
    assert_int_equal(mem->has_alpha, file->has_alpha);
    assert_int_equal(mem->file_bytes, file->file_bytes);
}

static void assert_same_pixels(const image_pixels_t *file,
                               const image_pixels_t *mem)
{
    assert_int_equal(mem->width, file->width);
    assert_int_equal(mem->height, file->height);
    assert_int_equal(mem->channels, file->channels);
    assert_int_equal(mem->full_width, file->full_width);
    assert_int_equal(mem->full_height, file->full_height);
    if (file->data == NULL) {
        assert_null(mem->data);
        return;
    }
    assert_non_null(mem->data);
    assert_memory_equal(mem->data, file->data,
                        (size_t)file->width * file->height * file->channels);
}

/* Probes and decodes the file at path and the same bytes from memory, and
 * checks that both give the same codes, header and pixels. Returns the
 * decode's code. */
static int check_same(const char *path, kadr_format_t format,
                      uint32_t min_width)
{
    image_result_t file, mem;
    size_t len;
    uint8_t *data = read_all(path, &len);

    result_of_file(path, format, min_width, &file);
    result_of_mem(data, len, format, min_width, &mem);
    print_message("%s: probe %s, decode %s, %ux%u\n", path,
                  kadr_strerror(mem.probe_rc), kadr_strerror(mem.decode_rc),
                  mem.pixels.width, mem.pixels.height);
    assert_int_equal(mem.probe_rc, file.probe_rc);
    assert_int_equal(mem.info.file_bytes, len);
    if (file.probe_rc == 0)
        assert_same_info(&file.info, &mem.info);
    assert_int_equal(mem.decode_rc, file.decode_rc);
    assert_same_pixels(&file.pixels, &mem.pixels);

    int rc = file.decode_rc;

    image_pixels_free(&file.pixels);
    image_pixels_free(&mem.pixels);
    free(data);
    return rc;
}

typedef struct mem_case {
    const char *name;
    kadr_format_t format;
    uint32_t min_width;
    int result; /* expected code of the decode */
} mem_case_t;

/* EXIF orientations, an ICC profile, shrink-on-load, transparency, HEIC,
 * and inputs that fail to decode or are not served. */
static const mem_case_t corpus_cases[] = {
    {"photos/phone-jolla.jpg", KADR_FORMAT_JPEG, 1080, 0},
    {"photos/orientation-landscape_3.jpg", KADR_FORMAT_JPEG, 0, 0},
    {"photos/orientation-landscape_6.jpg", KADR_FORMAT_JPEG, 0, 0},
    {"photos/orientation-portrait_5.jpg", KADR_FORMAT_JPEG, 300, 0},
    {"photos/camera-canon-40d.jpg", KADR_FORMAT_JPEG, 0, 0},
    {"broken/invalid-exif.jpg", KADR_FORMAT_JPEG, 0, 0},
    {"tiny/jpeg.jpg", KADR_FORMAT_JPEG, 0, 0},
    {"photos/iphone.heic", KADR_FORMAT_HEIC, 0, 0},
    {"tiny/heif.heif", KADR_FORMAT_HEIC, 0, 0},
    {"tiny/png-transparent.png", KADR_FORMAT_PNG, 0, 0},
    {"broken/png-truncated.png", KADR_FORMAT_PNG, 0, KADR_E_CORRUPT},
    {"tiny/gif-transparent.gif", KADR_FORMAT_GIF, 0, 0},
    {"tiny/gif.gif", KADR_FORMAT_GIF, 0, KADR_E_CORRUPT},
    {"tiny/webp.webp", KADR_FORMAT_WEBP, 0, KADR_E_CORRUPT},
    {"tiny/bmp.bmp", KADR_FORMAT_BMP, 0, KADR_E_UNSUPPORTED},
};

#define CASE_COUNT(table) (sizeof(table) / sizeof((table)[0]))

static void mem_matches_file_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(corpus_cases); i++) {
        const mem_case_t *c = &corpus_cases[i];

        assert_int_equal(
            check_same(corpus_path(c->name), c->format, c->min_width),
            c->result);
    }
}

typedef struct convert_case {
    const char *args; /* ImageMagick options before the output name */
    const char *prefix;
    kadr_format_t format;
} convert_case_t;

/* Each image format made from one corpus photo by ImageMagick's convert:
 * 8-bit and 16-bit PNG, interlaced and animated GIF, lossy and lossless
 * WebP with alpha, animated WebP (ImageMagick 6 writes it only without
 * the photo's profiles), CMYK JPEG and AVIF. */
static const convert_case_t convert_cases[] = {
    {"", "png24:", KADR_FORMAT_PNG},
    {"-depth 16", "png48:", KADR_FORMAT_PNG},
    {"-interlace GIF", "gif:", KADR_FORMAT_GIF},
    {"\\( +clone -negate \\) -delay 10", "gif:", KADR_FORMAT_GIF},
    {"-quality 80", "webp:", KADR_FORMAT_WEBP},
    {"-alpha set -channel A -evaluate set 50% -define webp:lossless=true",
     "webp:", KADR_FORMAT_WEBP},
    {"-strip -delay 10 \\( +clone -negate \\) -define webp:lossless=true",
     "webp:", KADR_FORMAT_WEBP},
    {"-colorspace CMYK -quality 95", "jpg:", KADR_FORMAT_JPEG},
    {"", "avif:", KADR_FORMAT_AVIF},
};

static void make_converted(const convert_case_t *c, char path[64])
{
    write_temp(path, "", 0);
    assert_true(run_command("convert %s %s '%s%s'",
                            corpus_path("photos/camera-canon-40d.jpg"), c->args,
                            c->prefix, path));
    assert_int_equal(sniff_path(path), c->format);
}

static void mem_matches_file_converted(void **state)
{
    (void)state;
    if (!have_convert())
        skip();
    for (size_t i = 0; i < CASE_COUNT(convert_cases); i++) {
        char path[64];

        make_converted(&convert_cases[i], path);
        assert_int_equal(check_same(path, convert_cases[i].format, 0), 0);
        unlink(path);
    }
}

/* Compares file and memory results on 24 cuts of the file at path, each
 * ending at the guard page: a decoder that reads past its input crashes
 * here. */
static void check_cuts(const char *path, kadr_format_t format)
{
    size_t len;
    uint8_t *data = read_all(path, &len);

    for (size_t i = 1; i <= 24; i++) {
        char cut_path[64];
        size_t cut = len * i / 25;

        write_temp(cut_path, data, cut);

        int rc = check_same(cut_path, format, 0);

        unlink(cut_path);
        assert_true(rc == 0 || rc == KADR_E_CORRUPT || rc == KADR_E_TOO_LARGE);
    }
    free(data);
}

static void mem_cut_at_guard(void **state)
{
    (void)state;
    check_cuts(corpus_path("photos/orientation-landscape_6.jpg"),
               KADR_FORMAT_JPEG);
    check_cuts(corpus_path("tiny/heif.heif"), KADR_FORMAT_HEIC);
    if (!have_convert())
        return;
    for (size_t i = 0; i < CASE_COUNT(convert_cases); i++) {
        char path[64];

        make_converted(&convert_cases[i], path);
        check_cuts(path, convert_cases[i].format);
        unlink(path);
    }
}

/* The first half of a JPEG has its whole header, so it probes, but its
 * scan data is cut off. */
static void mem_truncated_jpeg_corrupt(void **state)
{
    size_t len;
    uint8_t *jpeg = read_all(corpus_path("photos/phone-jolla.jpg"), &len);
    guarded_t half;
    image_info_t info;
    image_pixels_t px;

    (void)state;
    guard_copy(jpeg, len / 2, &half);
    assert_int_equal(
        image_probe_mem(half.data, half.len, KADR_FORMAT_JPEG, &info), 0);
    assert_int_equal(info.width, 3264);
    assert_int_equal(info.height, 2448);
    assert_int_equal(info.file_bytes, len / 2);
    assert_int_equal(
        image_decode_mem(half.data, half.len, KADR_FORMAT_JPEG, NULL, 0, &px),
        KADR_E_CORRUPT);
    assert_null(px.data);
    guard_free(&half);
    free(jpeg);
}

static void mem_empty_corrupt(void **state)
{
    static const kadr_format_t formats[] = {KADR_FORMAT_JPEG, KADR_FORMAT_PNG,
                                            KADR_FORMAT_WEBP, KADR_FORMAT_GIF,
                                            KADR_FORMAT_HEIC, KADR_FORMAT_AVIF};
    static const uint8_t byte = 0xFF;

    (void)state;
    for (size_t i = 0; i < CASE_COUNT(formats); i++) {
        image_info_t info;
        image_pixels_t px;

        assert_int_equal(image_probe_mem(&byte, 0, formats[i], &info),
                         KADR_E_CORRUPT);
        assert_int_equal(info.file_bytes, 0);
        assert_int_equal(image_probe_mem(NULL, 0, formats[i], &info),
                         KADR_E_CORRUPT);
        assert_int_equal(image_decode_mem(NULL, 0, formats[i], NULL, 0, &px),
                         KADR_E_CORRUPT);
        assert_null(px.data);
    }
}

/* max_file_bytes is checked against len before any pixel is decoded. */
static void mem_file_size_limit(void **state)
{
    size_t len;
    uint8_t *jpeg = read_all(corpus_path("photos/camera-canon-40d.jpg"), &len);
    image_limits_t limits = {.max_file_bytes = len - 1};
    image_pixels_t px;

    (void)state;
    assert_int_equal(
        image_decode_mem(jpeg, len, KADR_FORMAT_JPEG, &limits, 0, &px),
        KADR_E_TOO_LARGE);
    assert_null(px.data);
    limits.max_file_bytes = len;
    assert_int_equal(
        image_decode_mem(jpeg, len, KADR_FORMAT_JPEG, &limits, 0, &px), 0);
    assert_int_equal(px.width, 100);
    assert_int_equal(px.height, 68);
    image_pixels_free(&px);
    free(jpeg);
}

/* The guard is real: the kernel cannot copy the byte after the copy
 * into a pipe (EFAULT), though it copies the last byte of the copy. */
static void mem_guard_page_faults(void **state)
{
    static const uint8_t bytes[3] = {1, 2, 3};
    guarded_t guarded;
    int fds[2];
    uint8_t last = 0;

    (void)state;
    guard_copy(bytes, sizeof(bytes), &guarded);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], guarded.data + guarded.len - 1, 1), 1);
    assert_int_equal(read(fds[0], &last, 1), 1);
    assert_int_equal(last, 3);
    errno = 0;
    assert_int_equal(write(fds[1], guarded.data + guarded.len, 1), -1);
    assert_int_equal(errno, EFAULT);
    close(fds[0]);
    close(fds[1]);
    guard_free(&guarded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mem_guard_page_faults),
        cmocka_unit_test(mem_matches_file_corpus),
        cmocka_unit_test(mem_matches_file_converted),
        cmocka_unit_test(mem_cut_at_guard),
        cmocka_unit_test(mem_truncated_jpeg_corrupt),
        cmocka_unit_test(mem_empty_corrupt),
        cmocka_unit_test(mem_file_size_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
