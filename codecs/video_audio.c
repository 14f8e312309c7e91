/* The audio path of a transcode: decode, resample to 48 kHz stereo planar
 * float, queue in an AVAudioFifo, AAC encode in whole encoder frames. */
#include <errno.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>

#include "video_internal.h"

/* AAC bit rate when the caller gives none, in bits per second. */
#define VIDEO_DEFAULT_AUDIO_BITRATE 128000

static int open_aac(const video_params_t *params, bool global_header,
                    AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    AVCodecContext *enc;
    int rc;

    if (!codec)
        return KADR_E_UNSUPPORTED;
    enc = avcodec_alloc_context3(codec);
    if (!enc)
        return -ENOMEM;

    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = VIDEO_AUDIO_RATE;
    enc->time_base = (AVRational){1, VIDEO_AUDIO_RATE};
    enc->bit_rate = params->audio_bitrate > 0 ? params->audio_bitrate
                                              : VIDEO_DEFAULT_AUDIO_BITRATE;
    if (global_header)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = av_channel_layout_copy(&enc->ch_layout, &stereo);
    if (rc >= 0)
        rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        avcodec_free_context(&enc);
        return video__map_error(rc);
    }
    *out = enc;
    return 0;
}

static int alloc_buffers(video_audio_t *audio)
{
    audio->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2,
                                      4 * VIDEO_AUDIO_FRAME_SAMPLES);
    audio->decoded = av_frame_alloc();
    audio->chunk = av_frame_alloc();
    audio->packet = av_packet_alloc();
    if (!audio->fifo || !audio->decoded || !audio->chunk || !audio->packet)
        return -ENOMEM;
    return 0;
}

int video__audio_open(video_audio_t *audio, AVStream *in_stream,
                      AVFormatContext *mux, const video_params_t *params,
                      int64_t start_us)
{
    bool global_header = mux->oformat->flags & AVFMT_GLOBALHEADER;
    int rc;

    memset(audio, 0, sizeof(*audio));
    audio->in_stream = in_stream;
    audio->start_pts =
        av_rescale_q(start_us, AV_TIME_BASE_Q, in_stream->time_base);

    rc = video__open_decoder(in_stream, 0, &audio->dec);
    if (rc < 0)
        goto fail;
    rc = open_aac(params, global_header, &audio->enc);
    if (rc < 0)
        goto fail;
    rc = alloc_buffers(audio);
    if (rc < 0)
        goto fail;
    rc = video__mux_add_stream(mux, audio->enc, &audio->out_stream);
    if (rc < 0)
        goto fail;
    return 0;

fail:
    video__audio_close(audio);
    return rc;
}

/* Creates the resampler from the first decoded frame, whose layout, rate
 * and format are the ones the decoder really produces. */
static int open_resampler(video_audio_t *audio, const AVFrame *frame)
{
    AVChannelLayout in_layout = {0};
    int rc;

    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, frame->ch_layout.nb_channels);
    else if ((rc = av_channel_layout_copy(&in_layout, &frame->ch_layout)) < 0)
        return video__map_error(rc);

    rc = swr_alloc_set_opts2(&audio->swr, &audio->enc->ch_layout,
                             audio->enc->sample_fmt, audio->enc->sample_rate,
                             &in_layout, frame->format, frame->sample_rate, 0,
                             NULL);
    av_channel_layout_uninit(&in_layout);
    if (rc >= 0)
        rc = swr_init(audio->swr);
    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

static void start_timestamps(video_audio_t *audio, const AVFrame *frame)
{
    int64_t pts = frame->best_effort_timestamp;

    audio->next_pts_set = true;
    if (pts == AV_NOPTS_VALUE)
        return;
    audio->next_pts =
        av_rescale_q(pts - audio->start_pts, audio->in_stream->time_base,
                     audio->enc->time_base);
    if (audio->next_pts < 0) {
        audio->skip_samples = -audio->next_pts;
        audio->next_pts = 0;
    }
}

/* Drops queued samples that play before the video's first frame. */
static void skip_early_samples(video_audio_t *audio)
{
    int queued = av_audio_fifo_size(audio->fifo);
    int count;

    if (audio->skip_samples <= 0 || queued <= 0)
        return;
    count = audio->skip_samples < queued ? (int)audio->skip_samples : queued;
    av_audio_fifo_drain(audio->fifo, count);
    audio->skip_samples -= count;
}

/* Resamples in_count samples of in (NULL drains the resampler) into the
 * FIFO. */
static int queue_samples(video_audio_t *audio, const uint8_t **in, int in_count)
{
    uint8_t **out = NULL;
    int capacity = swr_get_out_samples(audio->swr, in_count);
    int rc;

    if (capacity <= 0)
        return 0;
    rc = av_samples_alloc_array_and_samples(
        &out, NULL, audio->enc->ch_layout.nb_channels, capacity,
        audio->enc->sample_fmt, 0);
    if (rc < 0)
        return video__map_error(rc);

    rc = swr_convert(audio->swr, out, capacity, in, in_count);
    if (rc > 0 && av_audio_fifo_write(audio->fifo, (void **)out, rc) < rc)
        rc = AVERROR(ENOMEM);

    av_freep(&out[0]);
    av_freep(&out);
    return rc < 0 ? video__map_error(rc) : 0;
}

/* Encodes whole frames from the FIFO, and with flush the short rest. */
static int encode_queued(video_audio_t *audio, AVFormatContext *mux, bool flush)
{
    int frame_size = audio->enc->frame_size > 0 ? audio->enc->frame_size
                                                : VIDEO_AUDIO_FRAME_SAMPLES;
    int rc;

    while (av_audio_fifo_size(audio->fifo) >= frame_size ||
           (flush && av_audio_fifo_size(audio->fifo) > 0)) {
        AVFrame *chunk = audio->chunk;
        int count = FFMIN(av_audio_fifo_size(audio->fifo), frame_size);

        av_frame_unref(chunk);
        chunk->nb_samples = count;
        chunk->format = audio->enc->sample_fmt;
        chunk->sample_rate = audio->enc->sample_rate;
        rc = av_channel_layout_copy(&chunk->ch_layout, &audio->enc->ch_layout);
        if (rc >= 0)
            rc = av_frame_get_buffer(chunk, 0);
        if (rc < 0)
            return video__map_error(rc);
        if (av_audio_fifo_read(audio->fifo, (void **)chunk->data, count) <
            count)
            return KADR_E_CODEC;

        chunk->pts = audio->next_pts;
        audio->next_pts += count;
        rc = video__mux_encode(mux, audio->out_stream, audio->enc, chunk,
                               audio->packet);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int handle_frame(video_audio_t *audio, AVFormatContext *mux)
{
    const AVFrame *frame = audio->decoded;
    int rc;

    if (!audio->swr) {
        rc = open_resampler(audio, frame);
        if (rc < 0)
            return rc;
    }
    if (!audio->next_pts_set)
        start_timestamps(audio, frame);

    rc = queue_samples(audio, (const uint8_t **)(void *)frame->extended_data,
                       frame->nb_samples);
    if (rc < 0)
        return rc;
    skip_early_samples(audio);
    return encode_queued(audio, mux, false);
}

static int flush_all(video_audio_t *audio, AVFormatContext *mux)
{
    int rc;

    if (audio->swr) {
        rc = queue_samples(audio, NULL, 0);
        if (rc < 0)
            return rc;
    }
    rc = encode_queued(audio, mux, true);
    if (rc < 0)
        return rc;
    return video__mux_encode(mux, audio->out_stream, audio->enc, NULL,
                             audio->packet);
}

int video__audio_write(video_audio_t *audio, AVFormatContext *mux,
                       const AVPacket *packet)
{
    int rc = avcodec_send_packet(audio->dec, packet);
    int damaged = 0;

    /* A damaged audio packet is dropped and the rest of the track plays. */
    if (packet && video__is_damaged_packet(rc))
        return 0;
    if (rc < 0)
        return video__map_error(rc);

    for (;;) {
        rc = avcodec_receive_frame(audio->dec, audio->decoded);
        if (rc == AVERROR(EAGAIN))
            return 0;
        if (rc == AVERROR_EOF)
            return flush_all(audio, mux);
        if (video__is_damaged_packet(rc)) {
            if (++damaged >= VIDEO_MAX_DAMAGED_FRAMES)
                return KADR_E_CORRUPT;
            continue;
        }
        if (rc < 0)
            return video__map_error(rc);

        rc = handle_frame(audio, mux);
        av_frame_unref(audio->decoded);
        if (rc < 0)
            return rc;
    }
}

void video__audio_close(video_audio_t *audio)
{
    avcodec_free_context(&audio->dec);
    avcodec_free_context(&audio->enc);
    swr_free(&audio->swr);
    if (audio->fifo)
        av_audio_fifo_free(audio->fifo);
    audio->fifo = NULL;
    av_frame_free(&audio->decoded);
    av_frame_free(&audio->chunk);
    av_packet_free(&audio->packet);
}
