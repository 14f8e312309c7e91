/* PNG probe and decode from memory through libpng. */
#include "image_internal.h"

#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors by longjmp. These handlers stay silent because
 * codecs/ never logs, and the caller gets KADR_E_CORRUPT. */
static void on_png_error(png_structp png, png_const_charp message)
{
    (void)message;
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

/* One read in progress, from a cursor over the caller's bytes. It lives
 * on the heap, so that what a longjmp must not lose is never a local of
 * the frame that called setjmp. */
typedef struct png_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    png_structp png;
    png_infop info;
    png_bytepp rows;
} png_reader_t;

/* libpng's read callback. A read past the end of the bytes is an error,
 * as a short read of a file is in libpng's own stdio reader. */
static void read_bytes(png_structp png, png_bytep out, size_t count)
{
    png_reader_t *reader = png_get_io_ptr(png);

    if (count > reader->len - reader->pos)
        png_error(png, "unexpected end of PNG data");
    memcpy(out, reader->data + reader->pos, count);
    reader->pos += count;
}

static int reader_open(png_reader_t **out, const uint8_t *data, size_t len)
{
    png_reader_t *reader = calloc(1, sizeof(*reader));

    *out = reader;
    if (reader == NULL)
        return -ENOMEM;
    reader->data = data;
    reader->len = len;
    reader->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL,
                                         on_png_error, on_png_warning);
    if (reader->png == NULL)
        return -ENOMEM;
    reader->info = png_create_info_struct(reader->png);
    if (reader->info == NULL)
        return -ENOMEM;
    png_set_read_fn(reader->png, reader, read_bytes);
    return 0;
}

static void reader_close(png_reader_t *reader)
{
    if (reader == NULL)
        return;
    if (reader->png != NULL)
        png_destroy_read_struct(&reader->png, &reader->info, NULL);
    free(reader->rows);
    free(reader);
}

/* Reads the orientation of an eXIf chunk placed before the image data,
 * where png_read_info() finds it. */
static uint32_t read_orientation(png_reader_t *reader)
{
    png_uint_32 len = 0;
    png_bytep exif = NULL;

    if (!png_get_eXIf_1(reader->png, reader->info, &len, &exif))
        return 1;
    return image__exif_block_orientation(exif, len);
}

static void fill_info(png_reader_t *reader, image_info_t *out)
{
    int color_type = png_get_color_type(reader->png, reader->info);

    out->format = KADR_FORMAT_PNG;
    out->width = png_get_image_width(reader->png, reader->info);
    out->height = png_get_image_height(reader->png, reader->info);
    out->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
                     png_get_valid(reader->png, reader->info, PNG_INFO_tRNS);
    out->orientation = read_orientation(reader);
}

int image__png_probe(const uint8_t *data, size_t len, image_info_t *out)
{
    png_reader_t *reader;
    int rc = reader_open(&reader, data, len);

    if (rc == 0) {
        if (setjmp(png_jmpbuf(reader->png)) == 0) {
            png_read_info(reader->png, reader->info);
            fill_info(reader, out);
        } else {
            rc = KADR_E_CORRUPT;
        }
    }
    reader_close(reader);
    return rc;
}

/* Asks libpng for 8-bit RGB or RGBA whatever the stored depth, palette,
 * transparency chunk, grey or interlacing. */
static void set_transforms(png_reader_t *reader)
{
    png_structp png = reader->png;

    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, reader->info);
}

static int alloc_rows(png_reader_t *reader, image_pixels_t *out)
{
    png_structp png = reader->png;
    uint32_t channels = png_get_channels(png, reader->info);
    int rc = image__pixels_alloc(out, out->width, out->height, channels);

    if (rc != 0)
        return rc;
    if (png_get_rowbytes(png, reader->info) != (size_t)out->width * channels)
        return KADR_E_CORRUPT;
    reader->rows = calloc(out->height, sizeof(*reader->rows));
    if (reader->rows == NULL)
        return -ENOMEM;
    for (uint32_t y = 0; y < out->height; y++)
        reader->rows[y] = out->data + (size_t)y * out->width * channels;
    return 0;
}

/* Reads the ICC profile, unless an sRGB chunk marks the image as sRGB. */
static void read_icc(png_reader_t *reader, png_bytep *icc, png_uint_32 *len)
{
    png_charp name;
    int compression;

    *icc = NULL;
    *len = 0;
    if (png_get_valid(reader->png, reader->info, PNG_INFO_sRGB))
        return;
    if (!png_get_iCCP(reader->png, reader->info, &name, &compression, icc, len))
        *icc = NULL;
}

static int read_pixels(png_reader_t *reader, const image_info_t *info,
                       image_pixels_t *out)
{
    png_bytep icc;
    png_uint_32 icc_len;
    image_info_t seen;

    png_read_info(reader->png, reader->info);
    fill_info(reader, &seen);

    int rc = image__check_decode(info, seen.width, seen.height);

    if (rc != 0)
        return rc;
    read_icc(reader, &icc, &icc_len);
    set_transforms(reader);
    out->width = seen.width;
    out->height = seen.height;
    rc = alloc_rows(reader, out);
    if (rc != 0)
        return rc;
    png_read_image(reader->png, reader->rows);
    rc = image__icc_to_srgb(out, icc, icc_len);
    if (rc != 0)
        return rc;
    return image__orient(out, seen.orientation);
}

int image__png_decode(const uint8_t *data, size_t len, const image_info_t *info,
                      image_pixels_t *out)
{
    png_reader_t *reader;
    int rc = reader_open(&reader, data, len);

    if (rc == 0) {
        if (setjmp(png_jmpbuf(reader->png)) == 0)
            rc = read_pixels(reader, info, out);
        else
            rc = KADR_E_CORRUPT;
    }
    reader_close(reader);
    return rc;
}
