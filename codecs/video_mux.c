/* The MP4 muxer of the 720.mp4 rendition. */
#include <errno.h>

#include <libavutil/dict.h>

#include "video_internal.h"

int video__mux_open(const char *path, AVFormatContext **out)
{
    int rc = avformat_alloc_output_context2(out, NULL, "mp4", path);

    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

int video__mux_add_stream(AVFormatContext *mux, const AVCodecContext *enc,
                          AVStream **out)
{
    AVStream *stream = avformat_new_stream(mux, NULL);
    int rc;

    if (!stream)
        return -ENOMEM;
    rc = avcodec_parameters_from_context(stream->codecpar, enc);
    if (rc < 0)
        return video__map_error(rc);
    stream->time_base = enc->time_base;
    *out = stream;
    return 0;
}

int video__mux_start(AVFormatContext *mux, const char *path)
{
    AVDictionary *options = NULL;
    int rc;

    rc = avio_open(&mux->pb, path, AVIO_FLAG_WRITE);
    if (rc < 0)
        return video__map_error(rc);

    rc = av_dict_set(&options, "movflags", "+faststart", 0);
    if (rc < 0)
        return video__map_error(rc);
    rc = avformat_write_header(mux, &options);
    av_dict_free(&options);
    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

static int write_packet(AVFormatContext *mux, AVStream *stream,
                        const AVCodecContext *enc, AVPacket *packet)
{
    int rc;

    /* libx264 leaves durations at 0. The MP4 muxer takes the last
     * sample's duration from its packet, and a clip of one frame would
     * otherwise last 0 s and show nothing. */
    if (packet->duration <= 0 && enc->codec_type == AVMEDIA_TYPE_VIDEO)
        packet->duration = video__frame_duration(enc);
    av_packet_rescale_ts(packet, enc->time_base, stream->time_base);
    packet->stream_index = stream->index;
    rc = av_interleaved_write_frame(mux, packet);
    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

int video__mux_encode(AVFormatContext *mux, AVStream *stream,
                      AVCodecContext *enc, const AVFrame *frame,
                      AVPacket *packet)
{
    int rc = avcodec_send_frame(enc, frame);

    if (rc < 0)
        return video__map_error(rc);

    for (;;) {
        rc = avcodec_receive_packet(enc, packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return video__map_error(rc);

        rc = write_packet(mux, stream, enc, packet);
        av_packet_unref(packet);
        if (rc < 0)
            return rc;
    }
}

int video__mux_finish(AVFormatContext *mux)
{
    int rc = av_write_trailer(mux);

    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

void video__mux_close(AVFormatContext **mux)
{
    if (!*mux)
        return;
    if ((*mux)->pb)
        avio_closep(&(*mux)->pb);
    avformat_free_context(*mux);
    *mux = NULL;
}
