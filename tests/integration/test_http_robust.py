"""HTTP/1.1 robustness against a real kadrd over raw sockets: keep-alive,
pipelining, size limits, slow clients, the connection cap,
100-continue, request smuggling and a graceful stop on SIGTERM."""

import json
import resource
import signal
import socket
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file

# Small limits and short timeouts, so that each case runs in about a
# second. The flags are the ordinary kadrd configuration keys.
LIMIT_FLAGS = [
    "--max-header-bytes", "4096",
    "--max-headers", "20",
    "--max-url-bytes", "512",
    "--max-upload-bytes", "2000000",
    "--header-timeout-ms", "700",
    "--body-timeout-ms", "700",
    "--body-min-bytes-per-s", "100",
    "--idle-timeout-ms", "700",
    "--max-connections", "8",
]
SOCKET_TIMEOUT_S = 10


def connect(kadr):
    sock = socket.create_connection(("127.0.0.1", kadr.port),
                                    timeout=SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Reader:
    """Reads HTTP/1.1 responses off one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if head_only or status in (100, 204, 304):
            length = 0
        while len(self.buf) < length:
            self.fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self):
        """Returns True when the peer closes (EOF or reset) with no more
        bytes."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return self.buf == b""
                self.buf += data
        except ConnectionResetError:
            return self.buf == b""


def get_line(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: kadr\r\n%s\r\n" % (path, extra)
            ).encode()


class RobustTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon(*LIMIT_FLAGS).start()
        cls.photo = read_file(corpus("photos/phone-jolla.jpg"))
        resp = cls.kadr.upload(cls.photo)
        assert resp.status == 201, resp.body
        cls.id = resp.json()["id"]
        cls.path = "/v1/media/%s/w320.webp" % cls.id
        cls.small = cls.kadr.request("GET", cls.path).body

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def check_rejected(self, request, status, closes=True):
        sock = connect(self.kadr)
        try:
            sock.sendall(request)
            reader = Reader(sock)
            got, headers, body = reader.response()
            self.assertEqual(got, status, body)
            self.assertEqual(headers.get("x-content-type-options"),
                             "nosniff")
            if closes:
                self.assertEqual(headers.get("connection"), "close")
                self.assertTrue(reader.closed())
            return headers, body
        finally:
            sock.close()

    # ---- keep-alive and pipelining ----

    def test_keep_alive_sequential(self):
        sock = connect(self.kadr)
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(get_line(self.path))
            status, headers, body = reader.response()
            self.assertEqual(status, 200)
            self.assertEqual(headers["connection"], "keep-alive")
            self.assertEqual(body, self.small)
        sock.close()

    def test_pipelined_requests(self):
        sock = connect(self.kadr)
        reader = Reader(sock)
        sock.sendall(get_line(self.path) +
                     get_line(self.path, "Range: bytes=0-9\r\n") +
                     get_line("/nope") +
                     get_line(self.path, "Connection: close\r\n"))
        self.assertEqual(reader.response()[2], self.small)
        status, _, body = reader.response()
        self.assertEqual(status, 206)
        self.assertEqual(body, self.small[:10])
        self.assertEqual(reader.response()[0], 404)
        status, headers, body = reader.response()
        self.assertEqual(status, 200)
        self.assertEqual(headers["connection"], "close")
        self.assertEqual(body, self.small)
        self.assertTrue(reader.closed())
        sock.close()

    def test_http10_closes(self):
        sock = connect(self.kadr)
        sock.sendall(("GET %s HTTP/1.0\r\n\r\n" % self.path).encode())
        reader = Reader(sock)
        status, headers, body = reader.response()
        self.assertEqual(status, 200)
        self.assertEqual(body, self.small)
        self.assertTrue(reader.closed())
        sock.close()

    # ---- limits ----

    def test_url_too_long(self):
        self.check_rejected(get_line("/v1/media/" + "a" * 600), 414)

    def test_header_too_large(self):
        self.check_rejected(get_line("/healthz", "X-Big: %s\r\n" %
                                     ("b" * 5000)), 431)

    def test_too_many_headers(self):
        extra = "".join("X-H%d: v\r\n" % i for i in range(25))
        self.check_rejected(get_line("/healthz", extra), 431)

    def test_body_too_large(self):
        request = ("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                   "X-Api-Key: %s\r\nContent-Length: 3000000\r\n\r\n" %
                   API_KEY).encode()
        self.check_rejected(request, 413)

    def test_limits_keep_server_alive(self):
        self.check_rejected(get_line("/v1/media/" + "a" * 600), 414)
        self.assertEqual(self.kadr.request("GET", "/healthz").status, 200)

    # ---- slow clients and idle connections ----

    def test_slow_header_timeout(self):
        sock = connect(self.kadr)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kadr\r\n")
        started = time.monotonic()
        reader = Reader(sock)
        status, headers, _ = reader.response()
        self.assertEqual(status, 408)
        self.assertEqual(headers["connection"], "close")
        self.assertLess(time.monotonic() - started, 5)
        self.assertTrue(reader.closed())
        sock.close()

    def test_slow_header_trickle(self):
        # Bytes that keep arriving do not extend the head deadline.
        sock = connect(self.kadr)
        reader = Reader(sock)
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        status = None
        for i in range(40):
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                reader.fill()
            except (BlockingIOError, EOFError):
                pass
            sock.setblocking(True)
            if b"\r\n\r\n" in reader.buf:
                status = reader.response()[0]
                break
        self.assertEqual(status, 408)
        self.assertLess(time.monotonic() - started, 3)
        sock.close()

    def test_slow_body_timeout(self):
        sock = connect(self.kadr)
        sock.sendall(("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                      "X-Api-Key: %s\r\nContent-Length: %d\r\n\r\n" %
                      (API_KEY, len(self.photo))).encode())
        sock.sendall(self.photo[:1000])
        reader = Reader(sock)
        status, headers, _ = reader.response()
        self.assertEqual(status, 408)
        self.assertEqual(headers["connection"], "close")
        sock.close()
        self.assertEqual(self.kadr.tmp_files(), [])

    def send_in_steps(self, head, pieces, gap_s):
        """Sends a request head, then one piece every gap_s, and returns
        the status and the seconds until the response (None when all
        pieces went out without one)."""
        sock = connect(self.kadr)
        started = time.monotonic()
        try:
            sock.sendall(head)
            sock.settimeout(gap_s)
            reader = Reader(sock)
            for piece in pieces:
                sock.sendall(piece)
                try:
                    status = reader.response()[0]
                    return status, time.monotonic() - started
                except socket.timeout:
                    pass
            return None, time.monotonic() - started
        finally:
            sock.close()

    def upload_head(self, framing):
        return ("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                "X-Api-Key: %s\r\n%s\r\n\r\n" % (API_KEY, framing)).encode()

    def upload_in_steps(self, step_bytes, gap_s, steps):
        """Sends part of a photo upload, step_bytes every gap_s, and
        returns the status and the seconds until the response."""
        head = self.upload_head("Content-Length: %d" % len(self.photo))
        pieces = [self.photo[i * step_bytes:(i + 1) * step_bytes]
                  for i in range(steps)]
        return self.send_in_steps(head, pieces, gap_s)

    def chunked_trickle(self, start, piece):
        """Sends a chunked photo upload whose first 10 bytes come at
        once, then start and piece every 0.3 s: chunk framing with no
        body bytes in it."""
        head = self.upload_head("Transfer-Encoding: chunked")
        first = b"a\r\n" + self.photo[:10] + b"\r\n" + start
        return self.send_in_steps(head, [first] + [piece] * 30, 0.3)

    def test_body_trickle_timeout(self):
        # A byte every 0.3 s never pauses for the 0.7 s body timeout, but
        # at 100 bytes/s the body may take 0.7 s plus 10 ms a byte.
        status, elapsed = self.upload_in_steps(1, 0.3, 20)
        self.assertEqual(status, 408)
        self.assertLess(elapsed, 3)
        self.assertEqual(self.kadr.tmp_files(), [])

    def test_chunk_framing_trickle_timeout(self):
        # Chunk extensions, zeros of a chunk size and a trailer field
        # carry no body bytes: at 100 bytes/s the 10 body bytes allow
        # 0.7 s plus 0.1 s, far less than the 9 s the pieces take.
        cases = [("extension", b"1;", b"x"),
                 ("size zeros", b"", b"0"),
                 ("trailer", b"0\r\nX-Trailer: ", b"x")]
        for name, start, piece in cases:
            with self.subTest(framing=name):
                status, elapsed = self.chunked_trickle(start, piece)
                self.assertEqual(status, 408)
                self.assertLess(elapsed, 3)
                self.assertEqual(self.kadr.tmp_files(), [])

    def test_body_steady_not_cut(self):
        # 200 bytes every 0.2 s is 1000 bytes/s, well above the minimum.
        status, elapsed = self.upload_in_steps(200, 0.2, 15)
        self.assertIsNone(status)
        self.assertGreater(elapsed, 2.5)

    def test_idle_timeout_closes(self):
        sock = connect(self.kadr)
        reader = Reader(sock)
        sock.sendall(get_line("/healthz"))
        self.assertEqual(reader.response()[0], 200)
        started = time.monotonic()
        self.assertTrue(reader.closed())
        elapsed = time.monotonic() - started
        self.assertGreater(elapsed, 0.4)
        self.assertLess(elapsed, 5)
        sock.close()

    def test_idle_timeout_restarts(self):
        # Requests 0.2 s apart for 2 s: each gap is shorter than the
        # 0.7 s idle timeout, so the connection stays open throughout.
        sock = connect(self.kadr)
        reader = Reader(sock)
        for _ in range(10):
            sock.sendall(get_line("/healthz"))
            status, headers, _ = reader.response()
            self.assertEqual(status, 200)
            self.assertEqual(headers["connection"], "keep-alive")
            time.sleep(0.2)
        sock.sendall(get_line("/healthz"))
        self.assertEqual(reader.response()[0], 200)
        sock.close()

    def test_silent_connection_closes(self):
        sock = connect(self.kadr)
        self.assertTrue(Reader(sock).closed())
        sock.close()

    # ---- 100-continue ----

    def test_expect_continue(self):
        sock = connect(self.kadr)
        sock.sendall(("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                      "X-Api-Key: %s\r\nContent-Length: %d\r\n"
                      "Expect: 100-continue\r\n\r\n" %
                      (API_KEY, len(self.photo))).encode())
        reader = Reader(sock)
        status, _, _ = reader.response()
        self.assertEqual(status, 100)
        sock.sendall(self.photo)
        status, headers, body = reader.response()
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["connection"], "keep-alive")
        sock.close()

    def test_expect_continue_rejected_early(self):
        # No key: 401 comes at once, with no 100 and no wait for the body.
        sock = connect(self.kadr)
        sock.sendall(("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                      "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" %
                      len(self.photo)).encode())
        reader = Reader(sock)
        status, headers, _ = reader.response()
        self.assertEqual(status, 401)
        self.assertEqual(headers["connection"], "close")
        sock.close()

    # ---- request smuggling ----

    def test_smuggling_rejected(self):
        cases = [
            ("cl_and_te",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\nContent-Length: 4\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("te_and_cl",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
             "0\r\n\r\n"),
            ("duplicate_cl",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\nContent-Length: 4\r\n"
             "Content-Length: 5\r\n\r\nabcde"),
            ("duplicate_cl_equal",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\nContent-Length: 4\r\n"
             "Content-Length: 4\r\n\r\nabcd"),
            ("cl_list",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Content-Length: 4, 4\r\n\r\nabcd"),
            ("cl_sign",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Content-Length: +4\r\n\r\nabcd"),
            ("bad_chunk_size",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
            ("huge_chunk_size",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"
             "fffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
            ("te_not_chunked",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: gzip\r\n\r\nabcd"),
            ("te_chunked_twice",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
             "\r\n0\r\n\r\n"),
            ("space_before_colon",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Content-Length : 4\r\n\r\nabcd"),
            ("bare_lf_in_chunk",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"),
            ("obs_fold_in_length",
             "POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
             "Content-Length: 1\r\n 0\r\n\r\nabcd"),
            ("te_in_http10",
             "POST /v1/media HTTP/1.0\r\nHost: kadr\r\n"
             "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"),
        ]
        for name, text in cases:
            with self.subTest(case=name):
                request = text.replace("Host: kadr\r\n", "Host: kadr\r\n"
                                       "X-Api-Key: %s\r\n" % API_KEY, 1)
                # A smuggled second request must never be answered.
                request += "GET /healthz HTTP/1.1\r\nHost: kadr\r\n\r\n"
                self.check_rejected(request.encode(), 400)

    def test_chunk_size_overflow_detail(self):
        request = ("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                   "X-Api-Key: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "fffffffffffffffff\r\nabc\r\n0\r\n\r\n" % API_KEY)
        _, body = self.check_rejected(request.encode(), 400)
        self.assertEqual(json.loads(body),
                         {"error": "bad_request",
                          "detail": "invalid chunk size"})

    def test_host_header_rules(self):
        # RFC 9112, section 3.2: one valid Host in every HTTP/1.1 request.
        cases = [
            ("missing", "GET /healthz HTTP/1.1\r\n\r\n"),
            ("twice", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
             "\r\n"),
            ("invalid", "GET /healthz HTTP/1.1\r\nHost: a b/c\r\n\r\n"),
            ("folded", "GET /healthz HTTP/1.1\r\nHost: kadr\r\n"
             "X-Note: one\r\n two\r\n\r\n"),
        ]
        for name, text in cases:
            with self.subTest(case=name):
                self.check_rejected(text.encode(), 400)
        for text in ("GET /healthz HTTP/1.0\r\n\r\n",
                     "GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"):
            sock = connect(self.kadr)
            try:
                sock.sendall(text.encode())
                got, headers, body = Reader(sock).response()
                self.assertEqual(got, 200, text)
            finally:
                sock.close()

    def test_upgrade_request_closes(self):
        # kadrd never switches protocols, and the bytes after an Upgrade
        # request are not read as HTTP, so the response announces the
        # close and the pipelined request gets no response.
        cases = [
            ("websocket", "Connection: Upgrade\r\nUpgrade: websocket\r\n"),
            ("h2c", "Connection: Upgrade, HTTP2-Settings\r\n"
             "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"),
        ]
        for name, extra in cases:
            with self.subTest(case=name):
                sock = connect(self.kadr)
                try:
                    sock.sendall(get_line(self.path, extra) +
                                 get_line(self.path))
                    reader = Reader(sock)
                    status, headers, body = reader.response()
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["connection"], "close")
                    self.assertEqual(body, self.small)
                    self.assertTrue(reader.closed())
                finally:
                    sock.close()

    def test_upgrade_header_alone_keeps_alive(self):
        # Without "Connection: Upgrade" the Upgrade header is only a
        # header, and the connection goes on.
        sock = connect(self.kadr)
        try:
            sock.sendall(get_line(self.path, "Upgrade: websocket\r\n") +
                         get_line(self.path, "Connection: close\r\n"))
            reader = Reader(sock)
            status, headers, body = reader.response()
            self.assertEqual(status, 200)
            self.assertEqual(headers["connection"], "keep-alive")
            status, headers, body = reader.response()
            self.assertEqual(status, 200)
            self.assertEqual(body, self.small)
            self.assertTrue(reader.closed())
        finally:
            sock.close()

    # ---- errors carry nosniff ----

    def test_server_errors_have_nosniff(self):
        headers, body = self.check_rejected(b"BREW / HTTP/1.1\r\n\r\n", 400)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["cache-control"], "no-store")
        # Errors from the parser use the API's snake_case names too.
        self.assertEqual(json.loads(body)["error"], "bad_request")


class CapTest(unittest.TestCase):
    """The connection cap, with long timeouts so that no held connection
    times out while the test runs on a busy machine."""

    def test_connection_cap(self):
        with Daemon("--max-connections", "4") as kadr:
            held = []
            try:
                # Each held connection sends part of a head, so it is open
                # and busy; the cap counts every open connection.
                for _ in range(4):
                    sock = connect(kadr)
                    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
                    held.append(sock)
                time.sleep(0.2)
                extra = connect(kadr)
                reader = Reader(extra)
                status, headers, _ = reader.response()
                self.assertEqual(status, 503)
                self.assertTrue(reader.closed())
                extra.close()
            finally:
                for sock in held:
                    sock.close()
            time.sleep(0.2)
            self.assertEqual(kadr.request("GET", "/healthz").status, 200)


def soft_open_files(pid):
    """The soft open-file limit of a process, from /proc."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-file limit for pid %d" % pid)


class OpenFileLimitTest(unittest.TestCase):
    """kadrd raises a low soft open-file limit to what its connections
    need, and lowers max_connections to what the hard limit allows."""

    def setUp(self):
        self.hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def need_hard_limit(self, count):
        if self.hard != resource.RLIM_INFINITY and self.hard < count:
            self.skipTest("needs a hard open-file limit of %d or more, "
                          "this one is %d" % (count, self.hard))

    def hold_idle(self, kadr, count):
        held = []
        for _ in range(count):
            held.append(connect(kadr))
        self.addCleanup(lambda: [sock.close() for sock in held])
        return held

    def test_default_raises_soft_limit(self):
        self.need_hard_limit(4096)
        # 65536, and two more for the one volume of a new store.
        expected_soft = 65536 + 2
        if self.hard != resource.RLIM_INFINITY:
            expected_soft = min(self.hard, expected_soft)
        with Daemon(open_files=(1024, self.hard)) as kadr:
            self.assertEqual(soft_open_files(kadr.proc.pid), expected_soft)
            self.assertEqual(kadr.max_connections(),
                             (expected_soft - 2 - 128) // 2)
            # More idle clients than 1024 descriptors would allow
            # (448 connections), and a new client is still served.
            self.hold_idle(kadr, 600)
            self.assertEqual(kadr.request("GET", "/healthz").status, 200)

    def test_configured_cap_raises_soft_limit(self):
        self.need_hard_limit(2 * 1000 + 128 + 2)
        with Daemon("--max-connections", "1000",
                    open_files=(256, self.hard)) as kadr:
            self.assertEqual(soft_open_files(kadr.proc.pid),
                             2 * 1000 + 128 + 2)
            self.assertEqual(kadr.max_connections(), 1000)

    def test_configured_cap_lowered_to_hard_limit(self):
        with Daemon("--max-connections", "5000",
                    open_files=(512, 512)) as kadr:
            self.assertEqual(soft_open_files(kadr.proc.pid), 512)
            # (512 - 2 for the volume - 128) / 2
            self.assertEqual(kadr.max_connections(), 191)
            self.assertIn("event=config.max_connections_lowered "
                          "configured=5000 allowed=191 open_files=512",
                          kadr.log_text())
            self.hold_idle(kadr, 191)
            time.sleep(0.2)
            extra = connect(kadr)
            reader = Reader(extra)
            status, headers, _ = reader.response()
            extra.close()
            self.assertEqual(status, 503)
            self.assertIn("retry-after", headers)


class StopTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight(self):
        kadr = Daemon("--body-timeout-ms", "5000").start()
        photo = read_file(corpus("photos/phone-jolla.jpg"))
        try:
            idle = connect(kadr)
            busy = connect(kadr)
            busy.sendall(("POST /v1/media HTTP/1.1\r\nHost: kadr\r\n"
                          "X-Api-Key: %s\r\nContent-Length: %d\r\n\r\n" %
                          (API_KEY, len(photo))).encode())
            busy.sendall(photo[:1000])
            time.sleep(0.2)
            started = time.monotonic()
            kadr.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            # The listener is closed: new connections are refused.
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", kadr.port),
                                         timeout=2).close()
            # An idle keep-alive connection is closed at once.
            self.assertTrue(Reader(idle).closed())
            # The request in flight completes, then the connection closes.
            busy.sendall(photo[1000:])
            reader = Reader(busy)
            status, headers, body = reader.response()
            self.assertEqual(status, 201, body)
            self.assertEqual(headers["connection"], "close")
            self.assertTrue(reader.closed())
            code = kadr.proc.wait(timeout=20)
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - started, 20)
            kadr.proc = None
            kadr.log.close()
            self.assertIn("event=server.stopped", kadr.log_text())
        finally:
            idle.close()
            busy.close()
            kadr.__exit__(None, None, None)


if __name__ == "__main__":
    main()
