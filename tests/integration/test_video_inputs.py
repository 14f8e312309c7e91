"""Video inputs phones and cameras produce, each generated with the ffmpeg
CLI, uploaded, and its 720.mp4 checked with ffprobe."""

import subprocess
import tempfile
import unittest

from kadr_harness import (Daemon, corpus, ffprobe, ffprobe_bytes,
                          gray_thumbnail, main, mean_abs_diff, read_file)
from video_clips import (ClipFolder, check_rendition, ffmpeg, sine,
                         streams_by_type, testsrc)

# Mean gray difference (0..255) on a 16x16 thumbnail under which two
# frames show the same picture the same way up. Turned test patterns
# differ by 40 or more.
SAME_PICTURE_MAX_DIFF = 16

# The marker clip: a black 320x240 frame with a white bar along the left
# half of the top edge, which lands on a different edge and corner under
# each of the eight mirror and quarter-turn combinations.
MARKER_SOURCE = ("color=c=black:size=320x240:rate=30:duration=1,"
                 "drawbox=x=0:y=0:w=160:h=24:color=white:t=fill")
# Gray level (0..255) over which a pixel counts as part of the marker.
MARKER_LEVEL = 128
# Pixels the marker's edges may move through scaling and compression.
MARKER_SLACK = 3
ONE = 0x10000  # 1.0 in 16.16 fixed point
W_ONE = 0x40000000  # 1.0 in 2.30 fixed point

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
X265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
        "log-level=error"]
AAC = ["-c:a", "aac", "-b:a", "96k"]


def input_table(clips):
    """Returns (name, path, has_audio, expected display size or None)."""
    srt = clips.path("captions.srt")
    with open(srt, "w") as f:
        f.write("1\n00:00:00,000 --> 00:00:01,000\ncaption\n")
    plain = clips.make("plain.mp4", *testsrc(), *X264)
    return [
        ("h264_aac_mp4", clips.make(
            "h264.mp4", *testsrc(), *sine(), *X264, "-profile:v", "high",
            *AAC), True, (320, 240)),
        ("h264_mov_moov_at_end", clips.make(
            "moov-end.mov", *testsrc(), *sine(rate=44100, layout="mono"),
            *X264, *AAC), True, (320, 240)),
        ("hevc_8bit_mp4", clips.make(
            "hevc8.mp4", *testsrc(), *sine(), *X265, "-pix_fmt", "yuv420p",
            "-tag:v", "hvc1", *AAC), True, (320, 240)),
        ("hevc_10bit_mkv", clips.make(
            "hevc10.mkv", *testsrc(), *sine(), *X265, "-pix_fmt",
            "yuv420p10le", "-c:a", "libopus"), True, (320, 240)),
        ("vp8_webm", clips.make(
            "vp8.webm", *testsrc(), *sine(), "-c:v", "libvpx", "-deadline",
            "realtime", "-c:a", "libvorbis"), True, (320, 240)),
        ("vp9_webm", clips.make(
            "vp9.webm", *testsrc(), *sine(), "-c:v", "libvpx-vp9",
            "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"),
         True, (320, 240)),
        ("av1_mp4", clips.make(
            "av1.mp4", *testsrc(), *sine(), "-c:v", "libsvtav1", *AAC),
         True, (320, 240)),
        ("av1_mkv", clips.make(
            "av1.mkv", *testsrc(), "-c:v", "libaom-av1", "-cpu-used", "8"),
         False, (320, 240)),
        ("odd_size_1081x1921", clips.make(
            "odd.webm", *testsrc(size="1082x1922"), "-vf",
            "format=yuv444p,crop=1081:1921,format=yuv420p", "-c:v",
            "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
         False, (720, 1280)),
        ("variable_frame_rate", clips.make(
            "vfr.mkv", *testsrc(seconds=2), "-vf",
            "setpts='(N+if(gt(N,20),N,0))/30/TB'", "-fps_mode", "vfr",
            *X264), False, (320, 240)),
        ("no_audio", plain, False, (320, 240)),
        ("anamorphic_sar_4_3", clips.make(
            "anamorphic.mp4", *testsrc(), "-vf", "setsar=4/3", *X264),
         False, (426, 240)),
        ("mono_22050", clips.make(
            "mono.mp4", *testsrc(), *sine(rate=22050, layout="mono"), *X264,
            *AAC), True, (320, 240)),
        ("stereo_44100", clips.make(
            "stereo.mp4", *testsrc(), *sine(rate=44100), *X264, *AAC),
         True, (320, 240)),
        ("surround_5_1_96000", clips.make(
            "surround.mkv", *testsrc(), *sine(rate=96000, layout="5.1"),
            *X264, "-c:a", "flac"), True, (320, 240)),
        ("subtitle_stream_mp4", clips.make(
            "subtitles.mp4", *testsrc(), *sine(), "-i", srt, *X264, *AAC,
            "-c:s", "mov_text", "-map", "0", "-map", "1", "-map", "2"),
         True, (320, 240)),
        ("subtitle_stream_mkv", clips.make(
            "subtitles.mkv", *testsrc(), "-i", srt, *X264, "-c:s", "srt",
            "-map", "0", "-map", "1"), False, (320, 240)),
        ("timecode_data_stream", clips.make(
            "timecode.mov", *testsrc(), *sine(), *X264, *AAC, "-timecode",
            "01:00:00:00"), True, (320, 240)),
        ("rotated_90", clips.rotate("r90.mp4", plain, 90), False,
         (240, 320)),
        ("rotated_180", clips.rotate("r180.mp4", plain, 180), False,
         (320, 240)),
        ("rotated_270", clips.rotate("r270.mp4", plain, 270), False,
         (240, 320)),
    ]


def cli_first_frame(path):
    """Returns the first frame as the ffmpeg CLI shows it (rotation
    applied), as a gray thumbnail."""
    return gray_thumbnail(read_file(path))


class VideoInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.clips = ClipFolder()
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)
        cls.clips.close()

    def upload_ready(self, path):
        resp = self.kadr.upload_file(path, "?wait=1")
        self.assertEqual(resp.status, 201, resp.body)
        doc = resp.json()
        if doc["status"] == "processing":
            doc = self.kadr.wait_ready(doc["id"])
        self.assertEqual(doc["status"], "ready", doc)
        return doc

    def rendition(self, doc):
        resp = self.kadr.variant(doc["id"], "720.mp4")
        self.assertEqual(resp.status, 200)
        return resp.body

    def check_input(self, path, has_audio, size):
        doc = self.upload_ready(path)
        mp4 = self.rendition(doc)
        probe = check_rendition(self, mp4, audio=has_audio)
        video = streams_by_type(probe)["video"]
        if size is not None:
            self.assertEqual((video["width"], video["height"]), size)
        diff = mean_abs_diff(gray_thumbnail(mp4), cli_first_frame(path))
        self.assertLess(diff, SAME_PICTURE_MAX_DIFF)
        return doc, mp4

    def test_generated_inputs(self):
        for name, path, has_audio, size in input_table(self.clips):
            with self.subTest(name):
                self.check_input(path, has_audio, size)

    def test_variable_frame_rate_keeps_timing(self):
        path = self.clips.make(
            "vfr-timing.mkv", *testsrc(seconds=2), "-vf",
            "setpts='(N+if(gt(N,20),N,0))/30/TB'", "-fps_mode", "vfr",
            *X264)
        _, mp4 = self.check_input(path, False, (320, 240))
        out = self.clips.path("vfr-out.mp4")
        with open(out, "wb") as f:
            f.write(mp4)
        self.assertEqual(count_frames(out), count_frames(path))
        self.assertAlmostEqual(float(ffprobe(out)["format"]["duration"]),
                               float(ffprobe(path)["format"]["duration"]),
                               delta=0.1)

    def test_default_audio_track_is_used(self):
        path = self.clips.make(
            "two-tracks.mkv", *testsrc(), "-f", "lavfi", "-i",
            "anullsrc=sample_rate=48000:channel_layout=stereo", *sine(),
            "-map", "0", "-map", "1", "-map", "2", "-t", "1", *X264,
            "-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1",
            "default")
        _, mp4 = self.check_input(path, True, (320, 240))
        out = self.clips.path("two-tracks-out.mp4")
        with open(out, "wb") as f:
            f.write(mp4)
        self.assertGreater(mean_volume_db(out), -40.0)

    def test_mirrored_display_matrix(self):
        """A mirrored display matrix is applied as players apply it: the
        marker bar lands where the matrix puts it, in 720.mp4 and in the
        poster."""
        plain = self.clips.make("marker.mp4", "-f", "lavfi", "-i",
                                MARKER_SOURCE, *X264)
        cases = [
            # name, matrix (a, b, c, d), output size, marker box
            ("mirror", (-ONE, 0, 0, ONE), (320, 240), (160, 0, 319, 23)),
            ("mirror_then_90", (0, ONE, ONE, 0), (240, 320),
             (0, 0, 23, 159)),
            ("mirror_then_180", (ONE, 0, 0, -ONE), (320, 240),
             (0, 216, 159, 239)),
            ("mirror_then_270", (0, -ONE, -ONE, 0), (240, 320),
             (216, 160, 239, 319)),
        ]
        for name, (a, b, c, d), size, box in cases:
            with self.subTest(name):
                path = self.clips.with_matrix(
                    name + ".mp4", plain, (a, b, 0, c, d, 0, 0, 0, W_ONE))
                doc, mp4 = self.check_input(path, False, size)
                self.assertEqual((doc["width"], doc["height"]), size)
                poster = self.kadr.variant(doc["id"], "poster.jpg")
                self.assertEqual(poster.status, 200)
                for variant, data, suffix in (("720.mp4", mp4, ".mp4"),
                                              ("poster.jpg", poster.body,
                                               ".jpg")):
                    width, height, found = marker_box(data, suffix)
                    self.assertEqual((width, height), size, variant)
                    for edge, (got, want) in enumerate(zip(found, box)):
                        self.assertLessEqual(abs(got - want), MARKER_SLACK,
                                             (variant, edge, found, box))

    def test_corpus_videos(self):
        for name, has_audio, size in (
                ("video/phone-rotated-moov-at-end.mov", True, (720, 1280)),
                ("video/music-clip.webm", True, (480, 270)),
                ("tiny/webm.webm", False, (8, 8))):
            with self.subTest(name):
                self.check_input(corpus(name), has_audio, size)


def marker_box(data, suffix):
    """Decodes the first frame of an image or video to gray pixels at its
    own size and returns (width, height, box) where box is (left, top,
    right, bottom) of the pixels brighter than MARKER_LEVEL."""
    probe = ffprobe_bytes(data, suffix)
    video = streams_by_type(probe)["video"]
    width, height = video["width"], video["height"]
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        gray = subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", f.name,
             "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            check=True, capture_output=True, timeout=120).stdout
    bright = [i for i, level in enumerate(gray) if level > MARKER_LEVEL]
    xs = [i % width for i in bright]
    ys = [i // width for i in bright]
    return width, height, (min(xs), min(ys), max(xs), max(ys))


def count_frames(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-count_frames",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
        check=True, capture_output=True, timeout=120).stdout
    return int(out.strip())


def mean_volume_db(path):
    """Returns ffmpeg's volumedetect mean volume of path's audio in dB."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", path, "-map", "0:a", "-af",
         "volumedetect", "-f", "null", "-"],
        check=True, capture_output=True, timeout=120)
    for line in result.stderr.decode().splitlines():
        if "mean_volume:" in line:
            return float(line.split("mean_volume:")[1].split()[0])
    raise AssertionError("volumedetect printed no mean volume")


if __name__ == "__main__":
    main()
