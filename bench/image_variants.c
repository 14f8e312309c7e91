/* Makes kadrd's full image variant set from one file, as kadrd does:
 * sniff, header probe and limits, one decode with shrink-on-load, every
 * preset, the BlurHash placeholder. Writes the variants into a folder so
 * that bench/images.sh can time the run and score the outputs.
 *
 *   image_variants [--direct] [--webp-method N] INPUT OUTDIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "image.h"

/* kadrd's default presets (engine/variants.c). */
static const image_preset_t presets[] = {
    {"w1080.jpg", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_JPEG, 82},
    {"w1080.webp", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_WEBP, 80},
    {"w640.webp", IMAGE_FIT_WIDTH, 640, IMAGE_CODEC_WEBP, 80},
    {"w320.webp", IMAGE_FIT_WIDTH, 320, IMAGE_CODEC_WEBP, 80},
    {"s150.jpg", IMAGE_FIT_SQUARE, 150, IMAGE_CODEC_JPEG, 80},
    {"preview.jpg", IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
};
#define PRESET_COUNT (sizeof(presets) / sizeof(presets[0]))

static int sniff_file(const char *path, kadr_format_t *format)
{
    uint8_t head[FORMAT_SNIFF_BYTES];
    FILE *file = fopen(path, "rb");
    size_t len;

    if (file == NULL)
        return -errno;
    len = fread(head, 1, sizeof(head), file);
    fclose(file);
    *format = format_sniff(head, len);
    return format_kind(*format) == KADR_KIND_IMAGE ? 0 : KADR_E_UNSUPPORTED;
}

static int write_blob(const char *dir, const char *name,
                      const image_blob_t *blob)
{
    char path[4096];
    FILE *file;
    size_t written;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    file = fopen(path, "wb");
    if (file == NULL)
        return -errno;
    written = fwrite(blob->data, 1, blob->len, file);
    if (fclose(file) != 0 || written != blob->len)
        return -EIO;
    return 0;
}

static int make_variants(const char *input, const char *dir,
                         image_derive_t derive)
{
    static const image_limits_t limits = {0};
    image_blob_t blobs[PRESET_COUNT];
    char placeholder[IMAGE_BLURHASH_MAX + 1];
    image_pixels_t pixels;
    image_info_t info;
    kadr_format_t format = KADR_FORMAT_UNKNOWN;
    uint32_t width, height;
    int rc = sniff_file(input, &format);

    if (rc == 0)
        rc = image_probe_file(input, format, &info);
    if (rc != 0)
        return rc;
    width = info.orientation >= 5 ? info.height : info.width;
    height = info.orientation >= 5 ? info.width : info.height;
    rc = image_decode_file(
        input, format, &limits,
        image_presets_min_width(presets, PRESET_COUNT, width, height), &pixels);
    if (rc != 0)
        return rc;
    rc = image_render_presets(&pixels, presets, PRESET_COUNT, NULL, derive,
                              blobs, placeholder);
    image_pixels_free(&pixels);
    for (size_t i = 0; i < PRESET_COUNT && rc == 0; i++)
        rc = write_blob(dir, presets[i].name, &blobs[i]);
    for (size_t i = 0; i < PRESET_COUNT; i++)
        image_blob_free(&blobs[i]);
    if (rc == 0)
        printf("%s\n", placeholder);
    return rc;
}

int main(int argc, char **argv)
{
    image_derive_t derive = IMAGE_DERIVE_CHAIN;
    int arg = 1;
    int rc;

    if (arg < argc && strcmp(argv[arg], "--direct") == 0) {
        derive = IMAGE_DERIVE_DIRECT;
        arg++;
    }
    if (argc - arg != 2) {
        fprintf(stderr,
                "usage: %s [--direct] INPUT OUTDIR\n"
                "  --direct  resize every variant from the decode\n",
                argv[0]);
        return 2;
    }
    rc = make_variants(argv[arg], argv[arg + 1], derive);
    if (rc != 0) {
        fprintf(stderr, "image_variants: %s: %s\n", argv[arg],
                kadr_strerror(rc));
        return 1;
    }
    return 0;
}
