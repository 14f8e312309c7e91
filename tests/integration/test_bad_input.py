"""Every corpus file is uploaded; unsupported and broken files are
rejected with the right status and leave nothing behind."""

import glob
import os
import struct
import time
import unittest
import zlib

from kadr_harness import Daemon, corpus, main, read_file

# Files kadr serves: 201 and variants.
ACCEPTED = {
    "photos/camera-canon-40d.jpg", "photos/empty-exif-tag.jpg",
    "photos/gps-nikon-coolpix.jpg", "photos/iphone.heic",
    "photos/orientation-landscape_1.jpg",
    "photos/orientation-landscape_3.jpg",
    "photos/orientation-landscape_6.jpg",
    "photos/orientation-landscape_8.jpg",
    "photos/orientation-portrait_1.jpg", "photos/orientation-portrait_5.jpg",
    "photos/orientation-portrait_6.jpg", "photos/orientation-portrait_8.jpg",
    "photos/phone-jolla.jpg", "video/music-clip.webm",
    "video/phone-rotated-moov-at-end.mov", "tiny/gif-transparent.gif",
    "tiny/png-transparent.png", "tiny/webm.webm", "tiny/jpeg.jpg",
    "tiny/heif.heif",
    # The EXIF block is malformed but the pixels decode: the upload is
    # kept, and no variant carries the broken block.
    "broken/invalid-exif.jpg",
    # Despite its name this file is byte for byte phone-jolla.jpg (the
    # first 1,000,000 bytes of an 811,904-byte file): a whole JPEG.
    # test_truncated_jpeg_rejected cuts a JPEG for real.
    "broken/jpeg-truncated.jpg",
}

# Files rejected, with the status and error name.
REJECTED = {
    "tiny/bmp.bmp": (415, "unsupported_media_type"),
    "tiny/tiff.tif": (415, "unsupported_media_type"),
    "tiny/jxl.jxl": (415, "unsupported_media_type"),
    "tiny/mp3.mp3": (415, "unsupported_media_type"),
    # An MP4 holding only audio is not a video kadr serves.
    "tiny/mp4-with-audio.mp4": (415, "unsupported_media_type"),
    # An MP4 with no streams at all.
    "tiny/Mpeg4.mp4": (415, "unsupported_media_type"),
    "broken/empty.bin": (400, "empty_body"),
    "broken/png-truncated.png": (422, "corrupt_media"),
    # Headers that claim an image with no image data behind them: a GIF
    # screen descriptor with no frame, and a WebP header that declares
    # 11330x446 pixels in 26 bytes.
    "tiny/gif.gif": (422, "corrupt_media"),
    "tiny/webp.webp": (422, "corrupt_media"),
}


class BadInputTest(unittest.TestCase):
    def test_corpus_is_fully_listed(self):
        files = {os.path.relpath(p, corpus(""))
                 for p in glob.glob(corpus("*/*"))}
        self.assertEqual(files, ACCEPTED | set(REJECTED))

    def test_rejected_files_leave_nothing(self):
        with Daemon() as kadr:
            for name, (status, error) in sorted(REJECTED.items()):
                before = kadr.metrics()
                volume_before = kadr.volume_bytes()
                resp = kadr.upload_file(corpus(name))
                self.assertEqual(resp.status, status, (name, resp.body))
                self.assertEqual(resp.header("content-type"),
                                 "application/json", name)
                self.assertEqual(resp.json()["error"], error, name)
                self.assertTrue(resp.json()["detail"], name)
                after = kadr.metrics()
                self.assertEqual(after["kadr_store_blobs"],
                                 before["kadr_store_blobs"], name)
                self.assertEqual(after["kadr_store_media"],
                                 before["kadr_store_media"], name)
                self.assertEqual(kadr.volume_bytes(), volume_before, name)
                self.assertEqual(kadr.tmp_files(), [], name)
            health = kadr.request("GET", "/healthz")
            self.assertEqual(health.status, 200)

    def test_accepted_files_get_variants(self):
        with Daemon() as kadr:
            for name in sorted(ACCEPTED):
                resp = kadr.upload_file(corpus(name))
                self.assertEqual(resp.status, 201, (name, resp.body))
                doc = resp.json()
                if doc["status"] == "processing":
                    doc = kadr.wait_ready(doc["id"])
                self.assertEqual(doc["status"], "ready", (name, doc))
                self.assertGreaterEqual(len(doc["variants"]), 4, name)
                for v in doc["variants"]:
                    got = kadr.variant(doc["id"], v["name"])
                    self.assertEqual(got.status, 200, (name, v["name"]))
                    self.assertEqual(len(got.body), v["size"])
            self.assertEqual(kadr.tmp_files(), [])

    def test_truncated_jpeg_rejected(self):
        # A JPEG cut short decodes to grey rows past the cut: it is
        # rejected rather than served half grey.
        whole = read_file(corpus("photos/phone-jolla.jpg"))
        with Daemon() as kadr:
            for cut in (len(whole) // 2, len(whole) - 2000):
                resp = kadr.upload(whole[:cut])
                self.assertEqual(resp.status, 422, cut)
                self.assertEqual(resp.json()["error"], "corrupt_media")
                self.assertEqual(kadr.metrics()["kadr_store_blobs"], 0)
                self.assertEqual(kadr.tmp_files(), [])

    def test_declared_type_is_ignored(self):
        with Daemon() as kadr:
            bmp = read_file(corpus("tiny/bmp.bmp"))
            resp = kadr.upload(bmp, headers={"Content-Type": "image/jpeg"})
            self.assertEqual(resp.status, 415)
            jpeg = read_file(corpus("photos/camera-canon-40d.jpg"))
            resp = kadr.upload(jpeg, headers={"Content-Type": "video/mp4"})
            self.assertEqual(resp.status, 201)
            self.assertEqual(resp.json()["format"], "jpeg")

    def test_image_header_bombs(self):
        # Well-formed files of about a hundred bytes whose headers declare
        # 50000 x 50000 pixels: rejected from the header, fast.
        with Daemon() as kadr:
            for name, body in (("png", png_bomb()), ("jpeg", jpeg_bomb())):
                started = time.monotonic()
                resp = kadr.upload(body)
                elapsed = time.monotonic() - started
                self.assertEqual(resp.status, 422, name)
                self.assertEqual(resp.json()["error"], "media_over_limit",
                                 name)
                self.assertLess(elapsed, 2.0, name)
                self.assertEqual(kadr.tmp_files(), [], name)
                self.assertEqual(kadr.metrics()["kadr_store_blobs"], 0)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data)))


def png_bomb():
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) +
            png_chunk(b"IEND", b""))


def jpeg_bomb():
    sof = struct.pack(">BHHB", 8, 50000, 50000, 1) + bytes([1, 0x11, 0])
    sos = bytes([1, 1, 0, 0, 63, 0])
    return (b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) +
            sof + b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos +
            b"\x00" * 16 + b"\xff\xd9")


if __name__ == "__main__":
    main()
