"""Log lines: access lines without query strings, secrets and tokens never
logged, rate-limited repeats, and SIGHUP reloads of the log level and the
keys while connections stay open."""

import http.client
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main

KADRCTL = os.environ.get("KADRCTL", "kadrctl")
PHOTO = corpus("photos/orientation-landscape_1.jpg")
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(\w+) "
                  r"event=([\w.]+)( [\w.]+=\S*)*$")
TOKEN_SECRET = "c2VjcmV0LXRva2VuLWtleS1ieXRlcy0wMTIzNDU2Nzg5"
# base64 of "another-token-key-bytes-987654321"
TOKEN_SECRET_2 = "YW5vdGhlci10b2tlbi1rZXktYnl0ZXMtOTg3NjU0MzIx"


def wait_log(daemon, pattern, count=1, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.findall(pattern, daemon.log_text(), re.M)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError("log has no %r: %s" % (pattern, daemon.log_text()))


def access_lines(daemon):
    return [line for line in daemon.log_text().splitlines()
            if "event=http.access" in line]


class AccessLogTest(unittest.TestCase):
    def test_line_per_request(self):
        with Daemon() as d:
            d.request("GET", "/healthz")
            d.request("GET", "/nope?token=abc")
            wait_log(d, r"event=http\.access .*path=/nope", 1)
            lines = access_lines(d)
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"method=GET path=/healthz status=200 "
                                   r"bytes=\d+ ms=[\d.]+")
        self.assertIn("client=127.0.0.1", lines[0])
        self.assertRegex(lines[1], r"path=/nope status=404")

    def test_every_line_structured(self):
        with Daemon() as d:
            d.request("GET", "/healthz")
            d.upload(b"garbage bytes")
            wait_log(d, r"event=http\.access .*status=415")
            text = d.log_text()
        for line in text.splitlines():
            self.assertRegex(line, LINE)

    def test_access_log_off(self):
        with Daemon("--access-log", "off") as d:
            d.request("GET", "/healthz")
            d.upload(b"garbage bytes")
            wait_log(d, r"event=upload\.rejected")
            time.sleep(0.2)
            self.assertEqual(access_lines(d), [])

    def test_server_rejects_logged(self):
        # Requests that the server rejects before routing get no access
        # line but one http.rejected line with the status and the reason.
        cases = [
            (b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
             400, r"obsolete\\x20line\\x20folding\\x20in\\x20a\\x20header"),
            (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
             400, r"more\\x20than\\x20one\\x20Host\\x20header"),
            (b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505,
             r"only\\x20HTTP/1\.0\\x20and\\x20HTTP/1\.1\\x20are"
             r"\\x20supported"),
        ]
        with Daemon() as d:
            for request, status, detail in cases:
                with socket.create_connection(("127.0.0.1", d.port),
                                              timeout=10) as sock:
                    sock.sendall(request)
                    reply = sock.recv(65536)
                self.assertTrue(reply.startswith(b"HTTP/1.1 %d " % status),
                                reply)
            for _, status, detail in cases:
                with self.subTest(status=status, detail=detail):
                    wait_log(d, r"level=info event=http\.rejected "
                                r"client=127\.0\.0\.1 status=%d detail=%s$" %
                             (status, detail))
            lines = [line for line in d.log_text().splitlines()
                     if "event=http.rejected" in line]
            self.assertEqual(len(lines), len(cases))
            self.assertEqual(access_lines(d), [])

    def test_upload_rejections_outside_route(self):
        # A body over max_upload_bytes is rejected before routing and a
        # missing key by the key check, so neither is an upload.rejected.
        with Daemon("--max-upload-bytes", "1000") as d:
            resp = d.upload(b"x" * 2000)
            self.assertEqual(resp.status, 413)
            resp = d.request("POST", "/v1/media", body=b"x" * 10)
            self.assertEqual(resp.status, 401)
            wait_log(d, r"level=info event=http\.rejected "
                        r"client=127\.0\.0\.1 status=413 ")
            wait_log(d, r"event=http\.access .*status=401 ")
            metrics = d.metrics()
            text = d.log_text()
        self.assertNotIn("event=upload.rejected", text)
        self.assertEqual(metrics['kadr_uploads_total{kind="unsupported",'
                                 'result="rejected"}'], 0)
        self.assertEqual(metrics["kadr_http_server_rejected_total"], 1)


class SecretsTest(unittest.TestCase):
    def test_no_secret_or_token_logged(self):
        token = "v1~k1~9999999999~~~" + "A" * 43
        with Daemon("--token-keys", "k1:" + TOKEN_SECRET,
                    "--log-level", "debug") as d:
            resp = d.upload_file(PHOTO, "?access=paid")
            self.assertEqual(resp.status, 201)
            media_id = resp.json()["id"]
            d.variant(media_id, "w320.webp?token=" + token)
            d.variant(media_id, "w320.webp",
                      headers={"Authorization": "Bearer " + token})
            d.request("POST", "/v1/media", body=b"x",
                      headers={"X-Api-Key": "wrong-" + API_KEY})
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_log(d, r"event=config\.reloaded")
            wait_log(d, r"event=http\.access .*status=401")
            text = d.log_text()
        self.assertNotIn(API_KEY, text)
        self.assertNotIn(TOKEN_SECRET, text)
        self.assertNotIn(token, text)
        self.assertNotIn("A" * 43, text)
        self.assertNotIn("?token", text)


class RateLimitTest(unittest.TestCase):
    def test_repeated_errors_limited(self):
        # A disk reserve larger than any disk makes every upload fail with
        # 507 and an upload.disk_full error line.
        attempts = 40
        with Daemon("--disk-reserve-bytes", str(1 << 62),
                    "--log-rate-limit", "5") as d:
            conn = http.client.HTTPConnection("127.0.0.1", d.port,
                                              timeout=30)
            for _ in range(attempts):
                conn.request("POST", "/v1/media", body=b"x" * 10,
                             headers={"X-Api-Key": API_KEY})
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, 507)
            time.sleep(1.1)
            conn.request("POST", "/v1/media", body=b"x" * 10,
                         headers={"X-Api-Key": API_KEY})
            conn.getresponse().read()
            conn.close()
            wait_log(d, r"event=http\.access .*status=507", attempts + 1)
            text = d.log_text()
            suppressed = d.metrics()["kadr_log_suppressed_total"]
        written = len(re.findall(r"event=upload\.disk_full", text))
        reported = sum(int(n) for n in re.findall(
            r"event=log\.suppressed name=upload\.disk_full count=(\d+)",
            text))
        self.assertGreater(suppressed, 0)
        self.assertEqual(written + suppressed, attempts + 1)
        self.assertEqual(reported, suppressed)
        seconds = {}
        for stamp in re.findall(r"^(\S+?)\.\d{3}Z level=error "
                                r"event=upload\.disk_full", text, re.M):
            seconds[stamp] = seconds.get(stamp, 0) + 1
        self.assertLessEqual(max(seconds.values()), 5)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kadr-reload-")
        self.keys = os.path.join(self.tmp.name, "api_keys")
        self.ini = os.path.join(self.tmp.name, "kadrd.ini")
        self.write(self.keys, "old-front-end-key\n")
        self.write(self.ini, "api_keys_file = %s\nlog_level = info\n"
                   "workers = 1\n" % self.keys)

    def tearDown(self):
        self.tmp.cleanup()

    @staticmethod
    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    @staticmethod
    def delete_status(conn, key):
        # DELETE of an unknown id: 404 with a valid key, 401 without.
        conn.request("DELETE", "/v1/media/AAAAAAAAAAAAAAAA",
                     headers={"X-Api-Key": key})
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def test_sighup_swaps_keys_keeps_connection(self):
        with Daemon("--config", self.ini) as d:
            conn = http.client.HTTPConnection("127.0.0.1", d.port,
                                              timeout=30)
            self.assertEqual(self.delete_status(conn, "old-front-end-key"),
                             404)
            self.write(self.keys, "new-front-end-key\n")
            self.write(self.ini, "api_keys_file = %s\nlog_level = warn\n"
                       "workers = 7\ncompact_dead_percent = 0\n" % self.keys)
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_log(d, r"event=config\.reloaded")
            # The same keep-alive connection goes on working.
            self.assertEqual(self.delete_status(conn, "new-front-end-key"),
                             404)
            self.assertEqual(self.delete_status(conn, "old-front-end-key"),
                             401)
            self.assertEqual(self.delete_status(conn, API_KEY), 404)
            conn.close()
            # log_level is now warn: info events stop.
            before = d.log_text().count("event=upload.rejected")
            d.upload(b"garbage bytes")
            wait_log(d, r"event=http\.access .*status=415")
            after = d.log_text().count("event=upload.rejected")
            text = d.log_text()
        self.assertEqual(before, after)
        self.assertIn("event=config.restart_needed key=workers", text)
        # A reload keeps compact_dead_percent, so stopping background
        # compaction for a backup takes a restart.
        self.assertIn("event=config.restart_needed key=compact_dead_percent",
                      text)
        self.assertNotIn("new-front-end-key", text)
        self.assertNotIn("old-front-end-key", text)

    def mint(self, key_id, media_id):
        out = subprocess.run(
            [KADRCTL, "token", "--key-id", key_id, "--media", media_id,
             "--ttl", "600", "--token-keys-file", self.tokens],
            capture_output=True, text=True, timeout=30, check=True)
        return out.stdout.strip()

    def test_sighup_rotates_token_keys(self):
        self.tokens = os.path.join(self.tmp.name, "token_keys")
        self.write(self.tokens, "k1:%s\n" % TOKEN_SECRET)
        self.write(self.ini, "api_keys_file = %s\ntoken_keys_file = %s\n" %
                   (self.keys, self.tokens))
        with Daemon("--config", self.ini) as d:
            media_id = d.upload_file(PHOTO, "?access=paid").json()["id"]
            old = self.mint("k1", media_id)
            path = "w320.webp?token=" + old
            self.assertEqual(d.variant(media_id, path).status, 200)
            self.write(self.tokens, "k2:%s\n" % TOKEN_SECRET_2)
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_log(d, r"event=config\.reloaded .*token_keys=1")
            new = self.mint("k2", media_id)
            self.assertEqual(
                d.variant(media_id, "w320.webp?token=" + new).status, 200)
            self.assertEqual(d.variant(media_id, path).status, 403)
            text = d.log_text()
        self.assertNotIn(TOKEN_SECRET, text)
        self.assertNotIn(TOKEN_SECRET_2, text)
        self.assertNotIn(old, text)
        self.assertNotIn(new, text)

    def test_bad_reload_keeps_running_config(self):
        with Daemon("--config", self.ini) as d:
            self.write(self.ini, "api_keys_file = %s\nlog_level = loud\n" %
                       self.keys)
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_log(d, r"event=config\.reload_failed")
            conn = http.client.HTTPConnection("127.0.0.1", d.port,
                                              timeout=30)
            self.assertEqual(self.delete_status(conn, "old-front-end-key"),
                             404)
            conn.close()
            self.assertIn("log_level", d.log_text())


if __name__ == "__main__":
    main()
