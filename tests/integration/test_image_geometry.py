"""Geometry through the whole HTTP path: the eight EXIF orientations of a
generated marker image in JPEG, PNG (eXIf) and WebP (EXIF), the centre
crop of s150.jpg, exact output sizes and no upscaling."""

import image_gen
from kadr_harness import main

WIDTH, HEIGHT = 160, 100  # the marker image, upright
BRIGHT, MARK, DARK = (255, 255, 255), (150, 150, 150), (40, 40, 40)

# ImageMagick operation that turns the upright image into what a camera
# stores with each EXIF orientation: the inverse of what a viewer does.
STORED_OPERATION = {
    1: [], 2: ["-flop"], 3: ["-rotate", "180"], 4: ["-flip"],
    5: ["-transpose"], 6: ["-rotate", "270"], 7: ["-transverse"],
    8: ["-rotate", "90"],
}


def marker_pixel(x, y):
    """Bright top-left block, a mid-grey top-right block, dark elsewhere:
    the two blocks tell every rotation and mirror apart."""
    if y < 40 and x < 40:
        return BRIGHT
    if y < 40 and x >= WIDTH - 40:
        return MARK
    return DARK


def close_to(actual, expected, tolerance=24):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


class ImageGeometryTest(image_gen.ImageDaemonTest):
    def marker_jpeg(self, orientation):
        upright = image_gen.png_rgb(WIDTH, HEIGHT, marker_pixel)
        stored = image_gen.convert("-", "-strip",
                                   *STORED_OPERATION[orientation],
                                   "-quality", "95", suffix=".jpg",
                                   stdin=upright)
        return image_gen.with_orientation(stored, orientation)

    def marker_stored(self, orientation, suffix, *options):
        """The marker image as a camera stores it for an orientation, in
        the format of suffix, without metadata."""
        upright = image_gen.png_rgb(WIDTH, HEIGHT, marker_pixel)
        return image_gen.convert("-", "-strip",
                                 *STORED_OPERATION[orientation], *options,
                                 suffix=suffix, stdin=upright)

    def check_upright(self, decoded, label):
        w, h = decoded[0], decoded[1]
        corners = {"top-left": (w // 8, h // 5, BRIGHT),
                   "top-right": (w - 1 - w // 8, h // 5, MARK),
                   "bottom-left": (w // 8, h - 1 - h // 5, DARK),
                   "bottom-right": (w - 1 - w // 8, h - 1 - h // 5, DARK)}
        for corner, (x, y, want) in corners.items():
            got = image_gen.pixel(decoded, x, y)
            self.assertTrue(close_to(got[:3], want), (label, corner, got))

    def test_eight_orientations_upright(self):
        for orientation in range(1, 9):
            with self.subTest(orientation=orientation):
                doc = self.upload(self.marker_jpeg(orientation),
                                  orientation)
                self.assertEqual((doc["width"], doc["height"]),
                                 (WIDTH, HEIGHT), orientation)
                for preset in ("w1080.jpg", "w1080.webp", "w320.webp"):
                    data = self.variant(doc, preset)
                    decoded = image_gen.decode_rgba(data)
                    self.assertEqual(decoded[:2], (WIDTH, HEIGHT),
                                     (orientation, preset))
                    self.check_upright(decoded, (orientation, preset))

    def test_png_webp_exif_upright(self):
        # vipsthumbnail turns these upright too (libvips 8.14 reads the
        # PNG eXIf chunk and the WebP EXIF chunk).
        for orientation in range(1, 9):
            block = image_gen.exif_orientation_tiff(orientation)
            stored_size = (HEIGHT, WIDTH) if orientation >= 5 else \
                (WIDTH, HEIGHT)
            png = image_gen.png_with_exif(
                self.marker_stored(orientation, ".png"), block)
            webp = image_gen.webp_with_exif(
                self.marker_stored(orientation, ".webp", "-define",
                                   "webp:lossless=true"),
                *stored_size, block)
            for label, data in (("png", png), ("webp", webp)):
                with self.subTest(format=label, orientation=orientation):
                    doc = self.upload(data, (label, orientation))
                    self.assertEqual((doc["width"], doc["height"]),
                                     (WIDTH, HEIGHT))
                    decoded = image_gen.decode_rgba(
                        self.variant(doc, "w320.webp"))
                    self.assertEqual(decoded[:2], (WIDTH, HEIGHT))
                    self.check_upright(decoded, (label, orientation))

    def test_png_exif_past_64k_upright(self):
        # The orientation sits at the start of a block longer than one
        # JPEG APP1 segment may be.
        block = image_gen.exif_orientation_tiff(6) + bytes(70000)
        png = image_gen.png_with_exif(self.marker_stored(6, ".png"), block)
        doc = self.upload(png, "png-exif-70k")
        self.assertEqual((doc["width"], doc["height"]), (WIDTH, HEIGHT))
        decoded = image_gen.decode_rgba(self.variant(doc, "w320.webp"))
        self.check_upright(decoded, "png-exif-70k")

    def test_webp_exif_with_header_upright(self):
        # An EXIF chunk that starts with the "Exif\0\0" header of a JPEG
        # APP1 segment is read the same way.
        block = b"Exif\0\0" + image_gen.exif_orientation_tiff(6)
        webp = image_gen.webp_with_exif(
            self.marker_stored(6, ".webp", "-define", "webp:lossless=true"),
            HEIGHT, WIDTH, block)
        doc = self.upload(webp, "webp-exif-header")
        self.assertEqual((doc["width"], doc["height"]), (WIDTH, HEIGHT))
        decoded = image_gen.decode_rgba(self.variant(doc, "w320.webp"))
        self.check_upright(decoded, "webp-exif-header")

    def test_square_is_centre_crop(self):
        # 300x200: red, green and blue columns of 50, 200 and 50 pixels.
        # The centre 200x200 square is all green.
        def stripes(x, y):
            if x < 50:
                return (255, 0, 0)
            return (0, 200, 0) if x < 250 else (0, 0, 255)

        doc = self.upload(image_gen.png_rgb(300, 200, stripes), "stripes")
        decoded = image_gen.decode_rgba(self.variant(doc, "s150.jpg"))
        self.assertEqual(decoded[:2], (150, 150))
        for x in (1, 75, 148):
            got = image_gen.pixel(decoded, x, 75)
            self.assertTrue(close_to(got[:3], (0, 200, 0), 12), (x, got))

    def test_square_of_rotated_photo(self):
        # Stored 100x300 with orientation 6: upright 300x100 with the
        # bright block on the left, so the centre square is dark.
        def upright(x, y):
            return BRIGHT if x < 100 else DARK

        stored = image_gen.convert(
            "-", "-rotate", "270", "-quality", "95", suffix=".jpg",
            stdin=image_gen.png_rgb(300, 100, upright))
        doc = self.upload(image_gen.with_orientation(stored, 6), "rotated")
        self.assertEqual((doc["width"], doc["height"]), (300, 100))
        decoded = image_gen.decode_rgba(self.variant(doc, "s150.jpg"))
        self.assertEqual(decoded[:2], (100, 100))
        got = image_gen.pixel(decoded, 50, 50)
        self.assertTrue(close_to(got[:3], DARK), got)

    def test_exact_sizes_never_upscaled(self):
        cases = [((100, 60), {"w1080.jpg": (100, 60), "w640.webp": (100, 60),
                              "w320.webp": (100, 60), "s150.jpg": (60, 60)}),
                 ((1001, 333), {"w1080.jpg": (1001, 333),
                                "w640.webp": (640, 213),
                                "w320.webp": (320, 106),
                                "s150.jpg": (150, 150)}),
                 ((333, 1001), {"w1080.jpg": (333, 1001),
                                "w320.webp": (320, 962),
                                "s150.jpg": (150, 150)})]
        for (w, h), expected in cases:
            with self.subTest(size=(w, h)):
                png = image_gen.png_rgb(w, h, lambda x, y: (x % 256, 0, 0))
                doc = self.upload(png, (w, h))
                sizes = {v["name"]: (v["width"], v["height"])
                         for v in doc["variants"]}
                for preset, dims in expected.items():
                    self.assertEqual(sizes[preset], dims, preset)
                    decoded = image_gen.decode_rgba(self.variant(doc, preset))
                    self.assertEqual(decoded[:2], dims, preset)


if __name__ == "__main__":
    main()
