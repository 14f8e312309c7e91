"""Upload streaming: chunked bodies, bounded memory, aborted clients."""

import http.client
import json
import socket
import time
import unittest

from kadr_harness import API_KEY, Daemon, corpus, main, read_file

MIB = 1024 * 1024
REJECTED = 'kadr_uploads_total{kind="unsupported",result="rejected"}'


def resident_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field + " not found")


def chunks(data, size):
    for i in range(0, len(data), size):
        yield data[i:i + size]


class UploadStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def test_chunked_upload(self):
        data = read_file(corpus("photos/phone-jolla.jpg"))
        conn = http.client.HTTPConnection("127.0.0.1", self.kadr.port,
                                          timeout=60)
        conn.request("POST", "/v1/media", body=chunks(data, 7000),
                     headers={"X-Api-Key": API_KEY},
                     encode_chunked=True)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.assertEqual(resp.status, 201, body)
        stored = self.kadr.variant(
            __import__("json").loads(body)["id"], "original", key=True)
        self.assertEqual(stored.body, data)

    def test_missing_key_is_401(self):
        resp = self.kadr.request("POST", "/v1/media", body=b"x" * 10)
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.json()["error"], "unauthorized")
        self.assertEqual(resp.header("www-authenticate"),
                         'ApiKey header="X-Api-Key"')
        resp = self.kadr.request("POST", "/v1/media", body=b"x" * 10,
                                 headers={"X-Api-Key": API_KEY + "x"})
        self.assertEqual(resp.status, 401)

    def test_no_length_is_411(self):
        with socket.create_connection(("127.0.0.1", self.kadr.port),
                                      timeout=10) as s:
            s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                      b"X-Api-Key: " + API_KEY.encode() + b"\r\n\r\n")
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 411 "), reply)
        self.assertIn("event=upload.rejected req=", self.kadr.log_text())
        self.assertIn(" status=411 error=length_required ",
                      self.kadr.log_text())

    def test_no_length_closes_connection(self):
        # Bytes sent after a head without framing must not be read as a
        # second request, so the 411 closes the connection.
        server_rejected = self.kadr.metrics()[
            "kadr_http_server_rejected_total"]
        log_start = len(self.kadr.log_text())
        with socket.create_connection(("127.0.0.1", self.kadr.port),
                                      timeout=10) as s:
            s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                      b"X-Api-Key: " + API_KEY.encode() + b"\r\n\r\n"
                      b"GET /healthz HTTP/1.1\r\nHost: k\r\n\r\n")
            reply = b""
            while True:
                piece = s.recv(65536)
                if not piece:
                    break
                reply += piece
        head = reply.split(b"\r\n\r\n")[0].split(b"\r\n")
        self.assertEqual(head[0], b"HTTP/1.1 411 Length Required")
        self.assertIn(b"Connection: close", head)
        self.assertEqual(reply.count(b"HTTP/1.1 "), 1, reply)
        log = self.kadr.log_text()[log_start:]
        self.assertEqual(log.count("event=upload.rejected "), 1)
        self.assertNotIn("path=/healthz", log)
        self.assertEqual(
            self.kadr.metrics()["kadr_http_server_rejected_total"],
            server_rejected)

    def test_bad_query_is_400(self):
        data = read_file(corpus("photos/camera-canon-40d.jpg"))
        blobs = self.kadr.metrics()["kadr_store_blobs"]
        rejected = self.kadr.metrics()[REJECTED]
        log_start = len(self.kadr.log_text())
        queries = ("?access=secret", "?access=paid%00", "?access=%00paid",
                   "?access=pa%zzid", "?owner=%FF%FE", "?owner=a%20b",
                   "?owner=a+b", "?owner=" + "x" * 65, "?owner=a%2",
                   "?wait=2", "?wait=%00", "?ACCESS=paid", "?Access=paid",
                   "?color=red", "?access=paid&acess=public")
        for query in queries:
            resp = self.kadr.upload(data, query)
            self.assertEqual(resp.status, 400, query)
            self.assertEqual(resp.json()["error"], "bad_request", query)
        self.assertEqual(self.kadr.metrics()["kadr_store_blobs"], blobs)
        self.assertEqual(self.kadr.metrics()[REJECTED],
                         rejected + len(queries))
        self.assertEqual(self.kadr.log_text()[log_start:].count(
            "status=400 error=bad_request"), len(queries))

    def test_unknown_parameter_named(self):
        data = read_file(corpus("photos/camera-canon-40d.jpg"))
        resp = self.kadr.upload(data, "?ACCESS=paid")
        self.assertEqual(resp.status, 400)
        self.assertEqual(resp.json()["detail"],
                         "unknown query parameter: uploads take access, "
                         "owner and wait, in lower case")
        # An empty pair and encoded names are read like the others.
        resp = self.kadr.upload(data, "?&acc%65ss=paid&")
        self.assertEqual(resp.status, 201, resp.body)
        self.assertEqual(resp.json()["access"], "paid")

    def test_owner_errors_say_why(self):
        data = read_file(corpus("photos/camera-canon-40d.jpg"))
        cases = {
            "?owner=a+b": "owner must be printable ASCII without spaces "
                          "(a '+' in a query is a space: send %2B)",
            "?owner=a%2": "owner is malformed: over 64 bytes, a bad %XX "
                          "escape or an encoded NUL",
            "?owner=" + "x" * 65: "owner is malformed: over 64 bytes, a "
                                  "bad %XX escape or an encoded NUL",
        }
        for query, detail in cases.items():
            resp = self.kadr.upload(data, query)
            self.assertEqual(resp.status, 400, query)
            self.assertEqual(resp.json()["detail"], detail, query)
        self.assertEqual(self.kadr.upload(data, "?owner=a%2Bb").status, 201)

    def test_multipart_form_is_415_with_hint(self):
        resp = self.kadr.upload(
            b"--x\r\nContent-Disposition: form-data; name=f\r\n\r\n"
            b"\xff\xd8\xff\r\n--x--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x"})
        self.assertEqual(resp.status, 415)
        self.assertIn("raw request body", resp.json()["detail"])
        self.assertIn(" status=415 error=unsupported_media_type ",
                      self.kadr.log_text())

    def test_empty_body_alike_both_ways(self):
        counter = REJECTED
        for chunked in (False, True):
            before = self.kadr.metrics()[counter]
            conn = http.client.HTTPConnection("127.0.0.1", self.kadr.port,
                                              timeout=60)
            conn.request("POST", "/v1/media",
                         body=iter([]) if chunked else b"",
                         headers={"X-Api-Key": API_KEY},
                         encode_chunked=chunked)
            resp = conn.getresponse()
            body = json.loads(resp.read())
            conn.close()
            self.assertEqual(resp.status, 400, chunked)
            self.assertEqual(body["error"], "empty_body", chunked)
            self.assertEqual(self.kadr.metrics()[counter], before + 1,
                             chunked)

    def test_aborted_upload_leaves_no_file(self):
        blobs = self.kadr.metrics()["kadr_store_blobs"]
        volume_before = self.kadr.volume_bytes()
        with socket.create_connection(("127.0.0.1", self.kadr.port),
                                      timeout=10) as s:
            s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                      b"X-Api-Key: " + API_KEY.encode() + b"\r\n"
                      b"Content-Length: 10000000\r\n\r\n")
            s.sendall(read_file(corpus("photos/phone-jolla.jpg")))
        time.sleep(0.5)
        self.assertEqual(self.kadr.tmp_files(), [])
        self.assertEqual(self.kadr.metrics()["kadr_store_blobs"], blobs)
        self.assertEqual(self.kadr.volume_bytes(), volume_before)
        self.assertEqual(self.kadr.request("GET", "/healthz").status, 200)

    def test_declared_size_over_limit_rejected_early(self):
        # A photo declared larger than image_max_file_bytes (100 MB by
        # default) gets 422 from its first bytes, without its body.
        volume_before = self.kadr.volume_bytes()
        head = read_file(corpus("photos/phone-jolla.jpg"))[:64 * 1024]
        with socket.create_connection(("127.0.0.1", self.kadr.port),
                                      timeout=10) as s:
            s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: k\r\n"
                      b"X-Api-Key: " + API_KEY.encode() + b"\r\n"
                      b"Content-Length: 200000000\r\n\r\n" + head)
            reply = s.recv(65536)
        self.assertTrue(reply.startswith(b"HTTP/1.1 422 "), reply)
        self.assertIn(b'"error": "media_over_limit"', reply)
        self.assertIn(b"image_max_file_bytes", reply)
        self.assertEqual(self.kadr.volume_bytes(), volume_before)
        self.assertEqual(self.kadr.tmp_files(), [])

    def test_one_gib_upload_memory_bounded(self):
        # An MP4 start followed by 1 GiB of filler: it streams to disk in
        # full, then fails the probe. Resident memory must stay flat.
        pid = self.kadr.proc.pid
        self.kadr.upload(read_file(corpus("photos/camera-canon-40d.jpg")))
        rss_before = resident_kib(pid, "VmRSS")
        volume_before = self.kadr.volume_bytes()
        total = 1024 * MIB
        ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
        block = ftyp + b"\x00" * (MIB - len(ftyp))
        filler = b"\x5a" * MIB
        conn = http.client.HTTPConnection("127.0.0.1", self.kadr.port,
                                          timeout=300)
        conn.putrequest("POST", "/v1/media")
        conn.putheader("X-Api-Key", API_KEY)
        conn.putheader("Content-Length", str(total))
        conn.endheaders()
        conn.send(block)
        peak = rss_before
        for i in range(1, total // MIB):
            conn.send(filler)
            if i % 64 == 0:
                peak = max(peak, resident_kib(pid, "VmRSS"))
        resp = conn.getresponse()
        resp.read()
        conn.close()
        peak = max(peak, resident_kib(pid, "VmRSS"))
        self.assertEqual(resp.status, 422)
        growth_mib = (peak - rss_before) / 1024
        self.assertLess(growth_mib, 8, "resident memory grew %.1f MiB" %
                        growth_mib)
        self.assertEqual(self.kadr.tmp_files(), [])
        self.assertEqual(self.kadr.volume_bytes(), volume_before)

    def test_repeated_upload_adds_no_volume_bytes(self):
        # The second upload is written in place, then found to be a
        # duplicate: its room at the end of the volume is given back.
        data = read_file(corpus("photos/camera-canon-40d.jpg"))
        first = self.kadr.upload(data)
        self.assertEqual(first.status, 201)
        volume_before = self.kadr.volume_bytes()
        second = self.kadr.upload(data)
        self.assertEqual(second.status, 201)
        self.assertNotEqual(second.json()["id"], first.json()["id"])
        self.assertEqual(self.kadr.volume_bytes(), volume_before)
        stored = self.kadr.variant(second.json()["id"], "original", key=True)
        self.assertEqual(stored.body, data)


if __name__ == "__main__":
    main()
