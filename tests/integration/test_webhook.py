"""Webhook: a receiver on 127.0.0.1 gets a POST with the media's id,
status, kind and error when a media becomes ready, with retries after
failed attempts and a bounded number of tries."""

import http.server
import json
import os
import re
import signal
import threading
import time
import unittest

from kadr_harness import Daemon, corpus, main

PHOTO = corpus("photos/orientation-landscape_1.jpg")
VIDEO = corpus("video/phone-rotated-moov-at-end.mov")
BACKOFF_MS = 100


class Receiver:
    """An HTTP server on a loopback port that records each POST and
    replies with the next status from a list (the last one repeats)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.posts = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.posts.append(
                        (time.monotonic(), self.path, dict(self.headers),
                         body))
                    index = min(len(receiver.posts), len(receiver.statuses))
                    status = receiver.statuses[index - 1]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self):
        return "http://127.0.0.1:%d/hooks/kadr" % self.port

    def wait_posts(self, count, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.posts) >= count:
                    return list(self.posts)
            time.sleep(0.02)
        raise AssertionError("receiver got %d of %d posts" %
                             (len(self.posts), count))


def webhook_flags(receiver, tries):
    return ("--webhook-url", receiver.url(), "--webhook-backoff-ms",
            str(BACKOFF_MS), "--webhook-max-tries", str(tries))


def wait_metric(daemon, name, value, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.metrics().get(name, 0) == value:
            return
        time.sleep(0.05)
    raise AssertionError("%s never reached %s" % (name, value))


class WebhookTest(unittest.TestCase):
    def test_ready_event_after_retry(self):
        with Receiver([500, 200]) as rx:
            with Daemon(*webhook_flags(rx, 5)) as d:
                media_id = d.upload_file(PHOTO).json()["id"]
                posts = rx.wait_posts(2)
                wait_metric(d, "kadr_webhook_sent_total", 1)
                values = d.metrics()
                time.sleep(0.5)
                self.assertEqual(len(rx.posts), 2)
                log = d.log_text()
        first, second = posts
        self.assertEqual(first[1], "/hooks/kadr")
        self.assertEqual(first[2]["Content-Type"], "application/json")
        doc = json.loads(second[3])
        self.assertEqual(doc["event"], "media.ready")
        self.assertEqual(doc["id"], media_id)
        self.assertEqual(doc["status"], "ready")
        self.assertEqual(doc["kind"], "image")
        self.assertIsNone(doc["error"])
        self.assertIsInstance(doc["time"], int)
        self.assertEqual(first[3], second[3])
        self.assertGreaterEqual(second[0] - first[0],
                                BACKOFF_MS / 1000 * 0.9)
        self.assertEqual(values["kadr_webhook_retries_total"], 1)
        self.assertEqual(values["kadr_webhook_dropped_total"], 0)
        self.assertIn("event=webhook.retry media=%s try=1 status=500" %
                      media_id, log)
        self.assertIn("event=webhook.sent media=%s status=200 tries=2" %
                      media_id, log)

    def test_tries_bounded(self):
        with Receiver([503]) as rx:
            with Daemon(*webhook_flags(rx, 3)) as d:
                media_id = d.upload_file(PHOTO).json()["id"]
                posts = rx.wait_posts(3)
                wait_metric(d, "kadr_webhook_dropped_total", 1)
                time.sleep(4 * BACKOFF_MS / 1000)
                self.assertEqual(len(rx.posts), 3)
                values = d.metrics()
                log = d.log_text()
        gaps = [b[0] - a[0] for a, b in zip(posts, posts[1:])]
        # Backoff doubles: 100 ms, then 200 ms.
        self.assertGreaterEqual(gaps[0], 0.09)
        self.assertGreaterEqual(gaps[1], 0.18)
        self.assertEqual(values["kadr_webhook_retries_total"], 2)
        self.assertEqual(values["kadr_webhook_sent_total"], 0)
        self.assertRegex(log, r"event=webhook\.dropped media=%s tries=3 "
                              r"status=503" % media_id)

    def test_refused_connection_retried(self):
        with Receiver([200]) as rx:
            port = rx.port
        # Nothing listens on port now: every attempt is refused.
        url = "http://127.0.0.1:%d/x" % port
        with Daemon("--webhook-url", url, "--webhook-backoff-ms", "20",
                    "--webhook-max-tries", "2") as d:
            d.upload_file(PHOTO)
            wait_metric(d, "kadr_webhook_dropped_total", 1)
            values = d.metrics()
            log = d.log_text()
        self.assertEqual(values["kadr_webhook_retries_total"], 1)
        self.assertTrue(re.search(r"event=webhook\.retry .*error=\"\w+", log))

    def test_video_event_after_job(self):
        with Receiver([200]) as rx:
            with Daemon(*webhook_flags(rx, 3)) as d:
                resp = d.upload_file(VIDEO)
                self.assertEqual(resp.status, 201)
                self.assertEqual(resp.json()["status"], "processing")
                posts = rx.wait_posts(1, timeout_s=240)
                doc = d.wait_ready(resp.json()["id"])
        body = json.loads(posts[0][3])
        self.assertEqual(body["id"], resp.json()["id"])
        self.assertEqual(body["kind"], "video")
        self.assertEqual(body["status"], doc["status"])
        self.assertEqual(body["event"], "media." + doc["status"])

    def test_queue_kept_across_restart(self):
        with Receiver([503]) as down, Receiver([200]) as up:
            d = Daemon(*webhook_flags(down, 100))
            try:
                d.start()
                media_id = d.upload_file(PHOTO).json()["id"]
                down.wait_posts(1)
                d.stop()
                spool = os.path.join(d.data, "webhook-queue.jsonl")
                with open(spool) as f:
                    saved = [json.loads(line) for line in f]
                stop_log = d.log_text()
                d.flags = list(webhook_flags(up, 3))
                d.start()
                posts = up.wait_posts(1)
                wait_metric(d, "kadr_webhook_sent_total", 1)
                values = d.metrics()
                spool_left = os.path.getsize(spool)
            finally:
                d.__exit__(None, None, None)
        self.assertEqual([(e["id"], e["event"]) for e in saved],
                         [(media_id, "media.ready")])
        self.assertIn("event=webhook.saved count=1 ", stop_log)
        body = json.loads(posts[0][3])
        self.assertEqual(body, saved[0])
        # Once the event is sent, the queue and its file are empty.
        self.assertEqual(spool_left, 0)
        self.assertEqual(values["kadr_webhook_dropped_total"], 0)

    def kill_and_restart(self, daemon, receiver):
        """Kills daemon, reads the lines of its queue file, and starts it
        again sending to receiver. Returns the file's path and lines."""
        daemon.kill()
        spool = os.path.join(daemon.data, "webhook-queue.jsonl")
        with open(spool) as f:
            journal = f.read().splitlines()
        daemon.flags = list(webhook_flags(receiver, 3))
        daemon.start()
        return spool, journal

    def test_queue_kept_across_kill(self):
        """Events queued when kadrd is killed are sent after the next
        start, and an event sent before the kill is not sent again."""
        photos = [corpus("photos/orientation-landscape_%d.jpg" % i)
                  for i in (1, 3, 6)]
        with Receiver([200, 503]) as first, Receiver([200]) as second:
            d = Daemon(*webhook_flags(first, 100))
            try:
                d.start()
                sent_id = d.upload_file(photos[0]).json()["id"]
                first.wait_posts(1)
                wait_metric(d, "kadr_webhook_sent_total", 1)
                queued_ids = [d.upload_file(p).json()["id"]
                              for p in photos[1:]]
                first.wait_posts(3)

                spool, journal = self.kill_and_restart(d, second)
                second.wait_posts(2)
                wait_metric(d, "kadr_webhook_sent_total", 2)
                time.sleep(0.3)
                log = d.log_text()
                spool_left = os.path.getsize(spool)
            finally:
                d.__exit__(None, None, None)

        sent_ids = [json.loads(post[3])["id"] for post in second.posts]
        self.assertEqual(sent_ids, queued_ids)
        self.assertNotIn(sent_id, sent_ids)
        # Sending the first event emptied the queue and the file, so the
        # file contains the two waiting events alone.
        self.assertEqual([json.loads(line)["id"] for line in journal],
                         queued_ids)
        self.assertIn("event=webhook.restored queued=2 skipped=0", log)
        self.assertEqual(spool_left, 0)

    def test_dropped_event_not_restored(self):
        """An event a full queue drops is marked in the file, so a kill
        does not bring it back."""
        photos = [corpus("photos/orientation-landscape_%d.jpg" % i)
                  for i in (1, 3, 6)]
        with Receiver([503]) as down, Receiver([200]) as up:
            d = Daemon(*webhook_flags(down, 100), "--webhook-queue-max", "2")
            try:
                d.start()
                ids = [d.upload_file(p).json()["id"] for p in photos]
                wait_metric(d, "kadr_webhook_dropped_total", 1)

                _, journal = self.kill_and_restart(d, up)
                up.wait_posts(2)
                wait_metric(d, "kadr_webhook_sent_total", 2)
                time.sleep(0.3)
            finally:
                d.__exit__(None, None, None)

        sent_ids = [json.loads(post[3])["id"] for post in up.posts]
        # The dropped event is the oldest one not being sent: the first
        # when its retry was waiting, else the second.
        dropped = [i for i in ids if i not in sent_ids]
        self.assertEqual(len(dropped), 1)
        self.assertIn(dropped[0], ids[:2])
        self.assertEqual(sent_ids, [i for i in ids if i != dropped[0]])
        self.assertEqual(len(journal), 4)
        self.assertIn(journal[2], ('{"done":0}', '{"done":1}'))
        self.assertEqual(json.loads(journal[3])["id"], ids[2])

    def test_spooled_lines_checked(self):
        good = {"event": "media.ready", "id": "Qm3x0nS2rTq8vLp_",
                "status": "ready", "kind": "image", "error": None, "time": 1}
        # Ids that are not media ids would reach the log and the
        # receiver as they are: a forged log line, a quote, an escape.
        hostile_ids = ["Qm3x0nS2rTq8vLp\nlevel=crit event=forged",
                       'Qm3x0nS2rTq8v"p_', "\u001b[31mQm3x0nS2rTq8", "abc"]
        lines = [json.dumps(good), "not json", json.dumps({"id": "x" * 40}),
                 json.dumps({"event": "media.ready"})]
        lines += [json.dumps(dict(good, id=i)) for i in hostile_ids]
        # A repeated key: receivers differ on which value they take.
        lines.append('{"id":"Qm3x0nS2rTq8vLp\\n","id":"Qm3x0nS2rTq8vLp_"}')
        with Receiver([200]) as rx:
            d = Daemon(*webhook_flags(rx, 3))
            try:
                os.makedirs(d.data)
                with open(os.path.join(d.data, "webhook-queue.jsonl"),
                          "w") as f:
                    f.write("\n".join(lines) + "\n")
                d.start()
                posts = rx.wait_posts(1)
                wait_metric(d, "kadr_webhook_dropped_total", 8)
                time.sleep(0.3)
                log = d.log_text()
            finally:
                d.__exit__(None, None, None)
        self.assertEqual(len(rx.posts), 1)
        self.assertEqual(json.loads(posts[0][3]), good)
        self.assertIn("event=webhook.restored queued=1 skipped=8", log)
        self.assertNotIn("event=forged", log)

    def test_failed_save_keeps_journal(self):
        """A stop whose save of the queue fails (here a folder in the
        temporary file's place) leaves the journal, which lists the queue
        already, and logs that instead of reporting the events dropped."""
        photos = [corpus("photos/orientation-landscape_%d.jpg" % i)
                  for i in (1, 3)]
        with Receiver([503]) as down, Receiver([200]) as up:
            d = Daemon(*webhook_flags(down, 100))
            try:
                d.start()
                ids = [d.upload_file(p).json()["id"] for p in photos]
                down.wait_posts(1)
                os.mkdir(os.path.join(d.data, "webhook-queue.jsonl.tmp"))
                d.stop()
                stop_log = d.log_text()
                d.flags = list(webhook_flags(up, 3))
                d.start()
                up.wait_posts(2)
                wait_metric(d, "kadr_webhook_sent_total", 2)
                log = d.log_text()
            finally:
                d.__exit__(None, None, None)
        self.assertEqual([json.loads(p[3])["id"] for p in up.posts], ids)
        self.assertIn('level=warn event=webhook.save_failed count=2 '
                      'error="Is a directory" detail="the journal keeps the '
                      'queue"', stop_log)
        self.assertIn("event=webhook.saved count=2 ", stop_log)
        self.assertNotIn("error=shutting_down", stop_log)
        self.assertIn("event=webhook.restored queued=2 skipped=0", log)

    def test_removal_lines_never_events(self):
        """A damaged removal line takes no event number, so the removals
        after it still name the events the journal gave them to."""
        ids = ["Qm3x0nS2rTq8vLpA", "Qm3x0nS2rTq8vLpB", "Qm3x0nS2rTq8vLpC"]
        events = [json.dumps({"event": "media.ready", "id": i,
                              "status": "ready", "kind": "image",
                              "error": None, "time": 1}) for i in ids]
        lines = [events[0], '{"done":99999999999999999999999}', events[1],
                 events[2], '{"done":1}', '{"done":0}']
        with Receiver([200]) as rx:
            d = Daemon(*webhook_flags(rx, 3))
            try:
                os.makedirs(d.data)
                spool = os.path.join(d.data, "webhook-queue.jsonl")
                with open(spool, "w") as f:
                    f.write("\n".join(lines) + "\n")
                d.start()
                rx.wait_posts(1)
                wait_metric(d, "kadr_webhook_sent_total", 1)
                time.sleep(0.3)
                values = d.metrics()
                log = d.log_text()
                spool_left = os.path.getsize(spool)
            finally:
                d.__exit__(None, None, None)
        self.assertEqual([json.loads(p[3])["id"] for p in rx.posts],
                         [ids[2]])
        self.assertEqual(values["kadr_webhook_dropped_total"], 0)
        self.assertIn("event=webhook.restored queued=1 skipped=0", log)
        self.assertEqual(spool_left, 0)

    def test_reload_lowers_queue_max(self):
        """A SIGHUP that lowers webhook_queue_max drops the oldest
        waiting events down to the new maximum at once."""
        ids = ["Qm3x0nS2rTq8vLp%d" % i for i in range(5)]
        with Receiver([503]) as rx:
            d = Daemon("--config", "kadrd.ini")
            ini = os.path.join(d.root, "kadrd.ini")
            d.flags = ["--config", ini]
            settings = ("webhook_url = %s\nwebhook_backoff_ms = 60000\n"
                        "webhook_max_tries = 100\n" % rx.url())
            try:
                os.makedirs(d.data)
                with open(os.path.join(d.data, "webhook-queue.jsonl"),
                          "w") as f:
                    for media_id in ids:
                        f.write(json.dumps({"id": media_id}) + "\n")
                with open(ini, "w") as f:
                    f.write(settings + "webhook_queue_max = 10\n")
                d.start()
                rx.wait_posts(1)
                with open(ini, "w") as f:
                    f.write(settings + "webhook_queue_max = 2\n")
                os.kill(d.proc.pid, signal.SIGHUP)
                wait_metric(d, "kadr_webhook_dropped_total", 3)
                d.stop()
                with open(os.path.join(d.data, "webhook-queue.jsonl")) as f:
                    saved = [json.loads(line)["id"] for line in f]
                log = d.log_text()
            finally:
                d.__exit__(None, None, None)
        # The first event waits for its retry, so it is not in flight
        # and goes first.
        self.assertEqual(saved, ids[3:])
        self.assertIn("event=webhook.saved count=2 ", log)
        for media_id in ids[:3]:
            self.assertIn("event=webhook.dropped media=%s error=queue_full"
                          % media_id, log)

    def test_no_webhook_by_default(self):
        with Daemon() as d:
            d.upload_file(PHOTO)
            values = d.metrics()
        self.assertEqual(values["kadr_webhook_sent_total"], 0)
        self.assertEqual(values["kadr_webhook_dropped_total"], 0)


if __name__ == "__main__":
    main()
