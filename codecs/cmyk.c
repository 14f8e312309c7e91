/* CMYK and YCCK JPEG pixels to RGB. */
#include "image_internal.h"

#include <lcms2.h>

/* Without a profile: R = (255 - C) * (255 - K) / 255, and likewise for G
 * from M and B from Y, on values where 0 means no ink. */
static void convert_plain(const uint8_t *cmyk, bool inverted,
                          image_pixels_t *out)
{
    size_t count = (size_t)out->width * out->height;
    unsigned flip = inverted ? 0 : 255;

    for (size_t i = 0; i < count; i++) {
        const uint8_t *src = cmyk + i * 4;
        uint8_t *dst = out->data + i * 3;
        unsigned k = src[3] ^ flip;

        for (int c = 0; c < 3; c++)
            dst[c] = (uint8_t)(((src[c] ^ flip) * k + 127) / 255);
    }
}

/* Returns 0 when converted, 1 when the profile is not a usable CMYK one. */
static int convert_profile(const uint8_t *cmyk, bool inverted,
                           cmsHPROFILE profile, image_pixels_t *out)
{
    if (cmsGetColorSpace(profile) != cmsSigCmykData)
        return 1;

    cmsHPROFILE srgb = cmsCreate_sRGBProfile();

    if (srgb == NULL)
        return KADR_E_CODEC;

    cmsHTRANSFORM xform =
        cmsCreateTransform(profile, inverted ? TYPE_CMYK_8_REV : TYPE_CMYK_8,
                           srgb, TYPE_RGB_8, INTENT_PERCEPTUAL, 0);

    cmsCloseProfile(srgb);
    if (xform == NULL)
        return 1;
    cmsDoTransform(xform, cmyk, out->data, out->width * out->height);
    cmsDeleteTransform(xform);
    return 0;
}

int image__cmyk_to_rgb(const uint8_t *cmyk, bool inverted, const uint8_t *icc,
                       size_t icc_len, image_pixels_t *out)
{
    int rc = 1;

    if (icc != NULL && icc_len > 0 && icc_len <= UINT32_MAX) {
        cmsHPROFILE profile =
            cmsOpenProfileFromMem(icc, (cmsUInt32Number)icc_len);

        if (profile != NULL) {
            rc = convert_profile(cmyk, inverted, profile, out);
            cmsCloseProfile(profile);
        }
    }
    if (rc == 1) {
        convert_plain(cmyk, inverted, out);
        rc = 0;
    }
    return rc;
}
