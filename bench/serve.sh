#!/bin/sh
# Serves the same bytes from kadrd and from nginx (Debian package,
# sendfile on) on 127.0.0.1 and drives both with the same wrk load:
#   small: 20 KB image variants at high concurrency (requests/s)
#   pipelined: the same variants, PIPELINE_DEPTH requests (default 8)
#     sent at once on each connection (requests/s)
#   range: random 1 MiB ranges of a 5 MB video (GB/s)
# with latency p50 and p99. Each workload runs RUNS times per server,
# alternating, and the medians and the kadr/nginx ratios are printed.
#
#   bench/serve.sh                     (kadrd from $KADRD or build/)
#   RUNS=5 SECONDS_PER_RUN=10 bench/serve.sh
#
# Run as root on a machine with nothing else busy: it installs nginx and
# wrk with apt-get when they are missing. Everything listens on
# 127.0.0.1 only and is stopped at the end.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
seconds=${SECONDS_PER_RUN:-10}
small_conns=${SMALL_CONNECTIONS:-256}
range_conns=${RANGE_CONNECTIONS:-32}
threads=${WRK_THREADS:-2}
kadrd=${KADRD:-$root/build/engine/kadrd}
key=bench-key
work=$(mktemp -d /tmp/kadr-bench-serve.XXXXXX)
depth=${PIPELINE_DEPTH:-8}
kadr_port=18481
nginx_port=18482
# nginx with tcp_nopush off, for the pipelined load: with it on, nginx
# served pipelined requests at about a third of the rate.
nginx_pipe_port=18483

need_packages() {
    missing=""
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] ||
        missing="$missing nginx"
    command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
    command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
    [ -z "$missing" ] && return 0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
}

cleanup() {
    [ -n "${kadr_pid:-}" ] && kill "$kadr_pid" 2>/dev/null && wait "$kadr_pid"
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_kadrd() {
    # No access log, as in the nginx configuration below. nginx detaches
    # into a session of its own, and kadrd gets one too. With scheduler
    # autogroups (kernel.sched_autogroup_enabled=1), a server left in
    # wrk's session shares one CPU share with wrk. There, wrk's wakeups
    # preempted kadrd about five times as often as nginx. setsid runs in
    # place, because a background command of a shell without job control
    # leads no process group, so $! stays kadrd's pid.
    setsid "$kadrd" --data "$work/data" --listen "127.0.0.1:$kadr_port" \
        --api-keys "$key" --log-level warn --access-log off \
        >"$work/kadrd.log" 2>&1 &
    kadr_pid=$!
    for _ in $(seq 100); do
        if curl -sf "http://127.0.0.1:$kadr_port/healthz" >/dev/null; then
            kill -0 "$kadr_pid" && return 0
            echo "process $kadr_pid is not running: setsid forked or" \
                "kadrd stopped; stop any kadrd on port $kadr_port" >&2
            exit 1
        fi
        sleep 0.1
    done
    cat "$work/kadrd.log" >&2
    exit 1
}

# Uploads the photos and a 5 MB video, then copies every served file to
# www/ under its kadrd URL path, so nginx serves the same bytes at the
# same paths. Writes the path lists for wrk.
load_media() {
    mkdir -p "$work/www"
    for photo in "$root"/../shared/corpus/photos/*.jpg; do
        curl -sf -H "X-Api-Key: $key" --data-binary "@$photo" \
            "http://127.0.0.1:$kadr_port/v1/media" >>"$work/uploads.json" ||
            true
        echo >>"$work/uploads.json"
    done
    # 4 s of 720p noise at about 10 Mbit/s: a 5 MB MP4 that compresses
    # badly, stored as the original.
    ffmpeg -v error -f lavfi \
        -i "testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t" -t 4 \
        -c:v libx264 -pix_fmt yuv420p -b:v 10M -maxrate 10M -bufsize 20M \
        -movflags +faststart "$work/video.mp4"
    curl -sf -H "X-Api-Key: $key" --data-binary "@$work/video.mp4" \
        "http://127.0.0.1:$kadr_port/v1/media?wait=1" >"$work/video.json"
    PIPELINE_DEPTH=$depth python3 - "$work" "$kadr_port" "$key" <<'EOF'
import json, os, sys, time, urllib.request
work, port, key = sys.argv[1], sys.argv[2], sys.argv[3]
base = "http://127.0.0.1:%s" % port

def fetch(path, with_key=False):
    req = urllib.request.Request(base + path)
    if with_key:
        req.add_header("X-Api-Key", key)
    with urllib.request.urlopen(req) as resp:
        return resp.read()

small = []
for line in open(os.path.join(work, "uploads.json")):
    if not line.strip():
        continue
    doc = json.loads(line)
    for v in doc.get("variants", []):
        if 10_000 <= v["size"] <= 40_000:
            small.append(v["url"])
video = json.load(open(os.path.join(work, "video.json")))
# Wait for the transcode, so that it does not run during the load.
for _ in range(600):
    if json.loads(fetch("/v1/media/" + video["id"]))["status"] != "processing":
        break
    time.sleep(0.5)
video_path = "/v1/media/%s/original" % video["id"]
for path, with_key in [(p, False) for p in small] + [(video_path, True)]:
    data = fetch(path, with_key)
    target = os.path.join(work, "www", path.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
sizes = [os.path.getsize(os.path.join(work, "www", p.lstrip("/")))
         for p in small]
video_size = os.path.getsize(os.path.join(work, "www",
                                          video_path.lstrip("/")))
with open(os.path.join(work, "small.lua"), "w") as f:
    f.write("paths = {%s}\n" % ",".join('"%s"' % p for p in small))
    f.write('i = 0\nfunction request()\n  i = i % #paths + 1\n'
            '  return wrk.format("GET", paths[i])\nend\n')
with open(os.path.join(work, "pipelined.lua"), "w") as f:
    f.write("paths = {%s}\n" % ",".join('"%s"' % p for p in small))
    f.write('depth = %s\n' % os.environ["PIPELINE_DEPTH"])
    f.write('function init(args)\n  local r = {}\n'
            '  for i = 1, depth do\n'
            '    r[i] = wrk.format("GET", paths[(i - 1) % #paths + 1])\n'
            '  end\n  batch = table.concat(r)\nend\n'
            'function request()\n  return batch\nend\n')
with open(os.path.join(work, "range.lua"), "w") as f:
    f.write('path = "%s"\nsize = %d\nspan = 1048576\n' % (video_path,
                                                          video_size))
    f.write('key = "%s"\n' % key)
    f.write('function setup(thread) thread:set("seed", math.random(1e9)) '
            'end\n'
            'function init(args) math.randomseed(seed) end\n'
            'function request()\n'
            '  local first = math.random(0, size - span)\n'
            '  return wrk.format("GET", path, {["Range"] = "bytes=" .. '
            'first .. "-" .. (first + span - 1), ["X-Api-Key"] = key})\n'
            'end\n')
print("small variants: %d files, %d to %d bytes, median %d" %
      (len(sizes), min(sizes), max(sizes), sorted(sizes)[len(sizes) // 2]))
print("video: %s, %d bytes" % (video_path, video_size))
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
    types { image/jpeg jpg; image/webp webp; video/mp4 mp4; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        add_header Cache-Control "public, max-age=31536000, immutable";
        add_header X-Content-Type-Options nosniff;
    }
    server {
        listen 127.0.0.1:$nginx_pipe_port;
        tcp_nopush off;
        root $work/www;
        add_header Cache-Control "public, max-age=31536000, immutable";
        add_header X-Content-Type-Options nosniff;
    }
}
EOF
    nginx -c "$work/nginx.conf" -p "$work"
    sleep 0.5
}

# Runs wrk once and prints "requests_per_s bytes_per_s p50_ms p99_ms".
run_wrk() {
    port=$1
    script=$2
    conns=$3
    wrk -t "$threads" -c "$conns" -d "${seconds}s" --latency \
        -s "$script" "http://127.0.0.1:$port" >"$work/wrk.out" 2>&1
    python3 - "$work/wrk.out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
size_units = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
def latency(pct):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
    return float(m.group(1)) * units[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", text)
bps = float(m.group(1)) * size_units[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors or "Socket errors" in text:
    sys.stderr.write(text)
    sys.exit("wrk saw errors; the numbers are not valid")
print("%.1f %.0f %.3f %.3f" % (rps, bps, latency(50), latency(99)))
EOF
}

run_workload() {
    name=$1
    script=$2
    conns=$3
    nginx_at=${4:-$nginx_port}
    : >"$work/$name.kadr"
    : >"$work/$name.nginx"
    # One warm-up run each, not counted.
    run_wrk "$kadr_port" "$script" "$conns" >/dev/null
    run_wrk "$nginx_at" "$script" "$conns" >/dev/null
    for i in $(seq "$runs"); do
        run_wrk "$kadr_port" "$script" "$conns" >>"$work/$name.kadr"
        run_wrk "$nginx_at" "$script" "$conns" >>"$work/$name.nginx"
        echo "  $name run $i: kadr $(tail -1 "$work/$name.kadr")," \
            "nginx $(tail -1 "$work/$name.nginx")"
    done
}

report() {
    python3 - "$work" "$runs" <<'EOF'
import statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def medians(path):
    rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
    return [statistics.median(col) for col in zip(*rows)]
print()
print("| workload | server | requests/s | GB/s | p50 ms | p99 ms |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
ratios = []
for name in ["small", "pipelined", "range"]:
    k = medians("%s/%s.kadr" % (work, name))
    n = medians("%s/%s.nginx" % (work, name))
    for server, row in [("kadr", k), ("nginx", n)]:
        print("| %s | %s | %.0f | %.3f | %.2f | %.2f |" %
              (name, server, row[0], row[1] / 1e9, row[2], row[3]))
    ratios.append((name, k[0] / n[0], k[1] / n[1], k[2] / n[2],
                   k[3] / n[3]))
print()
print("| workload | requests/s kadr/nginx | GB/s kadr/nginx | "
      "p50 kadr/nginx | p99 kadr/nginx |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, rps, bps, p50, p99 in ratios:
    print("| %s | %.2f | %.2f | %.2f | %.2f |" % (name, rps, bps, p50, p99))
print()
print("medians of %d runs each" % runs)
EOF
}

if [ "$(id -u)" -eq 0 ]; then
    need_packages
fi
if [ ! -x "$kadrd" ]; then
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$root/build" -j "$(nproc)" --target kadrd
fi
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2), wrk: $(wrk -v 2>&1 |
    head -1 | cut -d' ' -f2)"
echo "load: ${seconds}s per run, $runs runs, $threads wrk threads," \
    "$small_conns connections (small, pipelined $depth deep)," \
    "$range_conns connections (range)"
start_kadrd
load_media
start_nginx
run_workload small "$work/small.lua" "$small_conns"
run_workload pipelined "$work/pipelined.lua" "$small_conns" "$nginx_pipe_port"
run_workload range "$work/range.lua" "$range_conns"
report
