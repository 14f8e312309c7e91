/* Variants from upright pixels: fit, resize, blur for previews, encode. */
#include "image_internal.h"

#include <string.h>

/* Preview blur: three box passes of a radius a tenth of the width come
 * close to a Gaussian blur with a sigma of about a tenth of the width. */
#define PREVIEW_BLUR_PASSES 3
#define PREVIEW_BLUR_DIVISOR 10

/* The source region a preset reads and the size it writes. */
typedef struct render_plan {
    uint32_t x, y, region_width, region_height;
    uint32_t width, height;
} render_plan_t;

/* The full-size dimensions the output size follows from. */
static void full_dims(const image_pixels_t *src, uint32_t *w, uint32_t *h)
{
    *w = src->full_width != 0 ? src->full_width : src->width;
    *h = src->full_height != 0 ? src->full_height : src->height;
}

static void plan_width(const image_pixels_t *src, const image_preset_t *preset,
                       render_plan_t *plan)
{
    uint32_t w, h;

    full_dims(src, &w, &h);
    image_preset_dims(preset, w, h, &plan->width, &plan->height);
    plan->region_width = src->width;
    plan->region_height = src->height;
}

static void plan_square(const image_pixels_t *src, const image_preset_t *preset,
                        render_plan_t *plan)
{
    uint32_t side = src->width < src->height ? src->width : src->height;
    uint32_t w, h;

    full_dims(src, &w, &h);
    image_preset_dims(preset, w, h, &plan->width, &plan->height);
    plan->x = (src->width - side) / 2;
    plan->y = (src->height - side) / 2;
    plan->region_width = side;
    plan->region_height = side;
}

static bool preset_valid(const image_pixels_t *src,
                         const image_preset_t *preset)
{
    if (src == NULL || src->data == NULL || src->width == 0 ||
        src->height == 0 || (src->channels != 3 && src->channels != 4))
        return false;
    if (preset == NULL || preset->size == 0 || preset->quality < 1 ||
        preset->quality > 100)
        return false;
    if (preset->codec != IMAGE_CODEC_JPEG && preset->codec != IMAGE_CODEC_WEBP)
        return false;
    return preset->fit == IMAGE_FIT_WIDTH || preset->fit == IMAGE_FIT_SQUARE ||
           preset->fit == IMAGE_FIT_PREVIEW;
}

static bool plan_is_copy(const image_pixels_t *src, const render_plan_t *plan)
{
    return plan->x == 0 && plan->y == 0 && plan->width == src->width &&
           plan->height == src->height;
}

static int blur_preview(image_pixels_t *pixels)
{
    uint32_t radius = pixels->width / PREVIEW_BLUR_DIVISOR;

    return image__blur_box(pixels, radius > 1 ? radius : 1,
                           PREVIEW_BLUR_PASSES);
}

int image__render_pixels(const image_pixels_t *src,
                         const image_preset_t *preset, image_pixels_t *out,
                         bool *borrowed)
{
    render_plan_t plan;

    memset(out, 0, sizeof(*out));
    memset(&plan, 0, sizeof(plan));
    *borrowed = false;
    if (!preset_valid(src, preset))
        return KADR_E_BAD_INPUT;
    if (preset->fit == IMAGE_FIT_SQUARE)
        plan_square(src, preset, &plan);
    else
        plan_width(src, preset, &plan);
    /* A preview is blurred in place, so it always gets its own copy. */
    if (plan_is_copy(src, &plan) && preset->fit != IMAGE_FIT_PREVIEW) {
        *out = *src;
        *borrowed = true;
        return 0;
    }

    int rc =
        image__resize_region(src, plan.x, plan.y, plan.region_width,
                             plan.region_height, plan.width, plan.height, out);

    if (rc != 0)
        return rc;
    if (preset->fit == IMAGE_FIT_PREVIEW)
        rc = blur_preview(out);
    if (rc != 0) {
        image_pixels_free(out);
        return rc;
    }
    full_dims(src, &out->full_width, &out->full_height);
    return 0;
}

int image__encode_preset(const image_pixels_t *pixels,
                         const image_preset_t *preset, image_blob_t *out)
{
    if (preset->codec == IMAGE_CODEC_WEBP)
        return image_encode_webp(pixels, preset->quality, out);
    return image_encode_jpeg(pixels, preset->quality, out);
}

int image_render_preset(const image_pixels_t *src, const image_preset_t *preset,
                        image_blob_t *out)
{
    image_pixels_t pixels;
    bool borrowed;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = image__render_pixels(src, preset, &pixels, &borrowed);
    if (rc != 0)
        return rc;
    rc = image__encode_preset(&pixels, preset, out);
    if (!borrowed)
        image_pixels_free(&pixels);
    return rc;
}
