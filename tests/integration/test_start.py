"""kadrd's start: invalid settings are rejected with a message that names
the key, and a second kadrd on a data folder in use is refused."""

import os
import subprocess
import tempfile
import unittest

from kadr_harness import KADRD, Daemon, main


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


if __name__ == "__main__":
    main()
