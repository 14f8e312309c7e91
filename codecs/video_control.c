/* Cancellation, time limit and progress reporting of a transcode. */
#include <time.h>

#include "video_internal.h"

static double monotonic_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void video__control_init(video_control_t *control, const video_params_t *params,
                         video_progress_fn progress, void *progress_ctx,
                         const atomic_int *cancel)
{
    control->cancel = cancel;
    control->deadline_s = 0.0;
    if (params->time_limit_s > 0)
        control->deadline_s = monotonic_seconds() + params->time_limit_s;
    control->duration_s = 0.0;
    control->max_span_s = params->max_duration_s;
    control->progress = progress;
    control->progress_ctx = progress_ctx;
    control->last_percent = -1;
}

int video__control_check(const video_control_t *control)
{
    if (control->cancel && atomic_load(control->cancel) != 0)
        return KADR_E_CANCELLED;
    if (control->deadline_s > 0 && monotonic_seconds() > control->deadline_s)
        return KADR_E_TIMEOUT;
    return 0;
}

int video__control_check_span(const video_control_t *control,
                              const AVFormatContext *fmt,
                              const AVPacket *packet, int64_t start_us)
{
    int64_t end_us = start_us;
    double span_s;

    if (control->max_span_s <= 0)
        return 0;
    video__track_end(fmt, packet, &end_us);
    span_s = (double)(end_us - start_us) / AV_TIME_BASE;
    if (span_s > control->max_span_s + VIDEO_SPAN_SLACK_S)
        return KADR_E_TOO_LARGE;
    return 0;
}

int video__control_interrupt(void *opaque)
{
    return video__control_check(opaque) != 0;
}

static void report_percent(video_control_t *control, int percent)
{
    if (!control->progress || percent == control->last_percent)
        return;
    control->last_percent = percent;
    control->progress(control->progress_ctx, percent);
}

void video__control_report(video_control_t *control, double done_s)
{
    double percent;

    if (control->duration_s <= 0)
        return;
    percent = done_s * 100.0 / control->duration_s;
    if (percent < 0)
        percent = 0;
    if (percent > 99)
        percent = 99;
    report_percent(control, (int)percent);
}

void video__control_finish(video_control_t *control)
{
    report_percent(control, 100);
}
