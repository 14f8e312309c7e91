"""Byte ranges and conditional requests on a variant, each case with its
exact status, headers and body bytes (RFC 9110, sections 13 and 14)."""

import email.utils
import re
import time
import unittest

from kadr_harness import Daemon, corpus, main

VARIANT = "w1080.jpg"
MIME = "image/jpeg"
IMMUTABLE = "public, max-age=31536000, immutable"
# Range specs one request may carry; engine/http_range.h HTTP_RANGE_MAX.
RANGE_MAX = 16


def multipart_body(boundary, full, ranges):
    """Builds the multipart/byteranges body kadrd must send."""
    size = len(full)
    out = b""
    for i, (first, last) in enumerate(ranges):
        if i > 0:
            out += b"\r\n"
        out += ("--%s\r\nContent-Type: %s\r\n"
                "Content-Range: bytes %d-%d/%d\r\n\r\n" %
                (boundary, MIME, first, last, size)).encode()
        out += full[first:last + 1]
    return out + ("\r\n--%s--\r\n" % boundary).encode()


class RangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kadr = Daemon().start()
        resp = cls.kadr.upload_file(corpus("photos/phone-jolla.jpg"))
        assert resp.status == 201, resp.body
        cls.id = resp.json()["id"]
        full = cls.kadr.variant(cls.id, VARIANT)
        assert full.status == 200
        cls.full = full.body
        cls.size = len(cls.full)
        cls.etag = full.header("etag")
        cls.modified = full.header("last-modified")

    @classmethod
    def tearDownClass(cls):
        cls.kadr.__exit__(None, None, None)

    def get(self, headers=None, method="GET"):
        return self.kadr.variant(self.id, VARIANT, headers=headers,
                                 method=method)

    def check_partial(self, header, first, last, method="GET"):
        resp = self.get({"Range": header}, method=method)
        self.assertEqual(resp.status, 206, header)
        self.assertEqual(resp.header("content-range"),
                         "bytes %d-%d/%d" % (first, last, self.size))
        self.assertEqual(resp.header("content-length"),
                         str(last - first + 1))
        self.assertEqual(resp.header("content-type"), MIME)
        self.assertEqual(resp.header("etag"), self.etag)
        self.assertEqual(resp.header("accept-ranges"), "bytes")
        self.assertEqual(resp.header("cache-control"), IMMUTABLE)
        self.assertEqual(resp.header("x-content-type-options"), "nosniff")
        want = b"" if method == "HEAD" else self.full[first:last + 1]
        self.assertEqual(resp.body, want)

    def check_full(self, resp):
        self.assertEqual(resp.status, 200)
        self.assertIsNone(resp.header("content-range"))
        self.assertEqual(resp.header("content-length"), str(self.size))
        self.assertEqual(resp.body, self.full)

    # ---- single ranges ----

    def test_first_last(self):
        self.check_partial("bytes=100-199", 100, 199)

    def test_open_end(self):
        self.check_partial("bytes=%d-" % (self.size - 700), self.size - 700,
                           self.size - 1)

    def test_suffix(self):
        self.check_partial("bytes=-500", self.size - 500, self.size - 1)

    def test_end_past_file_clamped(self):
        self.check_partial("bytes=10-%d" % (self.size * 10), 10,
                           self.size - 1)

    def test_end_past_2_64_clamped(self):
        self.check_partial("bytes=10-%d" % (1 << 64), 10, self.size - 1)

    def test_first_byte_only(self):
        self.check_partial("bytes=0-0", 0, 0)

    def test_last_byte_only(self):
        self.check_partial("bytes=%d-%d" % (self.size - 1, self.size - 1),
                           self.size - 1, self.size - 1)

    def test_suffix_longer_than_file(self):
        self.check_partial("bytes=-%d" % (self.size + 1000), 0,
                           self.size - 1)

    def test_whole_file_as_range(self):
        self.check_partial("bytes=0-", 0, self.size - 1)

    # ---- several ranges ----

    def check_multipart(self, header, ranges):
        resp = self.get({"Range": header})
        self.assertEqual(resp.status, 206, header)
        ctype = resp.header("content-type")
        match = re.fullmatch(r"multipart/byteranges; boundary=(kadr-[0-9a-f]+)",
                             ctype)
        self.assertIsNotNone(match, ctype)
        self.assertIsNone(resp.header("content-range"))
        want = multipart_body(match.group(1), self.full, ranges)
        self.assertEqual(resp.header("content-length"), str(len(want)))
        self.assertEqual(resp.body, want)
        self.assertEqual(resp.header("etag"), self.etag)
        self.assertEqual(resp.header("x-content-type-options"), "nosniff")
        return resp

    def test_multipart_two_ranges(self):
        self.check_multipart("bytes=0-9,200-299", [(0, 9), (200, 299)])

    def test_multipart_sorted_and_suffix(self):
        size = self.size
        self.check_multipart("bytes=-10, 50-59,5-6",
                             [(5, 6), (50, 59), (size - 10, size - 1)])

    def test_multipart_max_ranges(self):
        ranges = [(i * 100, i * 100 + 9) for i in range(RANGE_MAX)]
        header = "bytes=" + ",".join("%d-%d" % r for r in ranges)
        self.check_multipart(header, ranges)

    def test_multipart_head_length(self):
        header = "bytes=0-9,200-299"
        body = self.check_multipart(header, [(0, 9), (200, 299)]).body
        resp = self.get({"Range": header}, method="HEAD")
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.header("content-length"), str(len(body)))
        self.assertTrue(resp.header("content-type").startswith(
            "multipart/byteranges; boundary="))
        self.assertEqual(resp.body, b"")

    def test_overlapping_ranges_coalesce(self):
        self.check_partial("bytes=0-99,50-149", 0, 149)

    def test_adjacent_ranges_coalesce(self):
        self.check_partial("bytes=0-9,10-19,20-29", 0, 29)

    def test_unsatisfiable_part_dropped(self):
        self.check_partial("bytes=0-9,%d-" % (self.size + 5), 0, 9)

    def test_too_many_ranges_full(self):
        header = "bytes=" + ",".join("%d-%d" % (i * 100, i * 100 + 9)
                                     for i in range(RANGE_MAX + 1))
        self.check_full(self.get({"Range": header}))

    def test_multipart_keeps_connection(self):
        resp = self.get({"Range": "bytes=0-9,200-299"})
        self.assertEqual(resp.header("connection"), "keep-alive")

    # ---- syntax errors and unsatisfiable ----

    def test_syntax_errors_full(self):
        for header in ["bytes=abc", "bytes=5-1", "items=0-5", "bytes=",
                       "bytes=1-2;3-4", "bytes=-", "bytes = 0-1",
                       "bytes=0-1 2-3",
                       "bytes=18446744073709551616-18446744073709551615"]:
            with self.subTest(header=header):
                self.check_full(self.get({"Range": header}))

    def test_unsatisfiable(self):
        for header in ["bytes=%d-" % self.size,
                       "bytes=%d-%d" % (self.size + 1, self.size + 9),
                       "bytes=%d-" % (1 << 64),
                       "bytes=-0"]:
            with self.subTest(header=header):
                resp = self.get({"Range": header})
                self.assertEqual(resp.status, 416)
                self.assertEqual(resp.header("content-range"),
                                 "bytes */%d" % self.size)
                self.assertEqual(resp.header("content-type"),
                                 "application/json")
                self.assertEqual(resp.header("x-content-type-options"),
                                 "nosniff")
                self.assertEqual(resp.header("cache-control"), "no-store")
                self.assertEqual(resp.json()["error"],
                                 "range_not_satisfiable")

    # ---- If-Range ----

    def test_if_range_etag_match(self):
        resp = self.get({"Range": "bytes=0-9", "If-Range": self.etag})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[:10])

    def test_if_range_etag_mismatch(self):
        self.check_full(self.get({"Range": "bytes=0-9",
                                  "If-Range": '"0123456789abcdef"'}))

    def test_if_range_weak_etag_full(self):
        self.check_full(self.get({"Range": "bytes=0-9",
                                  "If-Range": "W/" + self.etag}))

    def test_if_range_date_match(self):
        resp = self.get({"Range": "bytes=0-9", "If-Range": self.modified})
        self.assertEqual(resp.status, 206)
        self.assertEqual(resp.body, self.full[:10])

    def test_if_range_old_date_full(self):
        self.check_full(self.get({"Range": "bytes=0-9",
                                  "If-Range": "Mon, 01 Jan 2001 00:00:00 "
                                              "GMT"}))

    def test_if_range_multipart(self):
        self.check_multipart("bytes=0-9,200-299", [(0, 9), (200, 299)])
        resp = self.get({"Range": "bytes=0-9,200-299",
                         "If-Range": self.etag})
        self.assertEqual(resp.status, 206)
        resp = self.get({"Range": "bytes=0-9,200-299", "If-Range": '"x"'})
        self.check_full(resp)

    # ---- If-None-Match and If-Modified-Since ----

    def check_not_modified(self, headers):
        resp = self.get(headers)
        self.assertEqual(resp.status, 304, headers)
        self.assertEqual(resp.body, b"")
        self.assertEqual(resp.header("etag"), self.etag)
        self.assertEqual(resp.header("cache-control"), IMMUTABLE)
        self.assertEqual(resp.header("last-modified"), self.modified)
        self.assertIsNone(resp.header("content-length"))
        self.assertEqual(resp.header("x-content-type-options"), "nosniff")

    def test_if_none_match_exact(self):
        self.check_not_modified({"If-None-Match": self.etag})

    def test_if_none_match_list_weak_star(self):
        self.check_not_modified({"If-None-Match": '"aaaa", ' + self.etag})
        self.check_not_modified({"If-None-Match": "W/" + self.etag})
        self.check_not_modified({"If-None-Match": "*"})

    def test_if_none_match_other(self):
        self.check_full(self.get({"If-None-Match": '"aaaa", "bbbb"'}))

    def test_if_none_match_beats_range(self):
        self.check_not_modified({"If-None-Match": self.etag,
                                 "Range": "bytes=0-9"})

    def test_if_modified_since(self):
        self.check_not_modified({"If-Modified-Since": self.modified})
        later = email.utils.formatdate(
            email.utils.parsedate_to_datetime(self.modified).timestamp() +
            3600, usegmt=True)
        self.check_not_modified({"If-Modified-Since": later})

    def test_if_modified_since_older(self):
        self.check_full(self.get({"If-Modified-Since":
                                  "Mon, 01 Jan 2001 00:00:00 GMT"}))

    def test_if_modified_since_obsolete_forms(self):
        # RFC 9110, section 5.6.7: the RFC 850 and asctime forms count
        # too, and a two-digit year more than 50 years ahead is in the
        # past century.
        year = time.gmtime().tm_year
        ahead = (year + 49) % 100
        behind = (year + 51) % 100
        for date in ("Saturday, 01-Jan-%02d 00:00:00 GMT" % ahead,
                     "Fri Jan  1 00:00:00 2100",
                     "Fri Dec 31 23:59:59 9999"):
            self.check_not_modified({"If-Modified-Since": date})
        for date in ("Thursday, 01-Jan-%02d 00:00:00 GMT" % behind,
                     "Thursday, 01-Jan-98 00:00:00 GMT",
                     "Mon Jan  1 00:00:00 2001"):
            self.check_full(self.get({"If-Modified-Since": date}))

    def test_if_modified_since_invalid_date(self):
        self.check_full(self.get({"If-Modified-Since": "yesterday"}))

    def test_if_none_match_overrides_since(self):
        # A failing If-None-Match wins over a passing If-Modified-Since.
        self.check_full(self.get({"If-None-Match": '"aaaa"',
                                  "If-Modified-Since": self.modified}))

    # ---- HEAD ----

    def test_head_without_range(self):
        resp = self.get(method="HEAD")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("content-length"), str(self.size))
        self.assertEqual(resp.header("etag"), self.etag)
        self.assertEqual(resp.header("content-type"), MIME)
        self.assertEqual(resp.body, b"")

    def test_head_with_range(self):
        self.check_partial("bytes=100-199", 100, 199, method="HEAD")

    def test_head_unsatisfiable(self):
        resp = self.get({"Range": "bytes=%d-" % self.size}, method="HEAD")
        self.assertEqual(resp.status, 416)
        self.assertEqual(resp.header("content-range"),
                         "bytes */%d" % self.size)
        self.assertEqual(resp.body, b"")

    # ---- errors carry no-store ----

    def test_errors_not_stored(self):
        # A CDN may store a 404 or 405 that has no Cache-Control (RFC
        # 9110, section 15.1), such as the 404 of a variant still being
        # made. The 401 of an original is private as well.
        cases = [
            ("variant", self.kadr.variant(self.id, "w9999.jpg"), 404,
             "no-store"),
            ("media", self.kadr.media("AAAAAAAAAAAAAAAA"), 404, "no-store"),
            ("route", self.kadr.request("GET", "/nope"), 404, "no-store"),
            ("method", self.kadr.request("POST", "/v1/media/%s/%s" %
                                         (self.id, VARIANT)), 405,
             "no-store"),
            ("range", self.get({"Range": "bytes=%d-" % self.size}), 416,
             "no-store"),
            ("range_head", self.get({"Range": "bytes=%d-" % self.size},
                                    method="HEAD"), 416, "no-store"),
            ("original", self.kadr.variant(self.id, "original"), 401,
             "private, no-store"),
        ]
        for name, resp, status, cache in cases:
            with self.subTest(case=name):
                self.assertEqual(resp.status, status)
                self.assertEqual(resp.header("cache-control"), cache)
                self.assertEqual(resp.header("content-type"),
                                 "application/json")

    # ---- nosniff on errors ----

    def test_nosniff_on_errors(self):
        for resp in [self.kadr.variant(self.id, "w9999.jpg"),
                     self.kadr.request("GET", "/nope"),
                     self.kadr.request("POST", "/v1/media/%s/%s" %
                                       (self.id, VARIANT)),
                     self.kadr.variant(self.id, "original")]:
            with self.subTest(status=resp.status):
                self.assertGreaterEqual(resp.status, 400)
                self.assertEqual(resp.header("x-content-type-options"),
                                 "nosniff")


if __name__ == "__main__":
    main()
