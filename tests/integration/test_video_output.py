"""What a 720.mp4 and its posters must be: audio and video in sync,
keyframes every 2 s, timestamps from zero, remux of ready MP4s, HDR tone
mapping, posters past black frames and at the size of 720.mp4, the
duration of a file whose header states none, and the teaser of a paid
video, also of one made paid after it was ready."""

import json
import statistics
import subprocess
import time
import unittest
import urllib.parse

from kadr_harness import (Daemon, corpus, ffprobe, gray_thumbnail,
                          image_dims, main, mean_abs_diff, top_level_atoms)
from store_checks import kadrctl_json
from test_paid import KEYS, mint
from video_clips import (FFMPEG_TIMEOUT_S, ClipFolder, check_rendition,
                         keyframe_times, sine, streams_by_type, testsrc)

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "96k"]
FPS = 30
FRAME_S = 1.0 / FPS
TEASER_S = 2
# Mean luma (0..255) over which a video frame counts as the flash.
FLASH_LUMA = 128
# Sample value (of 32767) over which the audio counts as the beep; the
# lavfi sine source peaks at 4096.
BEEP_LEVEL = 2000
# Mean gray difference (0..255) of two 16x16 thumbnails of the same
# picture after tone mapping; untone-mapped PQ differs by 38.
TONE_MAPPED_MAX_DIFF = 26
# Seconds a teaser made after a switch to paid may take to appear.
TEASER_WAIT_S = 120
# How far the duration of a media record may be from its clip's length.
DURATION_DELTA_S = 0.1


def sync_clip_args(seconds=4, flash_at=2.0):
    """A black clip with a one-frame white flash and a 50 ms 1 kHz beep
    that both start at flash_at seconds."""
    video = ("color=c=black:size=320x240:rate=%d:duration=%s,"
             "drawbox=color=white:t=fill:enable='between(t,%s,%s)'"
             % (FPS, seconds, flash_at, flash_at + FRAME_S / 2))
    audio = ("sine=frequency=1000:sample_rate=44100:duration=%s,"
             "volume=volume=0:enable='not(between(t,%s,%s))'"
             % (seconds, flash_at, flash_at + 0.05))
    return ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio]


def flash_time(path):
    """Returns the pts time of the first frame brighter than FLASH_LUMA."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "-i",
         "movie=%s,signalstats" % path, "-show_entries",
         "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of",
         "csv=p=0"], check=True, capture_output=True,
        timeout=FFMPEG_TIMEOUT_S).stdout.decode()
    for line in out.split():
        pts, luma = line.split(",")[:2]
        if float(luma) > FLASH_LUMA:
            return float(pts)
    raise AssertionError("no flash in " + path)


def beep_time(path):
    """Returns the time of the first audio sample louder than BEEP_LEVEL,
    counted from the audio stream's start time."""
    start = float(streams_by_type(ffprobe(path))["audio"]["start_time"])
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a",
         "-ac", "1", "-ar", "48000", "-f", "s16le", "-"], check=True,
        capture_output=True, timeout=FFMPEG_TIMEOUT_S).stdout
    for i in range(0, len(pcm) - 1, 2):
        sample = int.from_bytes(pcm[i:i + 2], "little", signed=True)
        if abs(sample) > BEEP_LEVEL:
            return start + i / 2 / 48000
    raise AssertionError("no beep in " + path)


def packet_sizes(path, stream):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream,
         "-show_entries", "packet=size", "-of", "csv=p=0", path],
        check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S).stdout
    return out.split()


class VideoOutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.kadr = Daemon("--video-teaser-s", str(TEASER_S),
                          "--token-keys", KEYS).start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)
        cls.clips.close()

    def upload_ready(self, path, query="?wait=1"):
        resp = self.kadr.upload_file(path, query)
        self.assertEqual(resp.status, 201, resp.body)
        doc = resp.json()
        if doc["status"] == "processing":
            doc = self.kadr.wait_ready(doc["id"])
        self.assertEqual(doc["status"], "ready", doc)
        return doc

    def fetch(self, doc, name, **kw):
        resp = self.kadr.variant(doc["id"], name, **kw)
        self.assertEqual(resp.status, 200, (name, resp.body[:200]))
        return resp.body

    def save(self, name, data):
        path = self.clips.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_flash_and_beep_stay_in_sync(self):
        for container, audio in (("mov", AAC), ("mkv", ["-c:a", "libopus"]),
                                 ("webm", ["-c:a", "libvorbis"])):
            with self.subTest(container):
                codec = (["-c:v", "libvpx-vp9", "-deadline", "realtime"]
                         if container == "webm" else X264)
                src = self.clips.make("sync." + container, *sync_clip_args(),
                                      *codec, *audio)
                self.assertAlmostEqual(flash_time(src), 2.0, delta=FRAME_S)
                self.assertAlmostEqual(beep_time(src), 2.0, delta=FRAME_S)
                mp4 = self.fetch(self.upload_ready(src), "720.mp4")
                out = self.save("sync-out-%s.mp4" % container, mp4)
                check_rendition(self, mp4)
                self.assertLessEqual(abs(flash_time(out) - beep_time(out)),
                                     FRAME_S)
                self.assertAlmostEqual(flash_time(out), 2.0, delta=FRAME_S)

    def test_keyframe_every_two_seconds(self):
        src = self.clips.make("gop.webm", *testsrc(seconds=7), "-c:v",
                              "libvpx-vp9", "-deadline", "realtime",
                              "-cpu-used", "8", "-g", "300")
        out = self.save("gop-out.mp4",
                        self.fetch(self.upload_ready(src), "720.mp4"))
        times = keyframe_times(out)
        self.assertEqual(times[0], 0.0)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(gaps, times)
        self.assertLessEqual(max(gaps), 2.0 + FRAME_S / 2, times)
        for second in (2.0, 4.0, 6.0):
            self.assertTrue(any(abs(t - second) < FRAME_S / 2
                                for t in times), (second, times))

    def test_late_start_becomes_zero(self):
        src = self.clips.make("late.mkv", *testsrc(seconds=2),
                              *sine(seconds=2),
                              *X264, *AAC, "-output_ts_offset", "10")
        self.assertGreater(float(ffprobe(src)["format"]["start_time"]), 9.0)
        doc = self.upload_ready(src)
        mp4 = self.fetch(doc, "720.mp4")
        probe = check_rendition(self, mp4)
        self.assertAlmostEqual(float(probe["format"]["duration"]), 2.0,
                               delta=0.1)

    def test_ready_mp4_is_remuxed(self):
        # ultrafast would give Constrained Baseline, which is re-encoded.
        src = self.clips.make("ready.mp4", *testsrc(seconds=2),
                              *sine(seconds=2), "-c:v", "libx264",
                              "-preset", "veryfast", "-pix_fmt", "yuv420p",
                              *AAC, "-ar", "48000", "-ac", "2")
        with open(src, "rb") as f:
            atoms = top_level_atoms(f.read())
        self.assertGreater(atoms.index("moov"), atoms.index("mdat"))
        out = self.save("ready-out.mp4",
                        self.fetch(self.upload_ready(src), "720.mp4"))
        with open(out, "rb") as f:
            check_rendition(self, f.read())
        self.assertEqual(packet_sizes(out, "v"), packet_sizes(src, "v"))
        self.assertEqual(packet_sizes(out, "a"), packet_sizes(src, "a"))

    def test_large_mp4_is_reencoded(self):
        src = self.clips.make("large.mp4", *testsrc(size="1920x1080"),
                              *sine(), *X264, "-profile:v", "high", *AAC)
        mp4 = self.fetch(self.upload_ready(src), "720.mp4")
        video = streams_by_type(check_rendition(self, mp4))["video"]
        self.assertEqual((video["width"], video["height"]), (1280, 720))

    def test_poster_skips_black_start(self):
        src = self.clips.make(
            "black-start.mp4", "-f", "lavfi", "-i",
            "color=c=black:size=320x240:rate=30:duration=1", *testsrc(),
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
            *X264)
        doc = self.upload_ready(src)
        poster = self.fetch(doc, "poster.jpg")
        self.assertEqual(image_dims(poster), (320, 240))
        self.assertGreater(statistics.mean(gray_thumbnail(poster)), 60)
        webp = self.fetch(doc, "poster.webp")
        self.assertEqual(image_dims(webp, ".webp"), (320, 240))
        self.assertGreater(statistics.mean(gray_thumbnail(webp)), 60)
        preview = self.fetch(doc, "preview.jpg")
        width, height = image_dims(preview)
        self.assertLessEqual(max(width, height), 64)
        sharp = gray_thumbnail(poster, size=32)
        soft = gray_thumbnail(preview, size=32)
        self.assertLess(statistics.pstdev(soft), statistics.pstdev(sharp))

    def variant_sizes(self, doc):
        return {v["name"]: (v["width"], v["height"])
                for v in doc["variants"]}

    def check_poster_sizes(self, src, mp4_size, preview_size):
        """Asserts that 720.mp4, both posters and the preview of src have
        exactly the given sizes, in the media JSON and in their bytes."""
        doc = self.upload_ready(src)
        self.assertEqual(self.variant_sizes(doc), {
            "720.mp4": mp4_size, "poster.jpg": mp4_size,
            "poster.webp": mp4_size, "preview.jpg": preview_size})
        video = streams_by_type(check_rendition(
            self, self.fetch(doc, "720.mp4"), audio=False))["video"]
        self.assertEqual((video["width"], video["height"]), mp4_size)
        self.assertEqual(image_dims(self.fetch(doc, "poster.jpg")), mp4_size)
        self.assertEqual(image_dims(self.fetch(doc, "poster.webp"), ".webp"),
                         mp4_size)
        self.assertEqual(image_dims(self.fetch(doc, "preview.jpg")),
                         preview_size)

    def test_posters_match_rendition_size(self):
        # The preview follows the image rule on the poster: 32 wide, or
        # the poster's width when narrower, and round(h * 32 / w) high.
        cases = [
            ("odd_1081x1921", testsrc(size="1082x1922", seconds=0.5)
             + ["-vf", "format=yuv444p,crop=1081:1921"], (720, 1280),
             (32, 57)),
            ("tall_16x7680", testsrc(size="16x7680", seconds=0.5),
             (2, 1280), (2, 1280)),
            ("wide_7680x16", testsrc(size="7680x16", seconds=0.5),
             (1280, 2), (32, 1)),
            ("full_hd_1920x1080", testsrc(size="1920x1080", seconds=0.5),
             (1280, 720), (32, 18)),
        ]
        for name, args, mp4_size, preview_size in cases:
            with self.subTest(name):
                src = self.clips.make(name + ".mkv", *args, "-c:v", "ffv1",
                                      "-pix_fmt", "yuv444p")
                video = streams_by_type(ffprobe(src))["video"]
                self.assertEqual("%dx%d" % (video["width"], video["height"]),
                                 name.split("_")[-1])
                self.check_poster_sizes(src, mp4_size, preview_size)

    def test_rotated_phone_posters_match_rendition(self):
        src = corpus("video/phone-rotated-moov-at-end.mov")
        doc = self.upload_ready(src)
        sizes = self.variant_sizes(doc)
        self.assertEqual(sizes["720.mp4"], (720, 1280))
        self.assertEqual(sizes["poster.jpg"], (720, 1280))
        self.assertEqual(sizes["poster.webp"], (720, 1280))
        self.assertEqual(sizes["preview.jpg"], (32, 57))
        self.assertEqual(image_dims(self.fetch(doc, "poster.jpg")),
                         (720, 1280))
        self.assertEqual(image_dims(self.fetch(doc, "poster.webp"), ".webp"),
                         (720, 1280))
        self.assertEqual(image_dims(self.fetch(doc, "preview.jpg")),
                         (32, 57))

    def check_duration(self, src, seconds):
        """Uploads src twice: the second upload of the same bytes takes
        every variant from the derivation cache. Both records must show
        the duration of the clip."""
        declared = ffprobe(src)["format"].get("duration", "0")
        self.assertEqual(float(declared), 0.0)
        ids = set()
        for upload in ("first", "cached"):
            with self.subTest(upload):
                doc = self.upload_ready(src)
                ids.add(doc["id"])
                self.assertAlmostEqual(doc["duration"], seconds,
                                       delta=DURATION_DELTA_S)
                stored = self.kadr.media(doc["id"]).json()
                self.assertEqual(stored["status"], "ready")
                self.assertAlmostEqual(stored["duration"], seconds,
                                       delta=DURATION_DELTA_S)
        self.assertEqual(len(ids), 2)

    def test_live_webm_gets_duration(self):
        src = self.clips.make_live("live.webm", *testsrc(seconds=3),
                                   *sine(seconds=3), "-c:v", "libvpx",
                                   "-deadline", "realtime", "-c:a",
                                   "libopus")
        self.check_duration(src, 3.0)

    def test_mp4_without_durations_gets_duration(self):
        plain = self.clips.make("durations.mp4", *testsrc(seconds=3),
                                *sine(seconds=3), *X264, *AAC)
        src = self.clips.without_durations("no-durations.mp4", plain)
        self.check_duration(src, 3.0)

    def test_hdr_is_tone_mapped(self):
        sdr = self.clips.make("sdr.mp4", *testsrc(), *X264)
        reference = gray_thumbnail(open(sdr, "rb").read())
        for transfer in ("smpte2084", "arib-std-b67"):
            with self.subTest(transfer):
                src = self.clips.make(
                    "hdr-%s.mp4" % transfer, *testsrc(), "-vf",
                    "format=yuv420p,zscale=tin=bt709:min=bt709:pin=bt709:"
                    "rin=tv:t=%s:p=bt2020:m=bt2020nc:r=tv:npl=100,"
                    "format=yuv420p10le" % transfer, "-c:v", "libx265",
                    "-x265-params",
                    "log-level=error:colorprim=bt2020:transfer=%s:"
                    "colormatrix=bt2020nc" % transfer, "-tag:v", "hvc1")
                doc = self.upload_ready(src)
                mp4 = self.fetch(doc, "720.mp4")
                video = streams_by_type(check_rendition(self, mp4,
                                                        audio=False))["video"]
                self.assertEqual(video["color_transfer"], "bt709")
                self.assertEqual(video["color_primaries"], "bt709")
                self.assertEqual(video["color_space"], "bt709")
                self.assertLess(mean_abs_diff(gray_thumbnail(mp4), reference),
                                TONE_MAPPED_MAX_DIFF)
                poster = self.fetch(doc, "poster.jpg")
                self.assertLess(mean_abs_diff(gray_thumbnail(poster),
                                              reference),
                                TONE_MAPPED_MAX_DIFF)

    def test_paid_video_gets_free_teaser(self):
        src = self.clips.make("paid.mp4", *testsrc(seconds=5),
                              *sine(seconds=5), *X264, *AAC)
        doc = self.upload_ready(src, "?wait=1&access=paid")
        names = [v["name"] for v in doc["variants"]]
        self.assertIn("teaser.mp4", names)
        teaser = self.kadr.variant(doc["id"], "teaser.mp4")
        self.assertEqual(teaser.status, 200)
        probe = check_rendition(self, teaser.body)
        self.assertAlmostEqual(float(probe["format"]["duration"]), TEASER_S,
                               delta=0.1)
        self.assertEqual(self.kadr.variant(doc["id"], "720.mp4").status, 403)
        full = self.fetch(doc, "720.mp4", key=True)
        self.assertAlmostEqual(
            float(ffprobe(self.save("paid-full.mp4", full))["format"]
                  ["duration"]), 5.0, delta=0.1)

    def wait_teaser(self, media_id):
        """Polls for teaser.mp4 without a token and returns its bytes."""
        deadline = time.monotonic() + TEASER_WAIT_S
        while time.monotonic() < deadline:
            resp = self.kadr.variant(media_id, "teaser.mp4")
            if resp.status == 200:
                return resp.body
            self.assertEqual(resp.status, 404, resp.body)
            time.sleep(0.1)
        raise AssertionError("no teaser.mp4 after %d s" % TEASER_WAIT_S)

    def test_teaser_after_paid_switch(self):
        src = self.clips.make("later-paid.mp4", *testsrc(seconds=5),
                              *sine(seconds=5), *X264, *AAC)
        doc = self.upload_ready(src)
        media_id = doc["id"]
        self.assertNotIn("teaser.mp4", [v["name"] for v in doc["variants"]])
        self.assertEqual(self.kadr.variant(media_id, "teaser.mp4").status,
                         404)
        full_before = self.fetch(doc, "720.mp4")

        resp = self.kadr.request("PATCH", "/v1/media/" + media_id,
                                 body=json.dumps({"access": "paid"}),
                                 key=True)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.json()["access"], "paid")

        teaser = self.wait_teaser(media_id)
        probe = check_rendition(self, teaser)
        self.assertAlmostEqual(float(probe["format"]["duration"]), TEASER_S,
                               delta=0.1)
        self.assertEqual(self.kadr.variant(media_id, "720.mp4").status, 403)
        token = urllib.parse.quote(mint(media_id), safe="")
        paid = self.kadr.request("GET", "/v1/media/%s/720.mp4?token=%s" %
                                 (media_id, token))
        self.assertEqual(paid.status, 200)
        self.assertEqual(paid.body, full_before)

        doc = self.kadr.media(media_id, key=True).json()
        self.assertEqual(doc["status"], "ready")
        sizes = {v["name"]: v["size"] for v in doc["variants"]}
        self.assertEqual(sorted(sizes), ["720.mp4", "poster.jpg",
                                         "poster.webp", "preview.jpg",
                                         "teaser.mp4"])
        self.assertEqual(sizes["teaser.mp4"], len(teaser))
        self.assertEqual(sizes["720.mp4"], len(full_before))
        # The outputs made before the switch keep one reference each.
        code, result = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, result)
        resp = self.kadr.request("DELETE", "/v1/media/" + media_id, key=True)
        self.assertEqual(resp.status, 204)
        code, result = kadrctl_json(self.kadr.data, "verify")
        self.assertEqual(code, 0, result)

    def test_public_video_has_no_teaser(self):
        src = self.clips.make("public.mp4", *testsrc(seconds=3), *X264)
        doc = self.upload_ready(src)
        names = [v["name"] for v in doc["variants"]]
        self.assertNotIn("teaser.mp4", names)
        self.assertEqual(sorted(names), ["720.mp4", "poster.jpg",
                                         "poster.webp", "preview.jpg"])


if __name__ == "__main__":
    main()
