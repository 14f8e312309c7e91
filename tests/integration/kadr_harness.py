"""Start a real kadrd on a loopback port with a fresh data folder, and talk
to it over HTTP. Shared by the integration tests."""

import ctypes
import http.client
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

KADRD = os.environ.get("KADRD", "kadrd")
CORPUS = os.environ.get("KADR_CORPUS", "../shared/corpus")
API_KEY = "integration-key"
START_TIMEOUT_S = 20
REQUEST_TIMEOUT_S = 120


def corpus(path):
    return os.path.join(CORPUS, path)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def die_with_parent():
    """Makes the child get SIGKILL when the test process dies, so a test
    killed by a ctest timeout leaves no kadrd behind.

    NOTE: Linux sends the signal when the thread that started the child
    ends, not the process, so start kadrd from a thread that outlives it
    (a restart from a short-lived worker thread kills the new kadrd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


PR_SET_PDEATHSIG = 1


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


class Daemon:
    """One kadrd process. Use as a context manager."""

    def __init__(self, *flags, data_dir=None, open_files=None):
        """open_files: a (soft, hard) open-file limit to start kadrd
        under, as a shell or service manager might; None keeps the test's
        own limit."""
        self.open_files = open_files
        self.own_dir = data_dir is None
        self.root = tempfile.mkdtemp(prefix="kadr-it-")
        self.data = data_dir or os.path.join(self.root, "data")
        self.flags = list(flags)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.root, "kadrd.log")

    def start(self):
        args = [KADRD, "--data", self.data, "--listen", "127.0.0.1:0",
                "--api-keys", API_KEY] + self.flags
        self.log = open(self.log_path, "ab")
        log_start = self.log.tell()
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=self.prepare_child)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            match = re.findall(rb"event=server.listening .*port=(\d+)",
                               read_file(self.log_path)[log_start:])
            if match:
                self.port = int(match[-1])
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("kadrd exited: " + self.log_text())
            time.sleep(0.05)
        raise RuntimeError("kadrd did not start: " + self.log_text())

    def prepare_child(self):
        die_with_parent()
        if self.open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.open_files)

    def max_connections(self):
        """The connection cap kadrd took, from its start log line."""
        found = re.findall(rb"event=server\.listening .*max_connections="
                           rb"(\d+)", read_file(self.log_path))
        return int(found[-1])

    def log_text(self):
        return read_file(self.log_path).decode(errors="replace")

    def stop(self, check=True):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("kadrd did not stop on SIGTERM")
        self.proc = None
        self.log.close()
        if check and code != 0:
            raise RuntimeError("kadrd exited with %d: %s" %
                               (code, self.log_text()))

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop(check=exc[0] is None)
        finally:
            if self.own_dir:
                shutil.rmtree(self.root, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, key=False):
        headers = dict(headers or {})
        if key:
            headers["X-Api-Key"] = API_KEY
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, hdrs, data)
        finally:
            conn.close()

    def upload(self, data, query="", **kw):
        return self.request("POST", "/v1/media" + query, body=data,
                            key=True, **kw)

    def upload_file(self, path, query=""):
        return self.upload(read_file(path), query)

    def media(self, media_id, key=False):
        return self.request("GET", "/v1/media/" + media_id, key=key)

    def variant(self, media_id, name, headers=None, key=False,
                method="GET"):
        return self.request(method, "/v1/media/%s/%s" % (media_id, name),
                            headers=headers, key=key)

    def wait_ready(self, media_id, timeout_s=240):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            doc = self.media(media_id).json()
            if doc["status"] != "processing":
                return doc
            time.sleep(0.2)
        raise AssertionError("media %s still processing" % media_id)

    def metrics(self):
        text = self.request("GET", "/metrics").body.decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def tmp_files(self):
        return os.listdir(os.path.join(self.data, "tmp"))

    def volume_bytes(self):
        folder = os.path.join(self.data, "volumes")
        return sum(os.path.getsize(os.path.join(folder, name))
                   for name in os.listdir(folder))


def ffprobe(path):
    """Returns ffprobe's streams and format of a file as a dict."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
         "-show_format", path], check=True, capture_output=True).stdout
    return json.loads(out)


def ffprobe_bytes(data, suffix):
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        return ffprobe(f.name)


def gray_thumbnail(data, size=16):
    """Decodes an image or a video's first frame with ffmpeg and returns
    size x size gray pixels, for orientation checks."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", f.name, "-frames:v", "1", "-vf",
             "scale=%d:%d" % (size, size), "-f", "rawvideo", "-pix_fmt",
             "gray", "-"], check=True, capture_output=True).stdout
    return out


def mean_abs_diff(a, b):
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def image_dims(data, suffix=".jpg"):
    stream = ffprobe_bytes(data, suffix)["streams"][0]
    return stream["width"], stream["height"]


def top_level_atoms(data):
    atoms = []
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        atoms.append(kind)
        if size < 8:
            break
        pos += size
    return atoms


def main():
    unittest.main(verbosity=2)
