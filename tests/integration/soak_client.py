"""Concurrent load against a running kadrd: uploads of corpus photos and
videos, full and ranged reads, deletes. Every request's outcome is
recorded. Every acknowledged upload is kept with its bytes, so that it
can be read back and compared during the run and after it.

Shared by the soak, overload and restart tests."""

import http.client
import json
import os
import random
import re
import threading
import time

from kadr_harness import API_KEY, corpus, read_file

# Statuses kadr sends by design when it is overloaded; each must carry
# Retry-After, and the client tries again after it.
BUSY_STATUSES = (429, 503)
BUSY_MAX_TRIES = 30
REQUEST_TIMEOUT_S = 120
VIDEO_READY_TIMEOUT_S = 600
# Failures kept with their details; the rest are only counted.
MAX_FAILURES_KEPT = 20

PHOTOS = [
    "photos/camera-canon-40d.jpg",
    "photos/gps-nikon-coolpix.jpg",
    "photos/orientation-landscape_1.jpg",
    "photos/orientation-landscape_6.jpg",
    "photos/orientation-portrait_5.jpg",
    "photos/orientation-portrait_8.jpg",
    "photos/phone-jolla.jpg",
    "photos/iphone.heic",
    "tiny/jpeg.jpg",
    "tiny/png-transparent.png",
    "tiny/gif-transparent.gif",
    "tiny/heif.heif",
]
VIDEOS = [
    "tiny/webm.webm",
    "video/phone-rotated-moov-at-end.mov",
]


class Unavailable(Exception):
    """kadrd could not be reached: the connection was refused or reset."""


class Item:
    """One acknowledged upload: its id, kind and the bytes sent."""

    def __init__(self, media_id, kind, data, variants):
        self.media_id = media_id
        self.kind = kind
        self.data = data
        self.variants = variants  # names listed in the 201 reply


class Tally:
    """Thread-safe counts of what the load did and of what went wrong."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.failure_count = 0

    def add(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def fail(self, text):
        with self.lock:
            self.failure_count += 1
            if len(self.failures) < MAX_FAILURES_KEPT:
                self.failures.append(text)

    def get(self, name):
        with self.lock:
            return self.counts.get(name, 0)

    def summary(self):
        with self.lock:
            parts = ["%s=%d" % kv for kv in sorted(self.counts.items())]
        return " ".join(parts + ["failures=%d" % self.failure_count])


def with_random_tail(data, rng):
    """Returns the file with random bytes after its end. JPEG decoders
    stop at the end marker and libavformat at the last WebM element, so
    it decodes the same but is a new blob."""
    return data + b"kadr-soak" + rng.randbytes(16)


class Load:
    """Runs worker threads against kadr (a harness Daemon) until a deadline.

    Each worker reads and deletes only media it uploaded itself, so a 404
    is a failure unless that worker deleted the media. kadr.port is read
    at every request, so the daemon may be restarted on a new port while
    the load runs. Set `restarting` during a restart: a request that then
    finds no daemon is counted as lost to the restart, not as failed."""

    def __init__(self, kadr, threads=4, seed=1, video_share=0.1,
                 unique_share=0.5):
        self.kadr = kadr
        self.threads = threads
        self.seed = seed
        self.video_share = video_share
        self.unique_share = unique_share
        self.tally = Tally()
        self.items = {}  # media id -> Item, every live upload
        self.deleted = set()
        self.lock = threading.Lock()
        self.restarting = threading.Event()
        self.stop_at = 0.0
        self.photos = [read_file(corpus(p)) for p in PHOTOS]
        self.videos = [read_file(corpus(v)) for v in VIDEOS]

    # Requests

    def send_once(self, method, path, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.kadr.port,
                                          timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        except (ConnectionError, http.client.RemoteDisconnected,
                http.client.IncompleteRead) as exc:
            raise Unavailable(str(exc)) from exc
        finally:
            conn.close()

    def wait_restarted(self):
        deadline = time.monotonic() + 60
        while self.restarting.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)

    def send(self, method, path, body=None, headers=None, key=False):
        """Sends one request, trying again after a designed busy status
        (which must carry Retry-After). Returns (status, headers, body),
        or None when the request failed or was lost to a restart, in which
        case it first waits for the daemon to come back."""
        headers = dict(headers or {})
        if key:
            headers["X-Api-Key"] = API_KEY
        for _ in range(BUSY_MAX_TRIES):
            try:
                status, hdrs, data = self.send_once(method, path, body,
                                                    headers)
            except Unavailable as exc:
                if not self.restarting.is_set() and self.kadr.proc:
                    self.tally.fail("%s %s: %s" % (method, path, exc))
                    return None
                self.tally.add("lost_to_restart")
                self.wait_restarted()
                return None
            if status not in BUSY_STATUSES:
                return status, hdrs, data
            self.tally.add("busy_%d" % status)
            retry_after = hdrs.get("retry-after")
            if retry_after is None or not retry_after.isdigit():
                self.tally.fail("%s %s: %d without Retry-After" %
                                (method, path, status))
                return None
            time.sleep(min(int(retry_after), 2) + random.random() * 0.2)
        self.tally.fail("%s %s: still busy after %d tries" %
                        (method, path, BUSY_MAX_TRIES))
        return None

    def expect(self, label, reply, *statuses):
        """Records a failure, named by label, unless reply has one of
        statuses."""
        if reply is None:
            return False
        if reply[0] not in statuses:
            self.tally.fail("%s: status %d, expected %s: %r" %
                            (label, reply[0], statuses, reply[2][:200]))
            return False
        return True

    # Actions

    def upload(self, rng, owned):
        if rng.random() < self.video_share:
            kind, data = "video", rng.choice(self.videos)
            # Only the tiny WebM gets new copies: its 8x8 frames transcode
            # in milliseconds, so video jobs run without a long backlog.
            if len(data) < 4096 and rng.random() < self.unique_share:
                data = with_random_tail(data, rng)
        else:
            kind, data = "image", rng.choice(self.photos)
            if data[:2] == b"\xff\xd8" and rng.random() < self.unique_share:
                data = with_random_tail(data, rng)
        reply = self.send("POST", "/v1/media", body=data, key=True)
        if not self.expect("upload " + kind, reply, 201):
            return
        doc = json.loads(reply[2])
        names = [v["name"] for v in doc.get("variants", [])]
        item = Item(doc["id"], kind, data, names)
        owned.append(item)
        with self.lock:
            self.items[item.media_id] = item
        self.tally.add("uploads_" + kind)
        self.tally.add("bytes_uploaded", len(data))

    def read_original(self, rng, owned):
        item = rng.choice(owned)
        reply = self.send("GET", "/v1/media/%s/original" % item.media_id,
                          key=True)
        if not self.expect("read original " + item.media_id, reply, 200):
            return
        if reply[2] != item.data:
            self.tally.fail("original %s: %d bytes differ from the %d "
                            "uploaded" % (item.media_id, len(reply[2]),
                                          len(item.data)))
            return
        self.tally.add("reads_full")
        self.tally.add("bytes_verified", len(item.data))

    def read_range(self, rng, owned):
        """Reads a random range of the original and compares it with the
        same slice of the bytes uploaded."""
        item = rng.choice(owned)
        size = len(item.data)
        first = rng.randrange(size)
        last = min(size - 1, first + rng.randrange(1, 64 * 1024))
        reply = self.send("GET", "/v1/media/%s/original" % item.media_id,
                          headers={"Range": "bytes=%d-%d" % (first, last)},
                          key=True)
        if not self.expect("range " + item.media_id, reply, 206):
            return
        expected_range = "bytes %d-%d/%d" % (first, last, size)
        if reply[1].get("content-range") != expected_range:
            self.tally.fail("range %s: Content-Range %r, expected %r" %
                            (item.media_id, reply[1].get("content-range"),
                             expected_range))
            return
        if reply[2] != item.data[first:last + 1]:
            self.tally.fail("range %s %d-%d: bytes differ" %
                            (item.media_id, first, last))
            return
        self.tally.add("reads_range")
        self.tally.add("bytes_verified", last + 1 - first)

    def read_variant(self, rng, owned):
        """Reads a variant in full, then a suffix range of it, and checks
        that the range is the tail of the full body."""
        images = [i for i in owned if i.variants]
        if not images:
            return
        item = rng.choice(images)
        name = rng.choice(item.variants)
        path = "/v1/media/%s/%s" % (item.media_id, name)
        full = self.send("GET", path)
        if not self.expect("variant " + path, full, 200):
            return
        tail = rng.randrange(1, len(full[2]) + 1)
        part = self.send("GET", path, headers={"Range": "bytes=-%d" % tail})
        if not self.expect("variant range " + path, part, 206):
            return
        if part[2] != full[2][-tail:]:
            self.tally.fail("variant %s: suffix of %d bytes differs" %
                            (path, tail))
            return
        self.tally.add("reads_variant")

    def delete(self, rng, owned):
        item = owned.pop(rng.randrange(len(owned)))
        reply = self.send("DELETE", "/v1/media/" + item.media_id, key=True)
        if reply is None:
            # Lost to a restart: whether it happened is unknown, so the
            # item is neither live nor deleted for the final check.
            with self.lock:
                self.items.pop(item.media_id, None)
            return
        if not self.expect("delete " + item.media_id, reply, 204):
            return
        with self.lock:
            self.items.pop(item.media_id, None)
            self.deleted.add(item.media_id)
        shown = self.send("GET", "/v1/media/" + item.media_id)
        self.expect("show deleted " + item.media_id, shown, 404)
        self.tally.add("deletes")

    # Threads

    def worker(self, index):
        rng = random.Random(self.seed * 1000 + index)
        owned = []
        while time.monotonic() < self.stop_at:
            if self.restarting.is_set():
                self.wait_restarted()
            roll = rng.random()
            if not owned or roll < 0.3:
                self.upload(rng, owned)
            elif roll < 0.5:
                self.read_original(rng, owned)
            elif roll < 0.75:
                self.read_range(rng, owned)
            elif roll < 0.9:
                self.read_variant(rng, owned)
            else:
                self.delete(rng, owned)
            self.tally.add("actions")

    def run(self, seconds):
        self.stop_at = time.monotonic() + seconds
        workers = [threading.Thread(target=self.worker, args=(i,))
                   for i in range(self.threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()

    # Checks after the run

    def wait_videos(self):
        """Waits until no live video is processing; records a failure for
        each that ends failed or stays processing."""
        deadline = time.monotonic() + VIDEO_READY_TIMEOUT_S
        videos = [i for i in self.items.values() if i.kind == "video"]
        for item in videos:
            while True:
                reply = self.send("GET", "/v1/media/" + item.media_id)
                if not self.expect("show " + item.media_id, reply, 200):
                    break
                status = json.loads(reply[2])["status"]
                if status == "ready":
                    self.tally.add("videos_ready")
                    break
                if status != "processing" or time.monotonic() > deadline:
                    self.tally.fail("video %s ended %s" %
                                    (item.media_id, status))
                    break
                time.sleep(0.2)

    def verify_all(self):
        """Reads back every live original and compares its bytes; checks
        that every deleted media is still gone. Returns bytes compared."""
        verified = 0
        for item in list(self.items.values()):
            reply = self.send("GET", "/v1/media/%s/original" %
                              item.media_id, key=True)
            if not self.expect("final read " + item.media_id, reply, 200):
                continue
            if reply[2] != item.data:
                self.tally.fail("final read %s: bytes differ" %
                                item.media_id)
                continue
            verified += len(item.data)
        for media_id in self.deleted:
            reply = self.send("GET", "/v1/media/" + media_id)
            self.expect("final show deleted " + media_id, reply, 404)
        self.tally.add("final_bytes_verified", verified)
        return verified


def proc_status_kib(pid, field):
    """Returns a /proc/PID/status field in KiB (VmRSS, RssAnon, ...)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("%s missing from /proc/%d/status" % (field, pid))


def open_fds(pid):
    """Returns the targets of a process's open file descriptors."""
    folder = "/proc/%d/fd" % pid
    targets = []
    for name in os.listdir(folder):
        try:
            targets.append(os.readlink(os.path.join(folder, name)))
        except FileNotFoundError:
            pass  # closed while listing
    return targets


def count_fds(targets, pattern):
    return sum(1 for t in targets if re.search(pattern, t))


class MemorySampler:
    """Samples a process's resident memory every interval seconds from a
    thread, until stop()."""

    def __init__(self, pid, interval=0.5):
        self.pid = pid
        self.interval = interval
        self.samples = []  # (seconds since start, RssAnon KiB, VmRSS KiB)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop)

    def start(self):
        self.started = time.monotonic()
        self.thread.start()
        return self

    def loop(self):
        while not self.done.wait(self.interval):
            try:
                anon = proc_status_kib(self.pid, "RssAnon")
                rss = proc_status_kib(self.pid, "VmRSS")
            except (FileNotFoundError, ProcessLookupError):
                return
            self.samples.append((time.monotonic() - self.started, anon,
                                 rss))

    def stop(self):
        self.done.set()
        self.thread.join()

    def halves(self, column, skip_s):
        """Returns the peak of a column in the first and the second half of
        the samples taken after skip_s seconds of warm-up."""
        values = [s[column] for s in self.samples if s[0] >= skip_s]
        middle = len(values) // 2
        return max(values[:middle]), max(values[middle:])
