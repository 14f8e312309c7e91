/* Tests for video_transcode_file(): real inputs in, outputs inspected with
 * libavformat and compared with the ffmpeg command-line tool. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video.h"

#define ROTATED_MOV "video/phone-rotated-moov-at-end.mov"
#define MUSIC_CLIP "video/music-clip.webm"

/* Gray frame of the 720x1280 output, for the orientation check. */
#define FRAME_BYTES (720 * 1280)

typedef struct fixture {
    char dir[64];
    char out[128];
} fixture_t;

/* What libavformat reads back from a transcoded file. */
typedef struct output_facts {
    int profile;
    int pix_fmt;
    int sample_rate;
    int channels;
    double video_start_s;
    int keyframes;
    int max_keyframe_gap;
    size_t display_matrix_size;
} output_facts_t;

static const char *corpus_path(const char *name)
{
    static char path[4096];
    const char *root = getenv("KADR_CORPUS");

    snprintf(path, sizeof(path), "%s/%s", root ? root : "corpus", name);
    return path;
}

static video_params_t test_params(void)
{
    video_params_t params = {
        .max_long = 1280,
        .max_short = 720,
        .crf = 23,
        .preset = "veryfast",
        .threads = 0,
        .audio_bitrate = 128000,
        .gop_seconds = 2.0,
        .time_limit_s = 0,
    };

    return params;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/kadr-video-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->out, sizeof(f->out), "%s/out.mp4", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    DIR *dir = opendir(f->dir);
    struct dirent *entry;
    char path[512];

    while (dir && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", f->dir, entry->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(f->dir);
    free(f);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void transcode_ok(const char *src, const char *dst,
                         const video_params_t *params)
{
    double start = now_seconds();
    int rc = video_transcode_file(src, dst, params, NULL, NULL, NULL);

    print_message("transcode %s: %s in %.2f s\n", src, kadr_strerror(rc),
                  now_seconds() - start);
    assert_int_equal(rc, 0);
}

/* Lists the top-level MP4 box types in file order into types (4 chars
 * each, up to max boxes). Returns the number found. */
static int read_top_boxes(const char *path, char types[][5], int max)
{
    FILE *file = fopen(path, "rb");
    unsigned char head[16];
    int count = 0;

    assert_non_null(file);
    while (count < max && fread(head, 1, 8, file) == 8) {
        uint64_t size = ((uint64_t)head[0] << 24) | (head[1] << 16) |
                        (head[2] << 8) | head[3];
        uint64_t header = 8;

        memcpy(types[count], head + 4, 4);
        types[count++][4] = '\0';
        if (size == 1) {
            assert_int_equal(fread(head + 8, 1, 8, file), 8);
            size = 0;
            for (int i = 8; i < 16; i++)
                size = (size << 8) | head[i];
            header = 16;
        }
        if (size == 0)
            break;
        assert_true(size >= header);
        assert_int_equal(fseeko(file, (off_t)(size - header), SEEK_CUR), 0);
    }
    fclose(file);
    return count;
}

static int box_index(char types[][5], int count, const char *type)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(types[i], type) == 0)
            return i;
    }
    return -1;
}

static void assert_moov_first(const char *path)
{
    char types[32][5];
    int count = read_top_boxes(path, types, 32);
    int moov = box_index(types, count, "moov");
    int mdat = box_index(types, count, "mdat");

    assert_true(moov >= 0);
    assert_true(mdat >= 0);
    assert_true(moov < mdat);
}

static void count_keyframes(AVFormatContext *fmt, int video,
                            output_facts_t *facts)
{
    AVPacket *packet = av_packet_alloc();
    int since_key = 0;

    assert_non_null(packet);
    while (av_read_frame(fmt, packet) >= 0) {
        if (packet->stream_index == video) {
            if (packet->flags & AV_PKT_FLAG_KEY) {
                facts->keyframes++;
                since_key = 0;
            }
            since_key++;
            if (since_key > facts->max_keyframe_gap)
                facts->max_keyframe_gap = since_key;
        }
        av_packet_unref(packet);
    }
    av_packet_free(&packet);
}

static void inspect_output(const char *path, output_facts_t *facts)
{
    AVFormatContext *fmt = NULL;
    const AVStream *st;
    int video, audio;

    memset(facts, 0, sizeof(*facts));
    assert_int_equal(avformat_open_input(&fmt, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fmt, NULL) >= 0);

    video = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    assert_true(video >= 0);
    st = fmt->streams[video];
    facts->profile = st->codecpar->profile;
    facts->pix_fmt = st->codecpar->format;
    facts->video_start_s = st->start_time * av_q2d(st->time_base);
    av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX,
                            &facts->display_matrix_size);

    audio = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (audio >= 0) {
        facts->sample_rate = fmt->streams[audio]->codecpar->sample_rate;
        facts->channels = fmt->streams[audio]->codecpar->ch_layout.nb_channels;
    }
    count_keyframes(fmt, video, facts);
    avformat_close_input(&fmt);
}

/* Reads the first frame of path as 8-bit gray through the ffmpeg tool,
 * scaled to 720x1280 and turned upright by its display matrix. */
static void read_gray_frame(const char *path, uint8_t *frame)
{
    char command[4200];
    FILE *pipe;

    snprintf(command, sizeof(command),
             "ffmpeg -nostdin -v error -i '%s' -frames:v 1 "
             "-vf scale=720:1280 -f rawvideo -pix_fmt gray -",
             path);
    pipe = popen(command, "r");
    assert_non_null(pipe);
    assert_int_equal(fread(frame, 1, FRAME_BYTES, pipe), FRAME_BYTES);
    assert_int_equal(pclose(pipe), 0);
}

static double mean_difference(const uint8_t *a, const uint8_t *b, int reversed)
{
    double sum = 0;

    for (size_t i = 0; i < FRAME_BYTES; i++) {
        size_t j = reversed ? FRAME_BYTES - 1 - i : i;

        sum += abs((int)a[i] - (int)b[j]);
    }
    return sum / FRAME_BYTES;
}

/* The output's first frame matches ffmpeg's own upright rendering, and
 * not the same picture turned by 180 degrees. */
static void assert_upright(const char *src, const char *out)
{
    uint8_t *expected = malloc(FRAME_BYTES);
    uint8_t *actual = malloc(FRAME_BYTES);
    double same, turned;

    assert_non_null(expected);
    assert_non_null(actual);
    read_gray_frame(src, expected);
    read_gray_frame(out, actual);
    same = mean_difference(expected, actual, 0);
    turned = mean_difference(expected, actual, 1);
    print_message("mean gray difference %.2f, turned %.2f\n", same, turned);
    assert_true(same < 8.0);
    assert_true(same * 3 < turned);
    free(expected);
    free(actual);
}

static void transcode_rotated_mov(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    video_info_t info;
    output_facts_t facts;

    transcode_ok(corpus_path(ROTATED_MOV), f->out, &params);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    assert_int_equal(info.width, 720);
    assert_int_equal(info.height, 1280);
    assert_int_equal(info.rotation, 0);
    assert_string_equal(info.video_codec, "h264");
    assert_true(info.has_audio);
    assert_string_equal(info.audio_codec, "aac");
    assert_float_equal(info.duration_s, 4.0, 0.1);
    assert_moov_first(f->out);

    inspect_output(f->out, &facts);
    assert_int_equal(facts.profile, FF_PROFILE_H264_HIGH);
    assert_int_equal(facts.pix_fmt, AV_PIX_FMT_YUV420P);
    assert_int_equal(facts.sample_rate, 48000);
    assert_int_equal(facts.channels, 2);
    assert_float_equal(facts.video_start_s, 0.0, 0.001);
    assert_int_equal(facts.display_matrix_size, 0);
    /* 4 s at 30 fps with a keyframe every 2 s: 60 frames apart at most. */
    assert_true(facts.keyframes >= 2);
    assert_in_range(facts.max_keyframe_gap, 1, 60);

    assert_upright(corpus_path(ROTATED_MOV), f->out);
}

typedef struct progress_log {
    int calls;
    int last;
    int went_back;
} progress_log_t;

static void record_progress(void *ctx, int percent)
{
    progress_log_t *log = ctx;

    if (percent < log->last)
        log->went_back = 1;
    log->last = percent;
    log->calls++;
}

static void transcode_music_clip(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    progress_log_t log = {0, -1, 0};
    video_info_t info;
    output_facts_t facts;
    double start = now_seconds();

    assert_int_equal(video_transcode_file(corpus_path(MUSIC_CLIP), f->out,
                                          &params, record_progress, &log, NULL),
                     0);
    print_message("transcode %s in %.2f s\n", MUSIC_CLIP,
                  now_seconds() - start);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    assert_int_equal(info.width, 480);
    assert_int_equal(info.height, 270);
    assert_true(info.has_audio);
    assert_string_equal(info.audio_codec, "aac");
    assert_float_equal(info.duration_s, 44.65, 0.5);
    assert_moov_first(f->out);

    inspect_output(f->out, &facts);
    assert_int_equal(facts.sample_rate, 48000);
    assert_int_equal(facts.channels, 2);
    assert_in_range(facts.max_keyframe_gap, 1, 60);

    assert_true(log.calls > 10);
    assert_int_equal(log.last, 100);
    assert_false(log.went_back);
}

/* The teaser cut stops the reader thread at 3 s of a 44 s clip, with the
 * audio that plays until then. */
static void transcode_teaser_cut(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    video_info_t info;
    output_facts_t facts;

    params.max_output_s = 3.0;
    transcode_ok(corpus_path(MUSIC_CLIP), f->out, &params);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    print_message("teaser lasts %.3f s\n", info.duration_s);
    assert_float_equal(info.duration_s, 3.0, 0.1);
    assert_int_equal(info.width, 480);
    assert_int_equal(info.height, 270);
    assert_true(info.has_audio);
    assert_moov_first(f->out);
    inspect_output(f->out, &facts);
    assert_float_equal(facts.video_start_s, 0.0, 0.001);
    assert_int_equal(facts.sample_rate, 48000);
}

static void transcode_tiny_webm(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    video_info_t info;

    transcode_ok(corpus_path("tiny/webm.webm"), f->out, &params);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    assert_int_equal(info.width, 8);
    assert_int_equal(info.height, 8);
    assert_string_equal(info.video_codec, "h264");
    assert_false(info.has_audio);
    assert_moov_first(f->out);
}

static void transcode_odd_size_clip(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    char src[128], command[512];
    video_info_t info;

    snprintf(src, sizeof(src), "%s/odd.mkv", f->dir);
    snprintf(command, sizeof(command),
             "ffmpeg -nostdin -v error -f lavfi "
             "-i testsrc=size=1081x1921:rate=30:duration=1 "
             "-c:v ffv1 -y '%s'",
             src);
    assert_int_equal(system(command), 0);

    transcode_ok(src, f->out, &params);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    print_message("1081x1921 became %ux%u\n", info.width, info.height);
    assert_int_equal(info.width % 2, 0);
    assert_int_equal(info.height % 2, 0);
    assert_int_equal(info.width, 720);
    assert_in_range(info.height, 1278, 1280);
    assert_false(info.has_audio);
}

static void cancel_on_progress(void *ctx, int percent)
{
    atomic_int *cancel = ctx;

    if (percent >= 1)
        atomic_store(cancel, 1);
}

static void transcode_cancelled(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    atomic_int cancel = 0;

    assert_int_equal(video_transcode_file(corpus_path(MUSIC_CLIP), f->out,
                                          &params, cancel_on_progress, &cancel,
                                          &cancel),
                     KADR_E_CANCELLED);
    assert_int_equal(atomic_load(&cancel), 1);
}

static void transcode_time_limit(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();

    params.time_limit_s = 0.05;
    assert_int_equal(video_transcode_file(corpus_path(MUSIC_CLIP), f->out,
                                          &params, NULL, NULL, NULL),
                     KADR_E_TIMEOUT);
}

/* Copies the first share (0 to 1) of the bytes of src to dst. */
static void write_prefix(const char *src, const char *dst, double share)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    long size, keep;
    char *bytes;

    assert_non_null(in);
    assert_non_null(out);
    assert_int_equal(fseek(in, 0, SEEK_END), 0);
    size = ftell(in);
    assert_true(size > 0);
    rewind(in);
    keep = (long)(size * share);
    bytes = malloc((size_t)keep);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)keep, in), keep);
    assert_int_equal(fwrite(bytes, 1, (size_t)keep, out), keep);
    free(bytes);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void transcode_truncated_mov(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    char src[128];

    snprintf(src, sizeof(src), "%s/cut.mov", f->dir);
    write_prefix(corpus_path(ROTATED_MOV), src, 0.3);
    /* The moov box sits at the end, so nothing of the file is readable. */
    assert_int_equal(
        video_transcode_file(src, f->out, &params, NULL, NULL, NULL),
        KADR_E_CORRUPT);
}

static void transcode_truncated_webm(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    char src[128];

    snprintf(src, sizeof(src), "%s/cut.webm", f->dir);
    write_prefix(corpus_path(MUSIC_CLIP), src, 0.3);
    assert_int_equal(
        video_transcode_file(src, f->out, &params, NULL, NULL, NULL),
        KADR_E_CORRUPT);
}

static void transcode_audio_only(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();

    assert_int_equal(
        video_transcode_file(corpus_path("tiny/mp4-with-audio.mp4"), f->out,
                             &params, NULL, NULL, NULL),
        KADR_E_NO_VIDEO);
}

/* Writes six seconds of 64x48 testsrc into dir/name with the ffmpeg
 * output options in codec, and the path into out. */
static void make_six_second_clip(const fixture_t *f, const char *name,
                                 const char *codec, char *out, size_t size)
{
    char command[512];

    snprintf(out, size, "%s/%s", f->dir, name);
    snprintf(command, sizeof(command),
             "ffmpeg -nostdin -v error -f lavfi "
             "-i testsrc=size=64x48:rate=10:duration=6 %s -y '%s'",
             codec, out);
    assert_int_equal(system(command), 0);
}

/* A live Matroska file states no duration, so only the packets show how
 * long it runs. */
static void transcode_duration_limit_live_mkv(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    video_info_t info;
    char src[128];

    make_six_second_clip(f, "live.mkv", "-c:v mpeg4 -live 1", src, sizeof(src));
    assert_int_equal(video_probe_file(src, &info), 0);
    assert_true(info.duration_s == 0.0);

    params.max_duration_s = 4;
    assert_int_equal(
        video_transcode_file(src, f->out, &params, NULL, NULL, NULL),
        KADR_E_TOO_LARGE);

    params.max_duration_s = 6;
    transcode_ok(src, f->out, &params);
    assert_int_equal(video_probe_file(f->out, &info), 0);
    assert_in_range((int)(info.duration_s * 10), 59, 61);
}

static void transcode_duration_limit_remux(void **state)
{
    fixture_t *f = *state;
    video_params_t params = test_params();
    char src[128];

    make_six_second_clip(f, "high.mp4",
                         "-c:v libx264 -profile:v high -pix_fmt yuv420p", src,
                         sizeof(src));
    assert_int_equal(video_can_remux(src, &params), 1);

    params.max_duration_s = 4;
    assert_int_equal(
        video_transcode_file(src, f->out, &params, NULL, NULL, NULL),
        KADR_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(transcode_rotated_mov, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_music_clip, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_teaser_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_tiny_webm, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_odd_size_clip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transcode_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_time_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_truncated_mov, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transcode_truncated_webm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transcode_audio_only, setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_duration_limit_live_mkv,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(transcode_duration_limit_remux, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
