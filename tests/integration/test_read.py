"""Reading variants: headers, ETag, Range, HEAD and conditionals."""

import unittest

from kadr_harness import Daemon, corpus, main


class ReadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()
        resp = cls.kadr.upload_file(corpus("photos/phone-jolla.jpg"))
        assert resp.status == 201, resp.body
        cls.doc = resp.json()
        cls.id = cls.doc["id"]
        full = cls.kadr.variant(cls.id, "w1080.jpg")
        cls.full = full.body
        cls.etag = full.header("etag")

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def get(self, headers=None, method="GET", name="w1080.jpg"):
        return self.kadr.variant(self.id, name, headers=headers,
                                 method=method)

    def test_full_get_headers(self):
        resp = self.get()
        size = len(self.full)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-type"), "image/jpeg")
        self.assertEqual(resp.header("content-length"), str(size))
        self.assertEqual(resp.header("accept-ranges"), "bytes")
        self.assertEqual(resp.header("x-content-type-options"), "nosniff")
        self.assertEqual(resp.header("cache-control"),
                         "public, max-age=31536000, immutable")
        self.assertRegex(self.etag, r'^"[0-9a-f]{32}"$')
        variant = [v for v in self.doc["variants"]
                   if v["name"] == "w1080.jpg"][0]
        self.assertEqual(variant["size"], size)

    def test_head_has_headers_no_body(self):
        resp = self.get(method="HEAD")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-length"), str(len(self.full)))
        self.assertEqual(resp.header("etag"), self.etag)
        self.assertEqual(resp.body, b"")

    def test_range_first_last(self):
        resp = self.get({"Range": "bytes=100-199"})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[100:200])
        self.assertEqual(resp.header("content-range"),
                         "bytes 100-199/%d" % len(self.full))
        self.assertEqual(resp.header("content-length"), "100")

    def test_range_open_end(self):
        start = len(self.full) - 1000
        resp = self.get({"Range": "bytes=%d-" % start})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[start:])
        self.assertEqual(resp.header("content-range"), "bytes %d-%d/%d" % (
            start, len(self.full) - 1, len(self.full)))

    def test_range_suffix(self):
        resp = self.get({"Range": "bytes=-500"})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[-500:])
        size = len(self.full)
        self.assertEqual(resp.header("content-range"),
                         "bytes %d-%d/%d" % (size - 500, size - 1, size))

    def test_range_unsatisfiable(self):
        size = len(self.full)
        resp = self.get({"Range": "bytes=%d-" % (size + 10)})
        self.assertEqual(resp.status, 416)
        self.assertEqual(resp.header("content-range"), "bytes */%d" % size)
        self.assertEqual(resp.json()["error"], "range_not_satisfiable")

    def test_range_syntax_error_gives_full(self):
        resp = self.get({"Range": "bytes=abc"})
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, self.full)

    def test_if_none_match(self):
        resp = self.get({"If-None-Match": self.etag})
        self.assertEqual(resp.status, 304)
        self.assertEqual(resp.body, b"")
        self.assertEqual(resp.header("etag"), self.etag)

    def test_media_json(self):
        resp = self.kadr.media(self.id)
        self.assertEqual(resp.status, 200)
        doc = resp.json()
        self.assertEqual(doc["id"], self.id)
        self.assertEqual(doc["status"], "ready")
        urls = {v["name"]: v["url"] for v in doc["variants"]}
        self.assertEqual(urls["s150.jpg"], "/v1/media/%s/s150.jpg" % self.id)

    def test_unknown_media_and_variant(self):
        self.assertEqual(self.kadr.media("AAAAAAAAAAAAAAAA").status, 404)
        self.assertEqual(self.kadr.media("bad").status, 404)
        self.assertEqual(self.get(name="w9999.jpg").status, 404)
        resp = self.kadr.request("GET", "/nope")
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.json()["error"], "not_found")


if __name__ == "__main__":
    main()
