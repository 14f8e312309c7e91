"""Generated test images: PNGs with an embedded ICC profile, JPEG EXIF
orientation, and pixel decoding through ffmpeg.

Every ICC profile here is a matrix/TRC display profile written from the
ICC.1 layout. The expected sRGB values are computed with the same
matrices in linear light, because the Bradford adaptation to the D50
connection space and back cancels out."""

import struct
import subprocess
import tempfile
import unittest
import zlib

from kadr_harness import Daemon

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
BRADFORD = ((0.8951, 0.2664, -0.1614),
            (-0.7502, 1.7135, 0.0367),
            (0.0389, -0.0685, 1.0296))

# Primaries (red, green, blue) in CIE xy.
SRGB_PRIMARIES = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
DISPLAY_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB_PRIMARIES = ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060))
ADOBE_RGB_GAMMA = 563 / 256


def mat_mul(a, b):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3))
                       for j in range(3)) for i in range(3))


def mat_vec(a, v):
    return tuple(sum(a[i][k] * v[k] for k in range(3)) for i in range(3))


def mat_inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return ((((e * i - f * h) / det), ((c * h - b * i) / det),
             ((b * f - c * e) / det)),
            (((f * g - d * i) / det), ((a * i - c * g) / det),
             ((c * d - a * f) / det)),
            (((d * h - e * g) / det), ((b * g - a * h) / det),
             ((a * e - b * d) / det)))


def xy_to_xyz(xy):
    x, y = xy
    return (x / y, 1.0, (1 - x - y) / y)


def rgb_to_xyz_matrix(primaries, white=D65):
    cols = [xy_to_xyz(p) for p in primaries]
    m = tuple(tuple(cols[j][i] for j in range(3)) for i in range(3))
    scale = mat_vec(mat_inv(m), xy_to_xyz(white))
    return tuple(tuple(m[i][j] * scale[j] for j in range(3))
                 for i in range(3))


def bradford_d65_to_d50():
    src = mat_vec(BRADFORD, xy_to_xyz(D65))
    dst = mat_vec(BRADFORD, D50_XYZ)
    diag = tuple(tuple(dst[i] / src[i] if i == j else 0.0
                       for j in range(3)) for i in range(3))
    return mat_mul(mat_inv(BRADFORD), mat_mul(diag, BRADFORD))


def srgb_decode(v):
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def srgb_encode(v):
    v = min(1.0, max(0.0, v))
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def to_srgb(rgb, primaries, gamma=None):
    """The sRGB 8-bit value of an 8-bit colour in the given space."""
    decode = srgb_decode if gamma is None else (lambda v: v ** gamma)
    lin = [decode(c / 255) for c in rgb]
    xyz = mat_vec(rgb_to_xyz_matrix(primaries), lin)
    out = mat_vec(mat_inv(rgb_to_xyz_matrix(SRGB_PRIMARIES)), xyz)
    return tuple(int(round(srgb_encode(v) * 255)) for v in out)


def s15f16(v):
    return struct.pack(">i", int(round(v * 65536)))


def tag_xyz(xyz):
    return b"XYZ \0\0\0\0" + b"".join(s15f16(v) for v in xyz)


def tag_curve(gamma):
    if gamma is not None:
        return b"curv\0\0\0\0" + struct.pack(">IH", 1,
                                             int(round(gamma * 256)))
    table = [int(round(srgb_decode(i / 1023) * 65535)) for i in range(1024)]
    return b"curv\0\0\0\0" + struct.pack(">I", 1024) + struct.pack(
        ">1024H", *table)


def tag_desc(text):
    ascii_text = text.encode() + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) +
            ascii_text + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) +
            b"\0" * 67)


def icc_profile(name, primaries, gamma=None):
    """An ICC v2 display profile: colorants adapted to D50, one curve."""
    m = mat_mul(bradford_d65_to_d50(), rgb_to_xyz_matrix(primaries))
    curve = tag_curve(gamma)
    tags = [(b"desc", tag_desc(name)), (b"wtpt", tag_xyz(D50_XYZ)),
            (b"rXYZ", tag_xyz([m[i][0] for i in range(3)])),
            (b"gXYZ", tag_xyz([m[i][1] for i in range(3)])),
            (b"bXYZ", tag_xyz([m[i][2] for i in range(3)])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while len(body) % 4:
            body += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"none" +
              struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " +
              struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 28 +
              b"".join(s15f16(v) for v in D50_XYZ) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def png_chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png_rgb(width, height, pixel_at, icc=None):
    """An 8-bit RGB PNG, with an iCCP chunk when icc is given."""
    rows = b"".join(
        b"\0" + b"".join(bytes(pixel_at(x, y)) for x in range(width))
        for y in range(height))
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if icc is not None:
        out += png_chunk(b"iCCP", b"profile\0\0" + zlib.compress(icc))
    return (out + png_chunk(b"IDAT", zlib.compress(rows)) +
            png_chunk(b"IEND", b""))


def exif_orientation_tiff(orientation):
    """A big-endian EXIF block (TIFF header and one IFD) that contains
    only Orientation."""
    return (b"MM\0\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) +
            struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) +
            struct.pack(">I", 0))


def exif_orientation_app1(orientation):
    """A JPEG APP1 segment whose EXIF block contains only Orientation."""
    body = b"Exif\0\0" + exif_orientation_tiff(orientation)
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def png_with_exif(png, block):
    """Inserts an eXIf chunk with an EXIF block right after IHDR."""
    assert png[12:16] == b"IHDR"
    end = 8 + 8 + 13 + 4
    return png[:end] + png_chunk(b"eXIf", block) + png[end:]


def riff_chunk(kind, body):
    pad = b"\0" if len(body) % 2 else b""
    return kind + struct.pack("<I", len(body)) + body + pad


def webp_with_exif(webp, width, height, block):
    """Rewrites a WebP file in the extended format, with an EXIF chunk
    after its image data as encoders place it."""
    assert webp[:4] == b"RIFF"
    assert webp[8:12] == b"WEBP"
    chunks = webp[12:]
    if chunks[:4] == b"VP8X":
        flags = bytes([chunks[8] | 0x08])
        chunks = chunks[:8] + flags + chunks[9:]
    else:
        header = (bytes([0x08, 0, 0, 0]) + (width - 1).to_bytes(3, "little") +
                  (height - 1).to_bytes(3, "little"))
        chunks = riff_chunk(b"VP8X", header) + chunks
    body = b"WEBP" + chunks + riff_chunk(b"EXIF", block)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def with_orientation(jpeg, orientation):
    """Inserts an EXIF orientation right after the SOI marker."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + exif_orientation_app1(orientation) + jpeg[2:]


def convert(*args, suffix, prefix="", stdin=None):
    """Runs ImageMagick's convert and returns the output file's bytes.
    prefix is an output format prefix such as "PNG8:". stdin contains the
    bytes that an input named "-" reads."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as out:
        subprocess.run(["convert", *args, prefix + out.name], check=True,
                       capture_output=True, timeout=120, input=stdin)
        with open(out.name, "rb") as f:
            return f.read()


def decode_rgba(data):
    """Decodes an image with ffmpeg: (width, height, RGBA bytes)."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0",
             "-show_entries", "stream=width,height", "-of", "csv=p=0",
             f.name], check=True, capture_output=True, text=True).stdout
        width, height = (int(v) for v in probe.strip().split(","))
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", f.name, "-frames:v", "1", "-f",
             "rawvideo", "-pix_fmt", "rgba", "-"], check=True,
            capture_output=True).stdout
    return width, height, raw


def pixel(decoded, x, y):
    width, _, raw = decoded
    pos = (y * width + x) * 4
    return tuple(raw[pos:pos + 4])


class ImageDaemonTest(unittest.TestCase):
    """A test case with one kadrd for the whole class and helpers that
    upload bytes and fetch variants, failing on any other status."""

    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.stop()
        cls.kadr.__exit__(None, None, None)

    def upload(self, data, name):
        resp = self.kadr.upload(data)
        self.assertEqual(resp.status, 201, (name, resp.body[:300]))
        return resp.json()

    def variant(self, doc, name):
        resp = self.kadr.variant(doc["id"], name)
        self.assertEqual(resp.status, 200, (doc["id"], name))
        return resp.body
