"""Small videos made with the ffmpeg CLI for the video tests, and checks
of a 720.mp4 rendition with ffprobe."""

import json
import os
import struct
import subprocess
import tempfile

from kadr_harness import ffprobe, top_level_atoms

FFMPEG_TIMEOUT_S = 120


def ffmpeg(*args):
    """Runs ffmpeg with args, quietly, and raises on failure."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y"] + list(args),
                   check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)


def testsrc(size="320x240", rate=30, seconds=1):
    return ["-f", "lavfi", "-i",
            "testsrc2=size=%s:rate=%s:duration=%s" % (size, rate, seconds)]


def sine(rate=48000, seconds=1, frequency=440, layout="stereo"):
    return ["-f", "lavfi", "-i",
            "sine=frequency=%d:sample_rate=%d:duration=%s,"
            "aformat=channel_layouts=%s" % (frequency, rate, seconds, layout)]


class ClipFolder:
    """A temporary folder of generated clips, removed by close()."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kadr-clips-")

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def make(self, name, *args):
        """Writes clip name from ffmpeg args and returns its path."""
        path = self.path(name)
        ffmpeg(*(list(args) + [path]))
        return path

    def rotate(self, name, source, degrees):
        """Copies source with a display matrix of degrees, as phones
        write it."""
        return self.make(name, "-i", source, "-c", "copy",
                         "-metadata:s:v:0", "rotate=%d" % degrees)

    def with_matrix(self, name, source, matrix):
        """Copies source, an MP4 with one track, and sets the display
        matrix in its track header. matrix is nine values (a, b, u, c,
        d, v, x, y, w) as MP4 stores them: a to y in 16.16 and u, v, w in
        2.30 fixed point. The bytes are patched because the ffmpeg 5.1
        CLI writes rotations only, never a mirror."""
        data = bytearray(read_bytes(source))
        header = data.find(b"tkhd")
        if header < 4 or data.find(b"tkhd", header + 4) != -1:
            raise ValueError("expected one tkhd box in " + source)
        # The matrix follows the type, version and flags, then 20 bytes
        # of times, track id and duration (32 in version 1), then 16
        # bytes of reserved, layer, group and volume fields.
        times = 32 if data[header + 4] == 1 else 20
        offset = header + 4 + 4 + times + 16
        data[offset:offset + 36] = struct.pack(">9i", *matrix)
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def make_live(self, name, *args):
        """Writes WebM clip name from ffmpeg args through a pipe, as a live
        recorder does: the muxer cannot seek back, so the header states
        no duration."""
        path = self.path(name)
        with open(path, "wb") as f:
            subprocess.run(["ffmpeg", "-v", "error", "-nostdin"] + list(args)
                           + ["-f", "webm", "-"], check=True, stdout=f,
                           stderr=subprocess.PIPE, timeout=FFMPEG_TIMEOUT_S)
        return path

    def without_durations(self, name, source):
        """Copies source, an MP4, with the durations in its mvhd, and in
        the tkhd and mdhd of every track, set to 0. The sample tables are
        left as they are, so the packets still play."""
        data = bytearray(read_bytes(source))
        for kind, offset in mp4_header_boxes(data):
            version = data[offset + 8]
            # After the version and flags: creation and modification
            # times, then the timescale (mvhd, mdhd) or the track id and
            # a reserved field (tkhd), then the duration. Times and
            # duration take 8 bytes in version 1 and 4 in version 0.
            width = 8 if version == 1 else 4
            start = offset + 12 + 2 * width + 4
            if kind == "tkhd":
                start += 4
            data[start:start + width] = bytes(width)
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def close(self):
        self.tmp.cleanup()


def mp4_boxes(data, start, end):
    """Yields (type, offset, size) of the boxes between start and end."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        elif size == 0:
            size = end - pos
        if size < 8:
            raise ValueError("invalid box size %d at %d" % (size, pos))
        yield kind, pos, size
        pos += size


def mp4_header_boxes(data):
    """Returns (type, offset) of every mvhd, tkhd and mdhd box inside
    moov, its tracks and their media boxes."""
    found = []

    def walk(start, end):
        for kind, offset, size in mp4_boxes(data, start, end):
            if kind in ("mvhd", "tkhd", "mdhd"):
                found.append((kind, offset))
            elif kind in ("moov", "trak", "mdia"):
                walk(offset + 8, offset + size)

    walk(0, len(data))
    if not any(kind == "mvhd" for kind, _ in found):
        raise ValueError("no mvhd box found")
    return found


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def probe_frames(path, stream, entries):
    """Returns ffprobe's frame entries of one stream as a list of dicts."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream,
         "-show_entries", "frame=" + entries, "-print_format", "json", path],
        check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S).stdout
    return json.loads(out).get("frames", [])


def keyframe_times(path):
    """Returns the pts times of the video keyframes of path."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-skip_frame",
         "nokey", "-show_entries", "frame=pts_time", "-print_format",
         "json", path],
        check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S).stdout
    return [float(f["pts_time"]) for f in json.loads(out).get("frames", [])]


def streams_by_type(probe):
    """Returns the first stream of each type."""
    found = {}
    for stream in probe["streams"]:
        found.setdefault(stream["codec_type"], stream)
    return found


def check_rendition(test, mp4, audio=True):
    """Asserts what every 720.mp4 must be, and returns the ffprobe result:
    H.264 High yuv420p, AAC stereo 48 kHz (when audio), moov before mdat,
    no display rotation left, start at zero, no other streams."""
    atoms = top_level_atoms(mp4)
    test.assertIn("moov", atoms)
    test.assertLess(atoms.index("moov"), atoms.index("mdat"), atoms)

    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(mp4)
        f.flush()
        probe = ffprobe(f.name)

    streams = streams_by_type(probe)
    video = streams["video"]
    test.assertEqual(video["codec_name"], "h264")
    test.assertEqual(video["profile"], "High")
    test.assertEqual(video["pix_fmt"], "yuv420p")
    test.assertEqual(video["width"] % 2, 0)
    test.assertEqual(video["height"] % 2, 0)
    test.assertLessEqual(max(video["width"], video["height"]), 1280)
    test.assertLessEqual(min(video["width"], video["height"]), 720)
    rotations = [d.get("rotation", 0)
                 for d in video.get("side_data_list", [])]
    test.assertIn(rotations, ([], [0]))

    test.assertAlmostEqual(float(probe["format"]["start_time"]), 0.0,
                           delta=0.001)
    test.assertAlmostEqual(float(video["start_time"]), 0.0, delta=0.001)

    kinds = sorted(s["codec_type"] for s in probe["streams"])
    if audio:
        test.assertEqual(kinds, ["audio", "video"])
        sound = streams["audio"]
        test.assertEqual(sound["codec_name"], "aac")
        test.assertEqual(int(sound["sample_rate"]), 48000)
        test.assertEqual(sound["channels"], 2)
    else:
        test.assertEqual(kinds, ["video"])
    return probe
