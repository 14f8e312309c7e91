"""Tall and wide images: every variant within its encoder's maximum side
(WebP 16383, JPEG 65500), the aspect ratio kept, and 201 for anything
inside the configured limits.

Each variant's size is checked twice: in the media JSON and by decoding
the served bytes with ffmpeg."""

import subprocess
import tempfile
import unittest

import image_gen
from kadr_harness import Daemon, main

VARIANTS = ("w1080.jpg", "w1080.webp", "w640.webp", "w320.webp", "s150.jpg",
            "preview.jpg")


def ffmpeg_jpeg(width, height):
    """A JPEG of ffmpeg's testsrc2 pattern, as a phone screenshot would
    be: full of detail from top to bottom."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as out:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             "testsrc2=size=%dx%d" % (width, height), "-frames:v", "1",
             out.name], check=True, capture_output=True, timeout=120)
        with open(out.name, "rb") as f:
            return f.read()


def striped_png(width, height):
    return image_gen.png_rgb(
        width, height, lambda x, y: (200, (x + y) // 64 % 256, 40))


class TallImageTest(unittest.TestCase):
    def upload(self, kadr, data):
        resp = kadr.upload(data, "?wait=1")
        self.assertEqual(resp.status, 201, resp.body[:300])
        doc = kadr.wait_ready(resp.json()["id"])
        self.assertEqual(doc["status"], "ready", doc)
        return doc

    def check_variants(self, kadr, doc, want):
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"] if v["name"] in VARIANTS}
        self.assertEqual(sizes, want)
        for name, (width, height) in want.items():
            resp = kadr.variant(doc["id"], name)
            self.assertEqual(resp.status, 200, name)
            decoded = image_gen.decode_rgba(resp.body)
            self.assertEqual(decoded[:2], (width, height), name)
            self.assertEqual(len(decoded[2]), width * height * 4, name)

    def test_long_screenshot_jpeg(self):
        # w1080.webp fits WebP's 16383 rows: 1080 * 16383 / 17000 = 1040.8
        # columns. The JPEG keeps every row.
        want = {"w1080.jpg": (1080, 17000), "w1080.webp": (1041, 16383),
                "w640.webp": (640, 10074), "w320.webp": (320, 5037),
                "s150.jpg": (150, 150), "preview.jpg": (32, 504)}
        data = ffmpeg_jpeg(1080, 17000)
        with Daemon() as kadr:
            doc = self.upload(kadr, data)
            self.assertEqual((doc["width"], doc["height"]), (1080, 17000))
            self.check_variants(kadr, doc, want)
            # The same bytes again: every size comes from the derivation
            # cache and must match the first upload.
            again = self.upload(kadr, data)
            self.check_variants(kadr, again, want)

    def test_one_pixel_slivers(self):
        cases = [
            ((1, 16384),
             {"w1080.jpg": (1, 16384), "w1080.webp": (1, 16383),
              "w640.webp": (1, 16383), "w320.webp": (1, 16383),
              "s150.jpg": (1, 1), "preview.jpg": (1, 16384)}),
            ((1, 16383),
             {"w1080.jpg": (1, 16383), "w1080.webp": (1, 16383),
              "w640.webp": (1, 16383), "w320.webp": (1, 16383),
              "s150.jpg": (1, 1), "preview.jpg": (1, 16383)}),
            ((16384, 1),
             {"w1080.jpg": (1080, 1), "w1080.webp": (1080, 1),
              "w640.webp": (640, 1), "w320.webp": (320, 1),
              "s150.jpg": (1, 1), "preview.jpg": (32, 1)}),
        ]
        with Daemon() as kadr:
            for (width, height), want in cases:
                with self.subTest(size=(width, height)):
                    doc = self.upload(kadr, striped_png(width, height))
                    self.assertEqual((doc["width"], doc["height"]),
                                     (width, height))
                    self.check_variants(kadr, doc, want)

    def test_height_limit_edge(self):
        # At the configured height a sliver is stored with every variant.
        # One row over gets 422 media_over_limit before any decode.
        with Daemon() as kadr:
            doc = self.upload(kadr, striped_png(1, 20000))
            self.check_variants(kadr, doc, {
                "w1080.jpg": (1, 20000), "w1080.webp": (1, 16383),
                "w640.webp": (1, 16383), "w320.webp": (1, 16383),
                "s150.jpg": (1, 1), "preview.jpg": (1, 20000)})
            for width, height in ((1, 20001), (20001, 1)):
                resp = kadr.upload(striped_png(width, height), "?wait=1")
                self.assertEqual(resp.status, 422, (width, height))
                self.assertEqual(resp.json()["error"], "media_over_limit")
            self.assertEqual(kadr.tmp_files(), [])


if __name__ == "__main__":
    main()
