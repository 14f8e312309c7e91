#!/usr/bin/env python3
"""Writes the seed corpora of the media fuzz targets into OUT/<target>/
from the sample media in CORPUS, at build time, so no media file is kept
in the repository. Run: make_media_seeds.py CORPUS OUT

A missing CORPUS leaves the folders empty: the targets then start from
nothing, and the replay tests have no seeds to run."""

import os
import sys

# Files up to this size are copied whole. Of larger ones only the first
# HEAD_BYTES are kept: libFuzzer mutates small inputs faster, and a
# cut-off file is a useful case in itself.
WHOLE_MAX_BYTES = 256 * 1024
HEAD_BYTES = 64 * 1024
# format_sniff() reads at most this many bytes (FORMAT_SNIFF_BYTES).
SNIFF_BYTES = 512

IMAGE_EXTENSIONS = (".jpg", ".png", ".gif", ".webp", ".heic", ".heif",
                    ".bmp", ".tif", ".jxl")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".mp3")


def corpus_files(corpus):
    for folder, _, names in sorted(os.walk(corpus)):
        for name in sorted(names):
            if not name.endswith(".md"):
                yield os.path.join(folder, name)


def seed_bytes(path, limit=None):
    with open(path, "rb") as f:
        data = f.read()
    if limit is not None:
        return data[:limit]
    if len(data) > WHOLE_MAX_BYTES:
        return data[:HEAD_BYTES]
    return data


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    targets = ("fuzz_sniff", "fuzz_image", "fuzz_video_probe")
    for target in targets:
        os.makedirs(os.path.join(out, target), exist_ok=True)
    if not os.path.isdir(corpus):
        return
    for path in corpus_files(corpus):
        rel = os.path.relpath(path, corpus).replace(os.sep, "-")
        write(os.path.join(out, "fuzz_sniff"), rel,
              seed_bytes(path, SNIFF_BYTES))
        if path.lower().endswith(IMAGE_EXTENSIONS):
            write(os.path.join(out, "fuzz_image"), rel, seed_bytes(path))
        if path.lower().endswith(VIDEO_EXTENSIONS):
            write(os.path.join(out, "fuzz_video_probe"), rel,
                  seed_bytes(path))


if __name__ == "__main__":
    main()
