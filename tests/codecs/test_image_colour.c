/* Colour management: embedded Display P3 and Adobe RGB (1998) profiles
 * are converted to sRGB, in JPEG (APP2) and PNG (iCCP), and match what
 * lcms2 itself makes of the same pixels. YCCK JPEGs decode to RGB, and
 * a CMYK JPEG with a CMYK profile goes through that profile. */
#include "image_test_util.h"

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>
#include <turbojpeg.h>

#define SIDE 16
#define COLOURS 4

static const uint8_t colours[COLOURS][3] = {
    {200, 120, 40}, {40, 160, 220}, {128, 128, 128}, {0, 255, 0}};

/* Display P3: DCI-P3 primaries, D65 white, the sRGB transfer curve. */
static cmsHPROFILE make_display_p3(void)
{
    static const double srgb_curve[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055,
                                         1.0 / 12.92, 0.04045};
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE primaries = {
        {0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 4, srgb_curve);
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);

    cmsFreeToneCurve(curve);
    return profile;
}

/* Adobe RGB (1998): its primaries, D65 white, gamma 563/256. */
static cmsHPROFILE make_adobe_rgb(void)
{
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE primaries = {
        {0.640, 0.330, 1.0}, {0.210, 0.710, 1.0}, {0.150, 0.060, 1.0}};
    cmsToneCurve *curve = cmsBuildGamma(NULL, 563.0 / 256.0);
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);

    cmsFreeToneCurve(curve);
    return profile;
}

static uint8_t *profile_bytes(cmsHPROFILE profile, size_t *len)
{
    cmsUInt32Number size = 0;
    uint8_t *data;

    assert_true(cmsSaveProfileToMem(profile, NULL, &size));
    data = malloc(size);
    assert_non_null(data);
    assert_true(cmsSaveProfileToMem(profile, data, &size));
    *len = size;
    return data;
}

/* What lcms2 makes of the colours: the reference the decode must hit. */
static void expected_srgb(cmsHPROFILE from, uint8_t out[COLOURS][3])
{
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsHTRANSFORM t = cmsCreateTransform(from, TYPE_RGB_8, srgb, TYPE_RGB_8,
                                         INTENT_PERCEPTUAL, 0);

    assert_non_null(t);
    cmsDoTransform(t, colours, out, COLOURS);
    cmsDeleteTransform(t);
    cmsCloseProfile(srgb);
}

/* COLOURS bands of SIDE x SIDE pixels, one above the other. */
static uint8_t *make_bands(void)
{
    uint8_t *rgb = malloc(SIDE * SIDE * COLOURS * 3);

    assert_non_null(rgb);
    for (size_t i = 0; i < SIDE * SIDE * COLOURS; i++)
        memcpy(rgb + i * 3, colours[i / (SIDE * SIDE)], 3);
    return rgb;
}

/* Writes jpeg to path with an APP2 ICC_PROFILE segment after SOI. */
static void write_with_icc(const char *path, const uint8_t *jpeg, size_t len,
                           const uint8_t *icc, size_t icc_len)
{
    static const char tag[] = "ICC_PROFILE";
    size_t seg_len = 2 + sizeof(tag) + 2 + icc_len;
    uint8_t head[4 + sizeof(tag) + 2] = {0xFF, 0xE2, (uint8_t)(seg_len >> 8),
                                         (uint8_t)seg_len};
    FILE *file = fopen(path, "wb");

    assert_non_null(file);
    assert_true(seg_len <= 0xFFFF);
    memcpy(head + 4, tag, sizeof(tag));
    head[4 + sizeof(tag)] = 1;     /* chunk number */
    head[4 + sizeof(tag) + 1] = 1; /* chunk count */
    assert_int_equal(fwrite(jpeg, 1, 2, file), 2);
    assert_int_equal(fwrite(head, 1, sizeof(head), file), sizeof(head));
    assert_int_equal(fwrite(icc, 1, icc_len, file), icc_len);
    assert_int_equal(fwrite(jpeg + 2, 1, len - 2, file), len - 2);
    fclose(file);
}

static void write_jpeg_with_icc(const char *path, const uint8_t *icc,
                                size_t icc_len)
{
    uint8_t *rgb = make_bands();
    uint8_t *jpeg = NULL;
    unsigned long len = 0;
    tjhandle tj = tjInitCompress();

    assert_int_equal(tjCompress2(tj, rgb, SIDE, 0, SIDE * COLOURS, TJPF_RGB,
                                 &jpeg, &len, TJSAMP_444, 100, 0),
                     0);
    write_with_icc(path, jpeg, len, icc, icc_len);
    tjFree(jpeg);
    tjDestroy(tj);
    free(rgb);
}

static void write_png_with_icc(const char *path, const uint8_t *icc,
                               size_t icc_len)
{
    uint8_t *rgb = make_bands();
    FILE *file = fopen(path, "wb");
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);

    assert_non_null(file);
    assert_non_null(info);
    png_init_io(png, file);
    png_set_IHDR(png, info, SIDE, SIDE * COLOURS, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_iCCP(png, info, "test", PNG_COMPRESSION_TYPE_BASE, icc,
                 (png_uint_32)icc_len);
    png_write_info(png, info);
    for (uint32_t y = 0; y < SIDE * COLOURS; y++)
        png_write_row(png, rgb + (size_t)y * SIDE * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(file);
    free(rgb);
}

/* Decodes the file and compares the centre of each band with lcms2's
 * conversion, within tolerance levels. */
static void check_converted(const char *path, kadr_format_t format,
                            const uint8_t expected[COLOURS][3], int tolerance)
{
    image_pixels_t px;

    assert_int_equal(image_decode_file(path, format, NULL, 0, &px), 0);
    assert_int_equal(px.width, SIDE);
    assert_int_equal(px.height, SIDE * COLOURS);
    for (int i = 0; i < COLOURS; i++) {
        uint32_t y = (uint32_t)i * SIDE + SIDE / 2;
        const uint8_t *p = px.data + ((size_t)y * SIDE + SIDE / 2) * 3;

        for (int c = 0; c < 3; c++) {
            if (abs(p[c] - expected[i][c]) > tolerance)
                print_error("colour %d channel %d: %d, expected %d\n", i, c,
                            p[c], expected[i][c]);
            assert_true(abs(p[c] - expected[i][c]) <= tolerance);
        }
    }
    image_pixels_free(&px);
}

/* The profile must change the pixels, or the check above proves
 * nothing. */
static void check_profile_matters(const uint8_t expected[COLOURS][3])
{
    int largest = 0;

    for (int i = 0; i < COLOURS; i++) {
        for (int c = 0; c < 3; c++) {
            int d = abs(expected[i][c] - colours[i][c]);

            largest = d > largest ? d : largest;
        }
    }
    assert_true(largest >= 10);
}

static void check_profile(cmsHPROFILE profile)
{
    uint8_t expected[COLOURS][3];
    size_t icc_len;
    uint8_t *icc = profile_bytes(profile, &icc_len);
    char path[64];

    expected_srgb(profile, expected);
    check_profile_matters(expected);
    write_temp(path, "", 0);
    write_png_with_icc(path, icc, icc_len);
    check_converted(path, KADR_FORMAT_PNG, expected, 1);
    write_jpeg_with_icc(path, icc, icc_len);
    check_converted(path, KADR_FORMAT_JPEG, expected, 4);
    unlink(path);
    free(icc);
    cmsCloseProfile(profile);
}

static void display_p3_to_srgb(void **state)
{
    (void)state;
    check_profile(make_display_p3());
}

static void adobe_rgb_to_srgb(void **state)
{
    (void)state;
    check_profile(make_adobe_rgb());
}

/* libjpeg writes CMYK input as YCCK with an Adobe APP14 marker
 * (transform 2), as Photoshop does. Adobe CMYK is stored inverted: 255
 * is no ink. */
static void write_ycck(const char *path, const uint8_t ink[4])
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    uint8_t row[SIDE * 4];
    JSAMPROW rows[1] = {row};
    FILE *file = fopen(path, "wb");

    assert_non_null(file);
    for (int x = 0; x < SIDE; x++) {
        for (int c = 0; c < 4; c++)
            row[x * 4 + c] = (uint8_t)(255 - ink[c]);
    }
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = SIDE;
    cinfo.image_height = SIDE;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_colorspace(&cinfo, JCS_YCCK);
    jpeg_set_quality(&cinfo, 100, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height)
        jpeg_write_scanlines(&cinfo, rows, 1);
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(file);
}

static void decode_ycck_jpeg(void **state)
{
    static const uint8_t inks[3][4] = {
        {0, 255, 255, 0}, {255, 128, 0, 0}, {0, 0, 0, 128}};
    static const uint8_t rgb[3][3] = {
        {255, 0, 0}, {0, 127, 255}, {127, 127, 127}};

    (void)state;
    for (int i = 0; i < 3; i++) {
        image_pixels_t px;
        image_info_t info;
        char path[64];

        write_temp(path, "", 0);
        write_ycck(path, inks[i]);
        assert_int_equal(image_probe_file(path, KADR_FORMAT_JPEG, &info), 0);
        assert_int_equal(
            image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px), 0);
        unlink(path);
        assert_int_equal(px.channels, 3);
        for (int c = 0; c < 3; c++)
            assert_true(abs(px.data[c] - rgb[i][c]) <= 4);
        image_pixels_free(&px);
    }
}

/* A CMYK output profile whose AToB0 table maps ink to a darker, warmer
 * colour than the plain formula kadr uses without a profile: R = 0.8 *
 * (1 - C) * (1 - K), G = 0.7 * (1 - M) * (1 - K), B = 0.6 * (1 - Y) *
 * (1 - K) in sRGB, then to Lab. */
static cmsInt32Number sample_ink(const cmsUInt16Number in[],
                                 cmsUInt16Number out[], void *cargo)
{
    static const double gain[3] = {0.8, 0.7, 0.6};
    cmsHTRANSFORM to_lab = cargo;
    double k = 1.0 - in[3] / 65535.0;
    double rgb[3];
    cmsCIELab lab;

    for (int c = 0; c < 3; c++)
        rgb[c] = gain[c] * (1.0 - in[c] / 65535.0) * k;
    cmsDoTransform(to_lab, rgb, &lab, 1);
    cmsFloat2LabEncodedV2(out, &lab);
    return TRUE;
}

static cmsHPROFILE make_cmyk_profile(void)
{
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsHPROFILE lab = cmsCreateLab4Profile(NULL);
    cmsHTRANSFORM to_lab = cmsCreateTransform(
        srgb, TYPE_RGB_DBL, lab, TYPE_Lab_DBL, INTENT_RELATIVE_COLORIMETRIC, 0);
    cmsPipeline *pipeline = cmsPipelineAlloc(NULL, 4, 3);
    cmsStage *clut = cmsStageAllocCLut16bit(NULL, 9, 4, 3, NULL);
    cmsHPROFILE profile = cmsCreateProfilePlaceholder(NULL);

    assert_non_null(to_lab);
    assert_true(cmsStageSampleCLut16bit(clut, sample_ink, to_lab, 0));
    assert_true(cmsPipelineInsertStage(pipeline, cmsAT_BEGIN, clut));
    cmsSetProfileVersion(profile, 2.1);
    cmsSetDeviceClass(profile, cmsSigOutputClass);
    cmsSetColorSpace(profile, cmsSigCmykData);
    cmsSetPCS(profile, cmsSigLabData);
    assert_true(cmsWriteTag(profile, cmsSigMediaWhitePointTag, cmsD50_XYZ()));
    assert_true(cmsWriteTag(profile, cmsSigAToB0Tag, pipeline));
    cmsPipelineFree(pipeline);
    cmsDeleteTransform(to_lab);
    cmsCloseProfile(lab);
    cmsCloseProfile(srgb);
    return profile;
}

/* Adobe CMYK JPEG (inverted) with the profile above: decoded through the
 * profile, as lcms2 converts the same ink, not with the plain formula. */
static void cmyk_profile_to_srgb(void **state)
{
    static const uint8_t inks[3][4] = {
        {0, 255, 255, 0}, {255, 128, 0, 0}, {40, 80, 120, 60}};
    cmsHPROFILE profile = make_cmyk_profile();
    size_t icc_len;
    uint8_t *icc = profile_bytes(profile, &icc_len);
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsHTRANSFORM xform = cmsCreateTransform(profile, TYPE_CMYK_8, srgb,
                                             TYPE_RGB_8, INTENT_PERCEPTUAL, 0);

    (void)state;
    assert_non_null(xform);
    for (int i = 0; i < 3; i++) {
        uint8_t stored[SIDE * SIDE * 4], expected[3];
        uint8_t *jpeg = NULL;
        unsigned long len = 0;
        tjhandle tj = tjInitCompress();
        image_pixels_t px;
        char path[64];

        cmsDoTransform(xform, inks[i], expected, 1);
        for (int p = 0; p < SIDE * SIDE; p++) {
            for (int c = 0; c < 4; c++)
                stored[p * 4 + c] = (uint8_t)(255 - inks[i][c]);
        }
        assert_int_equal(tjCompress2(tj, stored, SIDE, 0, SIDE, TJPF_CMYK,
                                     &jpeg, &len, TJSAMP_444, 100, 0),
                         0);
        write_temp(path, "", 0);
        write_with_icc(path, jpeg, len, icc, icc_len);
        tjFree(jpeg);
        tjDestroy(tj);
        assert_int_equal(
            image_decode_file(path, KADR_FORMAT_JPEG, NULL, 0, &px), 0);
        unlink(path);

        /* The plain formula, to show that the profile matters. */
        int largest = 0;

        for (int c = 0; c < 3; c++) {
            int plain = (255 - inks[i][c]) * (255 - inks[i][3]) / 255;

            largest = abs(expected[c] - plain) > largest
                          ? abs(expected[c] - plain)
                          : largest;
        }
        print_message("ink %d: decoded %d %d %d, lcms2 %d %d %d\n", i,
                      px.data[0], px.data[1], px.data[2], expected[0],
                      expected[1], expected[2]);
        assert_true(largest >= 10);
        for (int c = 0; c < 3; c++)
            assert_true(abs(px.data[c] - expected[c]) <= 4);
        image_pixels_free(&px);
    }
    cmsDeleteTransform(xform);
    cmsCloseProfile(srgb);
    cmsCloseProfile(profile);
    free(icc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(display_p3_to_srgb),
        cmocka_unit_test(adobe_rgb_to_srgb),
        cmocka_unit_test(decode_ycck_jpeg),
        cmocka_unit_test(cmyk_profile_to_srgb),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
