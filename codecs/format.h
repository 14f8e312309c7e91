/* Media formats as kadr recognises them from their first bytes. */
#ifndef KADR_CODECS_FORMAT_H
#define KADR_CODECS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes format_sniff() needs to tell every format apart. */
#define FORMAT_SNIFF_BYTES 512

/* Values are stored on disk (needle headers, media records): append only. */
typedef enum kadr_format {
    KADR_FORMAT_UNKNOWN = 0,
    /* images kadr serves */
    KADR_FORMAT_JPEG = 1,
    KADR_FORMAT_PNG = 2,
    KADR_FORMAT_WEBP = 3,
    KADR_FORMAT_GIF = 4,
    KADR_FORMAT_HEIC = 5,
    KADR_FORMAT_AVIF = 6,
    /* videos kadr serves */
    KADR_FORMAT_MP4 = 20,
    KADR_FORMAT_MOV = 21,
    KADR_FORMAT_WEBM = 22,
    KADR_FORMAT_MKV = 23,
    /* recognised, not served */
    KADR_FORMAT_BMP = 40,
    KADR_FORMAT_TIFF = 41,
    KADR_FORMAT_JXL = 42,
    KADR_FORMAT_MP3 = 43,
    KADR_FORMAT_PDF = 44,
    KADR_FORMAT_ICO = 45,
    KADR_FORMAT_PSD = 46,
    KADR_FORMAT_SVG = 47,
    KADR_FORMAT_M4A = 48,
    KADR_FORMAT_OGG = 49,
    KADR_FORMAT_WAV = 50,
    KADR_FORMAT_FLAC = 51,
    KADR_FORMAT_AVI = 52,
} kadr_format_t;

typedef enum kadr_kind {
    KADR_KIND_UNSUPPORTED = 0,
    KADR_KIND_IMAGE = 1,
    KADR_KIND_VIDEO = 2,
} kadr_kind_t;

/* Identifies the format from the first len bytes of a file (len may be
 * shorter than FORMAT_SNIFF_BYTES for a short file). Never reads past len.
 * Returns KADR_FORMAT_UNKNOWN when no signature matches. */
kadr_format_t format_sniff(const uint8_t *buf, size_t len);

/* Returns whether kadr serves the format as an image, a video, or not. */
kadr_kind_t format_kind(kadr_format_t format);

/* Returns a short lowercase name ("jpeg", "mov"), "unknown" if unknown. */
const char *format_name(kadr_format_t format);

/* Returns the MIME type ("image/jpeg"), "application/octet-stream" if
 * unknown. */
const char *format_mime(kadr_format_t format);

/* Returns the kind's name: "image", "video" or "unsupported". */
const char *format_kind_name(kadr_kind_t kind);

#endif
