"""Image limits from config, checked from the header before any decode,
and damaged inputs: a clear 422, never a crash."""

import random
import struct
import time
import unittest
import zlib

import image_gen
from kadr_harness import Daemon, main

BOMB_SIDE = 50000
BOMB_BYTES = 1024


def png_bomb():
    """A 1 KB PNG whose IHDR declares 50000 x 50000 RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + image_gen.png_chunk(b"IHDR", ihdr)
    tail = image_gen.png_chunk(b"IEND", b"")
    idat = zlib.compress(b"\0" * 4096)
    pad = BOMB_BYTES - len(head) - len(tail) - len(idat) - 12
    return head + image_gen.png_chunk(b"IDAT", idat + b"\0" * pad) + tail


def jpeg_bomb():
    """A 1 KB baseline JPEG whose SOF0 declares 50000 x 50000 pixels."""
    sof = struct.pack(">BHHB", 8, BOMB_SIDE, BOMB_SIDE, 1) + bytes(
        [1, 0x11, 0])
    sos = bytes([1, 1, 0, 0, 63, 0])
    body = (b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof +
            b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos)
    return body + b"\x00" * (BOMB_BYTES - len(body) - 2) + b"\xff\xd9"


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM for pid %d" % pid)


def solid_png(width, height):
    return image_gen.png_rgb(width, height, lambda x, y: (90, 120, 150))


class ImageLimitTest(unittest.TestCase):
    def upload_status(self, kadr, data):
        resp = kadr.upload(data)
        error = resp.json().get("error") if resp.status != 201 else None
        return resp.status, error

    def test_header_bombs_fast_and_flat(self):
        with Daemon() as kadr:
            # Warm the process up first, so later growth is the bombs'.
            self.assertEqual(self.upload_status(kadr, solid_png(64, 64))[0],
                             201)
            before = peak_rss_kib(kadr.proc.pid)
            for name, body in (("png", png_bomb()), ("jpeg", jpeg_bomb())):
                self.assertEqual(len(body), BOMB_BYTES)
                started = time.monotonic()
                for _ in range(10):
                    status, error = self.upload_status(kadr, body)
                    self.assertEqual((status, error),
                                     (422, "media_over_limit"), name)
                # Reported, not asserted: timings depend on the host.
                print("%s bomb: %.1f ms per upload" %
                      (name, (time.monotonic() - started) * 100))
            growth = peak_rss_kib(kadr.proc.pid) - before
            # 50000^2 RGB pixels would be 7.5 GB; a decode of any part of
            # them would show here.
            self.assertLess(growth, 16 * 1024, growth)
            self.assertEqual(kadr.tmp_files(), [])

    def test_width_and_height_limits(self):
        with Daemon("--image-max-width", "300", "--image-max-height",
                    "200") as kadr:
            cases = [((300, 200), 201), ((301, 200), 422),
                     ((300, 201), 422)]
            for (w, h), want in cases:
                status, error = self.upload_status(kadr, solid_png(w, h))
                self.assertEqual(status, want, (w, h))
                if want == 422:
                    self.assertEqual(error, "media_over_limit")

    def test_limits_bound_upright_size(self):
        # EXIF orientation 6 turns a stored 200 x 300 JPEG into 300 x 200
        # upright, which is what the width and height limits bound.
        tall = image_gen.convert("-size", "200x300", "xc:gray", suffix=".jpg")
        wide = image_gen.convert("-size", "300x200", "xc:gray", suffix=".jpg")
        with Daemon("--image-max-width", "300", "--image-max-height",
                    "200") as kadr:
            self.assertEqual(
                self.upload_status(kadr, image_gen.with_orientation(tall, 6)),
                (201, None))
            self.assertEqual(
                self.upload_status(kadr, image_gen.with_orientation(wide, 6)),
                (422, "media_over_limit"))
            self.assertEqual(self.upload_status(kadr, wide), (201, None))
            self.assertEqual(self.upload_status(kadr, tall),
                             (422, "media_over_limit"))

    def test_pixel_limit(self):
        with Daemon("--image-max-pixels", "10000") as kadr:
            self.assertEqual(self.upload_status(kadr, solid_png(100, 100)),
                             (201, None))
            self.assertEqual(self.upload_status(kadr, solid_png(101, 100)),
                             (422, "media_over_limit"))

    def test_file_size_limit(self):
        small = solid_png(100, 100)
        noisy = image_gen.png_rgb(
            100, 100, lambda x, y: ((x * 7919 + y * 104729) % 251,
                                    (x * y) % 253, (x + y * 31) % 255))
        limit = len(small) + 1
        self.assertGreater(len(noisy), limit)
        with Daemon("--image-max-file-bytes", str(limit)) as kadr:
            self.assertEqual(self.upload_status(kadr, small), (201, None))
            self.assertEqual(self.upload_status(kadr, noisy),
                             (422, "media_over_limit"))

    def test_decode_time_limit(self):
        big = image_gen.convert("-size", "4000x3000", "plasma:fractal",
                                "-seed", "7", suffix=".png")
        with Daemon("--image-decode-time-ms", "1") as kadr:
            self.assertEqual(self.upload_status(kadr, big),
                             (422, "processing_timed_out"))
            self.assertEqual(kadr.tmp_files(), [])

    def test_damaged_inputs_never_crash(self):
        # Seeded byte flips and cuts in every input format: each upload
        # gets 201 (the damage decoded) or 422, and the daemon lives on.
        rng = random.Random(4)
        sources = [image_gen.convert("-size", "200x150", "plasma:fractal",
                                     "-seed", "3", *extra, suffix=suffix)
                   for suffix, extra in ((".jpg", []),
                                         (".jpg", ["-interlace", "JPEG"]),
                                         (".png", []), (".webp", []),
                                         (".gif", []), (".heic", []))]
        with Daemon() as kadr:
            for source in sources:
                for round_number in range(12):
                    data = bytearray(source)
                    if round_number % 3 == 0:
                        data = data[:rng.randrange(16, len(data))]
                    for _ in range(rng.randrange(1, 8)):
                        pos = rng.randrange(16, len(data))
                        data[pos] = rng.randrange(256)
                    status, _ = self.upload_status(kadr, bytes(data))
                    self.assertIn(status, (201, 422), source[:12])
            self.assertIsNone(kadr.proc.poll())
            self.assertEqual(kadr.request("GET", "/healthz").status, 200)


if __name__ == "__main__":
    main()
