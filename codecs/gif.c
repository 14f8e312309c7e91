/* GIF probe and decode from memory through giflib: the first frame
 * composited on the logical screen. */
#include "image_internal.h"

#include <errno.h>
#include <gif_lib.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the caller's bytes, which giflib reads through
 * read_bytes(). */
typedef struct gif_source {
    const uint8_t *data;
    size_t len;
    size_t pos;
} gif_source_t;

typedef struct gif_frame {
    gif_source_t source;
    GifFileType *gif;
    int transparent; /* colour index drawn as transparent, or -1 */
    const ColorMapObject *colors;
} gif_frame_t;

/* giflib's input callback: copies up to count bytes and returns how many
 * it copied. giflib treats a short read as the end of the data. */
static int read_bytes(GifFileType *gif, GifByteType *out, int count)
{
    gif_source_t *source = gif->UserData;
    size_t left = source->len - source->pos;
    size_t n = count > 0 ? (size_t)count : 0;

    if (n > left)
        n = left;
    memcpy(out, source->data + source->pos, n);
    source->pos += n;
    return (int)n;
}

static int read_extension(gif_frame_t *frame)
{
    GifByteType *ext = NULL;
    int code;

    if (DGifGetExtension(frame->gif, &code, &ext) == GIF_ERROR)
        return KADR_E_CORRUPT;
    if (code == GRAPHICS_EXT_FUNC_CODE && ext != NULL && ext[0] >= 4) {
        GraphicsControlBlock gcb;

        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
            frame->transparent = gcb.TransparentColor;
    }
    while (ext != NULL) {
        if (DGifGetExtensionNext(frame->gif, &ext) == GIF_ERROR)
            return KADR_E_CORRUPT;
    }
    return 0;
}

/* Reads records up to the first image descriptor, keeping the
 * transparent colour its graphic control extension sets. */
static int find_first_image(gif_frame_t *frame)
{
    GifRecordType type;
    int rc;

    frame->transparent = NO_TRANSPARENT_COLOR;
    for (;;) {
        if (DGifGetRecordType(frame->gif, &type) == GIF_ERROR)
            return KADR_E_CORRUPT;
        if (type == IMAGE_DESC_RECORD_TYPE)
            break;
        if (type != EXTENSION_RECORD_TYPE)
            return KADR_E_CORRUPT;
        rc = read_extension(frame);
        if (rc != 0)
            return rc;
    }
    if (DGifGetImageDesc(frame->gif) == GIF_ERROR)
        return KADR_E_CORRUPT;
    frame->colors = frame->gif->Image.ColorMap != NULL
                        ? frame->gif->Image.ColorMap
                        : frame->gif->SColorMap;
    return frame->colors != NULL ? 0 : KADR_E_CORRUPT;
}

static bool frame_covers_screen(const GifFileType *gif)
{
    const GifImageDesc *image = &gif->Image;

    return image->Left == 0 && image->Top == 0 && image->Width >= gif->SWidth &&
           image->Height >= gif->SHeight;
}

static int open_first_frame(const uint8_t *data, size_t len, gif_frame_t *frame,
                            image_info_t *out)
{
    int error = 0;

    memset(frame, 0, sizeof(*frame));
    frame->source.data = data;
    frame->source.len = len;
    frame->gif = DGifOpen(&frame->source, read_bytes, &error);
    if (frame->gif == NULL)
        return error == D_GIF_ERR_NOT_ENOUGH_MEM ? -ENOMEM : KADR_E_CORRUPT;

    int rc = find_first_image(frame);

    if (rc != 0)
        return rc;
    out->format = KADR_FORMAT_GIF;
    out->width = (uint32_t)frame->gif->SWidth;
    out->height = (uint32_t)frame->gif->SHeight;
    out->orientation = 1;
    out->has_alpha = frame->transparent != NO_TRANSPARENT_COLOR ||
                     !frame_covers_screen(frame->gif);
    return 0;
}

static void close_frame(gif_frame_t *frame)
{
    int error;

    if (frame->gif != NULL)
        DGifCloseFile(frame->gif, &error);
}

int image__gif_probe(const uint8_t *data, size_t len, image_info_t *out)
{
    gif_frame_t frame;
    int rc = open_first_frame(data, len, &frame, out);

    close_frame(&frame);
    return rc;
}

static void draw_row(const gif_frame_t *frame, const GifPixelType *line,
                     uint32_t row, image_pixels_t *out)
{
    const GifImageDesc *image = &frame->gif->Image;
    uint32_t y = (uint32_t)image->Top + row;

    for (uint32_t i = 0; i < (uint32_t)image->Width; i++) {
        uint32_t x = (uint32_t)image->Left + i;
        int index = line[i];

        if (x >= out->width || y >= out->height ||
            index == frame->transparent || index >= frame->colors->ColorCount)
            continue;

        const GifColorType *color = &frame->colors->Colors[index];
        uint8_t *px = out->data + ((size_t)y * out->width + x) * out->channels;

        px[0] = color->Red;
        px[1] = color->Green;
        px[2] = color->Blue;
        if (out->channels == 4)
            px[3] = 255;
    }
}

/* Rows of an interlaced GIF come in four passes: every 8th row from 0,
 * every 8th from 4, every 4th from 2, every 2nd from 1. */
static int read_rows(const gif_frame_t *frame, GifPixelType *line,
                     image_pixels_t *out)
{
    static const uint32_t starts[4] = {0, 4, 2, 1};
    static const uint32_t steps[4] = {8, 8, 4, 2};
    const GifImageDesc *image = &frame->gif->Image;
    unsigned passes = image->Interlace ? 4 : 1;
    uint32_t height = (uint32_t)image->Height;

    for (unsigned pass = 0; pass < passes; pass++) {
        uint32_t start = image->Interlace ? starts[pass] : 0;
        uint32_t step = image->Interlace ? steps[pass] : 1;

        for (uint32_t row = start; row < height; row += step) {
            if (DGifGetLine(frame->gif, line, image->Width) == GIF_ERROR)
                return KADR_E_CORRUPT;
            draw_row(frame, line, row, out);
        }
    }
    return 0;
}

static int decode_frame(const gif_frame_t *frame, const image_info_t *seen,
                        image_pixels_t *out)
{
    const GifImageDesc *image = &frame->gif->Image;

    if (image->Width <= 0 || image->Height <= 0)
        return KADR_E_CORRUPT;
    if ((uint64_t)image->Width * (uint64_t)image->Height >
        IMAGE_MAX_DECODE_PIXELS)
        return KADR_E_TOO_LARGE;

    int rc = image__pixels_alloc(out, seen->width, seen->height,
                                 seen->has_alpha ? 4 : 3);

    if (rc != 0)
        return rc;

    GifPixelType *line = malloc((size_t)image->Width);

    if (line == NULL)
        return -ENOMEM;
    rc = read_rows(frame, line, out);
    free(line);
    return rc;
}

int image__gif_decode(const uint8_t *data, size_t len, const image_info_t *info,
                      image_pixels_t *out)
{
    gif_frame_t frame;
    image_info_t seen;
    int rc = open_first_frame(data, len, &frame, &seen);

    if (rc == 0)
        rc = image__check_decode(info, seen.width, seen.height);
    if (rc == 0)
        rc = decode_frame(&frame, &seen, out);
    close_frame(&frame);
    return rc;
}
