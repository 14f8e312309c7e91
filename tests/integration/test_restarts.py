"""Restarts: kadrd is killed with SIGKILL during each stage of its work
(an upload streaming in, the commit, image processing, a video job,
compaction) and at random moments of a soak load, then started again on
the same data folder.

After each restart the checks of a clean run hold. Every acknowledged
upload reads back with the bytes sent, deleted media stay deleted and
interrupted video jobs finish. No temporary file is left, and `kadrctl
verify` finds nothing wrong. kadrd then stops cleanly on SIGTERM, where
the sanitizer build runs LeakSanitizer.

The soak with kills lasts KADR_RESTART_SOAK_SECONDS (default 40)."""

import http.client
import os
import random
import re
import socket
import sys
import threading
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, ffprobe_bytes, main, \
    read_file
from soak_client import Item, Load, with_random_tail
from store_checks import kadrctl_json

SOAK_SECONDS = float(os.environ.get("KADR_RESTART_SOAK_SECONDS", "40"))
# Kills in the soak come this many seconds apart, at random within.
KILL_EVERY_S = (1.5, 4.0)
# Random rounds for the stages too short to hit on purpose.
COMMIT_ROUNDS = 12
COMPACTION_ROUNDS = 6
# job_max_tries in the soak: more than the kills it can see.
SOAK_JOB_MAX_TRIES = 1000


def report(name, **fields):
    text = " ".join("%s=%s" % kv for kv in fields.items())
    sys.stderr.write("RESULT %s %s\n" % (name, text))


def kill_and_start(kadr):
    kadr.kill()
    kadr.start()


def job_counts(kadr, lane):
    """Returns (queued, running) of a pool lane from /metrics."""
    values = kadr.metrics()
    return (values.get('kadr_jobs{lane="%s",state="queued"}' % lane, 0),
            values.get('kadr_jobs{lane="%s",state="running"}' % lane, 0))


def wait_for(predicate, timeout_s, description):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + description)


class RestartTest(unittest.TestCase):
    def setUp(self):
        # Default flags: job_max_tries stays 3. A kill during a video job
        # costs it a try, so a job killed twice still finishes on its
        # third.
        self.kadr = Daemon().start()

    def tearDown(self):
        self.kadr.__exit__(None, None, None)

    def check_store(self, load=None):
        """The checks of a clean run, on the running daemon."""
        kadr = self.kadr
        self.assertEqual(kadr.tmp_files(), [])
        self.assertEqual(kadr.request("GET", "/healthz").status, 200)
        if load is not None:
            load.wait_videos()
            load.verify_all()
            self.assertEqual(load.tally.failures, [], load.tally.summary())
        code, result = kadrctl_json(kadr.data, "verify")
        self.assertEqual(code, 0, result)

    def upload_ok(self, data, query=""):
        resp = self.kadr.upload(data, query)
        self.assertEqual(resp.status, 201, resp.body)
        return resp.json()

    def test_kill_while_upload_streams(self):
        photo = read_file(corpus("photos/phone-jolla.jpg"))
        blobs = self.kadr.metrics()["kadr_store_blobs"]
        volume_bytes = self.kadr.volume_bytes()
        with socket.create_connection(("127.0.0.1", self.kadr.port),
                                      timeout=10) as sock:
            sock.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                         b"X-Api-Key: " + API_KEY.encode() +
                         b"\r\nContent-Length: %d\r\n\r\n" % len(photo))
            sock.sendall(photo[:len(photo) // 2])
            time.sleep(0.3)
            kill_and_start(self.kadr)
        self.assertEqual(self.kadr.metrics()["kadr_store_blobs"], blobs)
        self.assertEqual(self.kadr.volume_bytes(), volume_bytes)
        self.check_store()
        # The same upload, sent whole after the restart, is stored.
        doc = self.upload_ok(photo)
        stored = self.kadr.variant(doc["id"], "original", key=True)
        self.assertEqual(stored.body, photo)

    def test_kill_during_commit(self):
        """Kills while small photos, which decode in a few milliseconds,
        are being committed; acknowledged ones must all survive."""
        rng = random.Random(7)
        small = read_file(corpus("tiny/jpeg.jpg"))
        load = Load(self.kadr)
        in_flight_kills = 0
        for _ in range(COMMIT_ROUNDS):
            bodies = [with_random_tail(small, rng) for _ in range(8)]
            replies = [None] * len(bodies)

            def send(i):
                try:
                    replies[i] = self.kadr.upload(bodies[i])
                except (ConnectionError, http.client.HTTPException):
                    pass

            threads = [threading.Thread(target=send, args=(i,))
                       for i in range(len(bodies))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.0, 0.05))
            self.kadr.kill()
            for t in threads:
                t.join()
            self.kadr.start()
            in_flight_kills += replies.count(None)
            for body, reply in zip(bodies, replies):
                if reply is None:
                    continue
                self.assertEqual(reply.status, 201, reply.body)
                media_id = reply.json()["id"]
                load.items[media_id] = Item(media_id, "image", body, [])
            self.check_store(load)
        self.assertGreater(in_flight_kills, 0)
        report("restart_commit", rounds=COMMIT_ROUNDS,
               uploads_cut=in_flight_kills, acknowledged=len(load.items))

    def test_kill_during_image_processing(self):
        photo = read_file(corpus("photos/iphone.heic"))
        blobs = self.kadr.metrics()["kadr_store_blobs"]
        reply = {}

        def send():
            try:
                reply["resp"] = self.kadr.upload(photo)
            except (ConnectionError, http.client.HTTPException) as exc:
                reply["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        wait_for(lambda: job_counts(self.kadr, "image")[1] >= 1, 30,
                 "the image job to run")
        kill_and_start(self.kadr)
        sender.join()
        self.assertIn("error", reply)
        # Not acknowledged, so nothing of it may stay referenced.
        self.assertEqual(self.kadr.metrics()["kadr_store_blobs"], blobs)
        self.check_store()
        doc = self.upload_ok(photo)
        self.assertEqual(doc["status"], "ready")

    def test_kill_during_video_job(self):
        video = read_file(corpus("video/music-clip.webm"))
        doc = self.upload_ok(video)
        media_id = doc["id"]
        for _ in range(2):
            wait_for(lambda: job_counts(self.kadr, "video")[1] >= 1, 60,
                     "the video job to run")
            time.sleep(0.5)
            kill_and_start(self.kadr)
        done = self.kadr.wait_ready(media_id)
        self.assertEqual(done["status"], "ready", done)
        stored = self.kadr.variant(media_id, "original", key=True)
        self.assertEqual(stored.body, video)
        mp4 = self.kadr.variant(media_id, "720.mp4")
        self.assertEqual(mp4.status, 200)
        streams = ffprobe_bytes(mp4.body, ".mp4")["streams"]
        self.assertIn("video", [s["codec_type"] for s in streams])
        self.check_store()

    def test_kill_during_compaction(self):
        """Fills small volumes, deletes most media so that compaction
        starts on its next one-second check, and kills at random moments
        around it."""
        self.kadr.stop()
        self.kadr.flags += ["--volume-max-bytes", str(1024 * 1024),
                            "--compact-interval-s", "1",
                            "--compact-dead-percent", "30"]
        self.kadr.start()
        rng = random.Random(11)
        photo = read_file(corpus("photos/orientation-landscape_1.jpg"))
        load = Load(self.kadr)

        for _ in range(COMPACTION_ROUNDS):
            ids = []
            for _ in range(16):
                body = with_random_tail(photo, rng)
                doc = self.upload_ok(body)
                ids.append((doc["id"], body))

            for media_id, _ in ids[:12]:
                resp = self.kadr.request("DELETE", "/v1/media/" + media_id,
                                         key=True)
                self.assertEqual(resp.status, 204)
                load.deleted.add(media_id)
            for media_id, body in ids[12:]:
                load.items[media_id] = Item(media_id, "image", body, [])

            time.sleep(rng.uniform(0.5, 1.5))
            kill_and_start(self.kadr)
            self.check_store(load)

        compactions = len(re.findall(r"event=compaction\.done",
                                     self.kadr.log_text()))
        self.assertGreater(compactions, 0)
        report("restart_compaction", rounds=COMPACTION_ROUNDS,
               compactions_done=compactions, live=len(load.items),
               deleted=len(load.deleted))


class RestartSoakTest(unittest.TestCase):
    def test_soak_with_kills(self):
        # Each kill costs the running video jobs a try, and a video may
        # be running at many of the kills, so the bound on tries is
        # lifted here.
        with Daemon("--job-max-tries", str(SOAK_JOB_MAX_TRIES)) as kadr:
            load = Load(kadr, threads=4, seed=3, video_share=0.15)
            rng = random.Random(5)
            kills = 0
            # The load runs in a thread and the kills in this one: the
            # harness gives kadrd PR_SET_PDEATHSIG, so a kadrd started
            # from a thread that ends would get SIGKILL with it.
            runner = threading.Thread(target=load.run, args=(SOAK_SECONDS,))
            runner.start()
            while True:
                runner.join(rng.uniform(*KILL_EVERY_S))
                if not runner.is_alive():
                    break
                load.restarting.set()
                kill_and_start(kadr)
                load.restarting.clear()
                kills += 1

            load.wait_videos()
            verified = load.verify_all()
            self.assertEqual(load.tally.failures, [], load.tally.summary())
            self.assertGreater(kills, 0)
            self.assertEqual(kadr.tmp_files(), [])
            code, result = kadrctl_json(kadr.data, "verify")
            self.assertEqual(code, 0, result)
            # One more clean restart; everything is still there.
            kadr.stop()
            kadr.start()
            self.assertEqual(load.verify_all(), verified)
            self.assertEqual(load.tally.failures, [], load.tally.summary())
            report("restart_soak", seconds=SOAK_SECONDS, kills=kills,
                   live=len(load.items), deleted=len(load.deleted),
                   tally=load.tally.summary())


if __name__ == "__main__":
    main()
