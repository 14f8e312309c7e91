/* Opening a video input: container, stream choice, decoders, display
 * matrix. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <libavutil/display.h>

#include "video_internal.h"

/* Maps a failure to read a container. Past opening the file, a
 * demuxer's errno-style failure is about the bytes, not the system: EIO
 * for a header cut short, ENOMEM for a table whose declared size is
 * absurd. Both are KADR_E_CORRUPT. */
static int container_error(int averr)
{
    int rc = video__map_error(averr);

    if (averr == AVERROR(ENOENT) || averr == AVERROR(EACCES) ||
        averr == AVERROR_EXIT || rc == KADR_E_UNSUPPORTED ||
        rc == KADR_E_NO_VIDEO)
        return rc;
    return KADR_E_CORRUPT;
}

/* Opens the container without reading its streams. */
static int open_file(const char *path, const AVIOInterruptCB *interrupt,
                     AVFormatContext **out)
{
    AVFormatContext *fmt = avformat_alloc_context();
    int rc;

    if (!fmt)
        return -ENOMEM;
    if (interrupt)
        fmt->interrupt_callback = *interrupt;

    /* avformat_open_input() frees fmt when it fails. */
    rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0)
        return container_error(rc);
    *out = fmt;
    return 0;
}

/* How far into the file a still-picture check reads, in seconds of any
 * stream's timestamps, and in packets at most. A video stream with at
 * most one packet in that span is taken for a cover picture. */
#define VIDEO_STILL_SCAN_S 10.0
#define VIDEO_STILL_SCAN_MAX_PACKETS 100000

/* Returns whether id is a codec of still pictures, which a container
 * such as Matroska can carry as an ordinary video track for cover art.
 * Motion JPEG and PNG also make real videos, so such a stream is only
 * judged by its frame count. */
static bool is_picture_codec(enum AVCodecID id)
{
    switch (id) {
    case AV_CODEC_ID_PNG:
    case AV_CODEC_ID_MJPEG:
    case AV_CODEC_ID_BMP:
    case AV_CODEC_ID_GIF:
    case AV_CODEC_ID_TIFF:
    case AV_CODEC_ID_WEBP:
    case AV_CODEC_ID_JPEG2000:
    case AV_CODEC_ID_JPEGLS:
        return true;
    default:
        return false;
    }
}

static bool past_scan(const AVFormatContext *fmt, const AVPacket *pkt)
{
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;

    if (ts == AV_NOPTS_VALUE)
        return false;
    return (double)ts * av_q2d(fmt->streams[pkt->stream_index]->time_base) >
           VIDEO_STILL_SCAN_S;
}

/* Counts the packets of stream index that fmt holds, up to 2. Stops at
 * the end of the file or past the scan bounds. */
static int count_packets(AVFormatContext *fmt, int index, int *count)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;

    if (!pkt)
        return -ENOMEM;
    *count = 0;
    for (int n = 0; *count < 2 && n < VIDEO_STILL_SCAN_MAX_PACKETS; n++) {
        bool past;

        rc = av_read_frame(fmt, pkt);
        if (rc < 0)
            break;
        past = pkt->stream_index != index && past_scan(fmt, pkt);
        if (pkt->stream_index == index)
            (*count)++;
        av_packet_unref(pkt);
        if (past)
            break;
    }
    av_packet_free(&pkt);
    return rc == AVERROR_EOF || rc == 0 ? 0 : container_error(rc);
}

/* Counts the first packets of stream index in a second opening of the
 * file, so that the caller's context stays at the start. */
static int count_first_packets(const char *path,
                               const AVIOInterruptCB *interrupt, int index,
                               int *count)
{
    AVFormatContext *fmt;
    int rc = open_file(path, interrupt, &fmt);

    if (rc < 0)
        return rc;
    rc = count_packets(fmt, index, count);
    avformat_close_input(&fmt);
    return rc;
}

/* Returns 1 when stream index is a cover picture rather than a video,
 * 0 when it is a video, or a negative code. */
static int is_still_stream(AVFormatContext *fmt, const char *path,
                           const AVIOInterruptCB *interrupt, int index)
{
    const AVStream *st = fmt->streams[index];
    int count = 0;
    int rc;

    if (st->disposition &
        (AV_DISPOSITION_ATTACHED_PIC | AV_DISPOSITION_STILL_IMAGE))
        return 1;
    if (!is_picture_codec(st->codecpar->codec_id) || st->nb_frames > 1)
        return 0;
    if (st->nb_frames == 1)
        return 1;
    rc = count_first_packets(path, interrupt, index, &count);
    if (rc < 0)
        return rc;
    return count <= 1;
}

/* Returns the index of the main video stream: libavformat's best one,
 * else the first, skipping cover pictures. KADR_E_NO_VIDEO when every
 * video stream is a cover picture. */
static int find_video_stream(AVFormatContext *fmt, const char *path,
                             const AVIOInterruptCB *interrupt)
{
    int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int rc = best >= 0 ? is_still_stream(fmt, path, interrupt, best) : 1;

    if (rc <= 0)
        return rc < 0 ? rc : best;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (int)i == best)
            continue;
        rc = is_still_stream(fmt, path, interrupt, (int)i);
        if (rc <= 0)
            return rc < 0 ? rc : (int)i;
    }
    return KADR_E_NO_VIDEO;
}

/* Returns the index of the audio stream flagged default, else the best
 * one by libavformat's ranking, else -1. */
static int find_audio_stream(AVFormatContext *fmt, int video_index)
{
    int best;

    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];

        if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
            (st->disposition & AV_DISPOSITION_DEFAULT))
            return (int)i;
    }
    best =
        av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, video_index, NULL, 0);
    return best >= 0 ? best : -1;
}

static int open_container(const char *path, const AVIOInterruptCB *interrupt,
                          AVFormatContext **out)
{
    AVFormatContext *fmt;
    int rc = open_file(path, interrupt, &fmt);

    if (rc < 0)
        return rc;

    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        avformat_close_input(&fmt);
        return container_error(rc);
    }
    *out = fmt;
    return 0;
}

int video__open_input(const char *path, const AVIOInterruptCB *interrupt,
                      video_input_t *in)
{
    const AVCodecParameters *par;
    int rc;

    memset(in, 0, sizeof(*in));
    in->audio_index = -1;

    rc = open_container(path, interrupt, &in->fmt);
    if (rc < 0)
        return rc;

    rc = find_video_stream(in->fmt, path, interrupt);
    if (rc < 0)
        goto fail_close;
    in->video_index = rc;

    par = in->fmt->streams[in->video_index]->codecpar;
    if (par->width <= 0 || par->height <= 0) {
        rc = KADR_E_CORRUPT;
        goto fail_close;
    }

    in->audio_index = find_audio_stream(in->fmt, in->video_index);
    video__stream_orientation(in->fmt->streams[in->video_index], &in->rotation,
                              &in->mirror);
    in->hdr = video__is_hdr(par);
    return 0;

fail_close:
    avformat_close_input(&in->fmt);
    return rc;
}

void video__close_input(video_input_t *in)
{
    avformat_close_input(&in->fmt);
}

int video__open_decoder(const AVStream *stream, int threads,
                        AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(stream->codecpar->codec_id);
    AVCodecContext *ctx;
    int rc;

    if (!codec)
        return KADR_E_UNSUPPORTED;
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return -ENOMEM;

    rc = avcodec_parameters_to_context(ctx, stream->codecpar);
    if (rc < 0)
        goto fail_free;
    ctx->pkt_timebase = stream->time_base;
    ctx->thread_count = threads > 0 ? threads : 0;
    ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;

    rc = avcodec_open2(ctx, codec, NULL);
    if (rc < 0)
        goto fail_free;
    *out = ctx;
    return 0;

fail_free:
    avcodec_free_context(&ctx);
    return video__map_error(rc);
}

/* Returns the quarter turn nearest to degrees, as 0, 90, 180 or 270. */
static uint32_t quarter_turn(double degrees)
{
    long quarter_turns = lround(degrees / 90.0) % 4;

    if (quarter_turns < 0)
        quarter_turns += 4;
    return (uint32_t)quarter_turns * 90;
}

/* Returns -value without overflow. */
static int32_t negated(int32_t value)
{
    return value == INT32_MIN ? INT32_MAX : -value;
}

void video__matrix_orientation(const int32_t matrix[9], uint32_t *rotation,
                               bool *mirror)
{
    int32_t turn[9];
    double determinant =
        (double)matrix[0] * matrix[4] - (double)matrix[1] * matrix[3];
    double degrees;

    *rotation = 0;
    *mirror = false;
    if (determinant == 0)
        return;

    /* libavutil applies the matrix to row vectors (x, y, 1). A negative
     * determinant means it contains a mirror. Taking that mirror as the
     * first step, flipping x of the stored frame, leaves a pure rotation:
     * the matrix with its first row negated. */
    memcpy(turn, matrix, sizeof(turn));
    if (determinant < 0) {
        turn[0] = negated(matrix[0]);
        turn[1] = negated(matrix[1]);
        turn[2] = negated(matrix[2]);
    }
    degrees = av_display_rotation_get(turn);
    if (isnan(degrees))
        return;
    *rotation = quarter_turn(degrees);
    *mirror = determinant < 0;
}

void video__stream_orientation(const AVStream *stream, uint32_t *rotation,
                               bool *mirror)
{
    size_t size = 0;
    const uint8_t *matrix =
        av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);

    *rotation = 0;
    *mirror = false;
    if (!matrix || size < 9 * sizeof(int32_t))
        return;
    video__matrix_orientation((const int32_t *)matrix, rotation, mirror);
}

void video__display_size(const video_input_t *in, uint32_t *width,
                         uint32_t *height)
{
    AVStream *st = in->fmt->streams[in->video_index];
    AVRational sar = av_guess_sample_aspect_ratio(in->fmt, st, NULL);
    double w = st->codecpar->width;
    double h = st->codecpar->height;
    bool sideways = in->rotation == 90 || in->rotation == 270;

    /* Anamorphic video stores narrower pixels than it shows, so the
     * width is stretched by the sample aspect ratio. */
    if (sar.num > 0 && sar.den > 0 && sar.num != sar.den)
        w = w * sar.num / sar.den;
    w = w < 1.0 ? 1.0 : w;
    *width = (uint32_t)lround(sideways ? h : w);
    *height = (uint32_t)lround(sideways ? w : h);
}

bool video__is_hdr(const AVCodecParameters *par)
{
    return par->color_trc == AVCOL_TRC_SMPTE2084 ||
           par->color_trc == AVCOL_TRC_ARIB_STD_B67;
}

void video__track_end(const AVFormatContext *fmt, const AVPacket *packet,
                      int64_t *end_us)
{
    const AVStream *st = fmt->streams[packet->stream_index];
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    int64_t end;

    if (ts == AV_NOPTS_VALUE)
        return;
    end = av_rescale_q(ts + packet->duration, st->time_base, AV_TIME_BASE_Q);
    if (end > *end_us)
        *end_us = end;
}

int video__check_coverage(const AVFormatContext *fmt, int64_t start_us,
                          int64_t end_us)
{
    double covered_s = (double)(end_us - start_us) / AV_TIME_BASE;
    double declared_s;

    /* Matroska's duration counts from 0, not from the first timestamp,
     * so a file that starts at 10 s and lasts 2 s declares 12 s. The end
     * timestamp itself is compared then, which is at most start_us more
     * lenient for containers that declare the span. */
    if (start_us > 0)
        covered_s = (double)end_us / AV_TIME_BASE;

    if (fmt->duration == AV_NOPTS_VALUE || fmt->duration <= 0)
        return 0;
    /* NOTE: this relies on the container's declared duration, so a file
     * without one (live WebM recordings) or cut within its last fifth is
     * served as a shorter video instead of being rejected. */
    declared_s = (double)fmt->duration / AV_TIME_BASE;
    if (covered_s + VIDEO_TRUNCATION_SLACK_S <
        VIDEO_MIN_COVERED_SHARE * declared_s)
        return KADR_E_CORRUPT;
    return 0;
}
