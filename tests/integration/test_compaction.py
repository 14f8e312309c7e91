"""Compaction while serving: readers check bytes while uploads, deletes
and background compactions run. A compaction killed at each of its steps
leaves a store that opens, reads and verifies clean."""

import os
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest

from kadr_harness import Daemon, main
from store_checks import kadrctl, kadrctl_json, photo_with_tail

READERS = 3
STABLE_MEDIA = 6
DOOMED_MEDIA = 10
COMPACTION_WAIT_S = 60
ABORT_ENV = "KADR_TEST_COMPACT_ABORT_AFTER"
SWITCHED_STEP = 3  # from this step on the old volume file is unlinked
FLAGS = ["--compact-dead-percent", "20", "--compact-interval-s", "1",
         "--volume-max-bytes", "1000000"]


class Readers:
    """Threads that fetch variants of stable media and compare bytes."""

    def __init__(self, kadr, expected):
        self.kadr = kadr
        self.expected = expected  # (media id, variant) -> bytes
        self.stop = threading.Event()
        self.reads = 0
        self.failures = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(seed,))
                        for seed in range(READERS)]

    def loop(self, seed):
        rng = random.Random(seed)
        keys = sorted(self.expected)
        while not self.stop.is_set():
            media_id, name = rng.choice(keys)
            resp = self.kadr.variant(media_id, name, key=True)
            with self.lock:
                self.reads += 1
                if resp.status != 200 or resp.body != self.expected[
                        (media_id, name)]:
                    self.failures.append((media_id, name, resp.status))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


class CompactionTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(11)
        self.kadr = Daemon(*FLAGS).start()
        # A cleanup, not tearDown, so that a failing setUp stops it too.
        self.addCleanup(self.kadr.__exit__, None, None, None)

    def upload(self):
        body = photo_with_tail(self.rng)
        resp = self.kadr.upload(body)
        self.assertEqual(resp.status, 201, resp.body)
        return resp.json(), body

    def expected_bytes(self, docs):
        expected = {}
        for doc, body in docs:
            expected[(doc["id"], "original")] = body
            for v in doc["variants"]:
                resp = self.kadr.variant(doc["id"], v["name"])
                self.assertEqual(resp.status, 200)
                expected[(doc["id"], v["name"])] = resp.body
        return expected

    def wait_compactions(self, count):
        deadline = time.monotonic() + COMPACTION_WAIT_S
        while time.monotonic() < deadline:
            if self.kadr.metrics()["kadr_compactions_total"] >= count:
                return
            time.sleep(0.2)
        self.fail("no compaction within %d s" % COMPACTION_WAIT_S)

    def test_compaction_while_serving(self):
        stable = [self.upload() for _ in range(STABLE_MEDIA)]
        doomed = [self.upload()[0]["id"] for _ in range(DOOMED_MEDIA)]
        expected = self.expected_bytes(stable)
        with Readers(self.kadr, expected) as readers:
            for media_id in doomed:
                resp = self.kadr.request("DELETE", "/v1/media/" + media_id,
                                         key=True)
                self.assertEqual(resp.status, 204)
                self.upload()
            self.wait_compactions(1)
            reads_at_compaction = readers.reads
            for _ in range(5):
                self.upload()
            time.sleep(0.5)
        self.assertEqual(readers.failures, [])
        self.assertGreater(readers.reads, reads_at_compaction)
        self.assertIn("event=compaction.done", self.kadr.log_text())
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, report)
        self.assertEqual(self.expected_bytes(stable), expected)

    def test_crash_at_each_compaction_step(self):
        # Background compaction off, so that kadrctl finds the dead bytes.
        self.kadr.stop()
        self.kadr.flags = ["--compact-dead-percent", "0"]
        self.kadr.start()
        stable = [self.upload() for _ in range(STABLE_MEDIA)]
        for _ in range(DOOMED_MEDIA):
            media_id = self.upload()[0]["id"]
            self.kadr.request("DELETE", "/v1/media/" + media_id, key=True)
        expected = self.expected_bytes(stable)
        self.kadr.stop()
        code, volumes = kadrctl_json(self.kadr.data, "volumes")
        self.assertEqual(code, 0)
        volume = max(volumes, key=lambda v: v["dead_bytes"])
        self.assertGreater(volume["dead_bytes"], 0)
        for step in range(1, 5):
            with self.subTest(step=step):
                self.check_crash_at(step, volume["id"], expected)
        self.kadr.start()

    def check_crash_at(self, step, volume_id, expected):
        root = tempfile.mkdtemp(prefix="kadr-compact-crash-")
        data = os.path.join(root, "data")
        try:
            shutil.copytree(self.kadr.data, data)
            proc = kadrctl(data, "compact", str(volume_id),
                           env={ABORT_ENV: str(step)})
            self.assertEqual(proc.returncode, -signal.SIGABRT, proc.stderr)
            old = os.path.join(data, "volumes", "%08d.vol" % volume_id)
            with Daemon(data_dir=data) as d:
                self.assertEqual(os.path.exists(old), step < SWITCHED_STEP)
                self.assertEqual(d.tmp_files(), [])
                for (media_id, name), body in sorted(expected.items()):
                    resp = d.variant(media_id, name, key=True)
                    self.assertEqual(resp.status, 200, (media_id, name))
                    self.assertEqual(resp.body, body, (media_id, name))
                code, report = kadrctl_json(data, "verify")
                self.assertEqual(code, 0, report)
                shutil.rmtree(d.root, ignore_errors=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
