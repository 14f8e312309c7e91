/* Transcodes one file to the 720.mp4 rendition through kadr's codec layer
 * with kadrd's default parameters, for bench/video.sh to time against the
 * ffmpeg command.
 *
 *   video_transcode [--preset NAME] [--crf N] [--threads N]
 *                   [--teaser SECONDS] INPUT OUTPUT
 *
 * --threads 0 (the default) lets libavcodec and libx264 choose from the
 * host's cores, as the ffmpeg command does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video.h"

static int usage(void)
{
    fprintf(stderr, "usage: video_transcode [--preset NAME] [--crf N] "
                    "[--threads N] [--teaser SECONDS] INPUT OUTPUT\n");
    return 2;
}

int main(int argc, char **argv)
{
    /* kadrd's defaults: engine/main.c and the video_* keys. */
    video_params_t params = {
        .max_long = 1280,
        .max_short = 720,
        .crf = 23,
        .preset = "veryfast",
        .threads = 0,
        .audio_bitrate = 128000,
        .gop_seconds = 2.0,
        .time_limit_s = 1800.0,
    };
    int arg = 1;
    int rc;

    for (; arg + 1 < argc && strncmp(argv[arg], "--", 2) == 0; arg += 2) {
        if (strcmp(argv[arg], "--preset") == 0)
            params.preset = argv[arg + 1];
        else if (strcmp(argv[arg], "--crf") == 0)
            params.crf = atoi(argv[arg + 1]);
        else if (strcmp(argv[arg], "--threads") == 0)
            params.threads = atoi(argv[arg + 1]);
        else if (strcmp(argv[arg], "--teaser") == 0)
            params.max_output_s = atof(argv[arg + 1]);
        else
            return usage();
    }
    if (argc - arg != 2)
        return usage();

    rc = video_transcode_file(argv[arg], argv[arg + 1], &params, NULL, NULL,
                              NULL);
    if (rc != 0) {
        fprintf(stderr, "video_transcode: %s: %s\n", argv[arg],
                kadr_strerror(rc));
        return 1;
    }
    return 0;
}
