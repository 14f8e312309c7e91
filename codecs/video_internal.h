/* Internals shared by the video_*.c files: input opening, error mapping,
 * rotation, scaling, the H.264 and AAC encoders and the MP4 muxer.
 *
 * Rotation everywhere here is the counterclockwise angle in degrees (0, 90,
 * 180 or 270) by which decoded frames must be turned to look upright. It is
 * the value av_display_rotation_get() and ffprobe report for the stream's
 * display matrix. A mirrored matrix (negative determinant, as in
 * some front-camera recordings) sets mirror: frames are flipped left to right
 * first and then turned by the rotation read from the rest of the matrix. */
#ifndef KADR_CODECS_VIDEO_INTERNAL_H
#define KADR_CODECS_VIDEO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "video.h"
#include "video_queue.h"

/* Output audio: AAC, 48 kHz, stereo, planar float. */
#define VIDEO_AUDIO_RATE 48000
#define VIDEO_AUDIO_FRAME_SAMPLES 1024

/* Damaged frames a decoder may report in a row for one packet before the
 * input counts as corrupt. */
#define VIDEO_MAX_DAMAGED_FRAMES 64

/* An opened input with its chosen streams. audio_index is -1 when the file
 * has no audio stream. hdr is set for a PQ or HLG transfer. */
typedef struct video_input {
    AVFormatContext *fmt;
    int video_index;
    int audio_index;
    uint32_t rotation;
    bool mirror;
    bool hdr;
} video_input_t;

/* HDR to SDR: a libavfilter graph (zscale to linear light, tonemap,
 * zscale to BT.709) built from the first frame and rebuilt when the frame
 * size or format changes. out is the last converted frame. */
typedef struct video_tonemap {
    AVFilterGraph *graph;
    AVFilterContext *source;
    AVFilterContext *sink;
    AVFrame *out;
    int width;
    int height;
    int format;
} video_tonemap_t;

/* Converts frames of any size and pixel format to fmt at a fixed display
 * size, mirroring and turning them upright on the way. coded holds the
 * scaled frame before the turn, and is NULL when nothing is turned. */
typedef struct video_scaler {
    struct SwsContext *sws;
    AVFrame *coded;
    int in_width;
    int in_height;
    int in_format;
    enum AVPixelFormat fmt;
    uint32_t width;
    uint32_t height;
    uint32_t rotation;
    bool mirror;
} video_scaler_t;

/* Audio path of a transcode: decode, resample, queue, AAC encode. */
typedef struct video_audio {
    AVStream *in_stream;
    AVStream *out_stream;
    AVCodecContext *dec;
    AVCodecContext *enc;
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVFrame *decoded;
    AVFrame *chunk;
    AVPacket *packet;
    int64_t start_pts;
    int64_t next_pts;
    bool next_pts_set;
    int64_t skip_samples; /* output samples before the video's start */
} video_audio_t;

/* Cancellation, time limit and progress of one transcode. */
typedef struct video_control {
    const atomic_int *cancel;
    double deadline_s;
    double duration_s;
    double max_span_s; /* maximum packet time span in s; 0: no limit */
    video_progress_fn progress;
    void *progress_ctx;
    int last_percent;
} video_control_t;

/* The decoding side of a transcode: a thread that demuxes in, decodes
 * its video and queues the frames, and the packets of audio_index, for
 * the thread that encodes. The caller fills the fields up to cut_us and
 * keeps in, decoder and control alive until video__reader_stop(). */
typedef struct video_reader {
    video_input_t *in;
    AVCodecContext *decoder;
    const video_control_t *control;
    int audio_index;  /* -1: no audio packets are queued */
    int64_t cut_us;   /* frames from this input time on are dropped; 0: none */
    int64_t start_us; /* input time of the first video frame */
    int64_t end_us;   /* how far packets reach; read after the thread ends */
    bool cut_reached;
    video_queue_t queue;
    AVPacket *packet;
    AVFrame *decoded;
    pthread_t thread;
    bool running;
} video_reader_t;

/* A file whose packets stop more than VIDEO_TRUNCATION_SLACK_S seconds
 * before VIDEO_MIN_COVERED_SHARE of its declared duration is treated as
 * truncated. The slack keeps one-frame and slide-show clips, whose last
 * frame starts long before the end, acceptable. */
#define VIDEO_MIN_COVERED_SHARE 0.8
#define VIDEO_TRUNCATION_SLACK_S 2.0

/* How far the packets of a transcode may reach past max_duration_s before
 * it fails: container durations and packet ends differ by audio priming
 * and timestamp rounding. */
#define VIDEO_SPAN_SLACK_S 1.0

/* Maps an AVERROR code to 0, -errno or a KADR_E_* code. */
int video__map_error(int averr);

/* Returns whether a decoder error is about one damaged packet or frame,
 * which is skipped as players do, rather than about the whole run (no
 * memory, end of stream, interrupted). Decoders report damage with many
 * codes besides AVERROR_INVALIDDATA, even a bare -1. */
bool video__is_damaged_packet(int averr);

/* Opens path, reads stream info and picks the best video and audio
 * streams. KADR_E_NO_VIDEO without a video stream, KADR_E_CORRUPT if the
 * container cannot be parsed. interrupt may be NULL. On success the caller
 * owns *in and releases it with video__close_input(). */
KADR_MUST_CHECK int video__open_input(const char *path,
                                      const AVIOInterruptCB *interrupt,
                                      video_input_t *in);
void video__close_input(video_input_t *in);

/* Returns KADR_E_CORRUPT when packets reaching end_us (from start_us)
 * cover too little of the container's declared duration: an upload cut
 * short in transit. 0 otherwise, and when no duration is declared. */
KADR_MUST_CHECK int video__check_coverage(const AVFormatContext *fmt,
                                          int64_t start_us, int64_t end_us);

/* Records in *end_us how far into the media packet reaches. */
void video__track_end(const AVFormatContext *fmt, const AVPacket *packet,
                      int64_t *end_us);

/* Computes the upright display size of the input's video: the coded
 * size with the sample aspect ratio applied, turned by the rotation. */
void video__display_size(const video_input_t *in, uint32_t *width,
                         uint32_t *height);

/* Returns whether the stream's transfer is PQ (SMPTE ST 2084) or HLG. */
bool video__is_hdr(const AVCodecParameters *par);

/* Opens a decoder for a stream. threads 0 lets the library choose. */
KADR_MUST_CHECK int video__open_decoder(const AVStream *stream, int threads,
                                        AVCodecContext **out);

/* Reads a display matrix (nine 32-bit values as libavutil stores them)
 * as a mirror flag and a rotation. A singular matrix reads as neither. */
void video__matrix_orientation(const int32_t matrix[9], uint32_t *rotation,
                               bool *mirror);

/* Reads the stream's display matrix as video__matrix_orientation() does;
 * 0 and false without one. */
void video__stream_orientation(const AVStream *stream, uint32_t *rotation,
                               bool *mirror);

/* Copies a width x height plane of bytes_per_pixel-byte pixels to dst,
 * flipped left to right when mirror is set and then turned
 * counterclockwise by rotation degrees. dst must hold the turned size
 * (height x width for 90 and 270). */
void video__rotate_plane(const uint8_t *src, int src_stride, int width,
                         int height, int bytes_per_pixel, uint8_t *dst,
                         int dst_stride, uint32_t rotation, bool mirror);

/* Computes the largest even size with the aspect of width x height that
 * fits max_long x max_short in the source's own orientation and is not
 * larger than the source. Sizes under 2 pixels become 2. */
void video__fit_size(uint32_t width, uint32_t height, uint32_t max_long,
                     uint32_t max_short, uint32_t *out_width,
                     uint32_t *out_height);

/* Computes the size of the rendition of in under params: its display
 * size fitted by video__fit_size(). The transcode and the poster both
 * take their size from here, so they always match. */
void video__output_size(const video_input_t *in, const video_params_t *params,
                        uint32_t *width, uint32_t *height);

/* Prepares a scaler to width x height (display size, after rotation) in
 * pixel format fmt. Release with video__scaler_free(). */
KADR_MUST_CHECK int video__scaler_init(video_scaler_t *scaler,
                                       enum AVPixelFormat fmt, uint32_t width,
                                       uint32_t height, uint32_t rotation,
                                       bool mirror);

/* Scales and turns in into out, which must be a writable frame of the
 * scaler's format and size. fmt is AV_PIX_FMT_YUV420P (even sizes only) or
 * AV_PIX_FMT_RGB24. */
KADR_MUST_CHECK int video__scaler_run(video_scaler_t *scaler, const AVFrame *in,
                                      AVFrame *out);
void video__scaler_free(video_scaler_t *scaler);

/* Opens libx264 for width x height yuv420p frames stamped in time_base. */
KADR_MUST_CHECK int video__open_h264(const video_params_t *params,
                                     const AVCodecParameters *source,
                                     uint32_t width, uint32_t height,
                                     AVRational fps, AVRational time_base,
                                     bool global_header, AVCodecContext **out);

/* Converts an HDR frame to 8-bit yuv420p BT.709 SDR in tm->out, which
 * stays valid until the next call. Release with video__tonemap_free(). */
KADR_MUST_CHECK int video__tonemap_run(video_tonemap_t *tm, const AVFrame *in,
                                       AVRational time_base);
void video__tonemap_free(video_tonemap_t *tm);

/* Returns 1 when the opened input can be remuxed under params (see
 * video_can_remux()), 0 otherwise. */
int video__input_remuxable(const video_input_t *in,
                           const video_params_t *params);

/* Copies the video and chosen audio packets of in into an MP4 at dst with
 * moov first, timestamps shifted to start at zero. */
KADR_MUST_CHECK int video__remux(video_input_t *in, const char *dst,
                                 video_control_t *control);

/* Returns one frame's duration in enc's time base, from its frame rate
 * or, without a plausible one, 30 frames per second. */
int64_t video__frame_duration(const AVCodecContext *enc);

/* Creates the MP4 output context for path. */
KADR_MUST_CHECK int video__mux_open(const char *path, AVFormatContext **out);

/* Adds a stream that carries what enc produces. */
KADR_MUST_CHECK int video__mux_add_stream(AVFormatContext *mux,
                                          const AVCodecContext *enc,
                                          AVStream **out);

/* Opens the file and writes the header, asking for moov before mdat. */
KADR_MUST_CHECK int video__mux_start(AVFormatContext *mux, const char *path);

/* Sends frame (NULL to flush) to enc and writes every packet it returns
 * to stream. */
KADR_MUST_CHECK int video__mux_encode(AVFormatContext *mux, AVStream *stream,
                                      AVCodecContext *enc, const AVFrame *frame,
                                      AVPacket *packet);

/* Writes the trailer, which with faststart moves moov to the front. */
KADR_MUST_CHECK int video__mux_finish(AVFormatContext *mux);

/* Closes the file and frees the context. *mux may be NULL. */
void video__mux_close(AVFormatContext **mux);

/* Prepares the audio path for in_stream and adds its output stream.
 * start_us is the input start time subtracted from every timestamp. */
KADR_MUST_CHECK int video__audio_open(video_audio_t *audio, AVStream *in_stream,
                                      AVFormatContext *mux,
                                      const video_params_t *params,
                                      int64_t start_us);

/* Decodes packet (NULL to flush everything) and writes the AAC packets
 * that result. */
KADR_MUST_CHECK int video__audio_write(video_audio_t *audio,
                                       AVFormatContext *mux,
                                       const AVPacket *packet);
void video__audio_close(video_audio_t *audio);

/* Starts the decoding thread. On failure no thread runs, and the reader
 * still goes to video__reader_free(). */
KADR_MUST_CHECK int video__reader_start(video_reader_t *reader);

/* Waits for the next decoded frame or audio packet and moves it into
 * frame or packet (both empty). Returns VIDEO_QUEUE_FRAME,
 * VIDEO_QUEUE_PACKET, VIDEO_QUEUE_END after the last one, or the
 * negative code the decoding thread ended with (KADR_E_CORRUPT for a
 * file with too many damaged frames, for example). */
KADR_MUST_CHECK int video__reader_next(video_reader_t *reader, AVFrame *frame,
                                       AVPacket *packet);

/* Stops the decoding thread, if it runs, and waits for it to end. */
void video__reader_stop(video_reader_t *reader);

/* Stops the thread and releases the queue and the reader's buffers. A
 * zeroed reader is freed safely. */
void video__reader_free(video_reader_t *reader);

/* Starts the clock for params->time_limit_s (0: no limit) and takes
 * params->max_duration_s as the span limit. */
void video__control_init(video_control_t *control, const video_params_t *params,
                         video_progress_fn progress, void *progress_ctx,
                         const atomic_int *cancel);

/* Returns KADR_E_CANCELLED once *cancel is set, KADR_E_TIMEOUT past the
 * time limit, 0 otherwise. */
KADR_MUST_CHECK int video__control_check(const video_control_t *control);

/* Returns KADR_E_TOO_LARGE when packet, read from fmt, ends more than
 * max_span_s (plus VIDEO_SPAN_SLACK_S) after start_us, and 0 otherwise or
 * without a limit. This catches a header that understates
 * the duration, or states none, as live WebM recordings do. */
KADR_MUST_CHECK int video__control_check_span(const video_control_t *control,
                                              const AVFormatContext *fmt,
                                              const AVPacket *packet,
                                              int64_t start_us);

/* AVIOInterruptCB callback over a video_control_t: nonzero aborts the
 * blocking libavformat call in progress. */
int video__control_interrupt(void *opaque);

/* Reports progress after done_s seconds of media as 0..99 percent of
 * duration_s, calling the callback only when the percentage changes.
 * Nothing is reported while the duration is unknown. */
void video__control_report(video_control_t *control, double done_s);

/* Reports 100 percent. */
void video__control_finish(video_control_t *control);

#endif
