"""Disk full: on a 64 MiB tmpfs made for the test, uploads get 507 with a
JSON error once free space falls under disk_reserve_bytes, or when the
filesystem fills up, nothing is left half-written, and reads go on. The
webhook journal catches up once space is back, so a kill then brings
back no event sent while the disk was full. Needs root to mount the
tmpfs; skipped otherwise."""

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest

from kadr_harness import Daemon, main
from store_checks import (kadrctl_json, photo_bytes,
                          volumes_past_indexed_end)
from test_webhook import Receiver, wait_metric

FS_BYTES = 64 << 20
RESERVE_BYTES = 24 << 20
TAIL_BYTES = 1 << 20
MAX_UPLOADS = 200
PHOTO = "photos/orientation-landscape_1.jpg"


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a size-limited tmpfs needs root; run "
                          "the test as root to check disk-full handling")
        self.root = tempfile.mkdtemp(prefix="kadr-diskfull-")
        self.mnt = os.path.join(self.root, "fs")
        os.mkdir(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % FS_BYTES,
                        "tmpfs", self.mnt], check=True)
        self.addCleanup(shutil.rmtree, self.root, True)
        self.addCleanup(subprocess.run, ["umount", self.mnt], check=True)
        self.rng = random.Random(5)
        self.photo = photo_bytes(PHOTO)

    def body(self):
        """Returns a 1 MiB original that is new to the store each time."""
        return self.photo + self.rng.randbytes(TAIL_BYTES)

    def fill(self, kadr):
        """Uploads new originals until one fails, and returns the stored
        ones and the failing response."""
        stored = {}
        for _ in range(MAX_UPLOADS):
            body = self.body()
            resp = kadr.upload(body)
            if resp.status != 201:
                return stored, resp
            stored[resp.json()["id"]] = body
        self.fail("no upload failed in %d" % MAX_UPLOADS)

    def check_after_full(self, kadr, stored, resp):
        self.assertEqual(resp.status, 507, resp.body)
        self.assertEqual(resp.header("content-type"), "application/json")
        self.assertEqual(resp.json()["error"], "insufficient_storage")
        self.assertGreater(len(stored), 3)
        self.assertEqual(kadr.tmp_files(), [])
        self.assertEqual(volumes_past_indexed_end(kadr.data), [])
        for media_id, body in sorted(stored.items()):
            got = kadr.variant(media_id, "original", key=True)
            self.assertEqual(got.status, 200, media_id)
            self.assertEqual(got.body, body, media_id)
            self.assertEqual(kadr.variant(media_id, "w320.webp").status, 200)
        code, report = kadrctl_json(kadr.data, "verify")
        self.assertEqual(code, 0, report)

    def test_reserve_gives_507(self):
        data = os.path.join(self.mnt, "data")
        with Daemon("--disk-reserve-bytes", str(RESERVE_BYTES),
                    data_dir=data) as kadr:
            stored, resp = self.fill(kadr)
            self.check_after_full(kadr, stored, resp)
            self.assertGreaterEqual(shutil.disk_usage(self.mnt).free,
                                    RESERVE_BYTES - 2 * TAIL_BYTES)
            # Space freed by deleting and compacting lets uploads in again.
            for media_id in sorted(stored)[: len(stored) // 2]:
                self.assertEqual(kadr.request("DELETE", "/v1/media/" +
                                              media_id, key=True).status, 204)
            kadr.stop()
            code, _ = kadrctl_json(data, "gc")
            self.assertEqual(code, 0)
            kadr.start()
            self.assertEqual(kadr.upload(self.body()).status, 201)
            shutil.rmtree(kadr.root, ignore_errors=True)

    def test_full_filesystem_gives_507(self):
        data = os.path.join(self.mnt, "data")
        with Daemon("--disk-reserve-bytes", "0", data_dir=data) as kadr:
            stored, resp = self.fill(kadr)
            self.check_after_full(kadr, stored, resp)
            shutil.rmtree(kadr.root, ignore_errors=True)

    def fill_filesystem(self):
        """Writes a file until the filesystem is full, and returns its
        path."""
        path = os.path.join(self.mnt, "filler")
        block = b"\0" * 65536
        with open(path, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(block)
            except OSError:
                pass
            try:
                while True:
                    f.write(b"\0")
            except OSError:
                pass
        return path

    def test_webhook_journal_catches_up(self):
        """Removal lines that do not fit on a full disk are made up by a
        rewrite once space is back, so sent events stay sent."""
        events, sent_first = 600, 400
        ids = ["Qm3x0nS2rTq8v%03d" % i for i in range(events)]
        data = os.path.join(self.mnt, "data")
        spool = os.path.join(data, "webhook-queue.jsonl")
        os.makedirs(data)
        with open(spool, "w") as f:
            for media_id in ids:
                f.write(json.dumps({"event": "media.ready", "id": media_id,
                                    "status": "ready", "kind": "image",
                                    "error": None, "time": 1}) + "\n")

        flags = ("--disk-reserve-bytes", "0", "--webhook-backoff-ms", "50",
                 "--webhook-max-tries", "1000")
        with Receiver([503]) as first, Receiver([200]) as second:
            kadr = Daemon("--webhook-url", first.url(), *flags,
                          data_dir=data)
            try:
                kadr.start()
                first.wait_posts(1)

                filler = self.fill_filesystem()
                with first.lock:
                    first.statuses = ([503] * len(first.posts) +
                                      [200] * sent_first + [503])
                wait_metric(kadr, "kadr_webhook_sent_total", sent_first)

                os.unlink(filler)
                # The next retry rewrites the journal from the queue.
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    with open(spool) as f:
                        if len(f.read().splitlines()) == events - sent_first:
                            break
                    time.sleep(0.05)
                full_log = kadr.log_text()

                kadr.kill()
                kadr.flags = ["--webhook-url", second.url(), *flags]
                kadr.start()
                second.wait_posts(events - sent_first)
                wait_metric(kadr, "kadr_webhook_sent_total",
                            events - sent_first)
                time.sleep(0.3)
            finally:
                kadr.__exit__(None, None, None)
                shutil.rmtree(kadr.root, ignore_errors=True)

        sent_before = [json.loads(p[3])["id"] for p in first.posts
                       if p is not None]
        sent_after = [json.loads(p[3])["id"] for p in second.posts]
        self.assertIn('event=webhook.journal_failed file=webhook-queue.jsonl '
                      'error="No space left on device"', full_log)
        self.assertEqual(sent_after, ids[sent_first:])
        self.assertEqual(sorted(set(sent_before)), ids[:sent_first + 1])


if __name__ == "__main__":
    main()
