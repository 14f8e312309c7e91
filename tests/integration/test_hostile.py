"""Hostile clients: request heads sent a byte at a time, bodies that stop
halfway, clients that close mid-response, many idle connections, huge
heads and garbage. During each attack a normal client keeps reading a
variant and uploading a photo: every one of its requests must succeed,
and its latency is reported. After each attack kadrd must hold no more
sockets than before, no upload file and no temporary file."""

import http.client
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file
from soak_client import count_fds, open_fds

# Timeouts kadrd gets here, shorter than its defaults so that slow
# clients are cut off within the test's time.
HEADER_TIMEOUT_MS = 2000
BODY_TIMEOUT_MS = 2000
IDLE_TIMEOUT_MS = 3000
ATTACK_SECONDS = float(os.environ.get("KADR_HOSTILE_SECONDS", "6"))
# A normal request that takes longer than this counts as failed: kadrd
# is then not responsive.
PROBE_TIMEOUT_S = 10
# Time for kadrd to drop every attacking connection after an attack.
SETTLE_S = (HEADER_TIMEOUT_MS + BODY_TIMEOUT_MS) / 1000 + 5
IDLE_CONNECTIONS = 500
SOCKET = r"^socket:"
UNLINKED = r"\(deleted\)$"


def report(name, **fields):
    text = " ".join("%s=%s" % kv for kv in fields.items())
    sys.stderr.write("RESULT %s %s\n" % (name, text))


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def reset_close(sock):
    """Closes with a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def read_reply(sock):
    """Reads until the server closes or 64 KiB arrived; returns the
    bytes, empty when the server closed without a reply."""
    data = b""
    try:
        while len(data) < 65536:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


class Probe:
    """A normal client that reads a public variant and uploads a small
    photo in a loop, and records each request's latency."""

    def __init__(self, kadr, media_id, variant_bytes, photo):
        self.kadr = kadr
        self.path = "/v1/media/%s/w320.webp" % media_id
        self.variant_bytes = variant_bytes
        self.photo = photo
        self.latencies = []
        self.failures = []

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.kadr.port,
                                          timeout=PROBE_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def once(self, upload):
        started = time.monotonic()
        try:
            if upload:
                status, body = self.request("POST", "/v1/media",
                                            self.photo,
                                            {"X-Api-Key": API_KEY})
                ok = status == 201
            else:
                status, body = self.request("GET", self.path)
                ok = status == 200 and body == self.variant_bytes
        except OSError as exc:
            self.failures.append("%s: %s" % ("upload" if upload else "read",
                                             exc))
            return
        self.latencies.append(time.monotonic() - started)
        if not ok:
            self.failures.append("status %d: %r" % (status, body[:200]))

    def run(self, stop):
        count = 0
        while not stop.is_set():
            self.once(upload=count % 5 == 4)
            count += 1
            time.sleep(0.05)

    def summary(self):
        ms = sorted(x * 1000 for x in self.latencies)
        return {"probes": len(ms),
                "p50_ms": round(statistics.median(ms), 1),
                "max_ms": round(ms[-1], 1)}


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon("--header-timeout-ms", str(HEADER_TIMEOUT_MS),
                          "--body-timeout-ms", str(BODY_TIMEOUT_MS),
                          "--idle-timeout-ms", str(IDLE_TIMEOUT_MS)).start()
        photo = read_file(corpus("photos/gps-nikon-coolpix.jpg"))
        resp = cls.kadr.upload(photo)
        assert resp.status == 201, resp.body
        cls.media_id = resp.json()["id"]
        cls.variant = cls.kadr.variant(cls.media_id, "w320.webp").body
        video = read_file(corpus("video/music-clip.webm"))
        resp = cls.kadr.upload(video)
        assert resp.status == 201, resp.body
        cls.big_id = resp.json()["id"]
        # The transcode keeps temporary files open, so it must end before
        # the baseline is taken.
        cls.kadr.wait_ready(cls.big_id)
        cls.big_size = len(video)
        # The probe uploads this photo again and again; stored once here,
        # its uploads add no blob during an attack.
        cls.small_photo = read_file(corpus("photos/camera-canon-40d.jpg"))
        assert cls.kadr.upload(cls.small_photo).status == 201
        cls.pid = cls.kadr.proc.pid
        cls.baseline = open_fds(cls.pid)

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def attack(self, name, worker, threads=4):
        """Runs worker(stop) in threads for ATTACK_SECONDS while a probe
        runs, then checks the probe and the sockets and files kadrd keeps
        open afterwards."""
        stop = threading.Event()
        stats = {"sent": 0}
        probe = Probe(self.kadr, self.media_id, self.variant,
                      self.small_photo)
        attackers = [threading.Thread(target=worker, args=(stop, stats))
                     for _ in range(threads)]
        prober = threading.Thread(target=probe.run, args=(stop,))
        for t in attackers + [prober]:
            t.start()
        time.sleep(ATTACK_SECONDS)
        stop.set()
        for t in attackers + [prober]:
            t.join()

        self.assertEqual(probe.failures, [])
        self.assertGreater(len(probe.latencies), 0)
        self.assert_settled()
        report(name, attacks=stats["sent"], **probe.summary())

    def assert_settled(self):
        """Waits for kadrd to drop the attacking connections, then checks
        that no socket, upload file or temporary file is left."""
        limit = count_fds(self.baseline, SOCKET)
        deadline = time.monotonic() + SETTLE_S
        while True:
            fds = open_fds(self.pid)
            if count_fds(fds, SOCKET) <= limit or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertLessEqual(count_fds(fds, SOCKET), limit, fds)
        self.assertEqual(count_fds(fds, UNLINKED), 0, fds)
        self.assertEqual(self.kadr.tmp_files(), [])
        self.assertEqual(self.kadr.request("GET", "/healthz").status, 200)

    def test_head_byte_at_a_time(self):
        head = (b"GET /v1/media/%s/w320.webp HTTP/1.1\r\nHost: k\r\n"
                b"User-Agent: slow\r\n" % self.media_id.encode()) + \
            b"X-Pad: " + b"p" * 200 + b"\r\n\r\n"
        cut_off = []

        def worker(stop, stats):
            while not stop.is_set():
                sock = connect(self.kadr.port)
                started = time.monotonic()
                try:
                    for byte in head:
                        if stop.is_set():
                            break
                        sock.sendall(bytes([byte]))
                        stats["sent"] += 1
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    cut_off.append(time.monotonic() - started)
                finally:
                    sock.close()

        self.attack("head_byte_at_a_time", worker, threads=20)
        # The head takes about 12 s at this pace, past the 2 s header
        # timeout, so kadrd cut every slow client off.
        self.assertGreater(len(cut_off), 0)

    def test_body_stops_halfway(self):
        photo = read_file(corpus("photos/phone-jolla.jpg"))
        blobs = self.kadr.metrics()["kadr_store_blobs"]

        def worker(stop, stats):
            while not stop.is_set():
                sock = connect(self.kadr.port)
                try:
                    sock.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                                 b"X-Api-Key: " + API_KEY.encode() +
                                 b"\r\nContent-Length: %d\r\n\r\n" %
                                 len(photo))
                    sock.sendall(photo[:len(photo) // 2])
                    stats["sent"] += 1
                    # Wait for the body timeout to close the connection.
                    sock.settimeout(BODY_TIMEOUT_MS / 1000 + 5)
                    read_reply(sock)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    sock.close()

        self.attack("body_stops_halfway", worker, threads=8)
        self.assertEqual(self.kadr.metrics()["kadr_store_blobs"], blobs)

    def test_close_mid_response(self):
        path = "/v1/media/%s/original" % self.big_id

        def worker(stop, stats):
            rng = random.Random()
            while not stop.is_set():
                sock = connect(self.kadr.port)
                try:
                    sock.sendall(b"GET %s HTTP/1.1\r\nHost: k\r\n"
                                 b"X-Api-Key: %s\r\n\r\n" %
                                 (path.encode(), API_KEY.encode()))
                    sock.recv(rng.randrange(1, 65536))
                    stats["sent"] += 1
                finally:
                    if rng.random() < 0.5:
                        reset_close(sock)
                    else:
                        sock.close()

        self.attack("close_mid_response", worker, threads=8)

    def test_many_idle_connections(self):
        idle = []

        # Under a low open-file limit kadrd takes fewer connections than
        # IDLE_CONNECTIONS; the probe needs room of its own.
        count = min(IDLE_CONNECTIONS, self.kadr.max_connections() - 8)

        def worker(stop, stats):
            # One thread opens them all; the others only wait.
            if stats.get("opened"):
                return
            stats["opened"] = True
            for _ in range(count):
                idle.append(connect(self.kadr.port))
                stats["sent"] += 1
            stop.wait()

        try:
            self.attack("many_idle_connections", worker, threads=1)
        finally:
            for sock in idle:
                sock.close()
        self.assertEqual(len(idle), count)

    def test_huge_heads(self):
        heads = [
            # One header line far past max_header_bytes (32 KiB).
            b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (1024 * 1024) +
            b"\r\n\r\n",
            # More header fields than max_headers (100).
            b"GET / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 500 + b"\r\n",
            # A request target past max_url_bytes (8 KiB).
            b"GET /" + b"u" * 100000 + b" HTTP/1.1\r\n\r\n",
        ]
        statuses = {}

        def worker(stop, stats):
            rng = random.Random()
            while not stop.is_set():
                sock = connect(self.kadr.port)
                try:
                    sock.sendall(rng.choice(heads))
                    reply = read_reply(sock)
                except (BrokenPipeError, ConnectionResetError):
                    reply = b""
                finally:
                    sock.close()
                status = reply[9:12].decode(errors="replace")
                statuses[status] = statuses.get(status, 0) + 1
                stats["sent"] += 1

        self.attack("huge_heads", worker)
        # 414 for the target, 431 for the head; a reset while the rest is
        # still being sent shows up as no reply.
        self.assertLessEqual(set(statuses), {"414", "431", ""}, statuses)
        self.assertTrue({"414", "431"} & set(statuses), statuses)

    def test_garbage(self):
        samples = [
            b"\x00\xff\x13\x37" * 64,
            b"HELLO WORLD\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET\t/\tHTTP/1.1\r\n\r\n",
            b"POST /v1/media HTTP/1.1\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /v1/media HTTP/1.1\r\nContent-Length: 5\r\n"
            b"Content-Length: 6\r\n\r\nhello!",
            b"POST /v1/media HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            b"X-Api-Key: " + API_KEY.encode() + b"\r\n\r\nzz\r\nxx\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        ]
        statuses = {}

        def worker(stop, stats):
            rng = random.Random()
            while not stop.is_set():
                if rng.random() < 0.3:
                    data = rng.randbytes(rng.randrange(1, 4096))
                else:
                    data = rng.choice(samples)
                sock = connect(self.kadr.port)
                sock.settimeout(HEADER_TIMEOUT_MS / 1000 + 5)
                try:
                    sock.sendall(data)
                    reply = read_reply(sock)
                except (BrokenPipeError, ConnectionResetError):
                    reply = b""
                finally:
                    sock.close()
                status = reply[9:12].decode(errors="replace")
                statuses[status] = statuses.get(status, 0) + 1
                stats["sent"] += 1

        self.attack("garbage", worker)
        # Garbage gets 400, or 505 for an unknown version and 501 for an
        # unknown transfer coding. Random bytes that form no complete head
        # wait for the header timeout and get 408 or a close.
        allowed = {"400", "408", "413", "414", "431", "501", "505", ""}
        self.assertLessEqual(set(statuses), allowed, statuses)
        self.assertIn("400", statuses)


class ConnectionCapTest(unittest.TestCase):
    MAX_CONNECTIONS = 64

    def test_over_cap_busy_then_served(self):
        with Daemon("--max-connections", str(self.MAX_CONNECTIONS),
                    "--header-timeout-ms", str(HEADER_TIMEOUT_MS)) as kadr:
            idle = [connect(kadr.port)
                    for _ in range(self.MAX_CONNECTIONS)]
            time.sleep(0.3)
            # Past the cap a client gets 503 with Retry-After at once.
            extra = connect(kadr.port)
            reply = read_reply(extra)
            extra.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply)
            self.assertIn(b"\r\nRetry-After: ", reply)
            # The idle ones reach the header timeout and are closed, and
            # a normal client is served again.
            time.sleep(HEADER_TIMEOUT_MS / 1000 + 1)
            for sock in idle:
                sock.settimeout(5)
                self.assertIn(read_reply(sock)[:12],
                              (b"", b"HTTP/1.1 408"))
                sock.close()
            self.assertEqual(kadr.request("GET", "/healthz").status, 200)


if __name__ == "__main__":
    main()
