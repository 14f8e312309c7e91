"""Crash safety: kadrd is killed with SIGKILL at random points of a
stream of uploads and deletes, some of them during background
compactions, and restarted on the same data folder each time. Every
acknowledged upload must read back byte for byte."""

import os
import shutil
import tempfile
import threading
import time
import unittest

from kadr_harness import Daemon, corpus, main, read_file
from store_checks import (kadrctl_json, new_rng, random_body,
                          volumes_past_indexed_end)

KILLS = 55
TIME_LIMIT_S = 200         # the loop stops early past this
MIN_RUN_S, MAX_RUN_S = 0.05, 0.5
# Every LONG_RUN_EVERY-th run lasts long enough for the background
# compaction (checked every second) to start, so some kills land in it.
LONG_RUN_EVERY = 4
LONG_MIN_RUN_S, LONG_MAX_RUN_S = 1.0, 1.8
REQUEST_TIMEOUT_S = 10
FLAGS = ["--job-max-tries", "1000", "--compact-dead-percent", "10",
         "--compact-interval-s", "1"]


class Workload:
    """Uploads and deletes against one kadrd until the stop event is set,
    keeping what the server acknowledged."""

    def __init__(self, rng):
        self.rng = rng
        self.confirmed = {}     # media id -> original bytes
        self.maybe_deleted = {}  # delete sent, reply lost in the kill
        self.deleted = set()
        self.uploads = 0

    def step(self, daemon):
        if self.confirmed and self.rng.random() < 0.25:
            media_id = self.rng.choice(sorted(self.confirmed))
            body = self.confirmed.pop(media_id)
            self.maybe_deleted[media_id] = body
            status = daemon.request("DELETE", "/v1/media/" + media_id,
                                    key=True).status
            if status != 204:
                raise AssertionError("DELETE %s returned %d, expected 204" %
                                     (media_id, status))
            del self.maybe_deleted[media_id]
            self.deleted.add(media_id)
            return
        body = random_body(self.rng)
        resp = daemon.upload(body)
        if resp.status != 201:
            raise AssertionError("upload returned %d, expected 201: %s" %
                                 (resp.status, resp.body))
        self.confirmed[resp.json()["id"]] = body
        self.uploads += 1

    def run(self, daemon, stop, errors):
        while not stop.is_set():
            try:
                self.step(daemon)
            except AssertionError as e:
                errors.append(str(e))
                return
            except OSError:
                return  # the server was killed mid-request


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.rng, self.seed = new_rng()
        self.root = tempfile.mkdtemp(prefix="kadr-crash-")
        self.data = os.path.join(self.root, "data")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.proc is not None:
                d.kill()
            shutil.rmtree(d.root, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self):
        d = Daemon(*FLAGS, data_dir=self.data).start()
        self.daemons.append(d)
        return d

    def check_recovered(self, d, kill, video):
        if video and d.media(video[0]).json()["status"] == "processing":
            return  # the resumed job appends to the volume and tmp/
        self.assertEqual(d.tmp_files(), [],
                         "tmp not empty after kill %d" % kill)
        self.assertEqual(volumes_past_indexed_end(self.data), [],
                         "volume tail left after kill %d" % kill)

    def run_cycle(self, d, work, kill, video):
        stop = threading.Event()
        errors = []
        if kill == KILLS - 5:
            # Queue a video job and kill kadrd before it can finish.
            resp = d.upload(read_file(corpus("tiny/webm.webm")))
            self.assertEqual(resp.status, 201, resp.body)
            video.append(resp.json()["id"])
            d.kill()
            return
        worker = threading.Thread(target=work.run, args=(d, stop, errors))
        worker.start()
        if kill % LONG_RUN_EVERY == LONG_RUN_EVERY - 1:
            time.sleep(self.rng.uniform(LONG_MIN_RUN_S, LONG_MAX_RUN_S))
        else:
            time.sleep(self.rng.uniform(MIN_RUN_S, MAX_RUN_S))
        d.kill()
        stop.set()
        worker.join(REQUEST_TIMEOUT_S * 2)
        self.assertFalse(worker.is_alive())
        self.assertEqual(errors, [], "seed %d" % self.seed)

    def check_final(self, d, work, video):
        for media_id, body in sorted(work.confirmed.items()):
            resp = d.variant(media_id, "original", key=True)
            self.assertEqual(resp.status, 200, media_id)
            self.assertEqual(resp.body, body, media_id)
        for media_id in sorted(work.deleted):
            self.assertEqual(d.media(media_id).status, 404, media_id)
        for media_id, body in sorted(work.maybe_deleted.items()):
            resp = d.variant(media_id, "original", key=True)
            self.assertIn(resp.status, (200, 404), media_id)
            if resp.status == 200:
                self.assertEqual(resp.body, body, media_id)
        self.assertEqual(len(video), 1)
        self.assertEqual(d.wait_ready(video[0])["status"], "ready")

    def test_kill_during_uploads_and_deletes(self):
        work = Workload(self.rng)
        video = []
        deadline = time.monotonic() + TIME_LIMIT_S
        kills = 0
        while kills < KILLS and time.monotonic() < deadline:
            d = self.start()
            self.check_recovered(d, kills, video)
            self.run_cycle(d, work, kills, video)
            kills += 1
        self.assertGreaterEqual(kills, 50, "too few kills in the time limit")
        self.assertGreater(work.uploads, 50, "seed %d" % self.seed)
        self.assertGreater(len(work.deleted), 5, "seed %d" % self.seed)
        compactions = sum(d.log_text().count("event=compaction.done")
                          for d in self.daemons)
        self.assertGreater(compactions, 0, "no compaction ran between kills")
        d = self.start()
        self.check_recovered(d, kills, video)
        self.check_final(d, work, video)
        code, report = kadrctl_json(self.data, "verify")
        self.assertEqual(report["bad_needles"], [])
        self.assertEqual(report["reference_errors"], [])
        self.assertEqual(code, 0)
        d.stop()


if __name__ == "__main__":
    main()
