"""Soak and overload: concurrent uploads of photos and videos, full and
ranged reads and deletes against one kadrd for a bounded time.

Checks: no request fails except by a designed busy status with
Retry-After. Every acknowledged upload reads back with the bytes sent,
during the run, at its end and after a restart. Resident memory does not
grow with run time, and no file descriptor or temporary file leaks.

The run lasts KADR_SOAK_SECONDS (default 60); for a long run:

    KADR_SOAK_SECONDS=3600 python3 test_soak.py
    python3 test_soak.py --seconds 3600
"""

import http.client
import json
import os
import sys
import threading
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file
from soak_client import (Load, MemorySampler, count_fds, open_fds,
                         proc_status_kib)


def take_seconds_flag():
    """Removes "--seconds N" from argv (unittest would reject it) and
    returns N, else KADR_SOAK_SECONDS, else 60."""
    if "--seconds" in sys.argv:
        at = sys.argv.index("--seconds")
        seconds = float(sys.argv[at + 1])
        del sys.argv[at:at + 2]
        return seconds
    return float(os.environ.get("KADR_SOAK_SECONDS", "60"))


SOAK_SECONDS = take_seconds_flag()
THREADS = 4
# Memory in the first seconds (allocator arenas, codec tables, the
# sanitizer's quarantine) is warm-up and not compared.
WARMUP_SHARE = 0.2
# The peak of anonymous resident memory in the second half of the run may
# exceed the first half's by this share plus this many MiB of noise.
GROWTH_SHARE = 0.25
GROWTH_SLACK_MIB = 48
# Resident memory kadrd must stay under during the soak, whatever its
# length. Video transcodes dominate it; the sanitizer build needs more.
RSS_BOUND_MIB = 3072
SOCKET = r"^socket:"
UNLINKED = r"\(deleted\)$"


def report(name, **fields):
    """Writes one line of results to stderr, for docs/RELIABILITY.md."""
    text = " ".join("%s=%s" % kv for kv in fields.items())
    sys.stderr.write("RESULT %s %s\n" % (name, text))


class SoakTest(unittest.TestCase):
    def warm_up(self, kadr):
        """Uploads and reads each corpus file once, so codec tables and
        the store's first volume exist before the fds are counted."""
        warm = Load(kadr, threads=1, seed=99)
        warm.run(min(5.0, SOAK_SECONDS / 10))
        self.assertEqual(warm.tally.failures, [])

    def check_fds(self, kadr, before, after):
        self.assertEqual(count_fds(after, UNLINKED), 0,
                         "upload files still open: %s" % after)
        self.assertLessEqual(count_fds(after, SOCKET),
                             count_fds(before, SOCKET),
                             "sockets before %s, after %s" % (before, after))
        volumes = len(os.listdir(os.path.join(kadr.data, "volumes")))
        self.assertLessEqual(len(after), len(before) + volumes,
                             "fds before %s, after %s" % (before, after))

    def check_memory(self, sampler, seconds):
        self.assertGreater(len(sampler.samples), 4, "too few samples")
        first, second = sampler.halves(1, seconds * WARMUP_SHARE)
        bound = first * (1 + GROWTH_SHARE) + GROWTH_SLACK_MIB * 1024
        self.assertLessEqual(second, bound,
                             "anonymous memory grew from %d KiB in the "
                             "first half to %d KiB in the second" %
                             (first, second))
        peak = max(s[2] for s in sampler.samples)
        self.assertLess(peak, RSS_BOUND_MIB * 1024,
                        "resident memory reached %d KiB" % peak)
        return first, second, peak

    def test_soak_nothing_lost(self):
        with Daemon() as kadr:
            pid = kadr.proc.pid
            self.warm_up(kadr)
            fds_before = open_fds(pid)
            sampler = MemorySampler(pid).start()
            load = Load(kadr, threads=THREADS, seed=1)
            started = time.monotonic()
            load.run(SOAK_SECONDS)
            elapsed = time.monotonic() - started
            load.wait_videos()
            sampler.stop()
            verified = load.verify_all()
            time.sleep(1.0)  # let the server see the clients' closes
            fds_after = open_fds(pid)

            self.assertEqual(load.tally.failures, [], load.tally.summary())
            self.assertGreater(load.tally.get("uploads_image"), 0)
            self.assertGreater(load.tally.get("uploads_video"), 0)
            self.assertGreater(load.tally.get("reads_range"), 0)
            self.assertGreater(load.tally.get("deletes"), 0)
            first, second, peak = self.check_memory(sampler, elapsed)
            self.check_fds(kadr, fds_before, fds_after)
            self.assertEqual(kadr.tmp_files(), [])

            # A clean restart loses nothing either.
            kadr.stop()
            kadr.start()
            after_restart = load.verify_all()
            self.assertEqual(load.tally.failures, [], load.tally.summary())
            self.assertEqual(after_restart, verified)
            report("soak", seconds=round(elapsed), threads=THREADS,
                   live=len(load.items), deleted=len(load.deleted),
                   rss_anon_first_kib=first, rss_anon_second_kib=second,
                   rss_peak_kib=peak, fds_before=len(fds_before),
                   fds_after=len(fds_after), tally=load.tally.summary())


def upload_once(port, data, results, index):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/v1/media", body=data,
                     headers={"X-Api-Key": API_KEY})
        resp = conn.getresponse()
        results[index] = (resp.status, resp.getheader("Retry-After"),
                          resp.read())
    finally:
        conn.close()


class OverloadTest(unittest.TestCase):
    CLIENTS = 12

    def test_overload_busy_with_retry_after(self):
        photo = read_file(corpus("photos/phone-jolla.jpg"))
        bodies = [photo + b"overload-%d" % i for i in range(self.CLIENTS)]
        with Daemon("--max-uploads", "2", "--max-queued-jobs", "1",
                    "--workers", "1") as kadr:
            results = [None] * self.CLIENTS
            threads = [threading.Thread(target=upload_once,
                                        args=(kadr.port, bodies[i],
                                              results, i))
                       for i in range(self.CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

            statuses = [r[0] for r in results]
            self.assertLessEqual(set(statuses), {201, 503}, statuses)
            self.assertIn(503, statuses)
            self.assertIn(201, statuses)
            for status, retry_after, body in results:
                if status != 503:
                    continue
                self.assertEqual(retry_after, "1")
                self.assertEqual(json.loads(body)["error"], "overloaded")

            # Each rejected client tries again after Retry-After and gets
            # in; every upload then reads back whole.
            load = Load(kadr)
            ids = {}
            for i, (status, _, body) in enumerate(results):
                if status == 201:
                    ids[i] = json.loads(body)["id"]
                    continue
                reply = load.send("POST", "/v1/media", body=bodies[i],
                                  key=True)
                self.assertIsNotNone(reply, load.tally.failures)
                self.assertEqual(reply[0], 201, reply[2])
                ids[i] = json.loads(reply[2])["id"]
            for i, media_id in ids.items():
                stored = kadr.variant(media_id, "original", key=True)
                self.assertEqual(stored.body, bodies[i])
            self.assertEqual(kadr.tmp_files(), [])
            rss = proc_status_kib(kadr.proc.pid, "VmRSS")
            report("overload", clients=self.CLIENTS,
                   busy=statuses.count(503), accepted_first=statuses.count(
                       201), retried_ok=statuses.count(503), rss_kib=rss)


if __name__ == "__main__":
    main()
