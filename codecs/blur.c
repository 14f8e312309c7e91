/* Box blur: several passes approach a Gaussian blur. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Blurs count pixels spaced step bytes apart, using tmp (count * ch bytes)
 * as a copy of the input. Edges repeat the outermost pixel. */
static void blur_line(uint8_t *line, size_t step, uint32_t count, uint32_t ch,
                      uint32_t radius, uint8_t *tmp)
{
    uint32_t window = radius * 2 + 1;
    uint32_t last = count - 1;

    for (uint32_t i = 0; i < count; i++)
        memcpy(tmp + (size_t)i * ch, line + i * step, ch);
    for (uint32_t c = 0; c < ch; c++) {
        uint32_t sum = tmp[c] * (radius + 1);

        for (uint32_t i = 1; i <= radius; i++)
            sum += tmp[(size_t)(i < last ? i : last) * ch + c];
        for (uint32_t i = 0; i < count; i++) {
            uint32_t add = i + radius + 1 < last ? i + radius + 1 : last;
            uint32_t drop = i > radius ? i - radius : 0;

            line[i * step + c] = (uint8_t)((sum + window / 2) / window);
            sum += tmp[(size_t)add * ch + c];
            sum -= tmp[(size_t)drop * ch + c];
        }
    }
}

int image__blur_box(image_pixels_t *pixels, uint32_t radius, unsigned passes)
{
    uint32_t w = pixels->width;
    uint32_t h = pixels->height;
    uint32_t ch = pixels->channels;
    size_t row_len = (size_t)w * ch;
    uint8_t *tmp = malloc((size_t)(w > h ? w : h) * ch);

    if (tmp == NULL)
        return -ENOMEM;
    for (unsigned pass = 0; pass < passes; pass++) {
        for (uint32_t y = 0; y < h; y++)
            blur_line(pixels->data + y * row_len, ch, w, ch, radius, tmp);
        for (uint32_t x = 0; x < w; x++)
            blur_line(pixels->data + (size_t)x * ch, row_len, h, ch, radius,
                      tmp);
    }
    free(tmp);
    return 0;
}
