"""Verification: a byte flipped in a volume is found by kadrctl verify,
reported by blob hash and media id, and found by kadrd's background
scrub too."""

import os
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


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self.kadr = Daemon("--compact-dead-percent", "0").start()
        self.body = photo_bytes(PHOTO)
        resp = self.kadr.upload(self.body)
        self.assertEqual(resp.status, 201, resp.body)
        self.doc = resp.json()
        self.assertEqual(self.kadr.upload(photo_bytes(OTHER)).status, 201)

    def tearDown(self):
        self.kadr.stop()
        self.kadr.__exit__(None, None, None)

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
