"""Front-end writes: delete, access changes, health and metrics."""

import unittest

from kadr_harness import Daemon, corpus, main, read_file


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def upload(self, name, query=""):
        resp = self.kadr.upload_file(corpus(name), query)
        self.assertEqual(resp.status, 201, resp.body)
        return resp.json()

    def test_delete_drops_record(self):
        doc = self.upload("photos/orientation-portrait_6.jpg")
        resp = self.kadr.request("DELETE", "/v1/media/" + doc["id"])
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.header("www-authenticate"),
                         'ApiKey header="X-Api-Key"')
        resp = self.kadr.request("DELETE", "/v1/media/" + doc["id"],
                                 key=True)
        self.assertEqual(resp.status, 204)
        self.assertEqual(self.kadr.media(doc["id"]).status, 404)
        self.assertEqual(self.kadr.variant(doc["id"], "w320.webp").status,
                         404)
        resp = self.kadr.request("DELETE", "/v1/media/" + doc["id"],
                                 key=True)
        self.assertEqual(resp.status, 404)

    def test_shared_blob_survives_one_delete(self):
        a = self.upload("photos/orientation-landscape_6.jpg")
        b = self.upload("photos/orientation-landscape_6.jpg")
        # Variants with equal bytes (w1080 and w640 of a 600 px photo)
        # share one blob: count each ETag once.
        sizes = {}
        for v in b["variants"]:
            head = self.kadr.variant(b["id"], v["name"], method="HEAD")
            sizes[head.header("etag")] = v["size"]
        total = b["size"] + sum(sizes.values())
        dead_before = self.kadr.metrics()["kadr_store_dead_bytes"]
        self.kadr.request("DELETE", "/v1/media/" + a["id"], key=True)
        self.assertEqual(self.kadr.metrics()["kadr_store_dead_bytes"],
                         dead_before)
        resp = self.kadr.variant(b["id"], "original", key=True)
        self.assertEqual(resp.body,
                         read_file(corpus("photos/orientation-landscape_6.jpg")))
        self.kadr.request("DELETE", "/v1/media/" + b["id"], key=True)
        dead_after = self.kadr.metrics()["kadr_store_dead_bytes"]
        self.assertEqual(dead_after - dead_before, total)
        self.assertEqual(self.kadr.variant(b["id"], "w640.webp").status,
                         404)

    def test_paid_unlocks_with_patch(self):
        doc = self.upload("photos/orientation-portrait_8.jpg",
                          "?access=paid&owner=creator-7")
        self.assertEqual(doc["access"], "paid")
        self.assertEqual(doc["owner"], "creator-7")
        # The owner tag and the blob hash are for the front-end only.
        public_view = self.kadr.media(doc["id"]).json()
        self.assertNotIn("owner", public_view)
        self.assertNotIn("blob", public_view)
        keyed_view = self.kadr.media(doc["id"], key=True).json()
        self.assertEqual(keyed_view["owner"], "creator-7")
        locked = self.kadr.variant(doc["id"], "w640.webp")
        self.assertEqual(locked.status, 403)
        preview = self.kadr.variant(doc["id"], "preview.jpg")
        self.assertEqual(preview.status, 200)
        self.assertEqual(preview.header("cache-control"),
                         "public, max-age=31536000, immutable")
        resp = self.kadr.request("PATCH", "/v1/media/" + doc["id"],
                                 body=b'{"access": "public"}', key=True)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.json()["access"], "public")
        unlocked = self.kadr.variant(doc["id"], "w640.webp")
        self.assertEqual(unlocked.status, 200)
        resp = self.kadr.request("PATCH", "/v1/media/" + doc["id"],
                                 body=b'{"access": "free"}', key=True)
        self.assertEqual(resp.status, 400)
        # JSON parsers differ on which of two equal keys counts.
        resp = self.kadr.request(
            "PATCH", "/v1/media/" + doc["id"],
            body=b'{"access": "public", "access": "paid"}', key=True)
        self.assertEqual(resp.status, 400)
        self.assertEqual(resp.json(),
                         {"error": "bad_request",
                          "detail": "the body is not valid JSON or repeats "
                                    "a key"})
        self.assertEqual(self.kadr.media(doc["id"]).json()["access"],
                         "public")
        # The same error code as the server's own 413.
        resp = self.kadr.request("PATCH", "/v1/media/" + doc["id"],
                                 body=b" " * 4097, key=True)
        self.assertEqual(resp.status, 413)
        self.assertEqual(resp.json()["error"], "content_too_large")

    def test_health_and_metrics(self):
        self.assertEqual(
            self.kadr.request("GET", "/healthz").json()["status"], "ok")
        for method in ("PUT", "POST", "DELETE"):
            for path in ("/healthz", "/metrics"):
                resp = self.kadr.request(method, path, body=b"")
                self.assertEqual(resp.status, 405, (method, path))
                self.assertEqual(resp.header("allow"), "GET, HEAD")
        before = self.kadr.metrics()
        self.kadr.media("AAAAAAAAAAAAAAAA")
        after = self.kadr.metrics()
        key = 'kadr_http_responses_total{code="404"}'
        self.assertEqual(after.get(key, 0) - before.get(key, 0), 1)
        self.assertGreater(after["kadr_store_volumes"], 0)

    def test_restart_keeps_media(self):
        with Daemon() as kadr:
            doc = kadr.upload_file(corpus("photos/camera-canon-40d.jpg"))
            media_id = doc.json()["id"]
            kadr.stop()
            kadr.start()
            resp = kadr.variant(media_id, "w1080.jpg")
            self.assertEqual(resp.status, 200)
            self.assertEqual(kadr.media(media_id).json()["status"], "ready")


if __name__ == "__main__":
    main()
