/* Mapping of libav error codes to kadr's error codes. */
#include <errno.h>

#include <libavutil/error.h>

#include "video_internal.h"

/* Largest errno magnitude. AVERROR(e) is -e for every errno value. */
#define VIDEO_ERRNO_MAX 4095

int video__map_error(int averr)
{
    if (averr >= 0)
        return 0;
    if (averr >= -VIDEO_ERRNO_MAX)
        return averr;

    switch (averr) {
    case AVERROR_INVALIDDATA:
    case AVERROR_EOF:
        return KADR_E_CORRUPT;
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_PATCHWELCOME:
        return KADR_E_UNSUPPORTED;
    case AVERROR_STREAM_NOT_FOUND:
        return KADR_E_NO_VIDEO;
    case AVERROR_EXIT:
        return KADR_E_CANCELLED;
    case AVERROR_OPTION_NOT_FOUND:
        return KADR_E_BAD_INPUT;
    default:
        return KADR_E_CODEC;
    }
}

bool video__is_damaged_packet(int averr)
{
    return averr < 0 && averr != AVERROR(ENOMEM) && averr != AVERROR(EAGAIN) &&
           averr != AVERROR_EOF && averr != AVERROR_EXIT;
}
