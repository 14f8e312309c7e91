/* Tests for video_grab_poster(): size, orientation, the skip past
 * leading black frames, and a size that matches the transcode's. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "video.h"

#define ROTATED_MOV "video/phone-rotated-moov-at-end.mov"

/* Bounds of 0 keep the display size, rounded to even numbers. */
static const video_params_t full_size = {.max_long = 0, .max_short = 0};

/* The bounds of kadrd's 720.mp4. */
static const video_params_t rendition = {
    .max_long = 1280,
    .max_short = 720,
    .crf = 23,
    .preset = "ultrafast",
};

static const char *corpus_path(const char *name)
{
    static char path[4096];
    const char *root = getenv("KADR_CORPUS");

    snprintf(path, sizeof(path), "%s/%s", root ? root : "corpus", name);
    return path;
}

static double mean_value(const image_pixels_t *pixels)
{
    size_t count = (size_t)pixels->width * pixels->height * pixels->channels;
    double sum = 0;

    for (size_t i = 0; i < count; i++)
        sum += pixels->data[i];
    return sum / (double)count;
}

/* Reads the first frame of path as RGB through the ffmpeg tool, turned
 * upright by its display matrix, into a buffer of size bytes. */
static void read_reference(const char *path, uint8_t *rgb, size_t size)
{
    char command[4200];
    FILE *pipe;

    snprintf(command, sizeof(command),
             "ffmpeg -nostdin -v error -i '%s' -frames:v 1 "
             "-f rawvideo -pix_fmt rgb24 -",
             path);
    pipe = popen(command, "r");
    assert_non_null(pipe);
    assert_int_equal(fread(rgb, 1, size, pipe), size);
    assert_int_equal(pclose(pipe), 0);
}

static double mean_difference(const uint8_t *a, const uint8_t *b, size_t size)
{
    double sum = 0;

    for (size_t i = 0; i < size; i++)
        sum += abs((int)a[i] - (int)b[i]);
    return sum / (double)size;
}

static void poster_rotated_mov(void **state)
{
    image_pixels_t poster;
    size_t size;
    uint8_t *expected;
    double difference;

    (void)state;
    assert_int_equal(
        video_grab_poster(corpus_path(ROTATED_MOV), &full_size, &poster), 0);
    assert_int_equal(poster.width, 1080);
    assert_int_equal(poster.height, 1920);
    assert_int_equal(poster.channels, 3);
    assert_true(mean_value(&poster) > 40.0);

    /* The first frame is bright, so it is the poster: it must match what
     * ffmpeg shows, pixel for pixel within rounding. */
    size = (size_t)poster.width * poster.height * 3;
    expected = malloc(size);
    assert_non_null(expected);
    read_reference(corpus_path(ROTATED_MOV), expected, size);
    difference = mean_difference(expected, poster.data, size);
    print_message("mean RGB difference to ffmpeg %.2f\n", difference);
    assert_true(difference < 3.0);
    free(expected);
    image_pixels_free(&poster);
}

static void poster_music_clip(void **state)
{
    image_pixels_t poster;

    (void)state;
    assert_int_equal(video_grab_poster(corpus_path("video/music-clip.webm"),
                                       &full_size, &poster),
                     0);
    assert_int_equal(poster.width, 480);
    assert_int_equal(poster.height, 270);
    assert_int_equal(poster.channels, 3);
    assert_non_null(poster.data);
    image_pixels_free(&poster);
}

static void poster_tiny_webm(void **state)
{
    image_pixels_t poster;

    (void)state;
    assert_int_equal(
        video_grab_poster(corpus_path("tiny/webm.webm"), &full_size, &poster),
        0);
    assert_int_equal(poster.width, 8);
    assert_int_equal(poster.height, 8);
    assert_int_equal(poster.channels, 3);
    image_pixels_free(&poster);
}

/* A clip that opens on one second of black and then shows colour bars. */
static void poster_skips_black_start(void **state)
{
    char dir[] = "/tmp/kadr-poster-XXXXXX";
    char path[128], command[512];
    image_pixels_t poster;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fade.mkv", dir);
    snprintf(command, sizeof(command),
             "ffmpeg -nostdin -v error -f lavfi "
             "-i smptebars=size=320x240:rate=25:duration=2 "
             "-vf \"drawbox=color=black:t=fill:enable='lt(t,1)'\" "
             "-c:v ffv1 -y '%s'",
             path);
    assert_int_equal(system(command), 0);

    assert_int_equal(video_grab_poster(path, &full_size, &poster), 0);
    assert_int_equal(poster.width, 320);
    assert_int_equal(poster.height, 240);
    print_message("poster mean value %.1f\n", mean_value(&poster));
    assert_true(mean_value(&poster) > 60.0);
    image_pixels_free(&poster);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void run_ffmpeg(const char *arguments)
{
    char command[1024];

    snprintf(command, sizeof(command), "ffmpeg -nostdin -v error %s",
             arguments);
    assert_int_equal(system(command), 0);
}

/* One 320x240 clip, remuxed with each display matrix rotation. On a stream
 * copy, ffmpeg 5.1 turns its "rotate" tag into a display matrix whose
 * counterclockwise angle is the tag's value. */
static void poster_rotation_table(void **state)
{
    static const struct {
        uint32_t rotation, width, height;
    } cases[] = {
        {90, 240, 320},
        {180, 320, 240},
        {270, 240, 320},
    };
    char dir[] = "/tmp/kadr-poster-XXXXXX";
    char plain[128], turned[128], arguments[512];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(plain, sizeof(plain), "%s/plain.mp4", dir);
    snprintf(turned, sizeof(turned), "%s/turned.mp4", dir);
    snprintf(arguments, sizeof(arguments),
             "-f lavfi -i testsrc=size=320x240:rate=25:duration=1 "
             "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -y '%s'",
             plain);
    run_ffmpeg(arguments);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        video_info_t info;
        image_pixels_t poster;
        uint8_t expected[320 * 240 * 3];
        double difference;

        print_message("rotation %u\n", cases[i].rotation);
        snprintf(arguments, sizeof(arguments),
                 "-i '%s' -c copy -metadata:s:v:0 rotate=%u -y '%s'", plain,
                 cases[i].rotation, turned);
        run_ffmpeg(arguments);

        assert_int_equal(video_probe_file(turned, &info), 0);
        assert_int_equal(info.rotation, cases[i].rotation);
        assert_int_equal(info.width, cases[i].width);
        assert_int_equal(info.height, cases[i].height);

        assert_int_equal(video_grab_poster(turned, &full_size, &poster), 0);
        assert_int_equal(poster.width, cases[i].width);
        assert_int_equal(poster.height, cases[i].height);
        read_reference(turned, expected, sizeof(expected));
        difference = mean_difference(expected, poster.data, sizeof(expected));
        print_message("mean RGB difference to ffmpeg %.2f\n", difference);
        assert_true(difference < 3.0);
        image_pixels_free(&poster);
    }
    assert_int_equal(unlink(turned), 0);
    assert_int_equal(unlink(plain), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Writes the display width and height of the video of path. */
static void probe_size(const char *path, uint32_t *width, uint32_t *height)
{
    video_info_t info;

    assert_int_equal(video_probe_file(path, &info), 0);
    *width = info.width;
    *height = info.height;
}

/* Posters of odd, extreme and ordinary shapes: each has the size of the
 * 720.mp4 that video_transcode_file() makes from the same file. */
static void poster_matches_rendition_table(void **state)
{
    static const struct {
        const char *name;
        const char *size;
        const char *crop;
        uint32_t source_width, source_height;
        uint32_t width, height;
    } cases[] = {
        {"odd", "1082x1922", ",format=yuv444p,crop=1081:1921", 1081, 1921, 720,
         1280},
        {"tall", "16x7680", "", 16, 7680, 2, 1280},
        {"wide", "7680x16", "", 7680, 16, 1280, 2},
        {"full_hd", "1920x1080", "", 1920, 1080, 1280, 720},
    };
    char dir[] = "/tmp/kadr-poster-XXXXXX";
    char src[128], mp4[128], arguments[512];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof(src), "%s/source.mkv", dir);
    snprintf(mp4, sizeof(mp4), "%s/720.mp4", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        image_pixels_t poster;
        uint32_t width, height;

        print_message("shape %s\n", cases[i].name);
        snprintf(arguments, sizeof(arguments),
                 "-f lavfi -i testsrc2=size=%s:rate=10:duration=0.3%s "
                 "-c:v ffv1 -pix_fmt yuv444p -y '%s'",
                 cases[i].size, cases[i].crop, src);
        run_ffmpeg(arguments);
        probe_size(src, &width, &height);
        assert_int_equal(width, cases[i].source_width);
        assert_int_equal(height, cases[i].source_height);

        assert_int_equal(
            video_transcode_file(src, mp4, &rendition, NULL, NULL, NULL), 0);
        probe_size(mp4, &width, &height);
        assert_int_equal(width, cases[i].width);
        assert_int_equal(height, cases[i].height);

        assert_int_equal(video_grab_poster(src, &rendition, &poster), 0);
        assert_int_equal(poster.width, cases[i].width);
        assert_int_equal(poster.height, cases[i].height);
        assert_int_equal(poster.channels, 3);
        image_pixels_free(&poster);
    }
    assert_int_equal(unlink(mp4), 0);
    assert_int_equal(unlink(src), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* A 1080x1920 phone recording stored sideways with a display matrix. */
static void poster_rotated_mov_rendition(void **state)
{
    image_pixels_t poster;

    (void)state;
    assert_int_equal(
        video_grab_poster(corpus_path(ROTATED_MOV), &rendition, &poster), 0);
    assert_int_equal(poster.width, 720);
    assert_int_equal(poster.height, 1280);
    assert_true(mean_value(&poster) > 40.0);
    image_pixels_free(&poster);
}

static void poster_audio_only(void **state)
{
    image_pixels_t poster;

    (void)state;
    assert_int_equal(video_grab_poster(corpus_path("tiny/mp4-with-audio.mp4"),
                                       &full_size, &poster),
                     KADR_E_NO_VIDEO);
    assert_null(poster.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poster_rotated_mov),
        cmocka_unit_test(poster_music_clip),
        cmocka_unit_test(poster_tiny_webm),
        cmocka_unit_test(poster_skips_black_start),
        cmocka_unit_test(poster_rotation_table),
        cmocka_unit_test(poster_matches_rendition_table),
        cmocka_unit_test(poster_rotated_mov_rendition),
        cmocka_unit_test(poster_audio_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
