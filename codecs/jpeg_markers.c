/* JPEG marker segments before the first scan: EXIF, ICC and Adobe. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JPEG_SOS 0xDA
#define JPEG_APP1 0xE1
#define JPEG_APP2 0xE2
#define JPEG_APP14 0xEE

/* APP2 ICC chunk: "ICC_PROFILE\0", sequence number (from 1), count. */
#define ICC_TAG "ICC_PROFILE"
#define ICC_HEADER_LEN 14

static bool is_standalone(uint8_t marker)
{
    return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7);
}

static void note_icc_chunk(const uint8_t *seg, size_t len, jpeg_markers_t *out)
{
    if (len <= ICC_HEADER_LEN || memcmp(seg, ICC_TAG, sizeof(ICC_TAG)) != 0)
        return;

    uint8_t seq = seg[12];
    uint8_t count = seg[13];

    if (seq == 0 || seq > count)
        return;
    if (out->icc_count != 0 && out->icc_count != count)
        return;
    out->icc_count = count;
    out->icc_chunks[seq - 1] = seg + ICC_HEADER_LEN;
    out->icc_chunk_lens[seq - 1] = len - ICC_HEADER_LEN;
}

static void note_segment(uint8_t marker, const uint8_t *seg, size_t len,
                         jpeg_markers_t *out)
{
    if (marker == JPEG_APP1 && out->exif == NULL && len >= 6 &&
        memcmp(seg, "Exif\0\0", 6) == 0) {
        out->exif = seg;
        out->exif_len = len;
    } else if (marker == JPEG_APP2) {
        note_icc_chunk(seg, len, out);
    } else if (marker == JPEG_APP14 && len >= 5 &&
               memcmp(seg, "Adobe", 5) == 0) {
        out->adobe = true;
    }
}

int image__jpeg_walk_markers(const uint8_t *buf, size_t len,
                             jpeg_markers_t *out)
{
    size_t off = 2;

    memset(out, 0, sizeof(*out));
    if (len < 2 || buf[0] != 0xFF || buf[1] != 0xD8)
        return KADR_E_CORRUPT;
    for (;;) {
        if (off >= len)
            return -EAGAIN;
        if (buf[off] != 0xFF)
            return KADR_E_CORRUPT;
        while (off < len && buf[off] == 0xFF)
            off++;
        if (off + 3 > len)
            return -EAGAIN;

        uint8_t marker = buf[off++];

        if (is_standalone(marker))
            continue;
        if (marker == 0xD8 || marker == 0xD9)
            return KADR_E_CORRUPT;

        size_t seg_len = (size_t)buf[off] << 8 | buf[off + 1];

        if (seg_len < 2)
            return KADR_E_CORRUPT;
        if (seg_len > len - off)
            return -EAGAIN;
        note_segment(marker, buf + off + 2, seg_len - 2, out);
        off += seg_len;
        if (marker == JPEG_SOS) {
            out->header_len = off;
            return 0;
        }
    }
}

bool image__jpeg_has_end(const uint8_t *buf, size_t len, size_t scan_start)
{
    /* Inside entropy-coded data 0xFF is always followed by 0x00 or a
     * restart marker, so 0xFF 0xD9 past the first scan header is the
     * image's own EOI (an EXIF thumbnail's EOI sits before it). */
    for (size_t i = scan_start; i + 1 < len; i++) {
        if (buf[i] == 0xFF && buf[i + 1] == 0xD9)
            return true;
    }
    return false;
}

int image__jpeg_join_icc(const jpeg_markers_t *markers, uint8_t **icc,
                         size_t *icc_len)
{
    size_t total = 0;

    *icc = NULL;
    *icc_len = 0;
    for (uint32_t i = 0; i < markers->icc_count; i++) {
        if (markers->icc_chunks[i] == NULL)
            return 0;
        total += markers->icc_chunk_lens[i];
    }
    if (total == 0)
        return 0;

    uint8_t *joined = malloc(total);

    if (joined == NULL)
        return -ENOMEM;

    size_t off = 0;

    for (uint32_t i = 0; i < markers->icc_count; i++) {
        memcpy(joined + off, markers->icc_chunks[i],
               markers->icc_chunk_lens[i]);
        off += markers->icc_chunk_lens[i];
    }
    *icc = joined;
    *icc_len = total;
    return 0;
}
