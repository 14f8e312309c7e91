"""Video limits and bad input, the transcode time limit, progress in the
media JSON, cancel on DELETE, image uploads during a long transcode,
what ?wait=1 returns for a video that fails or is deleted, a switch to
paid during a transcode, and the bound on runs that stop kadrd."""

import json
import os
import re
import threading
import time
import unittest

from kadr_harness import Daemon, corpus, main, read_file
from store_checks import kadrctl, kadrctl_json
from video_clips import ClipFolder, sine, testsrc

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "96k"]
# A clip that takes several seconds to transcode at preset "slow" on any
# machine that runs the suite, so that progress, DELETE and image uploads
# happen while it runs.
LONG_CLIP_S = 30
LONG_PRESET = "slow"
POLL_S = 0.05
WAIT_LIMIT_S = 120
TEASER_S = 2
NO_VIDEO_DETAIL = "no video stream"


def long_clip(clips):
    return clips.make("long.mp4", *testsrc(size="640x360",
                                           seconds=LONG_CLIP_S),
                      *sine(seconds=LONG_CLIP_S), *X264, *AAC)


def poll(check, limit_s=WAIT_LIMIT_S):
    """Calls check until it returns a true value and returns that."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError("condition not met in %d s" % limit_s)


class VideoLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.max_bytes = 150000
        cls.kadr = Daemon("--video-max-duration-s", "2",
                          "--video-max-width", "400",
                          "--video-max-height", "400",
                          "--video-max-fps", "31",
                          "--video-max-file-bytes",
                          str(cls.max_bytes)).start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)
        cls.clips.close()

    def assert_rejected(self, path, status, error):
        resp = self.kadr.upload_file(path, "?wait=1")
        self.assertEqual(resp.status, status, resp.body)
        self.assertEqual(resp.json()["error"], error)

    def test_within_limits_is_ready(self):
        path = self.clips.make("small.mp4", *testsrc(), *X264)
        resp = self.kadr.upload_file(path, "?wait=1")
        self.assertEqual(resp.status, 201, resp.body)
        self.assertEqual(resp.json()["status"], "ready")

    def test_limits_from_header(self):
        small = X264 + ["-crf", "40"]
        big = self.clips.make("big-file.mkv", *testsrc(), "-c:v", "ffv1")
        self.assertGreater(os.path.getsize(big), self.max_bytes)
        cases = [
            ("duration", self.clips.make("long.mp4", *testsrc(seconds=3),
                                         *small)),
            ("width", self.clips.make("wide.mp4", *testsrc(size="640x240"),
                                      *small)),
            ("height", self.clips.make("tall.mp4", *testsrc(size="240x640"),
                                       *small)),
            ("frame_rate", self.clips.make("fast.mp4", *testsrc(rate=60),
                                           *small)),
            ("file_size", big),
        ]
        for name, path in cases:
            with self.subTest(name):
                if name != "file_size":
                    self.assertLess(os.path.getsize(path), self.max_bytes)
                self.assert_rejected(path, 422, "media_over_limit")

    def test_duration_limit_without_header(self):
        # A live Matroska file states no duration: the transcode stops
        # once its packets pass video_max_duration_s (2 s here).
        live = self.clips.make("live.mkv", *testsrc(size="160x120",
                                                    seconds=5),
                               *X264, "-crf", "40", "-live", "1")
        self.assertLess(os.path.getsize(live), self.max_bytes)
        resp = self.kadr.upload_file(live, "?wait=1")
        self.assertEqual(resp.status, 422, resp.body)
        self.assertEqual(resp.json()["error"], "media_over_limit")
        self.assertEqual(resp.json()["media"]["status"], "failed")
        self.assertEqual(resp.json()["media"]["error"],
                         "over a configured limit")
        self.assertEqual(resp.json()["media"]["variants"], [])

    def test_audio_only_is_unsupported(self):
        audio = self.clips.make("audio.m4a", *sine(), *AAC)
        for path in (audio, corpus("tiny/mp4-with-audio.mp4")):
            with self.subTest(os.path.basename(path)):
                self.assert_rejected(path, 415, "unsupported_media_type")

    def test_cover_picture_is_not_video(self):
        """Audio with a cover picture is an audio file: the picture,
        whether flagged as attached or carried as a one-frame video
        track, is not the video stream."""
        cover = self.clips.make("cover.png", "-f", "lavfi", "-i",
                                "color=red:size=64x64", "-frames:v", "1")
        audio = sine(seconds=2)
        cases = [
            ("cover.mkv", ["-c:a", "libopus", "-c:v", "png"]),
            ("cover-mjpeg.mkv", ["-c:a", "libopus", "-c:v", "mjpeg"]),
            ("cover.mp4", AAC + ["-c:v", "png"]),
        ]
        for name, codecs in cases:
            with self.subTest(name):
                path = self.clips.make(name, *audio, "-i", cover, "-map",
                                       "0", "-map", "1", *codecs,
                                       "-disposition:v", "attached_pic")
                resp = self.kadr.upload_file(path, "?wait=1")
                self.assertEqual(resp.status, 415, resp.body)
                self.assertEqual(resp.json()["error"],
                                 "unsupported_media_type")
                self.assertEqual(resp.json()["detail"], NO_VIDEO_DETAIL)

    def test_picture_codec_video_is_video(self):
        """A video track in a picture codec with many frames stays a
        video."""
        cases = [("frames-png.mkv", "png"), ("frames-mjpeg.mkv", "mjpeg")]
        for name, codec in cases:
            with self.subTest(name):
                path = self.clips.make(name, *testsrc(size="64x48",
                                                      rate=10),
                                       *sine(), "-c:v", codec, "-c:a",
                                       "libopus")
                resp = self.kadr.upload_file(path, "?wait=1")
                self.assertEqual(resp.status, 201, resp.body)
                doc = resp.json()
                self.assertEqual(doc["status"], "ready", doc)
                self.assertEqual((doc["width"], doc["height"]), (64, 48))
                self.assertAlmostEqual(doc["duration"], 1.0, delta=0.1)

    def test_unreadable_header_is_422(self):
        clip = read_file(self.clips.make("whole.mp4", *testsrc(), *X264))
        garbage = self.clips.path("garbage.mp4")
        with open(garbage, "wb") as f:
            f.write(clip[:32] + bytes(range(256)) * 64)
        moov_end_cut = self.clips.path("moov-end-cut.mp4")
        with open(moov_end_cut, "wb") as f:
            f.write(clip[:len(clip) // 2])
        for path in (garbage, moov_end_cut):
            with self.subTest(os.path.basename(path)):
                self.assert_rejected(path, 422, "corrupt_media")

    def test_truncated_body_fails_record(self):
        whole = self.clips.make("faststart.mp4", *testsrc(seconds=2),
                                *X264, "-movflags", "+faststart")
        data = read_file(whole)
        cut = self.clips.path("cut.mp4")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 3])
        resp = self.kadr.upload_file(cut)
        self.assertEqual(resp.status, 201, resp.body)
        doc = self.kadr.wait_ready(resp.json()["id"])
        self.assertEqual(doc["status"], "failed", doc)
        self.assertEqual(doc["error"], "corrupt or truncated media")
        self.assertEqual(self.kadr.variant(doc["id"], "720.mp4").status, 404)


def cut_copy(clips, source, name, share):
    """Writes the first share (0 to 1) of source's bytes to a clip."""
    data = read_file(source)
    path = clips.path(name)
    with open(path, "wb") as f:
        f.write(data[:int(len(data) * share)])
    return path


class VideoWaitTest(unittest.TestCase):
    """?wait=1 returns how the job ended, not only that it ended."""

    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)
        cls.clips.close()

    def check_failed_reply(self, path):
        resp = self.kadr.upload_file(path, "?wait=1")
        self.assertEqual(resp.status, 422, resp.body)
        body = resp.json()
        self.assertEqual(body["error"], "corrupt_media")
        self.assertEqual(body["detail"], "corrupt or truncated media")
        media = body["media"]
        self.assertEqual(media["status"], "failed")
        self.assertEqual(media["error"], "corrupt or truncated media")
        self.assertEqual(media["kind"], "video")
        # The record stays, so the reply names it.
        doc = self.kadr.media(media["id"]).json()
        self.assertEqual(doc["status"], "failed")
        self.assertEqual(self.kadr.variant(media["id"], "720.mp4").status,
                         404)

    def test_truncated_corpus_video_is_422(self):
        # The header is whole, the packets stop at 30 % of the duration.
        cut = cut_copy(self.clips, corpus("video/music-clip.webm"),
                       "music-cut.webm", 0.3)
        self.check_failed_reply(cut)

    def test_truncated_generated_video_is_422(self):
        whole = self.clips.make("faststart.mp4", *testsrc(seconds=4),
                                *X264, "-movflags", "+faststart")
        self.check_failed_reply(cut_copy(self.clips, whole, "cut.mp4", 0.3))

    def test_ready_video_is_201(self):
        path = self.clips.make("whole.mp4", *testsrc(), *X264)
        resp = self.kadr.upload_file(path, "?wait=1")
        self.assertEqual(resp.status, 201, resp.body)
        self.assertEqual(resp.json()["status"], "ready")


class VideoRunningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.long_path = long_clip(cls.clips)

    @classmethod
    def tearDownClass(cls):
        cls.clips.close()

    def upload_running(self, kadr):
        """Uploads the long clip and returns its id once it transcodes."""
        resp = kadr.upload_file(self.long_path)
        self.assertEqual(resp.status, 201, resp.body)
        media_id = resp.json()["id"]
        poll(lambda: kadr.media(media_id).json().get("progress", 0) > 0)
        return media_id

    def test_progress_rises_while_running(self):
        with Daemon("--video-preset", LONG_PRESET) as kadr:
            media_id = self.upload_running(kadr)
            seen = []

            def record():
                doc = kadr.media(media_id).json()
                if doc["status"] != "processing":
                    return doc
                seen.append(doc["progress"])
                return None

            doc = poll(record)
            self.assertEqual(doc["status"], "ready", doc)
            self.assertNotIn("progress", doc)
            self.assertTrue(seen)
            self.assertEqual(seen, sorted(seen))
            self.assertGreaterEqual(min(seen), 1)
            self.assertLessEqual(max(seen), 100)
            self.assertGreater(len(set(seen)), 2)

    def test_delete_stops_transcode(self):
        with Daemon("--video-preset", LONG_PRESET) as kadr:
            media_id = self.upload_running(kadr)
            resp = kadr.request("DELETE", "/v1/media/" + media_id, key=True)
            self.assertEqual(resp.status, 204)
            pattern = r"event=job\.stopped media=%s" % media_id
            poll(lambda: re.search(pattern, kadr.log_text()))
            self.assertEqual(kadr.media(media_id).status, 404)
            self.assertNotRegex(kadr.log_text(),
                                r"event=job\.done media=%s" % media_id)
            self.assertEqual(kadr.tmp_files(), [])

    def test_time_limit_fails_record(self):
        with Daemon("--video-preset", LONG_PRESET,
                    "--video-time-limit-s", "1") as kadr:
            resp = kadr.upload_file(self.long_path)
            self.assertEqual(resp.status, 201, resp.body)
            doc = kadr.wait_ready(resp.json()["id"], timeout_s=WAIT_LIMIT_S)
            self.assertEqual(doc["status"], "failed", doc)
            self.assertEqual(doc["error"], "timed out")

    def test_delete_ends_wait_with_404(self):
        with Daemon("--video-preset", LONG_PRESET) as kadr:
            reply = {}

            def send():
                reply["resp"] = kadr.upload_file(self.long_path, "?wait=1")

            sender = threading.Thread(target=send)
            sender.start()
            try:
                media_id = poll(lambda: running_media(kadr))
                resp = kadr.request("DELETE", "/v1/media/" + media_id,
                                    key=True)
                self.assertEqual(resp.status, 204)
                deleted_at = time.monotonic()
            finally:
                sender.join(WAIT_LIMIT_S)
            self.assertFalse(sender.is_alive())
            # The reply comes when the transcode stops, long before
            # wait_timeout_ms.
            self.assertLess(time.monotonic() - deleted_at, 10)
            resp = reply["resp"]
            self.assertEqual(resp.status, 404, resp.body)
            self.assertEqual(resp.json()["error"], "not_found")
            self.assertEqual(kadr.media(media_id).status, 404)

    def test_paid_switch_while_processing(self):
        with Daemon("--video-preset", LONG_PRESET, "--video-teaser-s",
                    str(TEASER_S)) as kadr:
            media_id = self.upload_running(kadr)
            resp = kadr.request("PATCH", "/v1/media/" + media_id,
                                body=json.dumps({"access": "paid"}),
                                key=True)
            self.assertEqual(resp.status, 200, resp.body)
            self.assertEqual(resp.json()["status"], "processing")
            teaser = poll(lambda: ok_body(kadr.variant(media_id,
                                                       "teaser.mp4")))
            doc = kadr.media(media_id, key=True).json()
            self.assertEqual(doc["status"], "ready")
            names = sorted(v["name"] for v in doc["variants"])
            self.assertEqual(names, ["720.mp4", "poster.jpg", "poster.webp",
                                     "preview.jpg", "teaser.mp4"])
            sizes = {v["name"]: v["size"] for v in doc["variants"]}
            self.assertEqual(sizes["teaser.mp4"], len(teaser))
            self.assertEqual(kadr.variant(media_id, "720.mp4").status, 403)
            # The run that made 720.mp4 saw the switch at its commit and
            # ran the job once more for the teaser alone.
            self.assertRegex(kadr.log_text(), r"event=job\.done media=%s "
                             r"job=\d+ ms=\d+ teaser_next=1" % media_id)
            poll(lambda: kadrctl_json(kadr.data, "stat")[1]["jobs"] == 0)
            code, result = kadrctl_json(kadr.data, "verify")
            self.assertEqual(code, 0, result)

    def test_killed_runs_fail_media(self):
        """A run that ends kadrd counts as a try. After job_max_tries
        such runs the next start marks the media failed instead of
        running it again."""
        tries = 3
        with Daemon("--video-preset", LONG_PRESET, "--job-max-tries",
                    str(tries)) as kadr:
            media_id = self.upload_running(kadr)
            for _ in range(tries - 1):
                kadr.kill()
                kadr.start()
                poll(lambda: kadr.media(media_id).json().get("progress",
                                                             0) > 0)
            kadr.kill()
            kadr.start()
            doc = poll(lambda: finished(kadr, media_id))
            self.assertEqual(doc["status"], "failed", doc)
            self.assertEqual(doc["error"], "kadrd stopped during each of "
                             "3 tries to process this video")
            self.assertNotIn("progress", doc)
            self.assertEqual(kadr.variant(media_id, "720.mp4").status, 404)
            code, stat = kadrctl_json(kadr.data, "stat")
            self.assertEqual(code, 0)
            self.assertEqual(stat["jobs"], 0)
            self.assertRegex(kadr.log_text(),
                             r"event=job\.failed media=%s job=\d+ tries=3 "
                             r"retry=0" % media_id)
            # The last start did not run the transcode.
            log = kadr.log_text()
            last_start = log.rindex("event=server.listening")
            self.assertNotIn("event=job.done", log[last_start:])

    def test_image_ready_during_transcode(self):
        with Daemon("--video-preset", LONG_PRESET) as kadr:
            media_id = self.upload_running(kadr)
            photo = kadr.upload_file(corpus("photos/camera-canon-40d.jpg"))
            self.assertEqual(photo.status, 201, photo.body)
            self.assertEqual(photo.json()["status"], "ready")
            self.assertEqual(kadr.media(media_id).json()["status"],
                             "processing")


def running_media(kadr):
    """Returns the id of the only media kadrd stores, once its transcode
    shows progress. kadrctl ls --json prints one record a line."""
    proc = kadrctl(kadr.data, "--json", "ls")
    lines = proc.stdout.decode().split()
    if proc.returncode != 0 or len(lines) != 1:
        return None
    media_id = json.loads(lines[0])["id"]
    if kadr.media(media_id).json().get("progress", 0) > 0:
        return media_id
    return None


def ok_body(resp):
    return resp.body if resp.status == 200 else None


def finished(kadr, media_id):
    doc = kadr.media(media_id).json()
    return doc if doc["status"] != "processing" else None


if __name__ == "__main__":
    main()
