/* Colour conversion to sRGB with lcms2. */
#include "image_internal.h"

#include <lcms2.h>
#include <string.h>

/* Profiles named "sRGB ..." (sRGB IEC61966-2.1 and its variants) are
 * treated as sRGB already, which saves a transform per image. */
static bool profile_is_srgb(cmsHPROFILE profile)
{
    char name[64] = "";

    cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", name,
                           sizeof(name));
    return strncmp(name, "sRGB", 4) == 0;
}

static int transform_to_srgb(image_pixels_t *pixels, cmsHPROFILE from)
{
    bool alpha = pixels->channels == 4;
    cmsUInt32Number format = alpha ? TYPE_RGBA_8 : TYPE_RGB_8;
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();

    if (srgb == NULL)
        return KADR_E_CODEC;

    cmsHTRANSFORM xform =
        cmsCreateTransform(from, format, srgb, format, INTENT_PERCEPTUAL,
                           alpha ? cmsFLAGS_COPY_ALPHA : 0);

    cmsCloseProfile(srgb);
    /* A profile lcms2 cannot build a transform from is ignored, as
     * browsers ignore it: the pixels are shown as sRGB. */
    if (xform == NULL)
        return 0;
    cmsDoTransform(xform, pixels->data, pixels->data,
                   pixels->width * pixels->height);
    cmsDeleteTransform(xform);
    return 0;
}

int image__icc_to_srgb(image_pixels_t *pixels, const uint8_t *icc,
                       size_t icc_len)
{
    if (icc == NULL || icc_len == 0 || icc_len > UINT32_MAX)
        return 0;

    cmsHPROFILE profile = cmsOpenProfileFromMem(icc, (cmsUInt32Number)icc_len);
    int rc = 0;

    if (profile == NULL)
        return 0;
    if (cmsGetColorSpace(profile) == cmsSigRgbData && !profile_is_srgb(profile))
        rc = transform_to_srgb(pixels, profile);
    cmsCloseProfile(profile);
    return rc;
}

int image__primaries_to_srgb(image_pixels_t *pixels, const double xy[8])
{
    /* IEC 61966-2-1 sRGB curve as lcms2 parametric type 4. */
    const double srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92,
                                  0.04045};
    cmsCIExyY white = {xy[6], xy[7], 1.0};
    cmsCIExyYTRIPLE primaries = {
        {xy[0], xy[1], 1.0}, {xy[2], xy[3], 1.0}, {xy[4], xy[5], 1.0}};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 4, srgb_curve);

    if (curve == NULL)
        return KADR_E_CODEC;

    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);

    cmsFreeToneCurve(curve);
    if (profile == NULL)
        return KADR_E_CODEC;

    int rc = transform_to_srgb(pixels, profile);

    cmsCloseProfile(profile);
    return rc;
}
