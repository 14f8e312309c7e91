"""Video uploads: 720.mp4 and posters from the phone and WebM clips."""

import unittest

from kadr_harness import (Daemon, corpus, ffprobe_bytes, image_dims, main,
                          top_level_atoms)


def streams_by_type(probe):
    return {s["codec_type"]: s for s in probe["streams"]}


class VideoUploadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def upload_ready(self, name):
        resp = self.kadr.upload_file(corpus(name), "?wait=1")
        self.assertEqual(resp.status, 201, resp.body)
        doc = resp.json()
        self.assertEqual(doc["kind"], "video")
        if doc["status"] == "processing":
            doc = self.kadr.wait_ready(doc["id"])
        self.assertEqual(doc["status"], "ready", doc)
        return doc

    def fetch(self, media_id, name):
        resp = self.kadr.variant(media_id, name)
        self.assertEqual(resp.status, 200, (name, resp.body[:200]))
        return resp.body

    def test_rotated_phone_video_is_portrait(self):
        doc = self.upload_ready("video/phone-rotated-moov-at-end.mov")
        self.assertEqual(doc["format"], "mov")
        self.assertEqual((doc["width"], doc["height"]), (1080, 1920))
        mp4 = self.fetch(doc["id"], "720.mp4")
        atoms = top_level_atoms(mp4)
        self.assertLess(atoms.index("moov"), atoms.index("mdat"), atoms)
        probe = streams_by_type(ffprobe_bytes(mp4, ".mp4"))
        video = probe["video"]
        self.assertEqual(video["codec_name"], "h264")
        self.assertEqual(video["profile"], "High")
        self.assertEqual(video["pix_fmt"], "yuv420p")
        self.assertEqual((video["width"], video["height"]), (720, 1280))
        rotation = [d.get("rotation", 0)
                    for d in video.get("side_data_list", [])]
        self.assertIn(rotation, ([], [0]))
        self.assertEqual(probe["audio"]["codec_name"], "aac")
        sizes = {v["name"]: (v["width"], v["height"])
                 for v in doc["variants"]}
        self.assertEqual(sizes["720.mp4"], (720, 1280))
        self.assertEqual(sizes["poster.jpg"], (720, 1280))
        poster = self.fetch(doc["id"], "poster.jpg")
        self.assertEqual(image_dims(poster), (720, 1280))
        self.assertEqual(image_dims(self.fetch(doc["id"], "poster.webp"),
                                    ".webp"), (720, 1280))

    def test_webm_keeps_size_and_sound(self):
        doc = self.upload_ready("video/music-clip.webm")
        self.assertEqual(doc["format"], "webm")
        self.assertEqual((doc["width"], doc["height"]), (480, 270))
        self.assertGreater(doc["duration"], 1.0)
        mp4 = self.fetch(doc["id"], "720.mp4")
        probe = ffprobe_bytes(mp4, ".mp4")
        streams = streams_by_type(probe)
        self.assertEqual(streams["video"]["codec_name"], "h264")
        self.assertEqual((streams["video"]["width"],
                          streams["video"]["height"]), (480, 270))
        self.assertEqual(streams["audio"]["codec_name"], "aac")
        self.assertEqual(int(streams["audio"]["sample_rate"]), 48000)
        self.assertEqual(streams["audio"]["channels"], 2)
        self.assertAlmostEqual(float(probe["format"]["duration"]),
                               doc["duration"], delta=0.5)
        poster = self.fetch(doc["id"], "poster.jpg")
        self.assertEqual(image_dims(poster), (480, 270))

    def test_tiny_webm(self):
        doc = self.upload_ready("tiny/webm.webm")
        self.assertEqual((doc["width"], doc["height"]), (8, 8))
        mp4 = self.fetch(doc["id"], "720.mp4")
        video = streams_by_type(ffprobe_bytes(mp4, ".mp4"))["video"]
        self.assertEqual((video["width"], video["height"]), (8, 8))

    def test_second_upload_lists_sizes(self):
        """A second upload of the same bytes takes every variant from the
        derivation cache, which stores no sizes; its record still lists
        them."""
        first = self.upload_ready("video/music-clip.webm")
        second = self.upload_ready("video/music-clip.webm")
        self.assertNotEqual(first["id"], second["id"])
        sizes = {v["name"]: (v["width"], v["height"], v["size"])
                 for v in first["variants"]}
        self.assertEqual(sizes["720.mp4"][:2], (480, 270))
        self.assertEqual(sizes["poster.jpg"][:2], (480, 270))
        self.assertEqual(sizes["preview.jpg"][0], 32)
        self.assertEqual({v["name"]: (v["width"], v["height"], v["size"])
                          for v in second["variants"]}, sizes)

    def test_processing_reply_without_wait(self):
        resp = self.kadr.upload_file(corpus("video/music-clip.webm"))
        self.assertEqual(resp.status, 201)
        doc = resp.json()
        self.assertIn(doc["status"], ("processing", "ready"))
        self.assertEqual(self.kadr.wait_ready(doc["id"])["status"], "ready")


if __name__ == "__main__":
    main()
