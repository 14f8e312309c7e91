"""kadrd's start: invalid settings are rejected with a message that names
the key, a second kadrd on a data folder in use is refused, and so is an
emptied index beside volumes that hold data."""

import os
import subprocess
import tempfile
import unittest

from kadr_harness import KADRD, Daemon, corpus, main
from store_checks import kadrctl

INDEX_LOST = ("the index is empty but volumes/ holds stored data (restore "
              "index/ from a backup, or move volumes/ away to start an empty "
              "store)")


def start_output(*flags):
    with tempfile.TemporaryDirectory() as root:
        proc = subprocess.run(
            [KADRD, "--data", os.path.join(root, "data")] + list(flags),
            capture_output=True, timeout=30)
    return proc.returncode, proc.stderr.decode()


class StartTest(unittest.TestCase):
    def test_invalid_settings_named(self):
        cases = [
            (["--listen", "localhost:8080"], "'listen'"),
            (["--listen", "127.0.0.1:99999"], "'listen'"),
            (["--listen", "127.0.0.1:0", "--header-timeout-ms", "0"],
             "'header_timeout_ms'"),
            (["--listen", "127.0.0.1:0", "--video-preset", "ludicrous"],
             "'video_preset'"),
            (["--listen", "127.0.0.1:0", "--video-crf", "99"],
             "'video_crf'"),
            (["--listen", "127.0.0.1:0", "--no-such-key", "1"],
             "'no-such-key'"),
        ]
        for flags, named in cases:
            code, err = start_output(*flags)
            self.assertEqual(code, 2, flags)
            self.assertIn(named, err, flags)

    def test_ipv6_listen_accepted(self):
        with Daemon("--listen", "[::1]:0") as kadr:
            self.assertIn("host=::1", kadr.log_text())

    def test_second_daemon_refused(self):
        with Daemon() as first:
            second = Daemon(data_dir=first.data)
            with self.assertRaises(RuntimeError) as caught:
                second.start()
            self.assertIn("another process holds DATA/lock (a kadrd, or "
                          "kadrctl gc or compact)", str(caught.exception))
            self.assertEqual(first.request("GET", "/healthz").status, 200)

    def test_emptied_index_refused(self):
        """A start on an emptied index would cut every volume back to its
        header, as if none of its needles had been indexed."""
        kadr = Daemon()
        try:
            kadr.start()
            self.assertEqual(kadr.upload_file(
                corpus("photos/camera-canon-40d.jpg")).status, 201)
            kadr.stop()
            before = kadr.volume_bytes()
            with open(os.path.join(kadr.data, "index", "data.mdb"), "w"):
                pass
            # kadrctl, a reader, finds the emptied file as it is.
            proc = kadrctl(kadr.data, "ls")
            self.assertEqual(proc.returncode, 1)
            self.assertEqual(proc.stderr, ("kadrctl: cannot open '%s': %s\n" %
                                           (kadr.data, INDEX_LOST)).encode())
            with self.assertRaises(RuntimeError) as caught:
                kadr.start()
            self.assertEqual(kadr.proc.wait(timeout=10), 1)
            kadr.proc = None
            kadr.log.close()
            self.assertIn("level=error event=store.open_failed data=%s "
                          "error=\"%s\"" % (kadr.data, INDEX_LOST),
                          str(caught.exception))
            self.assertEqual(kadr.volume_bytes(), before)
            proc = kadrctl(kadr.data, "stat")
            self.assertEqual(proc.returncode, 1)
            self.assertEqual(proc.stderr, ("kadrctl: cannot open '%s': %s\n" %
                                           (kadr.data, INDEX_LOST)).encode())
        finally:
            kadr.__exit__(None, None, None)


if __name__ == "__main__":
    main()
