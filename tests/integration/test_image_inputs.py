"""Every still-image input class through the whole HTTP path: generated
with ImageMagick or in Python, uploaded, and checked for format, size,
colour, alpha, colour management and the placeholder."""

import image_gen
from kadr_harness import main

PRESETS = {"w1080.jpg": 1080, "w1080.webp": 1080, "w640.webp": 640,
           "w320.webp": 320}
BASE83_DIGITS = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                 "opqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~")

# (name, convert arguments before the output, output suffix, format,
#  expected colour at the centre as RGB).
CONVERT_CASES = [
    ("jpeg-baseline", ["-size", "400x300", "xc:rgb(200,100,50)",
                       "-quality", "95"], ".jpg", "jpeg", (200, 100, 50)),
    ("jpeg-progressive", ["-size", "400x300", "xc:rgb(40,160,90)",
                          "-interlace", "JPEG", "-quality", "95"], ".jpg",
     "jpeg", (40, 160, 90)),
    ("jpeg-grayscale", ["-size", "400x300", "xc:rgb(90,90,90)",
                        "-colorspace", "Gray", "-quality", "95"], ".jpg",
     "jpeg", (90, 90, 90)),
    ("jpeg-cmyk", ["-size", "400x300", "xc:rgb(0,128,255)", "-colorspace",
                   "CMYK", "-quality", "100"], ".jpg", "jpeg", (0, 128, 255)),
    ("png-1bit", ["-size", "400x300", "xc:white", "-colorspace", "Gray",
                  "-depth", "1", "-define", "png:bit-depth=1"], ".png",
     "png", (255, 255, 255)),
    ("png-palette", ["-size", "400x300", "xc:rgb(0,200,0)", "-type",
                     "Palette", "PNG8:-"], None, "png", (0, 200, 0)),
    ("png-16bit", ["-size", "400x300", "xc:rgb(255,0,0)", "-depth", "16",
                   "PNG48:-"], None, "png", (255, 0, 0)),
    ("png-interlaced", ["-size", "400x300", "xc:rgb(10,20,200)",
                        "-interlace", "PNG"], ".png", "png", (10, 20, 200)),
    ("webp-lossy", ["-size", "400x300", "xc:rgb(200,100,50)", "-quality",
                    "95"], ".webp", "webp", (200, 100, 50)),
    ("webp-lossless", ["-size", "400x300", "xc:rgb(200,100,50)", "-define",
                       "webp:lossless=true"], ".webp", "webp",
     (200, 100, 50)),
    ("gif", ["-size", "400x300", "xc:rgb(255,0,255)"], ".gif", "gif",
     (255, 0, 255)),
    ("heic", ["-size", "400x300", "xc:rgb(0,128,255)", "-quality", "95"],
     ".heic", "heic", (0, 128, 255)),
]

# Half transparent images: left half opaque blue, right half clear.
ALPHA_SOURCE = ["-size", "200x300", "xc:rgb(20,40,200)", "-size", "200x300",
                "xc:none", "+append"]
ALPHA_CASES = [
    ("png-rgba", ALPHA_SOURCE, ".png", "png"),
    ("png-trns", ALPHA_SOURCE + ["PNG8:-"], None, "png"),
    ("webp-alpha-lossless", ALPHA_SOURCE + ["-define", "webp:lossless=true"],
     ".webp", "webp"),
    ("webp-alpha-lossy", ALPHA_SOURCE + ["-quality", "90"], ".webp", "webp"),
    ("gif-transparent", ALPHA_SOURCE, ".gif", "gif"),
]


def generate(args, suffix):
    """Runs convert. When suffix is None, the last argument is the output
    format's prefix ("PNG8:-"), as ImageMagick writes it."""
    if suffix is None:
        return image_gen.convert(*args[:-1], suffix=".png",
                                 prefix=args[-1][:-1])
    return image_gen.convert(*args, suffix=suffix)


def base83(text):
    value = 0
    for char in text:
        value = value * 83 + BASE83_DIGITS.index(char)
    return value


def close_to(actual, expected, tolerance):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


class ImageInputTest(image_gen.ImageDaemonTest):
    def check_sizes(self, doc, name, width, height):
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"]}
        for preset, target in PRESETS.items():
            w = min(width, target)
            h = max(1, (height * w + width // 2) // width)
            self.assertEqual(sizes[preset], (w, h), (name, preset))
        side = min(width, height, 150)
        self.assertEqual(sizes["s150.jpg"], (side, side), name)

    def test_input_classes(self):
        for name, args, suffix, fmt, colour in CONVERT_CASES:
            with self.subTest(name=name):
                doc = self.upload(generate(args, suffix), name)
                self.assertEqual(doc["format"], fmt, name)
                self.assertEqual((doc["width"], doc["height"]), (400, 300))
                self.check_sizes(doc, name, 400, 300)
                for preset in ("w1080.jpg", "w320.webp", "s150.jpg"):
                    decoded = image_gen.decode_rgba(self.variant(doc, preset))
                    centre = image_gen.pixel(decoded, decoded[0] // 2,
                                             decoded[1] // 2)
                    self.assertTrue(close_to(centre[:3], colour, 6),
                                    (name, preset, centre, colour))
                    self.assertEqual(centre[3], 255, (name, preset))

    def test_alpha_flattened_for_jpeg(self):
        for name, args, suffix, fmt in ALPHA_CASES:
            with self.subTest(name=name):
                doc = self.upload(generate(args, suffix), name)
                self.assertEqual(doc["format"], fmt)
                jpeg = image_gen.decode_rgba(self.variant(doc, "w1080.jpg"))
                left = image_gen.pixel(jpeg, 100, 150)
                right = image_gen.pixel(jpeg, 300, 150)
                self.assertTrue(close_to(left[:3], (20, 40, 200), 8),
                                (name, left))
                self.assertTrue(close_to(right[:3], (255, 255, 255), 3),
                                (name, right))

    def test_alpha_kept_for_webp(self):
        for name, args, suffix, _ in ALPHA_CASES:
            with self.subTest(name=name):
                doc = self.upload(generate(args, suffix), name)
                for preset in ("w1080.webp", "w640.webp", "w320.webp"):
                    webp = image_gen.decode_rgba(self.variant(doc, preset))
                    w, h = webp[0], webp[1]
                    left = image_gen.pixel(webp, w // 4, h // 2)
                    right = image_gen.pixel(webp, w * 3 // 4, h // 2)
                    self.assertEqual(left[3], 255, (name, preset))
                    self.assertEqual(right[3], 0, (name, preset))
                    self.assertTrue(close_to(left[:3], (20, 40, 200), 8),
                                    (name, preset, left))

    def test_animated_first_frame(self):
        # Animations become a still image of their first frame: red here,
        # then green and blue frames that must not show.
        frames = ["-delay", "10", "-size", "300x200", "xc:rgb(255,0,0)",
                  "xc:rgb(0,255,0)", "xc:rgb(0,0,255)", "-loop", "0"]
        for suffix, fmt, extra in ((".gif", "gif", []),
                                   (".webp", "webp",
                                    ["-define", "webp:lossless=true"])):
            with self.subTest(format=fmt):
                data = image_gen.convert(*frames, *extra, suffix=suffix)
                doc = self.upload(data, fmt)
                self.assertEqual(doc["kind"], "image")
                self.assertEqual(doc["format"], fmt)
                self.assertEqual((doc["width"], doc["height"]), (300, 200))
                names = sorted(v["name"] for v in doc["variants"])
                self.assertNotIn("720.mp4", names)
                self.check_sizes(doc, fmt, 300, 200)
                for preset in ("w1080.jpg", "w320.webp"):
                    decoded = image_gen.decode_rgba(self.variant(doc, preset))
                    centre = image_gen.pixel(decoded, 150 * decoded[0] // 300,
                                             decoded[1] // 2)
                    self.assertTrue(close_to(centre[:3], (255, 0, 0), 6),
                                    (fmt, preset, centre))

    def check_profile(self, name, primaries, gamma):
        colours = [(200, 120, 40), (40, 160, 220), (230, 60, 150),
                   (128, 128, 128)]
        expected = [image_gen.to_srgb(c, primaries, gamma) for c in colours]
        # The profile must change the pixels, or the check proves nothing.
        self.assertTrue(any(not close_to(e, c, 12)
                            for e, c in zip(expected, colours)))
        icc = image_gen.icc_profile(name, primaries, gamma)
        png = image_gen.png_rgb(96, 256, lambda x, y: colours[y // 64], icc)
        doc = self.upload(png, name)
        for preset in ("w1080.jpg", "w1080.webp"):
            decoded = image_gen.decode_rgba(self.variant(doc, preset))
            for band, want in enumerate(expected):
                got = image_gen.pixel(decoded, 48, band * 64 + 32)
                self.assertTrue(close_to(got[:3], want, 5),
                                (name, preset, band, got, want))

    def test_display_p3_to_srgb(self):
        self.check_profile("Display P3", image_gen.DISPLAY_P3_PRIMARIES,
                           None)

    def test_adobe_rgb_to_srgb(self):
        self.check_profile("Adobe RGB (1998)",
                           image_gen.ADOBE_RGB_PRIMARIES,
                           image_gen.ADOBE_RGB_GAMMA)

    def test_placeholder_in_media_json(self):
        png = image_gen.png_rgb(64, 48, lambda x, y: (200, 40, 40)
                                if x < 32 else (40, 40, 200))
        doc = self.upload(png, "placeholder")
        blurhash = doc["blurhash"]
        self.assertEqual(len(blurhash), 28)
        self.assertTrue(set(blurhash) <= set(BASE83_DIGITS), blurhash)
        again = self.kadr.media(doc["id"]).json()
        self.assertEqual(again["blurhash"], blurhash)
        # The same bytes again: every variant from the cache, and the
        # placeholder made from the cached, lossy w320.webp. Its mean
        # colour matches the first one's within a few levels.
        second = self.upload(png, "placeholder again")["blurhash"]
        self.assertEqual(len(second), 28)
        self.assertEqual(second[0], blurhash[0])
        for shift in (16, 8, 0):
            first_dc = (base83(blurhash[2:6]) >> shift) & 0xFF
            second_dc = (base83(second[2:6]) >> shift) & 0xFF
            self.assertLessEqual(abs(first_dc - second_dc), 4)


if __name__ == "__main__":
    main()
