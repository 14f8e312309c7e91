"""Photo uploads: variants, sizes, orientation and metadata stripping."""

import glob
import os

import image_gen
from kadr_harness import (corpus, gray_thumbnail, image_dims, main,
                          mean_abs_diff, read_file)

IMAGE_VARIANTS = ["w1080.jpg", "w1080.webp", "w640.webp", "w320.webp",
                  "s150.jpg", "preview.jpg"]
# Text that only metadata blocks carry: the EXIF header, the GPS map
# datum, XMP, ICC and Photoshop (IPTC) blocks, camera names and the maker
# note headers of Nikon and Apple.
METADATA_MARKERS = [b"Exif\x00\x00", b"WGS-84", b"http://ns.adobe.com/xap",
                    b"ICC_PROFILE", b"Photoshop 3.0", b"COOLPIX",
                    b"Canon EOS", b"Nikon\x00", b"Apple iOS", b"iPhone",
                    b"Jolla"]


# The only JPEG segments before the scan that carry pixels or how to
# decode them: APP0 (JFIF), DQT, SOF0..SOF2, DHT, DRI, SOS. No APP1 (EXIF,
# XMP), APP2 (ICC), APP13 (IPTC) or COM (comment) segment may appear.
JPEG_PIXEL_MARKERS = {0xE0, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD, 0xDA}
# WebP chunks that carry pixels: no EXIF, XMP or ICCP chunk.
WEBP_PIXEL_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


def jpeg_header_markers(data):
    """Returns the set of marker bytes before the first scan."""
    markers, pos = set(), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        markers.add(marker)
        if marker == 0xDA:
            break
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return markers


def webp_chunks(data):
    chunks, pos = set(), 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        chunks.add(data[pos:pos + 4])
        pos += 8 + size + (size & 1)
    return chunks


def expected_width_fit(width, height, target):
    w = min(width, target)
    return w, max(1, (height * w + width // 2) // width)


class ImageUploadTest(image_gen.ImageDaemonTest):
    def upload_corpus(self, name):
        return self.upload(read_file(corpus(name)), name)

    def variant_bytes(self, media_id, name):
        resp = self.kadr.variant(media_id, name)
        self.assertEqual(resp.status, 200, (name, resp.body[:200]))
        return resp.body

    def test_phone_photo_variant_sizes(self):
        doc = self.upload_corpus("photos/phone-jolla.jpg")
        self.assertEqual(doc["kind"], "image")
        self.assertEqual(doc["status"], "ready")
        self.assertEqual((doc["width"], doc["height"]), (3264, 2448))
        self.assertEqual(len(doc["blob"]), 32)
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"]}
        self.assertEqual(sizes["w1080.jpg"], (1080, 810))
        self.assertEqual(sizes["w1080.webp"], (1080, 810))
        self.assertEqual(sizes["w640.webp"], (640, 480))
        self.assertEqual(sizes["w320.webp"], (320, 240))
        self.assertEqual(sizes["s150.jpg"], (150, 150))
        for name in ("w1080.jpg", "s150.jpg"):
            data = self.variant_bytes(doc["id"], name)
            self.assertEqual(image_dims(data, ".jpg"), sizes[name])
            self.assertEqual(data[:3], b"\xff\xd8\xff")
        webp = self.variant_bytes(doc["id"], "w640.webp")
        self.assertEqual(webp[:4], b"RIFF")
        self.assertEqual(webp[8:12], b"WEBP")

    def test_small_photo_not_upscaled(self):
        doc = self.upload_corpus("photos/camera-canon-40d.jpg")
        self.assertEqual((doc["width"], doc["height"]), (100, 68))
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"]}
        self.assertEqual(sizes["w1080.jpg"], (100, 68))
        self.assertEqual(sizes["w320.webp"], (100, 68))
        self.assertEqual(sizes["s150.jpg"], (68, 68))
        data = self.variant_bytes(doc["id"], "w1080.jpg")
        self.assertEqual(image_dims(data), (100, 68))

    def check_upright(self, pattern, reference, upright_size):
        ref = self.upload_corpus(reference)
        ref_pixels = gray_thumbnail(self.variant_bytes(ref["id"],
                                                       "w320.webp"))
        w, h = expected_width_fit(upright_size[0], upright_size[1], 320)
        files = sorted(glob.glob(corpus(pattern)))
        self.assertGreaterEqual(len(files), 4)
        for path in files:
            name = os.path.relpath(path, corpus(""))
            doc = self.upload_corpus(name)
            self.assertEqual((doc["width"], doc["height"]), upright_size,
                             name)
            data = self.variant_bytes(doc["id"], "w320.webp")
            self.assertEqual(image_dims(data, ".webp"), (w, h), name)
            diff = mean_abs_diff(gray_thumbnail(data), ref_pixels)
            self.assertLess(diff, 12, "%s is not upright" % name)

    def test_landscape_orientations_upright(self):
        self.check_upright("photos/orientation-landscape_*.jpg",
                           "photos/orientation-landscape_1.jpg", (600, 450))

    def test_portrait_orientations_upright(self):
        self.check_upright("photos/orientation-portrait_*.jpg",
                           "photos/orientation-portrait_1.jpg", (450, 600))

    def test_rotation_detected_by_check(self):
        # The check above must be able to fail: a sideways image differs.
        ref = self.upload_corpus("photos/orientation-landscape_1.jpg")
        other = self.upload_corpus("photos/orientation-portrait_1.jpg")
        a = gray_thumbnail(self.variant_bytes(ref["id"], "w320.webp"))
        b = gray_thumbnail(self.variant_bytes(other["id"], "w320.webp"))
        self.assertGreater(mean_abs_diff(a, b), 12)

    def test_variants_carry_no_metadata(self):
        photos = sorted(glob.glob(corpus("photos/*")))
        self.assertIn(corpus("photos/iphone.heic"), photos)
        for path in photos:
            doc = self.upload_corpus(os.path.relpath(path, corpus("")))
            for name in IMAGE_VARIANTS:
                data = self.variant_bytes(doc["id"], name)
                for marker in METADATA_MARKERS:
                    self.assertNotIn(marker, data, (path, name, marker))
                if name.endswith(".jpg"):
                    self.assertEqual(jpeg_header_markers(data) -
                                     JPEG_PIXEL_MARKERS, set(),
                                     (path, name))
                else:
                    self.assertEqual(webp_chunks(data) - WEBP_PIXEL_CHUNKS,
                                     set(), (path, name))

    def test_gps_photo_original_is_private(self):
        doc = self.upload_corpus("photos/gps-nikon-coolpix.jpg")
        original = read_file(corpus("photos/gps-nikon-coolpix.jpg"))
        self.assertIn(b"WGS-84", original)
        denied = self.kadr.variant(doc["id"], "original")
        self.assertEqual(denied.status, 401)
        self.assertNotIn(b"WGS-84", denied.body)
        allowed = self.kadr.variant(doc["id"], "original", key=True)
        self.assertEqual(allowed.status, 200)
        self.assertEqual(allowed.body, original)
        self.assertEqual(allowed.header("cache-control"), "private, no-store")
        public = self.kadr.media(doc["id"]).json()
        self.assertNotIn("blob", public)

    def test_heic_photo(self):
        doc = self.upload_corpus("photos/iphone.heic")
        self.assertEqual(doc["format"], "heic")
        self.assertEqual(doc["status"], "ready")
        w, h = doc["width"], doc["height"]
        self.assertGreater(w, 0)
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"]}
        self.assertEqual(sizes["w1080.jpg"], expected_width_fit(w, h, 1080))
        data = self.variant_bytes(doc["id"], "w1080.jpg")
        self.assertEqual(image_dims(data), sizes["w1080.jpg"])
        self.assertEqual(len(doc["variants"]), len(IMAGE_VARIANTS))

    def test_small_format_inputs(self):
        for name, fmt in (("tiny/png-transparent.png", "png"),
                          ("tiny/gif-transparent.gif", "gif"),
                          ("tiny/jpeg.jpg", "jpeg")):
            doc = self.upload_corpus(name)
            self.assertEqual(doc["format"], fmt, name)
            self.assertEqual((doc["width"], doc["height"]), (1, 1), name)
            data = self.variant_bytes(doc["id"], "w320.webp")
            self.assertEqual(data[8:12], b"WEBP")


if __name__ == "__main__":
    main()
