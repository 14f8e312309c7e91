"""Video jobs of media that change while the job waits or runs. A delete
through the API or by kadrctl rm stops a running or a queued job without
a failure or a webhook. Access switched back and forth on a ready video
queues at most one teaser job."""

import json
import os
import re
import time
import unittest

from kadr_harness import Daemon, corpus, main
from store_checks import kadrctl, kadrctl_json, volumes_past_indexed_end
from test_webhook import Receiver
from video_clips import ClipFolder, sine, testsrc

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "96k"]
# Transcodes for several seconds at preset "slow", so that deletes and
# PATCH requests land while it runs.
LONG_CLIP_S = 30
LONG_PRESET = "slow"
TEASER_S = 2
TOGGLES = 20
POLL_S = 0.05
WAIT_LIMIT_S = 120
# The job looks its record up once per second while it transcodes.
RM_STOP_LIMIT_S = 10
PHOTO = corpus("photos/camera-canon-40d.jpg")
FAILED = 'kadr_jobs_finished_total{lane="video",result="failed"}'
DONE = 'kadr_jobs_finished_total{lane="video",result="done"}'
QUEUED = 'kadr_jobs{lane="video",state="queued"}'


def poll(check, limit_s=WAIT_LIMIT_S):
    """Calls check until it returns a true value and returns that."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError("condition not met in %d s" % limit_s)


def hook_flags(receiver):
    return ("--webhook-url", receiver.url(), "--webhook-backoff-ms", "100")


def stopped_pattern(media_id):
    return r"event=job\.stopped media=%s job=\d+ cause=deleted" % media_id


class VideoJobStopTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.long_path = cls.clips.make(
            "long.mp4", *testsrc(size="640x360", seconds=LONG_CLIP_S),
            *sine(seconds=LONG_CLIP_S), *X264, *AAC)
        cls.short_path = cls.clips.make("short.mp4", *testsrc(), *sine(),
                                        *X264, *AAC)

    @classmethod
    def tearDownClass(cls):
        cls.clips.close()

    def setUp(self):
        self.photo_ids = set()

    def upload_running(self, kadr):
        """Uploads the long clip and returns its id once it transcodes."""
        resp = kadr.upload_file(self.long_path)
        self.assertEqual(resp.status, 201, resp.body)
        media_id = resp.json()["id"]
        poll(lambda: kadr.media(media_id).json().get("progress", 0) > 0)
        return media_id

    def upload_queued(self, kadr):
        resp = kadr.upload_file(self.short_path)
        self.assertEqual(resp.status, 201, resp.body)
        doc = resp.json()
        self.assertEqual(doc["status"], "processing")
        return doc["id"]

    def delete(self, kadr, media_id):
        resp = kadr.request("DELETE", "/v1/media/" + media_id, key=True)
        self.assertEqual(resp.status, 204, resp.body)

    def hook_ids(self, kadr, receiver):
        """Returns the ids of the video media in the webhooks sent so
        far. Events go out in order, so once the event of a photo
        uploaded now arrives, every earlier one has."""
        photo = kadr.upload_file(PHOTO)
        self.assertEqual(photo.status, 201, photo.body)
        photo_id = photo.json()["id"]

        def sent_ids():
            with receiver.lock:
                ids = [json.loads(post[3])["id"] for post in receiver.posts]
            return ids if photo_id in ids else None

        ids = poll(sent_ids)
        self.assertEqual(ids[-1], photo_id)
        self.photo_ids.add(photo_id)
        return [i for i in ids if i not in self.photo_ids]

    def assert_stopped_silently(self, kadr, receiver, media_id):
        poll(lambda: re.search(stopped_pattern(media_id), kadr.log_text()))
        log = kadr.log_text()
        self.assertNotRegex(log, r"event=job\.done media=%s" % media_id)
        self.assertNotRegex(log, r"event=job\.failed media=%s" % media_id)
        self.assertNotIn(media_id, self.hook_ids(kadr, receiver))
        self.assertEqual(kadr.metrics()[FAILED], 0)
        self.assertEqual(kadr.media(media_id).status, 404)

    def assert_no_jobs(self, kadr):
        poll(lambda: kadrctl_json(kadr.data, "stat")[1]["jobs"] == 0)
        code, result = kadrctl_json(kadr.data, "verify")
        self.assertEqual(code, 0, result)

    def test_kadrctl_rm_stops_transcode(self):
        with Receiver([200]) as rx, \
                Daemon("--video-preset", LONG_PRESET,
                       *hook_flags(rx)) as kadr:
            media_id = self.upload_running(kadr)
            proc = kadrctl(kadr.data, "rm", media_id)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            removed_at = time.monotonic()
            poll(lambda: re.search(stopped_pattern(media_id),
                                   kadr.log_text()))
            self.assertLess(time.monotonic() - removed_at, RM_STOP_LIMIT_S)
            self.assert_stopped_silently(kadr, rx, media_id)
            self.assertEqual(kadr.metrics()[DONE], 0)
            self.assert_no_jobs(kadr)
            # The transcode stopped before 720.mp4 was staged, so no
            # needle waits past the indexed end of a volume.
            self.assertEqual(volumes_past_indexed_end(kadr.data), [])
            self.assertEqual(kadr.tmp_files(), [])

    def test_delete_queued_job_is_silent(self):
        with Receiver([200]) as rx, \
                Daemon("--video-preset", LONG_PRESET, "--video-workers",
                       "1", *hook_flags(rx)) as kadr:
            running_id = self.upload_running(kadr)
            queued_id = self.upload_queued(kadr)
            self.assertEqual(kadr.metrics()[QUEUED], 1)
            self.delete(kadr, queued_id)
            self.delete(kadr, running_id)
            self.assert_stopped_silently(kadr, rx, queued_id)
            self.assert_stopped_silently(kadr, rx, running_id)
            self.assertEqual(kadr.metrics()[DONE], 0)
            self.assert_no_jobs(kadr)

    def test_access_toggle_queues_one_teaser(self):
        with Receiver([200]) as rx, \
                Daemon("--video-preset", LONG_PRESET, "--video-workers",
                       "1", "--video-teaser-s", str(TEASER_S),
                       *hook_flags(rx)) as kadr:
            media_id = self.upload_queued(kadr)
            self.assertEqual(kadr.wait_ready(media_id)["status"], "ready")
            running_id = self.upload_running(kadr)
            for i in range(2 * TOGGLES + 1):
                access = "paid" if i % 2 == 0 else "public"
                resp = kadr.request("PATCH", "/v1/media/" + media_id,
                                    body=json.dumps({"access": access}),
                                    key=True)
                self.assertEqual(resp.status, 200, resp.body)
                self.assertEqual(resp.json()["access"], access)
            self.assertEqual(kadr.metrics()[QUEUED], 1)
            self.delete(kadr, running_id)
            poll(lambda: kadr.variant(media_id, "teaser.mp4").status == 200)
            doc = kadr.media(media_id, key=True).json()
            self.assertEqual(doc["status"], "ready")
            names = sorted(v["name"] for v in doc["variants"])
            self.assertEqual(names, ["720.mp4", "poster.jpg", "poster.webp",
                                     "preview.jpg", "teaser.mp4"])
            # media.ready went out once, at the upload: the teaser added
            # to the ready video sends none.
            self.assertEqual(self.hook_ids(kadr, rx), [media_id])
            log = kadr.log_text()
            self.assertEqual(len(re.findall(r"event=job\.done media=%s "
                                            % media_id, log)), 2)
            self.assertEqual(kadr.metrics()[DONE], 2)
            self.assertEqual(kadr.metrics()[FAILED], 0)
            self.assert_no_jobs(kadr)

    def test_wait_upload_sends_one_event(self):
        with Receiver([200]) as rx, Daemon(*hook_flags(rx)) as kadr:
            resp = kadr.upload_file(self.short_path, "?wait=1")
            self.assertEqual(resp.status, 201, resp.body)
            doc = resp.json()
            self.assertEqual(doc["status"], "ready")
            # The job's media.ready only, not a second one from the reply.
            self.assertEqual(self.hook_ids(kadr, rx), [doc["id"]])

    def test_failed_teaser_keeps_video_ready(self):
        with Receiver([200]) as rx, \
                Daemon("--video-teaser-s", str(TEASER_S),
                       *hook_flags(rx)) as kadr:
            media_id = self.upload_queued(kadr)
            self.assertEqual(kadr.wait_ready(media_id)["status"], "ready")
            before = kadr.variant(media_id, "720.mp4")
            self.assertEqual(before.status, 200)
            # Zeroed bytes where the volume keeps the original: the
            # teaser made after the switch to paid cannot decode them.
            zero_in_volumes(kadr.data, read_bytes(self.short_path))
            resp = kadr.request("PATCH", "/v1/media/" + media_id,
                                body=json.dumps({"access": "paid"}),
                                key=True)
            self.assertEqual(resp.status, 200, resp.body)
            poll(lambda: re.search(r"event=job\.failed media=%s .*"
                                   r"kept_ready=1" % media_id,
                                   kadr.log_text()))
            doc = kadr.media(media_id, key=True).json()
            self.assertEqual(doc["status"], "ready")
            self.assertNotIn("error", doc)
            names = sorted(v["name"] for v in doc["variants"])
            self.assertEqual(names, ["720.mp4", "poster.jpg", "poster.webp",
                                     "preview.jpg"])
            after = kadr.variant(media_id, "720.mp4", key=True)
            self.assertEqual(after.status, 200)
            self.assertEqual(after.body, before.body)
            # Only the upload's media.ready: no media.failed follows.
            self.assertEqual(self.hook_ids(kadr, rx), [media_id])
            self.assertEqual(kadr.metrics()[FAILED], 1)
            poll(lambda: kadrctl_json(kadr.data, "stat")[1]["jobs"] == 0)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def zero_in_volumes(data_dir, payload):
    """Overwrites payload with zeros where a volume stores it."""
    folder = os.path.join(data_dir, "volumes")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "r+b") as f:
            at = f.read().find(payload)
            if at < 0:
                continue
            f.seek(at)
            f.write(bytes(len(payload)))
            return
    raise AssertionError("payload not found in any volume")


if __name__ == "__main__":
    main()
