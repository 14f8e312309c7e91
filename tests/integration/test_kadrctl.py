"""kadrctl on a data folder: the read commands beside a running kadrd,
rm beside it too, and compact and gc only once it has stopped. Each
command has a human form and a --json form."""

import json
import os
import unittest

from kadr_harness import Daemon, main
from store_checks import kadrctl, kadrctl_json, photo_bytes

PHOTOS = ["photos/camera-canon-40d.jpg", "photos/orientation-landscape_1.jpg"]


class KadrctlTest(unittest.TestCase):
    def setUp(self):
        self.kadr = Daemon("--compact-dead-percent", "0").start()
        # A cleanup, not tearDown, so that a failing setUp stops it too.
        self.addCleanup(self.kadr.__exit__, None, None, None)
        self.ids = []
        for name in PHOTOS:
            resp = self.kadr.upload(photo_bytes(name))
            self.assertEqual(resp.status, 201, resp.body)
            self.ids.append(resp.json()["id"])

    def run_ok(self, *args):
        proc = kadrctl(self.kadr.data, *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.decode()

    def test_read_commands_beside_daemon(self):
        text = self.run_ok("stat")
        self.assertIn("media       2", text)
        code, doc = kadrctl_json(self.kadr.data, "stat")
        self.assertEqual(code, 0)
        self.assertEqual(doc["media"], 2)
        self.assertGreater(doc["live_bytes"], 0)
        self.assertEqual(doc["volumes"], 1)
        listing = self.run_ok("ls")
        for media_id in self.ids:
            self.assertIn(media_id, listing)
        lines = self.run_ok("--json", "ls").splitlines()
        self.assertEqual(sorted(json.loads(l)["id"] for l in lines),
                         sorted(self.ids))
        shown = json.loads(self.run_ok("show", self.ids[0]))
        self.assertEqual(shown["id"], self.ids[0])
        volumes = self.run_ok("volumes")
        self.assertIn("dead bytes", volumes)
        code, doc = kadrctl_json(self.kadr.data, "volumes")
        self.assertEqual(code, 0)
        self.assertEqual([v["id"] for v in doc], [1])
        self.assertGreater(doc[0]["live_blobs"], 0)
        # A reader cannot tell which volume kadrd appends to, so no
        # "active" field claims it.
        self.assertEqual(sorted(doc[0]), [
            "dead_blobs", "dead_bytes", "dead_ratio", "file_bytes", "id",
            "indexed_end", "live_blobs", "live_bytes"])

    def test_verify_beside_daemon(self):
        text = self.run_ok("verify")
        self.assertIn("0 problems found", text)
        self.assertIn("0 problems found", self.run_ok("repair"))
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0)
        self.assertTrue(report["ok"])
        self.assertGreater(report["blobs_checked"], 0)
        self.assertEqual(report["media_checked"], 2)

    def test_rm_beside_daemon(self):
        text = self.run_ok("rm", self.ids[0])
        self.assertIn("removed " + self.ids[0], text)
        self.assertEqual(self.kadr.media(self.ids[0]).status, 404)
        self.assertEqual(self.kadr.media(self.ids[1]).status, 200)
        code, doc = kadrctl_json(self.kadr.data, "rm", self.ids[1])
        self.assertEqual(code, 0)
        self.assertEqual(doc["removed"], self.ids[1])
        proc = kadrctl(self.kadr.data, "rm", self.ids[1])
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"no media with id", proc.stderr)
        code, report = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, report)
        # The daemon still uploads after another process wrote the index.
        self.assertEqual(self.kadr.upload(photo_bytes(PHOTOS[0])).status, 201)

    def test_compact_and_gc_need_stopped_daemon(self):
        for command in ("compact", "gc"):
            proc = kadrctl(self.kadr.data, command)
            self.assertEqual(proc.returncode, 1, command)
            self.assertIn(b"kadrd is running on", proc.stderr)
        self.run_ok("rm", self.ids[0])
        self.kadr.stop()
        text = self.run_ok("gc")
        self.assertIn("volume 1:", text)
        self.assertEqual(self.run_ok("gc").splitlines(),
                         ["no volume needed compaction",
                          "0 derivation cache entries pruned"])
        code, doc = kadrctl_json(self.kadr.data, "compact")
        self.assertEqual(code, 0)
        self.assertEqual(doc["compacted"], [])
        self.assertIn("no volume needed compaction", self.run_ok("compact"))
        proc = kadrctl(self.kadr.data, "compact", "12345")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"no volume 12345", proc.stderr)
        proc = kadrctl(self.kadr.data, "compact", "abc")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"invalid volume id", proc.stderr)
        self.kadr.start()
        resp = self.kadr.variant(self.ids[1], "original", key=True)
        self.assertEqual(resp.body, photo_bytes(PHOTOS[1]))

    def test_missing_store_not_created(self):
        # A mistyped --data path gets an error from every command, and
        # gc and compact create no store there.
        empty = os.path.join(self.kadr.root, "empty")
        os.mkdir(empty)
        missing = os.path.join(self.kadr.root, "missing")
        for path in (empty, missing):
            for command in ("stat", "ls", "volumes", "verify", "repair",
                            "gc", "compact"):
                with self.subTest(path=path, command=command):
                    proc = kadrctl(path, command)
                    self.assertEqual(proc.returncode, 1)
                    self.assertEqual(
                        proc.stderr.decode(),
                        "kadrctl: no kadr store in '%s' (%s/index/data.mdb "
                        "not found): give --data the folder kadrd uses\n"
                        % (path, path))
                    self.assertEqual(proc.stdout, b"")
        self.assertEqual(os.listdir(empty), [])
        self.assertFalse(os.path.exists(missing))

    def test_usage_errors_named(self):
        """A typing error is named before the data folder is opened, so
        a missing folder does not hide it, and exits 2."""
        missing = os.path.join(self.kadr.root, "no-such-folder")
        cases = [
            ((self.kadr.data, "stat", "extra"),
             b"kadrctl: stat takes no argument, got 'extra'\n"),
            ((self.kadr.data, "ls", "--data"),
             b"kadrctl: --data needs a value (see --help)\n"),
            ((self.kadr.data, "show"), b"kadrctl: show needs a media id\n"),
            ((self.kadr.data, "rm"), b"kadrctl: rm needs a media id\n"),
            ((self.kadr.data, "--jsn", "stat"),
             b"kadrctl: unknown option '--jsn' (see --help)\n"),
            ((missing, "statt"),
             b"kadrctl: unknown command 'statt' (see --help)\n"),
            ((missing, "--url", "http://127.0.0.1:1", "ls"),
             b"kadrctl: --url works with compact and gc only\n"),
            ((self.kadr.data, "rm", self.ids[0], "extra"),
             b"kadrctl: unexpected argument 'extra'\n"),
        ]
        for (data, *args), message in cases:
            proc = kadrctl(data, *args)
            self.assertEqual(proc.returncode, 2, args)
            self.assertEqual(proc.stderr, message, args)
            self.assertEqual(proc.stdout, b"", args)
        # Nothing was removed by the rejected rm.
        self.assertEqual(self.kadr.media(self.ids[0]).status, 200)

    def test_help_lists_commands(self):
        proc = kadrctl(self.kadr.data, "--help")
        self.assertEqual(proc.returncode, 0)
        for command in (b"stat", b"ls", b"show", b"rm", b"verify",
                        b"repair", b"gc", b"compact", b"volumes"):
            self.assertIn(command, proc.stdout)


if __name__ == "__main__":
    main()
