"""The same bytes uploaded twice: two records, one blob, no new decode."""

import unittest

from kadr_harness import Daemon, corpus, main, read_file
from store_checks import kadrctl_json


class DedupTest(unittest.TestCase):
    def test_photo_uploaded_twice(self):
        with Daemon() as kadr:
            data = read_file(corpus("photos/phone-jolla.jpg"))
            first = kadr.upload(data)
            self.assertEqual(first.status, 201)
            before = kadr.metrics()
            volume_before = kadr.volume_bytes()
            second = kadr.upload(data)
            self.assertEqual(second.status, 201)
            after = kadr.metrics()
            a, b = first.json(), second.json()
            self.assertNotEqual(a["id"], b["id"])
            self.assertEqual(a["blob"], b["blob"])
            self.assertEqual(kadr.volume_bytes(), volume_before)
            self.assertEqual(after["kadr_decodes_total"],
                             before["kadr_decodes_total"])
            self.assertEqual(after["kadr_derive_cache_hits_total"] -
                             before["kadr_derive_cache_hits_total"], 6)
            self.assertEqual(after["kadr_dedup_hits_total"] -
                             before["kadr_dedup_hits_total"], 1)
            self.assertEqual(after["kadr_store_blobs"],
                             before["kadr_store_blobs"])
            self.assertEqual(after["kadr_store_media"],
                             before["kadr_store_media"] + 1)
            self.assertEqual(
                [(v["name"], v["size"], v["width"], v["height"])
                 for v in a["variants"]],
                [(v["name"], v["size"], v["width"], v["height"])
                 for v in b["variants"]])
            for v in a["variants"]:
                ra = kadr.variant(a["id"], v["name"])
                rb = kadr.variant(b["id"], v["name"])
                self.assertEqual(ra.header("etag"), rb.header("etag"))
                self.assertEqual(ra.body, rb.body)

    def test_equal_variants_written_once(self):
        # A 600x450 photo: w1080.webp and w640.webp keep its size and get
        # the same bytes, which are stored once with two references.
        with Daemon() as kadr:
            resp = kadr.upload_file(corpus("photos/orientation-landscape_1.jpg"))
            self.assertEqual(resp.status, 201, resp.body)
            doc = resp.json()
            variants = {v["name"]: v for v in doc["variants"]}
            wide, mid = variants["w1080.webp"], variants["w640.webp"]
            self.assertEqual((wide["width"], wide["height"]), (600, 450))
            self.assertEqual((mid["width"], mid["height"]), (600, 450))
            self.assertEqual(wide["size"], mid["size"])
            body = kadr.variant(doc["id"], "w1080.webp").body
            self.assertEqual(kadr.variant(doc["id"], "w640.webp").body, body)
            code, volumes = kadrctl_json(kadr.data, "volumes")
            self.assertEqual(code, 0)
            self.assertEqual(sum(v["dead_bytes"] for v in volumes), 0)
            code, stat = kadrctl_json(kadr.data, "stat")
            self.assertEqual(code, 0)
            # The original and 5 distinct variants of 6.
            self.assertEqual(stat["blobs"], 6)
            resp = kadr.request("DELETE", "/v1/media/" + doc["id"], key=True)
            self.assertEqual(resp.status, 204)
            code, stat = kadrctl_json(kadr.data, "stat")
            self.assertEqual(stat["blobs"], 0)

    def test_video_uploaded_twice(self):
        with Daemon() as kadr:
            data = read_file(corpus("video/music-clip.webm"))
            first = kadr.upload(data, "?wait=1").json()
            first = kadr.wait_ready(first["id"])
            before = kadr.metrics()
            volume_before = kadr.volume_bytes()
            second = kadr.upload(data, "?wait=1").json()
            second = kadr.wait_ready(second["id"])
            after = kadr.metrics()
            self.assertEqual(second["status"], "ready")
            self.assertEqual(kadr.volume_bytes(), volume_before)
            self.assertEqual(after["kadr_decodes_total"],
                             before["kadr_decodes_total"])
            self.assertEqual(after["kadr_derive_cache_hits_total"] -
                             before["kadr_derive_cache_hits_total"], 4)
            mp4_a = kadr.variant(first["id"], "720.mp4").body
            mp4_b = kadr.variant(second["id"], "720.mp4").body
            self.assertEqual(mp4_a, mp4_b)


if __name__ == "__main__":
    main()
