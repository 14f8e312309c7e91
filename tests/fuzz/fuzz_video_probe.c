/* libFuzzer target for the video probe as kadrd runs it on an upload:
 * sniff, then libavformat reads the container header from a memfd path
 * and the result is checked against limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "format.h"
#include "fuzz_memfd.h"
#include "video.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const video_limits_t fuzz_limits = {
    .max_duration_s = 900,
    .max_width = 7680,
    .max_height = 7680,
    .max_fps = 240,
    .max_file_bytes = 16u * 1024 * 1024,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    video_info_t info;
    char path[64];
    int fd;

    /* kadrd probes only what the sniffer calls a video. */
    if (format_kind(format_sniff(data, size)) != KADR_KIND_VIDEO)
        return 0;
    fd = fuzz_memfd_open(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (video_probe_file(path, &info) == 0) {
        if (info.rotation % 90 != 0 || info.rotation >= 360)
            abort();
        int rc = video_check_limits(&info, &fuzz_limits);

        if (rc != 0 && rc != KADR_E_TOO_LARGE)
            abort();
    }
    close(fd);
    return 0;
}
