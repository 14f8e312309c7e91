#!/bin/sh
# Drives kadrd and nginx with kadr-bench on the same bytes at the same
# paths: the small image variants of the sample photos, read in turn
# with and without a Range header. Each server runs RUNS times,
# alternating, and the medians and the kadr/nginx ratios are printed.
#
#   bench/bench_tool.sh                      (binaries from build/)
#   RUNS=5 SECONDS_PER_RUN=10 CONNECTIONS=64 bench/bench_tool.sh
#
# Needs nginx (Debian package) on the PATH or in /usr/sbin. Everything
# listens on 127.0.0.1 only and is stopped at the end.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
seconds=${SECONDS_PER_RUN:-10}
conns=${CONNECTIONS:-64}
share=${RANGE_SHARE:-0.5}
kadrd=${KADRD:-$root/build/engine/kadrd}
bench=${KADR_BENCH:-$root/build/bench/kadr-bench}
corpus=${KADR_CORPUS:-$root/../shared/corpus}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
key=bench-key
work=$(mktemp -d /tmp/kadr-bench-tool.XXXXXX)
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
kadr_port=$(free_port)
nginx_port=$(free_port)

cleanup() {
    [ -n "${kadr_pid:-}" ] && kill "$kadr_pid" 2>/dev/null && wait "$kadr_pid"
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_kadrd() {
    "$kadrd" --data "$work/data" --listen "127.0.0.1:$kadr_port" \
        --api-keys "$key" --log-level warn --access-log off \
        >"$work/kadrd.log" 2>&1 &
    kadr_pid=$!
    for _ in $(seq 100); do
        kill -0 "$kadr_pid" 2>/dev/null || break
        curl -sf "http://127.0.0.1:$kadr_port/healthz" >/dev/null && return 0
        sleep 0.1
    done
    cat "$work/kadrd.log" >&2
    exit 1
}

# Uploads the photos, copies every variant of 40 KB or less to www/ under
# its kadrd path, and writes one URL list per server.
load_media() {
    mkdir -p "$work/www"
    for photo in "$corpus"/photos/*.jpg; do
        curl -sf -H "X-Api-Key: $key" --data-binary "@$photo" \
            "http://127.0.0.1:$kadr_port/v1/media" >>"$work/uploads.json" ||
            true
        echo >>"$work/uploads.json"
    done
    python3 - "$work" "$kadr_port" "$nginx_port" <<'EOF'
import json, os, sys, urllib.request
work, kadr_port, nginx_port = sys.argv[1:4]
paths = []
for line in open(os.path.join(work, "uploads.json")):
    if line.strip():
        paths += [v["url"] for v in json.loads(line).get("variants", [])
                  if v["size"] <= 40_000]
sizes = []
for path in paths:
    url = "http://127.0.0.1:%s%s" % (kadr_port, path)
    data = urllib.request.urlopen(url).read()
    target = os.path.join(work, "www", path.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
    sizes.append(len(data))
for name, port in (("kadr", kadr_port), ("nginx", nginx_port)):
    with open(os.path.join(work, name + ".urls"), "w") as f:
        for path in paths:
            f.write("http://127.0.0.1:%s%s\n" % (port, path))
sizes.sort()
print("variants: %d files, %d to %d bytes, median %d" %
      (len(sizes), sizes[0], sizes[-1], sizes[len(sizes) // 2]))
EOF
}

start_nginx() {
    # nginx workers run as an unprivileged user when started as root.
    chmod 755 "$work"
    chmod -R a+rX "$work/www"
    cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    open_file_cache max=1000 inactive=60s;
    default_type application/octet-stream;
    types { image/jpeg jpg; image/webp webp; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        add_header Cache-Control "public, max-age=31536000, immutable";
    }
}
EOF
    "$nginx" -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"
    sleep 0.5
}

# Runs kadr-bench once on a URL list and prints "rps p50_ms p99_ms".
run_once() {
    "$bench" urls --urls-file "$1" -d "$seconds" -c "$conns" \
        --range-share "$share" --range-bytes 4096 --quiet >"$work/run.out"
    python3 - "$work/run.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
errors = int(re.search(r"errors\s+(\d+)", text).group(1))
if errors:
    sys.exit("kadr-bench saw errors; the numbers are not valid:\n" + text)
rps = float(re.search(r"throughput\s+([\d.]+)", text).group(1))
p50 = float(re.search(r"p50 ([\d.]+) ms", text).group(1))
p99 = float(re.search(r"p99 ([\d.]+) ms", text).group(1))
print("%.1f %.3f %.3f" % (rps, p50, p99))
EOF
}

median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start_kadrd
load_media
start_nginx
run_once "$work/kadr.urls" >/dev/null # warm-up, not counted
run_once "$work/nginx.urls" >/dev/null
: >"$work/kadr.runs"
: >"$work/nginx.runs"
for _ in $(seq "$runs"); do
    run_once "$work/kadr.urls" >>"$work/kadr.runs"
    run_once "$work/nginx.urls" >>"$work/nginx.runs"
done
echo "runs: $runs x ${seconds}s per server, $conns connections, range share $share"
for server in kadr nginx; do
    rps=$(cut -d' ' -f1 "$work/$server.runs" | median)
    p50=$(cut -d' ' -f2 "$work/$server.runs" | median)
    p99=$(cut -d' ' -f3 "$work/$server.runs" | median)
    echo "$server: $rps requests/s, p50 $p50 ms, p99 $p99 ms"
    eval "${server}_rps=$rps ${server}_p50=$p50 ${server}_p99=$p99"
done
awk -v a="$kadr_rps" -v b="$nginx_rps" -v c="$kadr_p99" -v d="$nginx_p99" \
    'BEGIN {printf "kadr/nginx: throughput %.2f, p99 %.2f\n", a / b, c / d}'
