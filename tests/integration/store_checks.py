"""Store checks shared by the store integration tests: kadrctl runs and
test bodies built from the sample photos."""

import json
import os
import random
import subprocess

from kadr_harness import corpus, read_file

KADRCTL = os.environ.get("KADRCTL", "kadrctl")
KADRCTL_TIMEOUT_S = 120
VOLUME_HEADER_BYTES = 16

# Small photos that decode fast, from the sample folder.
PHOTOS = ["tiny/jpeg.jpg", "tiny/png-transparent.png",
          "photos/camera-canon-40d.jpg", "photos/orientation-landscape_1.jpg"]
# JPEG decoders stop at the end-of-image marker, so bytes appended to these
# still decode; PNG and WebP files with a tail are rejected as corrupt.
JPEGS = ["tiny/jpeg.jpg", "photos/camera-canon-40d.jpg",
         "photos/orientation-landscape_1.jpg"]


def kadrctl(data_dir, *args, env=None):
    """Runs kadrctl on a data folder and returns the CompletedProcess."""
    run_env = dict(os.environ)
    run_env.update(env or {})
    return subprocess.run([KADRCTL, "--data", data_dir] + list(args),
                          capture_output=True, timeout=KADRCTL_TIMEOUT_S,
                          env=run_env)


def kadrctl_json(data_dir, *args):
    """Runs kadrctl --json and returns (exit status, parsed output)."""
    proc = kadrctl(data_dir, "--json", *args)
    out = proc.stdout.decode()
    return proc.returncode, json.loads(out) if out.strip() else None


def volumes_past_indexed_end(data_dir):
    """Returns the volumes whose file is longer than its indexed end."""
    code, volumes = kadrctl_json(data_dir, "volumes")
    if code != 0:
        raise AssertionError("kadrctl volumes failed with %d" % code)
    return [v for v in volumes
            if v["file_bytes"] > max(v["indexed_end"], VOLUME_HEADER_BYTES)]


def photo_bytes(name):
    return read_file(corpus(name))


def photo_with_tail(rng, name=None):
    """Returns a sample photo with random bytes after its end: a distinct
    original that decodes to the same pixels, so its variants equal those
    of the plain photo."""
    name = name or rng.choice(JPEGS)
    return photo_bytes(name) + bytes(rng.getrandbits(8)
                                     for _ in range(rng.randint(1, 4096)))


def random_body(rng):
    """Returns a plain sample photo (a dedup hit after the first time) or
    a photo with a random tail (a new blob), at equal odds."""
    if rng.random() < 0.5:
        return photo_bytes(rng.choice(PHOTOS))
    return photo_with_tail(rng)


def new_rng(seed_env="KADR_TEST_SEED"):
    """Returns a random generator seeded from the environment or the
    clock, and the seed, so that a failure can be replayed."""
    seed = int(os.environ.get(seed_env, str(random.randrange(1 << 30))))
    return random.Random(seed), seed
