"""Disk full: on a 64 MiB tmpfs made for the test, uploads get 507 with a
JSON error once free space falls under disk_reserve_bytes, or when the
filesystem fills up, nothing is left half-written, and reads go on. Needs
root to mount the tmpfs; skipped otherwise."""

import os
import random
import shutil
import subprocess
import tempfile
import unittest

from kadr_harness import Daemon, main
from store_checks import (kadrctl_json, photo_bytes,
                          volumes_past_indexed_end)

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


if __name__ == "__main__":
    main()
