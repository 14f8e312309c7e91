/* EXIF orientation through libexif. */
#include "image_internal.h"

#include <libexif/exif-data.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};

/* An APP1 payload is at most 0xFFFF - 2 bytes, with the header. */
#define EXIF_MAX_BLOCK_BYTES (0xFFFF - 2 - sizeof(exif_header))

static uint32_t read_orientation(ExifData *exif)
{
    ExifEntry *entry =
        exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);

    if (entry == NULL || entry->format != EXIF_FORMAT_SHORT ||
        entry->components < 1 || entry->size < 2)
        return 1;

    ExifShort value =
        exif_get_short(entry->data, exif_data_get_byte_order(exif));

    return value >= 1 && value <= 8 ? value : 1;
}

uint32_t image__exif_orientation(const uint8_t *exif, size_t len)
{
    if (exif == NULL || len < 6 || len > 0xFFFF)
        return 1;

    ExifData *data = exif_data_new();

    if (data == NULL)
        return 1;
    /* Leave the data as stored: kadr reads one tag, and libexif's fix-ups
     * would allocate and rewrite entries it does not need. */
    exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(data, exif, (unsigned int)len);

    uint32_t orientation = read_orientation(data);

    exif_data_unref(data);
    return orientation;
}

uint32_t image__exif_block_orientation(const uint8_t *block, size_t len)
{
    if (block == NULL || len < 8)
        return 1;
    /* libexif reads at most what one JPEG APP1 segment holds. The first
     * IFD, which has the orientation, usually follows the TIFF header, so
     * a longer block is read up to that size. */
    if (len > EXIF_MAX_BLOCK_BYTES)
        len = EXIF_MAX_BLOCK_BYTES;
    if (memcmp(block, exif_header, sizeof(exif_header)) == 0)
        return image__exif_orientation(block, len);

    /* libexif reads a block only behind the "Exif\0\0" header. */
    uint8_t *app1 = malloc(sizeof(exif_header) + len);

    if (app1 == NULL)
        return 1;
    memcpy(app1, exif_header, sizeof(exif_header));
    memcpy(app1 + sizeof(exif_header), block, len);

    uint32_t orientation =
        image__exif_orientation(app1, sizeof(exif_header) + len);

    free(app1);
    return orientation;
}
