"""Verification: a byte flipped in a volume is found by kadrctl verify,
reported by blob hash and media id, and found by kadrd's background
scrub too."""

import os
import subprocess
import time
import unittest

from kadr_harness import Daemon, main
from store_checks import kadrctl, kadrctl_json, photo_bytes

PHOTO = "photos/orientation-landscape_1.jpg"
OTHER = "photos/camera-canon-40d.jpg"
SCRUB_WAIT_S = 30


def flip_payload_byte(data_dir, payload):
    """Flips one byte in the middle of payload where a volume stores it."""
    folder = os.path.join(data_dir, "volumes")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "r+b") as f:
            content = f.read()
            at = content.find(payload)
            if at < 0:
                continue
            f.seek(at + len(payload) // 2)
            f.write(bytes([content[at + len(payload) // 2] ^ 0x01]))
            return
    raise AssertionError("payload not found in any volume")


def add_refcount(data_dir, blob_hex, delta):
    """Adds delta to a blob's refcount in the index with the LMDB tools
    (mdb_dump, mdb_load), as a bug or a torn tool run could."""
    index = os.path.join(data_dir, "index")
    dump = subprocess.run(["mdb_dump", "-s", "blobs", index], check=True,
                          capture_output=True).stdout.decode().splitlines()
    key = " " + blob_hex
    at = dump.index(key) + 1
    value = bytearray.fromhex(dump[at].strip())
    # Blob record: u32 volume, u64 offset, u64 length, u32 refcount, u8.
    refcount = int.from_bytes(value[20:24], "little") + delta
    value[20:24] = refcount.to_bytes(4, "little")
    dump[at] = " " + value.hex()
    subprocess.run(["mdb_load", "-s", "blobs", index], check=True,
                   input=("\n".join(dump) + "\n").encode())


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self.kadr = Daemon("--compact-dead-percent", "0").start()
        # A cleanup, not tearDown, so that a failing setUp stops it too.
        self.addCleanup(self.kadr.__exit__, None, None, None)
        self.body = photo_bytes(PHOTO)
        resp = self.kadr.upload(self.body)
        self.assertEqual(resp.status, 201, resp.body)
        self.doc = resp.json()
        self.assertEqual(self.kadr.upload(photo_bytes(OTHER)).status, 201)

    def test_clean_store_passes(self):
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0)
        self.assertEqual(report["problems"], 0)

    def test_flipped_byte_found(self):
        self.kadr.stop()
        flip_payload_byte(self.kadr.data, self.body)
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 1)
        self.assertEqual(report["problems"], 1)
        self.assertEqual(len(report["bad_needles"]), 1)
        bad = report["bad_needles"][0]
        self.assertEqual(bad["blob"], self.doc["blob"])
        self.assertEqual(bad["error"], "checksum mismatch")
        self.assertEqual(bad["media"],
                         [{"id": self.doc["id"], "variant": "original"}])
        proc = kadrctl(self.kadr.data, "verify")
        self.assertEqual(proc.returncode, 1)
        text = proc.stdout.decode()
        self.assertIn("bad needle: blob " + self.doc["blob"], text)
        self.assertIn(self.doc["id"] + " (original)", text)
        self.assertIn("1 problems found", text)
        self.kadr.start()

    def test_repair_sets_refcount(self):
        self.kadr.stop()
        add_refcount(self.kadr.data, self.doc["blob"], 1)
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 1)
        self.assertEqual(len(report["reference_errors"]), 1)
        error = report["reference_errors"][0]
        self.assertEqual(error["blob"], self.doc["blob"])
        self.assertEqual(error["refcount"], 2)
        self.assertEqual(error["references"], 1)
        self.assertFalse(error["repaired"])
        code, report = kadrctl_json(self.kadr.data, "repair")
        self.assertEqual(code, 0)
        self.assertEqual(report["repaired"], 1)
        self.assertTrue(report["reference_errors"][0]["repaired"])
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, report)
        self.kadr.start()
        resp = self.kadr.request("DELETE", "/v1/media/" + self.doc["id"],
                                 key=True)
        self.assertEqual(resp.status, 204)
        code, report = kadrctl_json(self.kadr.data, "stat")
        self.assertGreaterEqual(report["dead_bytes"], len(self.body))

    def test_background_scrub_counts_error(self):
        self.kadr.stop()
        flip_payload_byte(self.kadr.data, self.body)
        self.kadr.flags += ["--scrub-interval-s", "1",
                            "--scrub-bytes-per-s", "100000000"]
        self.kadr.start()
        deadline = time.monotonic() + SCRUB_WAIT_S
        while time.monotonic() < deadline:
            metrics = self.kadr.metrics()
            if metrics.get("kadr_scrub_passes_total", 0) >= 1:
                break
            time.sleep(0.2)
        self.assertEqual(metrics["kadr_verify_errors_total"], 1)
        self.assertGreater(metrics["kadr_scrub_read_bytes_total"], 0)
        log = self.kadr.log_text()
        self.assertIn("scrub.bad_needle", log)
        self.assertIn("blob=" + self.doc["blob"], log)
        self.assertIn("event=scrub.done", log)


if __name__ == "__main__":
    main()
