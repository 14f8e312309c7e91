"""Reference counts through the HTTP API: a blob shared by several media
stays until the last of them is deleted, and its bytes are then counted
dead."""

import random
import unittest

from kadr_harness import Daemon, main
from store_checks import kadrctl_json, photo_bytes, photo_with_tail

PHOTO = "photos/orientation-landscape_1.jpg"


class RefcountTest(unittest.TestCase):
    def setUp(self):
        self.kadr = Daemon("--compact-dead-percent", "0").start()
        # A cleanup, not tearDown, so that a failing setUp stops it too.
        self.addCleanup(self.kadr.__exit__, None, None, None)

    def upload(self, body):
        resp = self.kadr.upload(body)
        self.assertEqual(resp.status, 201, resp.body)
        return resp.json()

    def delete(self, media_id):
        resp = self.kadr.request("DELETE", "/v1/media/" + media_id, key=True)
        self.assertEqual(resp.status, 204, resp.body)

    def stat(self):
        code, doc = kadrctl_json(self.kadr.data, "stat")
        self.assertEqual(code, 0)
        return doc

    def verify_ok(self):
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(report["reference_errors"], [])
        self.assertEqual(report["bad_needles"], [])
        self.assertEqual(code, 0)

    def read_all(self, doc, original):
        resp = self.kadr.variant(doc["id"], "original", key=True)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, original)
        bodies = {}
        for v in doc["variants"]:
            resp = self.kadr.variant(doc["id"], v["name"])
            self.assertEqual(resp.status, 200, v["name"])
            self.assertEqual(len(resp.body), v["size"], v["name"])
            bodies[v["name"]] = resp.body
        return bodies

    def test_shared_original_outlives_first_delete(self):
        body = photo_bytes(PHOTO)
        first = self.upload(body)
        before = self.stat()
        second = self.upload(body)
        self.assertEqual(first["blob"], second["blob"])
        self.assertEqual(self.stat()["blobs"], before["blobs"])
        first_bodies = self.read_all(first, body)
        # Equal variants of one upload (a photo narrower than two presets)
        # leave a dead needle already, so dead bytes are compared.
        dead_before = self.stat()["dead_bytes"]
        self.delete(first["id"])
        self.assertEqual(self.kadr.media(first["id"]).status, 404)
        self.assertEqual(self.read_all(second, body), first_bodies)
        self.assertEqual(self.stat()["dead_bytes"], dead_before)
        self.verify_ok()
        self.delete(second["id"])
        after = self.stat()
        self.assertEqual(after["blobs"], 0)
        self.assertEqual(after["live_bytes"], 0)
        self.assertGreaterEqual(after["dead_bytes"], dead_before + len(body))
        self.verify_ok()

    def test_shared_variants_of_distinct_originals(self):
        rng = random.Random(7)
        plain = photo_bytes(PHOTO)
        tailed = photo_with_tail(rng, PHOTO)
        first = self.upload(plain)
        second = self.upload(tailed)
        self.assertNotEqual(first["blob"], second["blob"])
        first_bodies = self.read_all(first, plain)
        before = self.stat()
        self.delete(first["id"])
        # Only the first original went: every variant is still shared.
        self.assertEqual(self.stat()["blobs"], before["blobs"] - 1)
        self.assertEqual(self.read_all(second, tailed), first_bodies)
        self.assertEqual(self.stat()["dead_bytes"],
                         before["dead_bytes"] + len(plain))
        self.verify_ok()
        self.delete(second["id"])
        self.assertEqual(self.stat()["blobs"], 0)
        self.verify_ok()

    def test_dead_bytes_reclaimed_by_gc(self):
        doc = self.upload(photo_bytes(PHOTO))
        self.delete(doc["id"])
        self.assertGreater(self.stat()["dead_bytes"], 0)
        self.kadr.stop()
        code, report = kadrctl_json(self.kadr.data, "gc")
        self.assertEqual(code, 0)
        self.assertEqual(len(report["compacted"]), 1)
        self.assertEqual(self.stat()["dead_bytes"], 0)
        self.kadr.start()
        self.verify_ok()


if __name__ == "__main__":
    main()
