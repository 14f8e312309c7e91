/* Tests for video_probe_file() and video_check_limits() on real files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "video.h"

static const char *corpus_path(const char *name)
{
    static char path[4096];
    const char *root = getenv("KADR_CORPUS");

    snprintf(path, sizeof(path), "%s/%s", root ? root : "corpus", name);
    return path;
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void probe_rotated_mov(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(
        video_probe_file(corpus_path("video/phone-rotated-moov-at-end.mov"),
                         &info),
        0);
    /* ffprobe 5.1 reports rotation=90 for this display matrix. */
    assert_int_equal(info.rotation, 90);
    assert_false(info.mirrored);
    assert_int_equal(info.width, 1080);
    assert_int_equal(info.height, 1920);
    assert_string_equal(info.video_codec, "h264");
    assert_true(info.has_audio);
    assert_string_equal(info.audio_codec, "aac");
    assert_float_equal(info.duration_s, 4.0, 0.05);
    assert_float_equal(info.fps, 30.0, 0.01);
    assert_int_equal(
        info.file_bytes,
        file_size(corpus_path("video/phone-rotated-moov-at-end.mov")));
}

static void probe_music_clip_webm(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(
        video_probe_file(corpus_path("video/music-clip.webm"), &info), 0);
    assert_int_equal(info.rotation, 0);
    assert_int_equal(info.width, 480);
    assert_int_equal(info.height, 270);
    assert_string_equal(info.video_codec, "vp8");
    assert_true(info.has_audio);
    assert_string_equal(info.audio_codec, "vorbis");
    assert_float_equal(info.duration_s, 44.652, 0.01);
    assert_float_equal(info.fps, 30.0, 0.01);
}

static void probe_tiny_webm(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(video_probe_file(corpus_path("tiny/webm.webm"), &info), 0);
    assert_int_equal(info.width, 8);
    assert_int_equal(info.height, 8);
    assert_string_equal(info.video_codec, "vp8");
    assert_false(info.has_audio);
    assert_string_equal(info.audio_codec, "");
}

static void probe_audio_only_mp4(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(
        video_probe_file(corpus_path("tiny/mp4-with-audio.mp4"), &info),
        KADR_E_NO_VIDEO);
}

/* tiny/Mpeg4.mp4 is a valid MP4 whose moov has no track at all. */
static void probe_mp4_without_tracks(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(video_probe_file(corpus_path("tiny/Mpeg4.mp4"), &info),
                     KADR_E_NO_VIDEO);
}

static void probe_empty_file(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(video_probe_file(corpus_path("broken/empty.bin"), &info),
                     KADR_E_CORRUPT);
}

static void probe_truncated_header(void **state)
{
    char dir[] = "/tmp/kadr-video-probe-XXXXXX";
    char path[4096];
    static const unsigned char head[] = {0,   0,   0,   32,  'f', 't', 'y', 'p',
                                         'i', 's', 'o', 'm', 0,   0,   2,   0};
    video_info_t info;
    FILE *file;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cut.mp4", dir);
    file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(head, 1, sizeof(head), file), sizeof(head));
    assert_int_equal(fclose(file), 0);

    assert_int_equal(video_probe_file(path, &info), KADR_E_CORRUPT);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Writes len bytes of data to a new file in a new temporary folder. */
static void write_case(char *dir, char *path, size_t path_size,
                       const uint8_t *data, size_t len)
{
    FILE *file;

    assert_non_null(mkdtemp(dir));
    snprintf(path, path_size, "%s/case", dir);
    file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, len, file), len);
    assert_int_equal(fclose(file), 0);
}

static uint8_t *read_corpus(const char *name, size_t *len)
{
    const char *path = corpus_path(name);
    size_t size = (size_t)file_size(path);
    uint8_t *data = malloc(size);
    FILE *file = fopen(path, "rb");

    assert_non_null(data);
    assert_non_null(file);
    assert_int_equal(fread(data, 1, size, file), size);
    fclose(file);
    *len = size;
    return data;
}

/* A WebM cut inside its header makes the demuxer fail with EIO at many
 * cut points: that is damaged input, not a system error. */
static void probe_webm_cut_in_header(void **state)
{
    static const size_t cuts[] = {60, 300, 1000, 2500, 4500};
    size_t len;
    uint8_t *webm = read_corpus("video/music-clip.webm", &len);
    video_info_t info;

    (void)state;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char dir[] = "/tmp/kadr-video-probe-XXXXXX";
        char path[4096];

        write_case(dir, path, sizeof(path), webm, cuts[i]);
        assert_int_equal(video_probe_file(path, &info), KADR_E_CORRUPT);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
    }
    free(webm);
}

/* An stts table that declares 2^32-1 entries makes the demuxer's
 * allocation fail with ENOMEM: damaged input, not a system error. */
static void probe_mov_huge_table(void **state)
{
    size_t len;
    uint8_t *mov = read_corpus("video/phone-rotated-moov-at-end.mov", &len);
    char dir[] = "/tmp/kadr-video-probe-XXXXXX";
    char path[4096];
    video_info_t info;
    bool patched = false;

    (void)state;
    /* stts payload: version and flags (4 bytes), then entry_count. */
    for (size_t i = 4; i + 12 < len && !patched; i++) {
        if (memcmp(mov + i, "stts", 4) == 0) {
            memset(mov + i + 8, 0xFF, 4);
            patched = true;
        }
    }
    assert_true(patched);
    write_case(dir, path, sizeof(path), mov, len);
    assert_int_equal(video_probe_file(path, &info), KADR_E_CORRUPT);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    free(mov);
}

static void probe_missing_file(void **state)
{
    video_info_t info;

    (void)state;
    assert_int_equal(video_probe_file("/nonexistent/kadr.mp4", &info), -ENOENT);
}

static void limits_table(void **state)
{
    static const struct {
        video_limits_t limits;
        int expected;
    } cases[] = {
        {{0, 0, 0, 0, 0}, 0},
        {{60.0, 1920, 1920, 60.0, 0}, 0},
        {{3.0, 0, 0, 0, 0}, KADR_E_TOO_LARGE},
        {{0, 1000, 0, 0, 0}, KADR_E_TOO_LARGE},
        {{0, 0, 1900, 0, 0}, KADR_E_TOO_LARGE},
        {{0, 0, 0, 25.0, 0}, KADR_E_TOO_LARGE},
        {{0, 0, 0, 0, 999999}, KADR_E_TOO_LARGE},
        {{0, 0, 0, 0, 1000000}, 0},
        {{4.0, 1080, 1920, 30.0, 1000000}, 0},
    };
    video_info_t info = {.width = 1080,
                         .height = 1920,
                         .duration_s = 4.0,
                         .fps = 30.0,
                         .file_bytes = 1000000};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu\n", i);
        assert_int_equal(video_check_limits(&info, &cases[i].limits),
                         cases[i].expected);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_rotated_mov),
        cmocka_unit_test(probe_music_clip_webm),
        cmocka_unit_test(probe_tiny_webm),
        cmocka_unit_test(probe_audio_only_mp4),
        cmocka_unit_test(probe_mp4_without_tracks),
        cmocka_unit_test(probe_empty_file),
        cmocka_unit_test(probe_truncated_header),
        cmocka_unit_test(probe_webm_cut_in_header),
        cmocka_unit_test(probe_mov_huge_table),
        cmocka_unit_test(probe_missing_file),
        cmocka_unit_test(limits_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
