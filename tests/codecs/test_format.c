/* Tests for format_sniff and the format names. */
#include "image_test_util.h"

typedef struct corpus_case {
    const char *name;
    kadr_format_t format;
} corpus_case_t;

static const corpus_case_t corpus_cases[] = {
    {"tiny/Mpeg4.mp4", KADR_FORMAT_MP4},
    {"tiny/bmp.bmp", KADR_FORMAT_BMP},
    {"tiny/gif-transparent.gif", KADR_FORMAT_GIF},
    {"tiny/gif.gif", KADR_FORMAT_GIF},
    {"tiny/heif.heif", KADR_FORMAT_HEIC},
    {"tiny/jpeg.jpg", KADR_FORMAT_JPEG},
    {"tiny/jxl.jxl", KADR_FORMAT_JXL},
    {"tiny/mp3.mp3", KADR_FORMAT_MP3},
    {"tiny/mp4-with-audio.mp4", KADR_FORMAT_MP4},
    {"tiny/png-transparent.png", KADR_FORMAT_PNG},
    {"tiny/tiff.tif", KADR_FORMAT_TIFF},
    {"tiny/webm.webm", KADR_FORMAT_WEBM},
    {"tiny/webp.webp", KADR_FORMAT_WEBP},
    {"photos/camera-canon-40d.jpg", KADR_FORMAT_JPEG},
    {"photos/empty-exif-tag.jpg", KADR_FORMAT_JPEG},
    {"photos/gps-nikon-coolpix.jpg", KADR_FORMAT_JPEG},
    {"photos/iphone.heic", KADR_FORMAT_HEIC},
    {"photos/orientation-landscape_1.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-landscape_3.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-landscape_6.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-landscape_8.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-portrait_1.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-portrait_5.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-portrait_6.jpg", KADR_FORMAT_JPEG},
    {"photos/orientation-portrait_8.jpg", KADR_FORMAT_JPEG},
    {"photos/phone-jolla.jpg", KADR_FORMAT_JPEG},
    {"broken/empty.bin", KADR_FORMAT_UNKNOWN},
    {"broken/invalid-exif.jpg", KADR_FORMAT_JPEG},
    {"broken/jpeg-truncated.jpg", KADR_FORMAT_JPEG},
    {"broken/png-truncated.png", KADR_FORMAT_PNG},
    {"video/music-clip.webm", KADR_FORMAT_WEBM},
    {"video/phone-rotated-moov-at-end.mov", KADR_FORMAT_MOV},
};

#define CASE_COUNT(table) (sizeof(table) / sizeof((table)[0]))

static void sniff_corpus_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(corpus_cases); i++) {
        kadr_format_t got = sniff_path(corpus_path(corpus_cases[i].name));

        if (got != corpus_cases[i].format)
            print_error("%s: sniffed %s, expected %s\n", corpus_cases[i].name,
                        format_name(got), format_name(corpus_cases[i].format));
        assert_int_equal(got, corpus_cases[i].format);
    }
}

/* Each prefix goes to format_sniff in a heap block of exactly its length,
 * so AddressSanitizer reports any read past len. */
static void sniff_prefixes_stay_in_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(corpus_cases); i++) {
        size_t len;
        uint8_t *data = read_all(corpus_path(corpus_cases[i].name), &len);
        size_t max = len < FORMAT_SNIFF_BYTES ? len : FORMAT_SNIFF_BYTES;

        for (size_t n = 0; n <= max; n++) {
            uint8_t *copy = malloc(n > 0 ? n : 1);

            assert_non_null(copy);
            memcpy(copy, data, n);
            (void)format_sniff(copy, n);
            free(copy);
        }
        free(data);
    }
}

typedef struct bytes_case {
    const char *label;
    const char *bytes;
    size_t len;
    kadr_format_t format;
} bytes_case_t;

#define BYTES(label, literal, format)                                          \
    {                                                                          \
        label, literal, sizeof(literal) - 1, format                            \
    }

static const bytes_case_t bytes_cases[] = {
    BYTES("jpeg", "\xFF\xD8\xFF\xE0\0\x10JFIF", KADR_FORMAT_JPEG),
    BYTES("png", "\x89PNG\r\n\x1A\n\0\0\0\rIHDR", KADR_FORMAT_PNG),
    BYTES("webp", "RIFF\x10\0\0\0WEBPVP8 ", KADR_FORMAT_WEBP),
    BYTES("gif87a", "GIF87a\1\0\1\0", KADR_FORMAT_GIF),
    BYTES("heic",
          "\0\0\0\x18"
          "ftypheic\0\0\0\0mif1heic",
          KADR_FORMAT_HEIC),
    BYTES("heix",
          "\0\0\0\x10"
          "ftypheix\0\0\0\0",
          KADR_FORMAT_HEIC),
    BYTES("mif1 alone",
          "\0\0\0\x14"
          "ftypmif1\0\0\0\0mif1",
          KADR_FORMAT_HEIC),
    BYTES("mif1 with avif",
          "\0\0\0\x1C"
          "ftypmif1\0\0\0\0mif1miafavif",
          KADR_FORMAT_AVIF),
    BYTES("avif",
          "\0\0\0\x1C"
          "ftypavif\0\0\0\0avifmif1miaf",
          KADR_FORMAT_AVIF),
    BYTES("avis",
          "\0\0\0\x10"
          "ftypavis\0\0\0\0",
          KADR_FORMAT_AVIF),
    BYTES("quicktime",
          "\0\0\0\x14"
          "ftypqt  \0\0\2\0qt  ",
          KADR_FORMAT_MOV),
    BYTES("m4a",
          "\0\0\0\x18"
          "ftypM4A \0\0\0\0M4A isom",
          KADR_FORMAT_M4A),
    BYTES("isom with m4a",
          "\0\0\0\x18"
          "ftypisom\0\0\0\0isomM4A ",
          KADR_FORMAT_M4A),
    BYTES("mp42",
          "\0\0\0\x18"
          "ftypmp42\0\0\0\0mp42isom",
          KADR_FORMAT_MP4),
    BYTES("3gp",
          "\0\0\0\x14"
          "ftyp3gp5\0\0\0\0"
          "3gp5",
          KADR_FORMAT_MP4),
    BYTES("dash",
          "\0\0\0\x14"
          "ftypdash\0\0\0\0iso6",
          KADR_FORMAT_MP4),
    BYTES("unknown brand",
          "\0\0\0\x14"
          "ftypzzzz\0\0\0\0zzzz",
          KADR_FORMAT_UNKNOWN),
    BYTES("moov first", "\0\0\0\x6Cmoov\0\0\0\x6Cmvhd", KADR_FORMAT_MOV),
    BYTES("mdat first", "\0\0\0\x08mdat\0\0\0\0", KADR_FORMAT_MOV),
    BYTES("wide first", "\0\0\0\x08wide\0\0\0\0", KADR_FORMAT_MOV),
    BYTES("free first",
          "\0\0\0\x08"
          "free\0\0\0\0",
          KADR_FORMAT_MOV),
    BYTES("matroska",
          "\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x88"
          "matroska",
          KADR_FORMAT_MKV),
    BYTES("webm", "\x1A\x45\xDF\xA3\x8B\x42\x86\x81\x01\x42\x82\x84webm",
          KADR_FORMAT_WEBM),
    BYTES("ebml cut", "\x1A\x45\xDF\xA3\x8B\x42", KADR_FORMAT_MKV),
    BYTES("bmp", "BM\x1E\0\0\0\0\0\0\0\x1A\0\0\0\x28\0\0\0", KADR_FORMAT_BMP),
    BYTES("tiff le", "II*\0\x08\0\0\0", KADR_FORMAT_TIFF),
    BYTES("tiff be", "MM\0*\0\0\0\x08", KADR_FORMAT_TIFF),
    BYTES("jxl codestream", "\xFF\x0A\xFA", KADR_FORMAT_JXL),
    BYTES("jxl container", "\0\0\0\x0CJXL \x0D\x0A\x87\x0A", KADR_FORMAT_JXL),
    BYTES("id3", "ID3\x04\0\0\0\0\0\0", KADR_FORMAT_MP3),
    BYTES("mpeg frame", "\xFF\xFB\x90\x64", KADR_FORMAT_MP3),
    BYTES("adts is not mp3", "\xFF\xF1\x50\x80", KADR_FORMAT_UNKNOWN),
    BYTES("pdf", "%PDF-1.7\n", KADR_FORMAT_PDF),
    BYTES("ico", "\0\0\1\0\1\0\x10\x10", KADR_FORMAT_ICO),
    BYTES("psd", "8BPS\0\1", KADR_FORMAT_PSD),
    BYTES("svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
          KADR_FORMAT_SVG),
    BYTES("xml with bom", "\xEF\xBB\xBF  \n<?xml version=\"1.0\"?>",
          KADR_FORMAT_SVG),
    BYTES("ogg", "OggS\0\2", KADR_FORMAT_OGG),
    BYTES("wav", "RIFF\x24\0\0\0WAVEfmt ", KADR_FORMAT_WAV),
    BYTES("flac", "fLaC\0\0\0\x22", KADR_FORMAT_FLAC),
    BYTES("avi",
          "RIFF\x24\0\0\0"
          "AVI LIST",
          KADR_FORMAT_AVI),
    BYTES("riff other", "RIFF\x24\0\0\0RMID", KADR_FORMAT_UNKNOWN),
    BYTES("jpeg cut", "\xFF\xD8", KADR_FORMAT_UNKNOWN),
    BYTES("text", "hello world", KADR_FORMAT_UNKNOWN),
};

static void sniff_signature_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < CASE_COUNT(bytes_cases); i++) {
        const bytes_case_t *c = &bytes_cases[i];
        uint8_t *copy = malloc(c->len);

        assert_non_null(copy);
        memcpy(copy, c->bytes, c->len);

        kadr_format_t got = format_sniff(copy, c->len);

        free(copy);
        if (got != c->format)
            print_error("%s: sniffed %s, expected %s\n", c->label,
                        format_name(got), format_name(c->format));
        assert_int_equal(got, c->format);
    }
}

static void sniff_empty_input(void **state)
{
    (void)state;
    assert_int_equal(format_sniff(NULL, 0), KADR_FORMAT_UNKNOWN);
    assert_int_equal(format_sniff((const uint8_t *)"", 0), KADR_FORMAT_UNKNOWN);
}

static void format_kinds(void **state)
{
    (void)state;
    assert_int_equal(format_kind(KADR_FORMAT_JPEG), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_PNG), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_WEBP), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_GIF), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_HEIC), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_AVIF), KADR_KIND_IMAGE);
    assert_int_equal(format_kind(KADR_FORMAT_MP4), KADR_KIND_VIDEO);
    assert_int_equal(format_kind(KADR_FORMAT_MOV), KADR_KIND_VIDEO);
    assert_int_equal(format_kind(KADR_FORMAT_WEBM), KADR_KIND_VIDEO);
    assert_int_equal(format_kind(KADR_FORMAT_MKV), KADR_KIND_VIDEO);
    assert_int_equal(format_kind(KADR_FORMAT_TIFF), KADR_KIND_UNSUPPORTED);
    assert_int_equal(format_kind(KADR_FORMAT_MP3), KADR_KIND_UNSUPPORTED);
    assert_int_equal(format_kind(KADR_FORMAT_UNKNOWN), KADR_KIND_UNSUPPORTED);
}

static void format_names_and_mimes(void **state)
{
    (void)state;
    assert_string_equal(format_name(KADR_FORMAT_JPEG), "jpeg");
    assert_string_equal(format_name(KADR_FORMAT_MOV), "mov");
    assert_string_equal(format_name(KADR_FORMAT_UNKNOWN), "unknown");
    assert_string_equal(format_name((kadr_format_t)999), "unknown");
    assert_string_equal(format_mime(KADR_FORMAT_JPEG), "image/jpeg");
    assert_string_equal(format_mime(KADR_FORMAT_HEIC), "image/heic");
    assert_string_equal(format_mime(KADR_FORMAT_MOV), "video/quicktime");
    assert_string_equal(format_mime(KADR_FORMAT_WEBM), "video/webm");
    assert_string_equal(format_mime(KADR_FORMAT_UNKNOWN),
                        "application/octet-stream");
    assert_string_equal(format_kind_name(KADR_KIND_IMAGE), "image");
    assert_string_equal(format_kind_name(KADR_KIND_VIDEO), "video");
    assert_string_equal(format_kind_name(KADR_KIND_UNSUPPORTED), "unsupported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sniff_corpus_files),
        cmocka_unit_test(sniff_prefixes_stay_in_bounds),
        cmocka_unit_test(sniff_signature_table),
        cmocka_unit_test(sniff_empty_input),
        cmocka_unit_test(format_kinds),
        cmocka_unit_test(format_names_and_mimes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
