"""POST /v1/admin/compact: compaction on request while kadrd serves reads
and uploads, one volume or by dead share, its request errors, and kadrctl
--url sending it."""

import json
import random
import threading
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file
from store_checks import kadrctl, kadrctl_json, photo_with_tail

STABLE_MEDIA = 6
DOOMED_MEDIA = 10
READERS = 2
PATH = "/v1/admin/compact"
FLAGS = ["--compact-dead-percent", "0", "--scrub-interval-s", "0",
         "--volume-max-bytes", "1000000"]


class Traffic:
    """Threads that read variants of stable media (comparing bytes) and
    upload new photos until stopped."""

    def __init__(self, kadr, expected):
        self.kadr = kadr
        self.expected = expected  # (media id, variant) -> bytes
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.reads = 0
        self.uploads = 0
        self.failures = []
        self.threads = [threading.Thread(target=self.read_loop, args=(i,))
                        for i in range(READERS)]
        self.threads.append(threading.Thread(target=self.upload_loop))

    def read_loop(self, seed):
        rng = random.Random(seed)
        keys = sorted(self.expected)
        while not self.stop.is_set():
            media_id, name = rng.choice(keys)
            resp = self.kadr.variant(media_id, name, key=True)
            with self.lock:
                self.reads += 1
                if (resp.status != 200 or
                        resp.body != self.expected[(media_id, name)]):
                    self.failures.append(("read", media_id, name,
                                          resp.status))

    def upload_loop(self):
        rng = random.Random(99)
        while not self.stop.is_set():
            resp = self.kadr.upload(photo_with_tail(rng))
            with self.lock:
                self.uploads += 1
                if resp.status != 201:
                    self.failures.append(("upload", resp.status, resp.body))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


class AdminCompactTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(7)
        self.kadr = Daemon(*FLAGS).start()
        self.addCleanup(self.kadr.__exit__, None, None, None)

    def upload(self):
        body = photo_with_tail(self.rng)
        resp = self.kadr.upload(body)
        self.assertEqual(resp.status, 201, resp.body)
        return resp.json(), body

    def compact(self, query="", key=True):
        return self.kadr.request("POST", PATH + query, key=key)

    def expected_bytes(self, docs):
        expected = {}
        for doc, body in docs:
            expected[(doc["id"], "original")] = body
            for v in doc["variants"]:
                resp = self.kadr.variant(doc["id"], v["name"])
                self.assertEqual(resp.status, 200)
                expected[(doc["id"], v["name"])] = resp.body
        return expected

    def volumes(self):
        code, volumes = kadrctl_json(self.kadr.data, "volumes")
        self.assertEqual(code, 0)
        return {v["id"]: v for v in volumes}

    def make_dead_bytes(self):
        stable = [self.upload() for _ in range(STABLE_MEDIA)]
        for _ in range(DOOMED_MEDIA):
            media_id = self.upload()[0]["id"]
            resp = self.kadr.request("DELETE", "/v1/media/" + media_id,
                                     key=True)
            self.assertEqual(resp.status, 204)
        return stable

    def test_compact_while_serving(self):
        stable = self.make_dead_bytes()
        expected = self.expected_bytes(stable)
        before = self.volumes()
        dead_ids = {i for i, v in before.items() if v["dead_bytes"] > 0}
        self.assertTrue(dead_ids)
        with Traffic(self.kadr, expected) as traffic:
            resp = self.compact("?min_dead_percent=0")
            reads_at_reply = traffic.reads
            uploads_at_reply = traffic.uploads
            for _ in range(3):
                self.upload()
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(traffic.failures, [])
        self.assertGreater(traffic.reads, 0)
        self.assertGreater(reads_at_reply + uploads_at_reply, 0)

        compacted = resp.json()["compacted"]
        self.assertTrue(compacted)
        for entry in compacted:
            self.assertIn(entry["volume"], before)
            # Uploads of the traffic may append to the volume between the
            # listing and the seal that starts its compaction.
            self.assertGreaterEqual(entry["bytes_before"],
                                    before[entry["volume"]]["file_bytes"])
            self.assertLess(entry["bytes_copied"], entry["bytes_before"])
        self.assertTrue({e["volume"] for e in compacted} <= dead_ids)

        after = self.volumes()
        for entry in compacted:
            self.assertNotIn(entry["volume"], after)
        self.assertIn("event=compaction.done", self.kadr.log_text())
        self.assertIn("by=admin", self.kadr.log_text())
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, report)
        self.assertEqual(self.expected_bytes(stable), expected)

    def test_compact_one_volume(self):
        self.make_dead_bytes()
        before = self.volumes()
        target = max(before.values(), key=lambda v: v["dead_bytes"])
        resp = self.compact("?volume=%d" % target["id"])
        self.assertEqual(resp.status, 200, resp.body)
        compacted = resp.json()["compacted"]
        self.assertEqual(len(compacted), 1)
        self.assertEqual(compacted[0]["volume"], target["id"])
        self.assertEqual(compacted[0]["bytes_before"], target["file_bytes"])
        self.assertGreater(compacted[0]["blobs_dropped"], 0)
        self.assertNotIn(target["id"], self.volumes())
        resp = self.compact("?volume=%d" % target["id"])
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.json()["error"], "not_found")

    def test_nothing_to_compact(self):
        self.upload()
        resp = self.compact()
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.json(), {"compacted": []})

    def kadrctl_url(self, *args, key=API_KEY):
        return kadrctl(self.kadr.data, "--url",
                       "http://127.0.0.1:%d" % self.kadr.port, *args,
                       env={"KADR_API_KEY": key})

    def test_kadrctl_url_compacts(self):
        self.make_dead_bytes()
        before = self.volumes()
        target = max(before.values(), key=lambda v: v["dead_bytes"])
        # Without --url, kadrctl cannot take the lock and prints the fix.
        proc = kadrctl(self.kadr.data, "compact")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"kadrctl --url http://HOST:PORT compact", proc.stderr)

        proc = self.kadrctl_url("--json", "compact", str(target["id"]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        compacted = json.loads(proc.stdout)["compacted"]
        self.assertEqual([e["volume"] for e in compacted], [target["id"]])
        self.assertEqual(compacted[0]["bytes_before"], target["file_bytes"])
        self.assertNotIn(target["id"], self.volumes())

        proc = self.kadrctl_url("compact")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertTrue(lines)
        self.assertTrue(all(line.startswith("volume ") or
                            line == "no volume needed compaction"
                            for line in lines), lines)

    def test_kadrctl_url_errors(self):
        proc = self.kadrctl_url("compact", key="wrong-key")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"responded 401 unauthorized", proc.stderr)
        proc = self.kadrctl_url("compact", "999")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"responded 404 not_found", proc.stderr)
        proc = self.kadrctl_url("compact", key="")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"set KADR_API_KEY", proc.stderr)
        proc = kadrctl(self.kadr.data, "--url", "127.0.0.1:1", "compact",
                       env={"KADR_API_KEY": API_KEY})
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"invalid --url", proc.stderr)
        proc = self.kadrctl_url("verify")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"--url works with compact and gc only", proc.stderr)

    def test_kadrctl_url_gc(self):
        self.make_dead_bytes()
        # A picture no other media has: its six variants die with it, so
        # their derivation cache entries go stale.
        photo = read_file(corpus("photos/orientation-portrait_8.jpg"))
        resp = self.kadr.upload(photo)
        self.assertEqual(resp.status, 201, resp.body)
        self.assertEqual(len(resp.json()["variants"]), 6)
        resp = self.kadr.request("DELETE", "/v1/media/" + resp.json()["id"],
                                 key=True)
        self.assertEqual(resp.status, 204)
        dead = {i for i, v in self.volumes().items() if v["dead_bytes"] > 0}
        self.assertTrue(dead)

        proc = self.kadrctl_url("--json", "gc")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual({e["volume"] for e in doc["compacted"]}, dead)
        self.assertEqual(doc["derived_pruned"], 6)
        self.assertEqual([v for v in self.volumes().values()
                          if v["dead_bytes"] > 0], [])
        self.assertIn("event=gc.done derived_pruned=6 by=admin",
                      self.kadr.log_text())

        proc = self.kadrctl_url("gc")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode().splitlines(),
                         ["no volume needed compaction",
                          "0 derivation cache entries pruned"])
        resp = self.kadr.request("GET", "/v1/admin/gc", key=True)
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.header("allow"), "POST")
        resp = self.kadr.request("POST", "/v1/admin/gc")
        self.assertEqual(resp.status, 401)

    def test_request_errors(self):
        resp = self.compact(key=False)
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.json()["error"], "unauthorized")
        self.assertEqual(resp.header("www-authenticate"),
                         'ApiKey header="X-Api-Key"')
        resp = self.kadr.request("GET", PATH, key=True)
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.header("allow"), "POST")
        for query in ("?volume=abc", "?volume=0", "?volume=-1",
                      "?volume=4294967296", "?min_dead_percent=101",
                      "?min_dead_percent=", "?volume=1&min_dead_percent=5",
                      "?volumes=1", "?min_dead=0", "?volume=1&force=1",
                      "?%76olumes=1"):
            resp = self.compact(query)
            self.assertEqual(resp.status, 400, query)
            self.assertEqual(resp.json()["error"], "bad_request", query)
        resp = self.compact("?%76olume=99999&")
        self.assertEqual(resp.status, 404)

    def test_gc_rejects_query(self):
        self.make_dead_bytes()
        dead = {i for i, v in self.volumes().items() if v["dead_bytes"] > 0}
        self.assertTrue(dead)
        for query in ("?volume=1", "?min_dead_percent=0", "?dry_run",
                      "?x=1&y=2"):
            resp = self.kadr.request("POST", "/v1/admin/gc" + query,
                                     key=True)
            self.assertEqual(resp.status, 400, query)
            self.assertEqual(resp.json()["error"], "bad_request", query)
            self.assertEqual(
                resp.json()["detail"],
                "gc takes no query parameters; compact one volume with "
                "POST /v1/admin/compact?volume=ID", query)
        self.assertEqual({i for i, v in self.volumes().items()
                          if v["dead_bytes"] > 0}, dead)
        self.assertNotIn("event=gc.done", self.kadr.log_text())


if __name__ == "__main__":
    main()
