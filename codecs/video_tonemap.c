/* HDR to SDR for the rendition and the poster. libavfilter's zscale
 * (libzimg) takes PQ or HLG frames to linear light, tonemap applies the
 * Mobius curve, and zscale converts to BT.709 primaries, transfer and
 * matrix in limited-range 8-bit yuv420p. Mobius keeps the part of the
 * range an SDR screen shows and compresses only the highlights; Hable
 * darkened a PQ test pattern's mean luma from 124 to 77 of 255. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

#include "video_internal.h"

/* Nominal peak luminance of SDR white in cd/m2, which zscale uses to
 * scale linear light: 100 is the BT.709 reference display. */
#define VIDEO_SDR_PEAK_NITS "100"

/* The chain after the first zscale, whose input options depend on the
 * frame. */
static const char tonemap_chain[] =
    ",format=gbrpf32le,"
    "zscale=p=bt709,tonemap=tonemap=mobius:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p";

/* Writes the filter chain for frames like in. zscale takes primaries
 * and matrix from each frame, and fails on frames that state none, so
 * those get BT.2020, the only primaries PQ and HLG video is made in. */
static void write_chain(char *out, size_t size, const AVFrame *in)
{
    snprintf(out, size, "zscale=t=linear:npl=%s%s%s%s", VIDEO_SDR_PEAK_NITS,
             in->color_primaries == AVCOL_PRI_UNSPECIFIED ? ":pin=bt2020" : "",
             in->colorspace == AVCOL_SPC_UNSPECIFIED ? ":min=bt2020nc" : "",
             tonemap_chain);
}

static int link_chain(video_tonemap_t *tm, const char *chain)
{
    AVFilterInOut *outputs = avfilter_inout_alloc();
    AVFilterInOut *inputs = avfilter_inout_alloc();
    int rc = AVERROR(ENOMEM);

    if (!outputs || !inputs)
        goto done;
    outputs->name = av_strdup("in");
    outputs->filter_ctx = tm->source;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = tm->sink;
    if (!outputs->name || !inputs->name)
        goto done;

    rc = avfilter_graph_parse_ptr(tm->graph, chain, &inputs, &outputs, NULL);
    if (rc >= 0)
        rc = avfilter_graph_config(tm->graph, NULL);

done:
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    return rc;
}

static int build_graph(video_tonemap_t *tm, const AVFrame *in,
                       AVRational time_base)
{
    char chain[512];
    char args[256];
    AVRational sar = in->sample_aspect_ratio;
    int rc;

    video__tonemap_free(tm);
    tm->graph = avfilter_graph_alloc();
    tm->out = av_frame_alloc();
    if (!tm->graph || !tm->out)
        return -ENOMEM;
    /* zscale is single-threaded per filter instance; one graph thread
     * avoids idle slice threads. */
    tm->graph->nb_threads = 1;

    if (sar.num <= 0 || sar.den <= 0)
        sar = (AVRational){1, 1};
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:"
             "pixel_aspect=%d/%d",
             in->width, in->height, in->format, time_base.num,
             time_base.den > 0 ? time_base.den : 1, sar.num, sar.den);
    rc = avfilter_graph_create_filter(&tm->source,
                                      avfilter_get_by_name("buffer"), "in",
                                      args, NULL, tm->graph);
    if (rc >= 0)
        rc = avfilter_graph_create_filter(&tm->sink,
                                          avfilter_get_by_name("buffersink"),
                                          "out", NULL, NULL, tm->graph);
    write_chain(chain, sizeof(chain), in);
    if (rc >= 0)
        rc = link_chain(tm, chain);
    if (rc < 0)
        return rc == AVERROR_FILTER_NOT_FOUND ? KADR_E_UNSUPPORTED
                                              : video__map_error(rc);

    tm->width = in->width;
    tm->height = in->height;
    tm->format = in->format;
    return 0;
}

int video__tonemap_run(video_tonemap_t *tm, const AVFrame *in,
                       AVRational time_base)
{
    AVFrame *sent;
    int rc;

    if (!tm->graph || tm->width != in->width || tm->height != in->height ||
        tm->format != in->format) {
        rc = build_graph(tm, in, time_base);
        if (rc < 0)
            return rc;
    }

    av_frame_unref(tm->out);
    /* The source takes a new reference, so the caller's frame stays. */
    sent = av_frame_clone(in);
    if (!sent)
        return -ENOMEM;
    rc = av_buffersrc_add_frame_flags(tm->source, sent, 0);
    av_frame_free(&sent);
    if (rc < 0)
        return video__map_error(rc);
    /* Each filter in the chain turns one frame into one, so the frame
     * just sent comes out at once. */
    rc = av_buffersink_get_frame(tm->sink, tm->out);
    if (rc == AVERROR(EAGAIN))
        return KADR_E_CODEC;
    if (rc < 0)
        return video__map_error(rc);
    return 0;
}

void video__tonemap_free(video_tonemap_t *tm)
{
    avfilter_graph_free(&tm->graph);
    av_frame_free(&tm->out);
    tm->source = NULL;
    tm->sink = NULL;
    tm->width = 0;
    tm->height = 0;
    tm->format = 0;
}
