/* A whole preset list from one decode: presets are made largest first,
 * and with IMAGE_DERIVE_CHAIN each is resized from the smallest width-fit
 * output made so far that still covers it. Resizing 1080 -> 640 costs a
 * fraction of resizing the decode again. */
#include "image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_SET_MAX 32

/* A width-fit output kept as a source for smaller presets. */
typedef struct render_source {
    image_pixels_t pixels;
    bool borrowed;
} render_source_t;

typedef struct render_set {
    const image_pixels_t *src;
    const image_preset_t *presets;
    image_derive_t derive;
    render_source_t sources[RENDER_SET_MAX];
    size_t source_count;
} render_set_t;

static uint32_t output_width(const image_pixels_t *src,
                             const image_preset_t *preset)
{
    uint32_t w = src->full_width != 0 ? src->full_width : src->width;
    uint32_t h = src->full_height != 0 ? src->full_height : src->height;
    uint32_t out_w, out_h;

    image_preset_dims(preset, w, h, &out_w, &out_h);
    return out_w;
}

/* Orders indices by output width, widest first; at equal width a
 * width-fit preset goes first, so that it can serve the others. */
static void sort_order(const render_set_t *set, size_t count, size_t *order)
{
    uint32_t widths[RENDER_SET_MAX];

    for (size_t i = 0; i < count; i++) {
        order[i] = i;
        widths[i] = output_width(set->src, &set->presets[i]);
    }
    for (size_t i = 1; i < count; i++) {
        for (size_t j = i; j > 0; j--) {
            size_t a = order[j - 1], b = order[j];
            bool a_fit = set->presets[a].fit == IMAGE_FIT_WIDTH;
            bool b_fit = set->presets[b].fit == IMAGE_FIT_WIDTH;

            if (widths[a] > widths[b] ||
                (widths[a] == widths[b] && (a_fit || !b_fit)))
                break;
            order[j - 1] = b;
            order[j] = a;
        }
    }
}

/* Whether pixels cover what preset needs: its full output width and
 * height, or for a square its side. */
static bool source_covers(const image_pixels_t *pixels,
                          const image_preset_t *preset)
{
    uint32_t w = pixels->full_width, h = pixels->full_height;
    uint32_t out_w, out_h;

    image_preset_dims(preset, w, h, &out_w, &out_h);
    if (preset->fit == IMAGE_FIT_SQUARE) {
        uint32_t side =
            pixels->width < pixels->height ? pixels->width : pixels->height;

        return side >= out_w;
    }
    return pixels->width >= out_w && pixels->height >= out_h;
}

static const image_pixels_t *pick_source(const render_set_t *set,
                                         const image_preset_t *preset)
{
    const image_pixels_t *best = set->src;

    if (set->derive != IMAGE_DERIVE_CHAIN)
        return best;
    for (size_t i = 0; i < set->source_count; i++) {
        const image_pixels_t *p = &set->sources[i].pixels;

        if (source_covers(p, preset) && p->width < best->width)
            best = p;
    }
    return best;
}

static int render_one(render_set_t *set, const image_preset_t *preset,
                      image_blob_t *out)
{
    const image_pixels_t *from = pick_source(set, preset);
    render_source_t made;
    int rc = image__render_pixels(from, preset, &made.pixels, &made.borrowed);

    if (rc != 0)
        return rc;
    if (!made.borrowed) {
        made.pixels.full_width = from->full_width;
        made.pixels.full_height = from->full_height;
    }
    rc = image__encode_preset(&made.pixels, preset, out);
    if (rc == 0 && preset->fit == IMAGE_FIT_WIDTH &&
        set->source_count < RENDER_SET_MAX) {
        set->sources[set->source_count++] = made;
        return 0;
    }
    if (!made.borrowed)
        image_pixels_free(&made.pixels);
    return rc;
}

static int write_placeholder(const render_set_t *set, char *placeholder)
{
    const image_pixels_t *from = set->src;

    for (size_t i = 0; i < set->source_count; i++) {
        if (set->sources[i].pixels.width < from->width)
            from = &set->sources[i].pixels;
    }
    return image_placeholder_encode(from, placeholder);
}

static void free_sources(render_set_t *set)
{
    for (size_t i = 0; i < set->source_count; i++) {
        if (!set->sources[i].borrowed)
            image_pixels_free(&set->sources[i].pixels);
    }
    set->source_count = 0;
}

/* A shallow copy of src with its full size filled in, so that every
 * derived output knows the original's upright size. */
static image_pixels_t with_full_dims(const image_pixels_t *src)
{
    image_pixels_t copy = *src;

    if (copy.full_width == 0 || copy.full_height == 0) {
        copy.full_width = copy.width;
        copy.full_height = copy.height;
    }
    return copy;
}

int image_render_presets(const image_pixels_t *src,
                         const image_preset_t *presets, size_t count,
                         const bool *skip, image_derive_t derive,
                         image_blob_t *out, char *placeholder)
{
    size_t order[RENDER_SET_MAX];
    image_pixels_t full;
    render_set_t set;
    int rc = 0;

    if (out != NULL)
        memset(out, 0, count * sizeof(*out));
    if (src == NULL || src->data == NULL || presets == NULL || out == NULL ||
        count > RENDER_SET_MAX)
        return KADR_E_BAD_INPUT;
    full = with_full_dims(src);
    memset(&set, 0, sizeof(set));
    set.src = &full;
    set.presets = presets;
    set.derive = derive;
    sort_order(&set, count, order);
    for (size_t k = 0; k < count && rc == 0; k++) {
        size_t i = order[k];

        if (skip == NULL || !skip[i])
            rc = render_one(&set, &presets[i], &out[i]);
    }
    if (rc == 0 && placeholder != NULL)
        rc = write_placeholder(&set, placeholder);
    free_sources(&set);
    if (rc != 0) {
        for (size_t i = 0; i < count; i++)
            image_blob_free(&out[i]);
    }
    return rc;
}
