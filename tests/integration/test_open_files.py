"""kadrd under a low hard open-file limit: the connection cap fits the
descriptors, a client past it gets 503 with Retry-After rather than a
500, and a SIGHUP keeps a cap that was lowered at start."""

import os
import re
import signal
import socket
import tempfile
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file
from soak_client import open_fds

SOCKET_TIMEOUT_S = 10
PHOTO = corpus("photos/phone-jolla.jpg")
SMALL_PHOTO = corpus("photos/camera-canon-40d.jpg")
# Volumes made before the restart under a low limit: 2 descriptors each
# leave 512 - 300 = 212 for the rest.
VOLUMES = 150


def fd_count(pid):
    return len(open_fds(pid))


def read_reply(sock):
    """Returns the status and lower-case headers of one response, or
    (None, {}) when the connection closed without one."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if b"\r\n\r\n" not in data:
        return None, {}
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers


def start_chunked_upload(kadr, first):
    sock = socket.create_connection(("127.0.0.1", kadr.port),
                                    timeout=SOCKET_TIMEOUT_S)
    sock.sendall(("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                  "X-Api-Key: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "%x\r\n" % (API_KEY, len(first))).encode() + first +
                 b"\r\n")
    return sock


def finish_chunked_upload(sock, rest):
    try:
        sock.sendall(b"%x\r\n" % len(rest) + rest + b"\r\n0\r\n\r\n")
    except OSError:
        pass


def wait_log(kadr, pattern, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if re.search(pattern, kadr.log_text()):
            return
        time.sleep(0.05)
    raise AssertionError("log has no %r: %s" % (pattern, kadr.log_text()))


class LowHardLimitTest(unittest.TestCase):
    def test_cap_fits_hard_limit_100(self):
        with Daemon(open_files=(100, 100)) as kadr:
            # A quarter of what the one volume leaves: half of it for the
            # reserve, two descriptors a connection.
            self.assertEqual(kadr.max_connections(), 24)

    def test_uploads_past_descriptors(self):
        photo = read_file(PHOTO)
        with Daemon("--body-timeout-ms", "5000",
                    open_files=(100, 100)) as kadr:
            idle_fds = fd_count(kadr.proc.pid)
            socks = [start_chunked_upload(kadr, photo[:1000])
                     for _ in range(60)]
            time.sleep(0.5)
            for sock in socks:
                finish_chunked_upload(sock, photo[1000:])
            replies = [read_reply(sock) for sock in socks]
            for sock in socks:
                sock.close()
            statuses = [status for status, _ in replies]
            self.assertEqual(statuses.count(500), 0, statuses)
            self.assertEqual(statuses.count(201), 24, statuses)
            for status, headers in replies:
                self.assertIn(status, (201, 503))
                if status == 503:
                    self.assertEqual(headers.get("retry-after"), "1")
            self.assertEqual(kadr.tmp_files(), [])
            deadline = time.monotonic() + 5
            while (fd_count(kadr.proc.pid) > idle_fds and
                   time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertEqual(fd_count(kadr.proc.pid), idle_fds)


def with_comment(jpeg, text):
    """The JPEG with a comment segment after its start marker: other
    bytes, the same picture."""
    comment = text.encode()
    return (jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") +
            comment + jpeg[2:])


def connections_allowed(open_files, volumes):
    """max_connections kadrd derives from its open-file limit: 2
    descriptors per volume, then 128 kept apart and 2 per connection, or
    half of what the volumes leave when that is under 256."""
    left = open_files - 2 * volumes
    if left <= 0:
        return 1
    count = (left - 128) // 2 if left >= 256 else left // 4
    return max(count, 1)


class ManyVolumesTest(unittest.TestCase):
    """Each volume uses descriptors, so a large store leaves fewer for
    clients. max_connections counts the volumes at start, and uploads up
    to it are stored, none refused for want of descriptors."""

    def make_volumes(self, kadr, photo):
        for i in range(VOLUMES):
            reply = kadr.upload(with_comment(photo, "volume %d" % i))
            self.assertEqual(reply.status, 201, reply.body)
        kadr.stop()
        return len(os.listdir(os.path.join(kadr.data, "volumes")))

    def test_cap_counts_volumes(self):
        photo = read_file(SMALL_PHOTO)
        kadr = Daemon("--volume-max-bytes", "4096")
        with kadr:
            volumes = self.make_volumes(kadr, photo)
            self.assertGreaterEqual(volumes, VOLUMES)
            kadr.flags = []
            kadr.open_files = (512, 512)
            kadr.start()
            cap = connections_allowed(512, volumes)
            self.assertEqual(kadr.max_connections(), cap)
            self.assertLessEqual(cap, (512 - 2 * VOLUMES) // 4)
            bodies = [with_comment(photo, "upload %d" % i)
                      for i in range(cap)]
            socks = [start_chunked_upload(kadr, body[:1000])
                     for body in bodies]
            time.sleep(0.5)
            for sock, body in zip(socks, bodies):
                finish_chunked_upload(sock, body[1000:])
            statuses = [read_reply(sock)[0] for sock in socks]
            for sock in socks:
                sock.close()
            self.assertEqual(statuses, [201] * cap)
            self.assertNotIn("Too many open files", kadr.log_text())
            self.assertEqual(kadr.tmp_files(), [])


class ExhaustedDescriptorsTest(unittest.TestCase):
    """Volumes made while kadrd runs can use up the descriptors kept
    apart for them. A client that connects then gets a 503 with
    Retry-After at once, rather than waiting in the listen backlog until
    a descriptor frees up."""

    def test_new_clients_turned_away(self):
        photo = read_file(SMALL_PHOTO)
        with Daemon("--volume-max-bytes", "1",
                    open_files=(256, 256)) as kadr:
            for i in range(256):
                reply = kadr.upload(with_comment(photo, "volume %d" % i))
                if reply.status != 201:
                    break
            # Either the upload's file or its connection found no
            # descriptor: a JSON 503, or the bare one of the listener.
            self.assertEqual(reply.status, 503, reply.body)
            self.assertEqual(reply.header("retry-after"), "1")
            if reply.body:
                self.assertEqual(reply.json()["detail"],
                                 "cannot store the upload")
            started = time.monotonic()
            socks = [socket.create_connection(("127.0.0.1", kadr.port),
                                              timeout=SOCKET_TIMEOUT_S)
                     for _ in range(8)]
            for sock in socks:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kadr\r\n\r\n")
            replies = [read_reply(sock) for sock in socks]
            elapsed = time.monotonic() - started
            for sock in socks:
                sock.close()
            statuses = [status for status, _ in replies]
            values = kadr.metrics()
        self.assertLess(elapsed, 5)
        self.assertEqual(set(statuses) - {200, 503}, set())
        self.assertIn(503, statuses)
        for status, headers in replies:
            if status == 503:
                self.assertEqual(headers["retry-after"], "1")
                self.assertEqual(headers["connection"], "close")
        self.assertGreaterEqual(
            values["kadr_http_connections_rejected_total"],
            statuses.count(503))
        self.assertNotIn('kadr_http_responses_total{code="500"}', values)


class ReloadLoweredCapTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kadr-it-")
        self.addCleanup(self.tmp.cleanup)
        self.ini = os.path.join(self.tmp.name, "kadrd.ini")
        with open(self.ini, "w") as f:
            f.write("max_connections = 5000\n")

    def test_sighup_keeps_lowered_cap_quiet(self):
        with Daemon("--config", self.ini, open_files=(512, 512)) as kadr:
            self.assertEqual(kadr.max_connections(), 191)
            os.kill(kadr.proc.pid, signal.SIGHUP)
            wait_log(kadr, r"event=config\.reloaded")
            text = kadr.log_text()
            self.assertNotIn("event=config.restart_needed", text)
            idle_socks = [socket.create_connection(("127.0.0.1", kadr.port),
                                             timeout=SOCKET_TIMEOUT_S)
                    for _ in range(191)]
            self.addCleanup(lambda: [sock.close() for sock in idle_socks])
            time.sleep(0.2)
            extra = socket.create_connection(("127.0.0.1", kadr.port),
                                             timeout=SOCKET_TIMEOUT_S)
            status, headers = read_reply(extra)
            extra.close()
            self.assertEqual(status, 503)
            self.assertEqual(headers.get("retry-after"), "1")


if __name__ == "__main__":
    main()
