/* Videos: container probe, H.264/AAC transcode to MP4, poster frame.
 *
 * Built on libavformat, libavcodec, libavfilter, libswscale and
 * libswresample. Nothing
 * here knows about HTTP or storage, and nothing here logs. */
#ifndef KADR_CODECS_VIDEO_H
#define KADR_CODECS_VIDEO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <kadr/error.h>

#include "format.h"
#include "image.h"

/* What the container header says; file_bytes is the input's size. width and
 * height are as displayed, after the display matrix rotation. rotation is 0,
 * 90, 180 or 270: the counterclockwise angle by which stored frames are turned
 * for display, the value ffprobe and av_display_rotation_get() report. When
 * the matrix mirrors (mirrored), frames are flipped left to right first and
 * rotation is the turn that follows, which can differ from ffprobe's value.
 * fps is the average frame rate, else the stream's r_frame_rate, which for
 * WebM can be the 1000 Hz timestamp rate. */
typedef struct video_info {
    uint32_t width;
    uint32_t height;
    uint32_t rotation;
    bool mirrored;
    double duration_s;
    double fps;
    bool has_audio;
    uint64_t file_bytes;
    char video_codec[32];
    char audio_codec[32];
} video_info_t;

/* Zero means no limit for that field. */
typedef struct video_limits {
    double max_duration_s;
    uint32_t max_width;
    uint32_t max_height;
    double max_fps;
    uint64_t max_file_bytes;
} video_limits_t;

/* The 720.mp4 rendition: H.264 High yuv420p at crf and preset, AAC stereo
 * 48 kHz at audio_bitrate (0: 128 kbit/s), a keyframe every gop_seconds
 * (0: 2 s), moov first. The output fits max_long x max_short (in either
 * orientation), has even dimensions and is never larger than the source.
 * threads is the encoder and video decoder thread count (0: the library
 * chooses). max_output_s above 0 keeps only the first max_output_s
 * seconds (a teaser), always re-encoded. max_duration_s above 0 fails
 * the transcode with KADR_E_TOO_LARGE once the video or audio packets
 * reach further than that past the first frame, whatever the header
 * declares.
 * NOTE: preset "ultrafast" turns off CABAC, B-frames and 8x8 transforms,
 * and libx264 then signals Constrained Baseline instead of High. */
typedef struct video_params {
    uint32_t max_long;
    uint32_t max_short;
    int crf;
    const char *preset;
    int threads;
    int audio_bitrate;
    double gop_seconds;
    double time_limit_s;
    double max_output_s;
    double max_duration_s;
} video_params_t;

/* Called with progress in percent whenever it changes: 0..99 from the
 * timestamps against the container duration (never called while that is
 * unknown), then 100 once the output is complete. */
typedef void (*video_progress_fn)(void *ctx, int percent);

/* Reads the container header. KADR_E_NO_VIDEO if there is no video stream,
 * KADR_E_CORRUPT if the file cannot be parsed. */
KADR_MUST_CHECK int video_probe_file(const char *path, video_info_t *out);

/* Checks the probed header against limits: KADR_E_TOO_LARGE if over. */
KADR_MUST_CHECK int video_check_limits(const video_info_t *info,
                                       const video_limits_t *limits);

/* Transcodes src into an MP4 at dst (created or truncated), applying the
 * display matrix to the pixels and tone-mapping HDR (PQ or HLG transfer)
 * to SDR BT.709. Audio comes from the default audio stream, else the best
 * one; without one, or when its decoder cannot open, the output is video
 * only. A source that is already what the rendition would be (see
 * video_can_remux()) is remuxed instead: packets copied, moov moved first,
 * timestamps shifted to start at zero. Stops with KADR_E_CANCELLED as
 * soon as *cancel becomes nonzero and KADR_E_TIMEOUT past
 * params->time_limit_s (0: no limit). KADR_E_CORRUPT if no frame decodes
 * or the packets end well before the declared duration (a cut upload).
 * On any failure dst may hold partial output and the caller removes it.
 * progress and cancel may be NULL. */
KADR_MUST_CHECK int video_transcode_file(const char *src, const char *dst,
                                         const video_params_t *params,
                                         video_progress_fn progress,
                                         void *progress_ctx,
                                         const atomic_int *cancel);

/* Returns 1 when src can be copied into the rendition under params
 * without re-encoding, 0 when not, or a negative code. That needs MP4 or
 * MOV, H.264 High 8-bit 4:2:0 in limited range, square pixels, no display
 * rotation, no HDR transfer and a size within max_long x max_short. The
 * audio must be AAC stereo at 48 kHz, or absent.
 * NOTE: a remuxed file keeps the source's keyframe interval. */
KADR_MUST_CHECK int video_can_remux(const char *src,
                                    const video_params_t *params);

/* Decodes a representative frame to upright RGB pixels (channels 3),
 * owned by *out and released with image_pixels_free(). It is the first
 * frame with a mean luma of at least 24 of 255. When the first 90 frames
 * or 3 s are all darker, it is the brightest of them. The pixels have
 * the size video_transcode_file() gives the rendition under
 * params->max_long and params->max_short: the display size fitted to
 * those bounds, rounded to even numbers. */
KADR_MUST_CHECK int video_grab_poster(const char *src,
                                      const video_params_t *params,
                                      image_pixels_t *out);

#endif
