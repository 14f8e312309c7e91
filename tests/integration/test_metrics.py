"""/metrics after a known sequence of requests, and /healthz."""

import socket
import time
import unittest

from kadr_harness import Daemon, corpus, main, read_file

PHOTO = corpus("photos/orientation-landscape_1.jpg")
VIDEO = corpus("video/phone-rotated-moov-at-end.mov")


def wait_for(fn, want, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    value = fn()
    while value != want and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fn()
    return value


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()
        d = cls.daemon
        cls.photo = read_file(PHOTO)
        # The known sequence.
        for _ in range(2):
            assert d.request("GET", "/healthz").status == 200
        assert d.request("GET", "/nope").status == 404
        assert d.upload(b"not media at all").status == 415
        assert d.request("POST", "/v1/media", body=cls.photo).status == 401
        first = d.upload(cls.photo)
        assert first.status == 201, first.body
        second = d.upload(cls.photo)
        assert second.status == 201, second.body
        cls.media_id = first.json()["id"]
        assert d.media(cls.media_id).status == 200
        cls.variant = d.variant(cls.media_id, "w320.webp")
        assert cls.variant.status == 200
        ranged = d.variant(cls.media_id, "w320.webp",
                           headers={"Range": "bytes=0-99"})
        assert ranged.status == 206
        cls.values = d.metrics()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def value(self, name):
        return self.values.get(name, 0)

    def test_requests_by_route_and_status(self):
        expected = {
            ("healthz", 200): 2,
            ("other", 404): 1,
            ("upload", 415): 1,
            ("upload", 401): 1,
            ("upload", 201): 2,
            ("media", 200): 1,
            ("variant", 200): 1,
            ("variant", 206): 1,
        }
        for (route, code), n in expected.items():
            name = 'kadr_http_requests_total{route="%s",code="%d"}' % (
                route, code)
            self.assertEqual(self.value(name), n, name)
        total = sum(v for k, v in self.values.items()
                    if k.startswith("kadr_http_requests_total"))
        self.assertEqual(total, sum(expected.values()))

    def test_latency_histogram_counts(self):
        for route, n in (("upload", 4), ("variant", 2), ("healthz", 2),
                         ("media", 1), ("other", 1), ("metrics", 0)):
            count = self.value(
                'kadr_http_request_duration_seconds_count{route="%s"}' %
                route)
            inf = self.value(
                'kadr_http_request_duration_seconds_bucket{route="%s",'
                'le="+Inf"}' % route)
            self.assertEqual(count, n, route)
            self.assertEqual(inf, n, route)

    def test_histogram_buckets_cumulative(self):
        buckets = [v for k, v in self.values.items() if k.startswith(
            'kadr_http_request_duration_seconds_bucket{route="upload"')]
        self.assertEqual(buckets, sorted(buckets))

    def test_uploads_by_kind_and_result(self):
        self.assertEqual(
            self.value('kadr_uploads_total{kind="image",result="ok"}'), 2)
        self.assertEqual(
            self.value(
                'kadr_uploads_total{kind="unsupported",result="rejected"}'),
            1)

    def test_dedup_hits_and_saved_bytes(self):
        self.assertEqual(self.value("kadr_dedup_hits_total"), 1)
        self.assertEqual(self.value("kadr_dedup_saved_bytes_total"),
                         len(self.photo))

    def test_bytes_in_and_out(self):
        self.assertEqual(self.value("kadr_http_sent_bytes_total"),
                         len(self.variant.body) + 100)
        self.assertGreaterEqual(
            self.value("kadr_http_received_bytes_total"),
            2 * len(self.photo))
        self.assertGreater(self.value("kadr_http_wire_sent_bytes_total"),
                           len(self.variant.body) + 100)
        self.assertGreater(
            self.value("kadr_http_wire_received_bytes_total"),
            2 * len(self.photo))

    def test_image_jobs_and_durations(self):
        done = self.value('kadr_jobs_finished_total{lane="image",'
                          'result="done"}')
        failed = self.value('kadr_jobs_finished_total{lane="image",'
                            'result="failed"}')
        self.assertEqual(done, 2)
        self.assertEqual(failed, 0)
        self.assertEqual(
            self.value('kadr_job_duration_seconds_count{lane="image"}'), 2)
        self.assertEqual(self.value('kadr_jobs{lane="image",'
                                    'state="queued"}'), 0)

    def test_store_gauges(self):
        self.assertEqual(self.value("kadr_store_media"), 2)
        self.assertGreaterEqual(self.value("kadr_store_volumes"), 1)
        self.assertGreater(self.value("kadr_store_live_bytes"),
                           len(self.photo))
        self.assertIn("kadr_store_dead_bytes", self.values)
        self.assertEqual(self.value("kadr_compactions_total"), 0)
        self.assertEqual(self.value("kadr_verify_errors_total"), 0)
        self.assertNotIn("kadr_store_compactions_total", self.values)

    def test_open_connections(self):
        d = self.daemon

        def open_now():
            return d.metrics()["kadr_http_connections_open"]

        self.assertEqual(wait_for(open_now, 1), 1)
        idle = [socket.create_connection(("127.0.0.1", d.port))
                for _ in range(2)]
        try:
            self.assertEqual(wait_for(open_now, 3), 3)
        finally:
            for s in idle:
                s.close()
        self.assertEqual(wait_for(open_now, 1), 1)


class HealthTest(unittest.TestCase):
    def test_healthz_reports_parts(self):
        with Daemon() as d:
            time.sleep(1.2)  # let the first heartbeat probe run
            resp = d.request("GET", "/healthz")
            doc = resp.json()
        self.assertEqual(resp.status, 200)
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["store"], "ok")
        self.assertEqual(doc["workers"], "ok")
        self.assertLess(doc["worker_heartbeat_age_ms"], 30000)
        self.assertEqual(doc["worker_probe_wait_ms"], 0)

    def test_stalled_workers_reported(self):
        # One worker thread, busy with a transcode: the heartbeat probe
        # waits behind it for longer than health_stall_ms. The slowest
        # x264 preset keeps the transcode running for several seconds
        # even on an idle machine, well past the 1 s probe interval.
        with Daemon("--workers", "1", "--video-workers", "1",
                    "--video-preset", "placebo",
                    "--health-stall-ms", "300") as d:
            media_id = d.upload_file(VIDEO).json()["id"]
            stalled = None
            deadline = time.monotonic() + 120
            while stalled is None and time.monotonic() < deadline:
                resp = d.request("GET", "/healthz")
                if resp.status == 503:
                    stalled = resp.json()
                elif d.media(media_id).json()["status"] != "processing":
                    break
                time.sleep(0.1)
            d.wait_ready(media_id)
            recovered = wait_for(
                lambda: d.request("GET", "/healthz").status, 200)
            log = d.log_text()
        self.assertIsNotNone(stalled, "the transcode ended before any "
                                      "probe waited 300 ms")
        self.assertEqual(stalled["status"], "unhealthy")
        self.assertEqual(stalled["workers"], "stalled")
        self.assertEqual(stalled["store"], "ok")
        self.assertGreater(stalled["worker_probe_wait_ms"], 300)
        self.assertEqual(recovered, 200)
        self.assertIn("event=health.workers_stalled", log)


if __name__ == "__main__":
    main()
