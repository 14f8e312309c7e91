"""kadr-bench against a kadrd on loopback: upload, read and URL-list
modes with a bounded request count, and its summary."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main

BENCH = os.environ.get("KADR_BENCH", "kadr-bench")
PHOTOS = ["photos/orientation-landscape_1.jpg",
          "photos/orientation-landscape_6.jpg"]
TOKEN_KEY = "k1:c2VjcmV0LXRva2VuLWtleS1ieXRlcy0wMTIzNDU2Nzg5"


def run_bench(*args):
    return subprocess.run([BENCH] + list(args), capture_output=True,
                          text=True, timeout=120)


def statuses(summary):
    line = re.search(r"^  status\s+(.*)$", summary, re.M).group(1)
    return {int(code): int(n) for code, n in
            re.findall(r"(\d+): (\d+)", line)}


class BenchToolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kadr-bench-")
        for path in PHOTOS:
            shutil.copy(corpus(path), cls.dir)
        cls.daemon = Daemon("--token-keys", TOKEN_KEY, "--access-log",
                            "off").start()
        cls.url = "http://127.0.0.1:%d" % cls.daemon.port

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_summary(self, out, count):
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("%d requests in" % count, out.stdout)
        self.assertRegex(out.stdout, r"throughput\s+[\d.]+ requests/s")
        self.assertRegex(out.stdout, r"latency\s+p50 [\d.]+ ms p90 [\d.]+ "
                                     r"ms p99 [\d.]+ ms max [\d.]+ ms")

    def test_upload_mode(self):
        out = run_bench("upload", "--url", self.url, "--dir", self.dir,
                        "--api-key", API_KEY, "-n", "6", "-c", "2")
        self.assert_summary(out, 6)
        self.assertEqual(statuses(out.stdout), {201: 6})
        self.assertIn("errors      0", out.stdout)
        # Six uploads cycle over the two photos three times each.
        sent = 3 * sum(os.path.getsize(os.path.join(self.dir, name))
                       for name in os.listdir(self.dir))
        self.assertIn("6 requests in", out.stdout)
        self.assertRegex(out.stdout, r"requests in [\d.]+ s, %d bytes of "
                                     r"request bodies" % sent)
        self.assertRegex(out.stdout, r"[\d.]+ MB/s of request bodies")
        self.assertRegex(out.stdout, r"max [\d.]+ ms mean [\d.]+ ms")

    def test_read_mode_with_ranges(self):
        out = run_bench("read", "--url", self.url, "--dir", self.dir,
                        "--api-key", API_KEY, "-n", "200", "-c", "4",
                        "--range-share", "0.5", "--range-bytes", "100")
        self.assert_summary(out, 200)
        self.assertEqual(statuses(out.stdout), {200: 100, 206: 100})

    def test_paid_reads_with_token_key(self):
        out = run_bench("read", "--url", self.url, "--dir", self.dir,
                        "--api-key", API_KEY, "--paid", "--token-key",
                        TOKEN_KEY, "--variants", "w320.webp,s150.jpg",
                        "-n", "40", "-c", "2", "--range-share", "0")
        self.assert_summary(out, 40)
        self.assertEqual(statuses(out.stdout), {200: 40})

    def test_paid_reads_without_token_rejected(self):
        out = run_bench("read", "--url", self.url, "--dir", self.dir,
                        "--api-key", API_KEY, "--paid", "--variants",
                        "w320.webp", "-n", "10", "-c", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(statuses(out.stdout), {403: 10})
        self.assertIn("errors      10", out.stdout)

    def test_urls_mode(self):
        media_id = self.daemon.upload_file(corpus(PHOTOS[0])).json()["id"]
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("%s/v1/media/%s/w320.webp\n" % (self.url, media_id))
            f.write("%s/v1/media/%s/nope.webp\n" % (self.url, media_id))
            f.flush()
            out = run_bench("urls", "--urls-file", f.name, "-n", "20",
                            "-c", "2", "--range-share", "0")
        self.assert_summary(out, 20)
        self.assertEqual(statuses(out.stdout), {200: 10, 404: 10})

    def test_progress_line(self):
        out = run_bench("read", "--url", self.url, "--dir", self.dir,
                        "--api-key", API_KEY, "-d", "2", "-c", "2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stderr, r"kadr-bench:\s+1 s, \d+ requests")

    def test_bad_option_named(self):
        out = run_bench("read", "--range-share", "2")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--range-share", out.stderr)

    def test_dead_server_fails(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("http://127.0.0.1:1/x\n")
            f.flush()
            out = run_bench("urls", "--urls-file", f.name, "-n", "3",
                            "--quiet")
        self.assertEqual(out.returncode, 1)
        self.assertRegex(out.stdout, r"connect [1-9]")


if __name__ == "__main__":
    main()
