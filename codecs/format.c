/* Format sniffing from magic numbers, and the names kadr gives formats. */
#include "format.h"

#include <stdbool.h>
#include <string.h>

typedef struct format_entry {
    kadr_format_t format;
    const char *name;
    const char *mime;
} format_entry_t;

static const format_entry_t format_table[] = {
    {KADR_FORMAT_JPEG, "jpeg", "image/jpeg"},
    {KADR_FORMAT_PNG, "png", "image/png"},
    {KADR_FORMAT_WEBP, "webp", "image/webp"},
    {KADR_FORMAT_GIF, "gif", "image/gif"},
    {KADR_FORMAT_HEIC, "heic", "image/heic"},
    {KADR_FORMAT_AVIF, "avif", "image/avif"},
    {KADR_FORMAT_MP4, "mp4", "video/mp4"},
    {KADR_FORMAT_MOV, "mov", "video/quicktime"},
    {KADR_FORMAT_WEBM, "webm", "video/webm"},
    {KADR_FORMAT_MKV, "mkv", "video/x-matroska"},
    {KADR_FORMAT_BMP, "bmp", "image/bmp"},
    {KADR_FORMAT_TIFF, "tiff", "image/tiff"},
    {KADR_FORMAT_JXL, "jxl", "image/jxl"},
    {KADR_FORMAT_MP3, "mp3", "audio/mpeg"},
    {KADR_FORMAT_PDF, "pdf", "application/pdf"},
    {KADR_FORMAT_ICO, "ico", "image/vnd.microsoft.icon"},
    {KADR_FORMAT_PSD, "psd", "image/vnd.adobe.photoshop"},
    {KADR_FORMAT_SVG, "svg", "image/svg+xml"},
    {KADR_FORMAT_M4A, "m4a", "audio/mp4"},
    {KADR_FORMAT_OGG, "ogg", "audio/ogg"},
    {KADR_FORMAT_WAV, "wav", "audio/wav"},
    {KADR_FORMAT_FLAC, "flac", "audio/flac"},
    {KADR_FORMAT_AVI, "avi", "video/x-msvideo"},
};

/* ISO-BMFF brands and what they mean. An ambiguous brand (a generic ISO or
 * HEIF structure brand) names a default that the compatible brands may
 * override. */
typedef struct format_brand {
    char brand[5];
    kadr_format_t format;
    bool ambiguous;
} format_brand_t;

static const format_brand_t brand_table[] = {
    {"heic", KADR_FORMAT_HEIC, false}, {"heix", KADR_FORMAT_HEIC, false},
    {"heim", KADR_FORMAT_HEIC, false}, {"heis", KADR_FORMAT_HEIC, false},
    {"hevc", KADR_FORMAT_HEIC, false}, {"hevx", KADR_FORMAT_HEIC, false},
    {"mif1", KADR_FORMAT_HEIC, true},  {"msf1", KADR_FORMAT_HEIC, true},
    {"avif", KADR_FORMAT_AVIF, false}, {"avis", KADR_FORMAT_AVIF, false},
    {"qt  ", KADR_FORMAT_MOV, false},  {"M4A ", KADR_FORMAT_M4A, false},
    {"M4B ", KADR_FORMAT_M4A, false},  {"isom", KADR_FORMAT_MP4, true},
    {"iso2", KADR_FORMAT_MP4, true},   {"iso3", KADR_FORMAT_MP4, true},
    {"iso4", KADR_FORMAT_MP4, true},   {"iso5", KADR_FORMAT_MP4, true},
    {"iso6", KADR_FORMAT_MP4, true},   {"mp41", KADR_FORMAT_MP4, false},
    {"mp42", KADR_FORMAT_MP4, false},  {"avc1", KADR_FORMAT_MP4, false},
    {"dash", KADR_FORMAT_MP4, false},  {"M4V ", KADR_FORMAT_MP4, false},
    {"M4VH", KADR_FORMAT_MP4, false},  {"M4VP", KADR_FORMAT_MP4, false},
    {"mmp4", KADR_FORMAT_MP4, false},  {"MSNV", KADR_FORMAT_MP4, false},
    {"f4v ", KADR_FORMAT_MP4, false},
};

static bool has_prefix(const uint8_t *buf, size_t len, size_t offset,
                       const char *magic, size_t magic_len)
{
    if (offset > len || len - offset < magic_len)
        return false;
    return memcmp(buf + offset, magic, magic_len) == 0;
}

#define HAS(buf, len, offset, magic)                                           \
    has_prefix((buf), (len), (offset), (magic), sizeof(magic) - 1)

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* 3GPP brands ("3gp4", "3gp5", "3g2a") all mean MP4 here. */
static const format_brand_t brand_3gpp = {"3gp ", KADR_FORMAT_MP4, false};

static const format_brand_t *brand_find(const uint8_t *brand)
{
    size_t count = sizeof(brand_table) / sizeof(brand_table[0]);

    for (size_t i = 0; i < count; i++) {
        if (memcmp(brand_table[i].brand, brand, 4) == 0)
            return &brand_table[i];
    }
    if (memcmp(brand, "3gp", 3) == 0 || memcmp(brand, "3g2", 3) == 0)
        return &brand_3gpp;
    return NULL;
}

/* Looks in the compatible brands of an ftyp box for a more specific one:
 * a HEIF file with major brand mif1 may list avif, an isom file M4A. */
static kadr_format_t sniff_compatible_brands(const uint8_t *buf, size_t end,
                                             kadr_format_t fallback)
{
    for (size_t off = 16; off + 4 <= end; off += 4) {
        const format_brand_t *brand = brand_find(buf + off);

        if (brand == NULL || brand->ambiguous)
            continue;
        if (brand->format == KADR_FORMAT_AVIF ||
            brand->format == KADR_FORMAT_HEIC ||
            brand->format == KADR_FORMAT_M4A)
            return brand->format;
    }
    return fallback;
}

/* For an unknown major brand: the first known compatible brand decides. */
static kadr_format_t sniff_any_brand(const uint8_t *buf, size_t end)
{
    for (size_t off = 16; off + 4 <= end; off += 4) {
        const format_brand_t *brand = brand_find(buf + off);

        if (brand != NULL)
            return sniff_compatible_brands(buf, end, brand->format);
    }
    return KADR_FORMAT_UNKNOWN;
}

static kadr_format_t sniff_isobmff(const uint8_t *buf, size_t len)
{
    static const char *const quicktime_atoms[] = {"moov", "mdat", "wide",
                                                  "free", "skip", "pnot"};

    if (len < 12)
        return KADR_FORMAT_UNKNOWN;
    for (size_t i = 0; i < 6; i++) {
        if (memcmp(buf + 4, quicktime_atoms[i], 4) == 0)
            return KADR_FORMAT_MOV;
    }
    if (memcmp(buf + 4, "ftyp", 4) != 0)
        return KADR_FORMAT_UNKNOWN;

    const format_brand_t *major = brand_find(buf + 8);
    size_t end = read_be32(buf);

    if (end > len)
        end = len;
    if (major == NULL)
        return sniff_any_brand(buf, end);
    if (major->ambiguous)
        return sniff_compatible_brands(buf, end, major->format);
    return major->format;
}

/* Reads an EBML variable-length integer. With keep_marker the length
 * marker bit stays in the value, as EBML element IDs are written. Returns
 * the number of bytes used, 0 if invalid or past len. */
static size_t read_ebml_vint(const uint8_t *buf, size_t len, size_t offset,
                             bool keep_marker, uint64_t *value)
{
    if (offset >= len || buf[offset] == 0)
        return 0;

    size_t width = 1;

    while (!(buf[offset] & (0x80 >> (width - 1))))
        width++;
    if (width > len - offset)
        return 0;
    *value = keep_marker ? buf[offset] : buf[offset] & (0xFF >> width);
    for (size_t i = 1; i < width; i++)
        *value = *value << 8 | buf[offset + i];
    return width;
}

/* Walks the EBML header's children for the DocType element (ID 0x4282):
 * "webm" is WebM, anything else (normally "matroska") is Matroska. */
static kadr_format_t sniff_ebml(const uint8_t *buf, size_t len)
{
    uint64_t id, size;
    size_t offset = 4;
    size_t used = read_ebml_vint(buf, len, offset, false, &size);

    if (used == 0)
        return KADR_FORMAT_MKV;
    offset += used;
    while (offset < len) {
        used = read_ebml_vint(buf, len, offset, true, &id);
        if (used == 0)
            break;
        offset += used;
        used = read_ebml_vint(buf, len, offset, false, &size);
        if (used == 0 || size > len - offset - used)
            break;
        offset += used;
        if (id == 0x4282)
            return size == 4 && HAS(buf, len, offset, "webm") ? KADR_FORMAT_WEBM
                                                              : KADR_FORMAT_MKV;
        offset += (size_t)size;
    }
    return KADR_FORMAT_MKV;
}

/* An MPEG audio frame header: 11 sync bits, then version, layer, bitrate
 * and sample rate fields none of which hold their reserved value. */
static bool is_mpeg_audio_frame(const uint8_t *buf, size_t len)
{
    if (len < 4 || buf[0] != 0xFF || (buf[1] & 0xE0) != 0xE0)
        return false;
    if (((buf[1] >> 3) & 3) == 1 || ((buf[1] >> 1) & 3) == 0)
        return false;
    return (buf[2] >> 4) != 15 && ((buf[2] >> 2) & 3) != 3;
}

static bool is_bmp(const uint8_t *buf, size_t len)
{
    if (!HAS(buf, len, 0, "BM"))
        return false;
    if (len < 18)
        return true;

    /* The DIB header size distinguishes the BMP versions: 12 (OS/2 1.x)
     * through 124 (BITMAPV5HEADER). */
    uint32_t dib = (uint32_t)buf[14] | (uint32_t)buf[15] << 8 |
                   (uint32_t)buf[16] << 16 | (uint32_t)buf[17] << 24;

    return dib == 12 || dib == 16 || dib == 40 || dib == 52 || dib == 56 ||
           dib == 64 || dib == 108 || dib == 124;
}

static bool is_svg(const uint8_t *buf, size_t len)
{
    size_t offset = HAS(buf, len, 0, "\xEF\xBB\xBF") ? 3 : 0;

    while (offset < len && (buf[offset] == ' ' || buf[offset] == '\t' ||
                            buf[offset] == '\r' || buf[offset] == '\n'))
        offset++;
    return HAS(buf, len, offset, "<svg") || HAS(buf, len, offset, "<?xml");
}

static kadr_format_t sniff_riff(const uint8_t *buf, size_t len)
{
    if (HAS(buf, len, 8, "WEBP"))
        return KADR_FORMAT_WEBP;
    if (HAS(buf, len, 8, "WAVE"))
        return KADR_FORMAT_WAV;
    if (HAS(buf, len, 8, "AVI "))
        return KADR_FORMAT_AVI;
    return KADR_FORMAT_UNKNOWN;
}

static kadr_format_t sniff_image(const uint8_t *buf, size_t len)
{
    if (HAS(buf, len, 0, "\xFF\xD8\xFF"))
        return KADR_FORMAT_JPEG;
    if (HAS(buf, len, 0, "\x89PNG\r\n\x1A\n"))
        return KADR_FORMAT_PNG;
    if (HAS(buf, len, 0, "GIF87a") || HAS(buf, len, 0, "GIF89a"))
        return KADR_FORMAT_GIF;
    if (HAS(buf, len, 0, "II*\0") || HAS(buf, len, 0, "MM\0*"))
        return KADR_FORMAT_TIFF;
    if (HAS(buf, len, 0, "\xFF\x0A") ||
        HAS(buf, len, 0, "\0\0\0\x0CJXL \x0D\x0A\x87\x0A"))
        return KADR_FORMAT_JXL;
    if (HAS(buf, len, 0, "8BPS"))
        return KADR_FORMAT_PSD;
    if (HAS(buf, len, 0, "\0\0\1\0") && len >= 6 && (buf[4] | buf[5]) != 0)
        return KADR_FORMAT_ICO;
    if (is_bmp(buf, len))
        return KADR_FORMAT_BMP;
    return KADR_FORMAT_UNKNOWN;
}

static kadr_format_t sniff_other(const uint8_t *buf, size_t len)
{
    if (HAS(buf, len, 0, "RIFF"))
        return sniff_riff(buf, len);
    if (HAS(buf, len, 0, "\x1A\x45\xDF\xA3"))
        return sniff_ebml(buf, len);
    if (HAS(buf, len, 0, "%PDF"))
        return KADR_FORMAT_PDF;
    if (HAS(buf, len, 0, "OggS"))
        return KADR_FORMAT_OGG;
    if (HAS(buf, len, 0, "fLaC"))
        return KADR_FORMAT_FLAC;
    if (HAS(buf, len, 0, "ID3") || is_mpeg_audio_frame(buf, len))
        return KADR_FORMAT_MP3;
    if (is_svg(buf, len))
        return KADR_FORMAT_SVG;
    return sniff_isobmff(buf, len);
}

kadr_format_t format_sniff(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return KADR_FORMAT_UNKNOWN;

    kadr_format_t format = sniff_image(buf, len);

    if (format != KADR_FORMAT_UNKNOWN)
        return format;
    return sniff_other(buf, len);
}

kadr_kind_t format_kind(kadr_format_t format)
{
    switch (format) {
    case KADR_FORMAT_JPEG:
    case KADR_FORMAT_PNG:
    case KADR_FORMAT_WEBP:
    case KADR_FORMAT_GIF:
    case KADR_FORMAT_HEIC:
    case KADR_FORMAT_AVIF:
        return KADR_KIND_IMAGE;
    case KADR_FORMAT_MP4:
    case KADR_FORMAT_MOV:
    case KADR_FORMAT_WEBM:
    case KADR_FORMAT_MKV:
        return KADR_KIND_VIDEO;
    default:
        return KADR_KIND_UNSUPPORTED;
    }
}

static const format_entry_t *format_find(kadr_format_t format)
{
    size_t count = sizeof(format_table) / sizeof(format_table[0]);

    for (size_t i = 0; i < count; i++) {
        if (format_table[i].format == format)
            return &format_table[i];
    }
    return NULL;
}

const char *format_name(kadr_format_t format)
{
    const format_entry_t *entry = format_find(format);

    return entry != NULL ? entry->name : "unknown";
}

const char *format_mime(kadr_format_t format)
{
    const format_entry_t *entry = format_find(format);

    return entry != NULL ? entry->mime : "application/octet-stream";
}

const char *format_kind_name(kadr_kind_t kind)
{
    switch (kind) {
    case KADR_KIND_IMAGE:
        return "image";
    case KADR_KIND_VIDEO:
        return "video";
    default:
        return "unsupported";
    }
}
