#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into OUT/<target>/, one small
file per seed. Run: make_seeds.py OUT"""

import os
import sys

EXAMPLE_TOKEN = ("v1~k1~1767225600~w1080.jpg~u42~"
                 "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U")

HTTP = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /f HTTP/1.1\r\nHost: a\r\n\r\nGET /e HTTP/1.1\r\n\r\n",
    b"GET /r HTTP/1.1\r\nRange: bytes=0-9,20-29,-5\r\n\r\n",
    b"HEAD /r HTTP/1.1\r\nRange: bytes=5000-\r\n\r\n",
    b"GET /q?token=a%20b&x=1 HTTP/1.1\r\n\r\n",
    b"GET /h HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /early HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
    b"GET / HTTP/1.1\r\n\r\n",
    b"POST /pause HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"POST /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
    b"\r\nabc",
    b"POST /b HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked"
    b"\r\n\r\n0\r\n\r\n",
    b"POST /b HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
    b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nContent-Length : 4\r\n\r\nabcd",
    b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 40 + b"\r\n",
    b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
]

RANGE_SIZES = [b"\x00" * 7 + b"\x64", b"\x00\x00\x00\x00\x00\x01\x86\xa0",
               b"\xff" * 8]
RANGE_HEADERS = [b"bytes=0-499", b"bytes=-500", b"bytes=9500-",
                 b"bytes=0-0,-1", b"bytes=0-9,5-14,100-", b"bytes=abc",
                 b"bytes=18446744073709551615-", b"BYTES = 1-2",
                 b"bytes=" + b",".join(b"%d-%d" % (i, i) for i in range(0, 40, 2))]

TOKENS = [EXAMPLE_TOKEN.encode(),
          b"v1~k1~1767225600~~~-VJsla1Yg4B12KqB-RLBzh6ZQ_yWKwjIkB8J59FRiqc",
          b"v1~k2~99~w320.webp~viewer.1~AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          b"v1~~~~~", b"v2~k1~1~~~x",
          b"#k1:a2Fkci1leGFtcGxlLXNlY3JldC0wMTIzNDU2Nzg5YWI=,k3:c2hvcnQ="]


def write(folder, seeds):
    os.makedirs(folder, exist_ok=True)
    for i, seed in enumerate(seeds):
        with open(os.path.join(folder, "seed-%02d" % i), "wb") as f:
            f.write(seed)


def main():
    out = sys.argv[1]
    write(os.path.join(out, "fuzz_http_request"), HTTP)
    write(os.path.join(out, "fuzz_http_range"),
          [size + header for size in RANGE_SIZES for header in RANGE_HEADERS])
    write(os.path.join(out, "fuzz_token"), TOKENS)


if __name__ == "__main__":
    main()
