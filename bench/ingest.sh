#!/bin/sh
# Measures how fast kadrd ingests originals of 100 KB, 3 MB and 100 MB over
# HTTP on loopback, against dd writing the same bytes with conv=fsync to
# the same filesystem in the same run, and the cost of a dedup hit.
#
# Two HTTP clients are timed. kadr-bench keeps one connection open and
# sends one upload after another (`kadr-bench upload -c 1`), as a
# front-end server does: its figure is the one the ingest goal is judged
# on. curl starts one process per upload, which costs several ms of its
# own, more than dd takes to write a 3 MB file.
#
# Usage: bench/ingest.sh [RUNS]     (default 7 runs per case; medians)
# Env:   KADR_BENCH_DIR    parent of the work folder (default /var/tmp);
#                          put it on the disk you want to measure
#        KADR_BENCH_BUILD  release build folder (default build-bench)
# Needs: cmake, curl, hyperfine, python3 (Debian packages of those names).
#
# Each body is a 107-byte 1x1 JPEG followed by random bytes. kadr accepts
# it because JPEG decoders stop at the end-of-image marker, and decoding
# it costs next to nothing. Every body is new to the store, so the figures
# are those of moving, hashing, syncing and indexing the original's bytes.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-7}
BUILD=${KADR_BENCH_BUILD:-$ROOT/build-bench}
CORPUS=${KADR_CORPUS:-$ROOT/../shared/corpus}
SEED_JPEG=$CORPUS/tiny/jpeg.jpg
KEY=bench-key

for tool in cmake curl hyperfine python3; do
    command -v "$tool" >/dev/null || {
        echo "ingest.sh: $tool is missing (apt-get install $tool)" >&2
        exit 1
    }
done
[ -f "$SEED_JPEG" ] || {
    echo "ingest.sh: $SEED_JPEG not found (set KADR_CORPUS)" >&2
    exit 1
}

WORK=$(mktemp -d "${KADR_BENCH_DIR:-/var/tmp}/kadr-ingest-XXXXXX")
KADRD_PID=
cleanup() {
    [ -n "$KADRD_PID" ] && kill "$KADRD_PID" 2>/dev/null && wait "$KADRD_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target kadrd kadr-bench store_ingest \
    -j"$(nproc)" >/dev/null

"$BUILD/engine/kadrd" --data "$WORK/data" --listen 127.0.0.1:0 \
    --api-keys "$KEY" --disk-reserve-bytes 0 --compact-dead-percent 0 \
    --scrub-interval-s 0 >"$WORK/kadrd.log" 2>&1 &
KADRD_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*event=server.listening .*port=\([0-9]*\).*/\1/p' \
        "$WORK/kadrd.log")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || {
    echo "ingest.sh: kadrd did not start; its log follows" >&2
    cat "$WORK/kadrd.log" >&2
    exit 1
}
URL=http://127.0.0.1:$PORT/v1/media
mkdir -p "$WORK/in" "$WORK/dd" "$WORK/store"

# Writes COUNT fresh bodies of SIZE bytes to $WORK/in.
cat >"$WORK/make_bodies.sh" <<EOS
#!/bin/sh
rm -f "$WORK"/in/* "$WORK"/dd/*
i=0
while [ \$i -lt \$2 ]; do
    { cat "$SEED_JPEG"; head -c \$((\$1 - $(wc -c <"$SEED_JPEG"))) /dev/urandom; } \
        >"$WORK/in/\$i"
    i=\$((i + 1))
done
sync
EOS
cat >"$WORK/upload.sh" <<EOS
#!/bin/sh
for f in "$WORK"/in/*; do
    curl -sf -o /dev/null -H 'Expect:' -H 'X-Api-Key: $KEY' \
        --data-binary @"\$f" "$URL" || exit 1
done
EOS
cat >"$WORK/keepalive.sh" <<EOS
#!/bin/sh
"$BUILD/bench/kadr-bench" upload --url "http://127.0.0.1:$PORT" \
    --dir "$WORK/in" --api-key '$KEY' -c 1 -n "\$1" --quiet
EOS
cat >"$WORK/dd.sh" <<EOS
#!/bin/sh
for f in "$WORK"/in/*; do
    dd if="\$f" of="$WORK/dd/\${f##*/}" bs=1M conv=fsync status=none || exit 1
done
EOS
chmod +x "$WORK"/*.sh

median() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"
}

# Prints the seconds a command takes, from the monotonic clock.
time_s() {
    python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.monotonic() - t)' "$@"
}

# Times the keep-alive uploads of the bodies in $WORK/in: the time
# kadr-bench reports from its first request to its last response, which
# leaves out its start and the reading of the files.
keepalive_s() {
    out=$("$WORK/keepalive.sh" "$1")
    echo "$out" | grep -q '  errors      0 ' || {
        echo "ingest.sh: kadr-bench saw errors:" >&2
        echo "$out" >&2
        exit 1
    }
    echo "$out" | sed -n 's/.* requests in \([0-9.]*\) s.*/\1/p'
}

# Times one round of the three writers, each on fresh bodies, in the
# order given, and appends "keep-alive curl dd" seconds to rounds.txt.
run_round() {
    size=$1 count=$2
    shift 2
    for who in "$@"; do
        "$WORK/make_bodies.sh" "$size" "$count"
        case $who in
        keepalive) keep=$(keepalive_s "$count") ;;
        curl) curl_s=$(time_s "$WORK/upload.sh") ;;
        dd) dd_s=$(time_s "$WORK/dd.sh") ;;
        esac
    done
    echo "$keep $curl_s $dd_s" >>"$WORK/rounds.txt"
}

# Runs one case and prints a table row: size, bodies per run, the medians
# in MB/s of kadr over HTTP with a keep-alive client and with curl, of
# the store layer alone and of dd, and the ratios to dd. The writers
# alternate: each round times one run of each on fresh bodies, and every
# other round reverses their order.
run_case() {
    label=$1 size=$2 count=$3
    store=$("$BUILD/bench/store_ingest" "$WORK/store" "$size" "$count" "$RUNS")
    : >"$WORK/rounds.txt"
    for round in $(seq "$RUNS"); do
        if [ $((round % 2)) -eq 1 ]; then
            run_round "$size" "$count" keepalive curl dd
        else
            run_round "$size" "$count" dd curl keepalive
        fi
    done
    python3 - "$label" "$size" "$count" "$WORK/rounds.txt" $store <<'EOP'
import statistics
import sys
label, size, count, rounds, store, hit = sys.argv[1:]
size, count, store, hit = int(size), int(count), float(store), float(hit)
rows = [tuple(map(float, line.split())) for line in open(rounds)]
keep, curl, dd = (statistics.median(r[i] for r in rows) for i in range(3))
mb = size * count / 1e6
print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | "
      "%.2f ms |" %
      (label, count, mb / keep, mb / curl, mb / store, mb / dd, dd / keep,
       dd / curl, dd / store, hit / count * 1e3))
EOP
}

# A dedup hit: bodies already stored are uploaded again, so each is
# compared with the stored blob and only gains a reference.
run_dedup() {
    label=$1 size=$2 count=$3
    "$WORK/make_bodies.sh" "$size" "$count"
    "$WORK/upload.sh"
    hyperfine -N --runs "$RUNS" --export-json "$WORK/hit.json" \
        "$WORK/upload.sh" >/dev/null
    python3 - "$label" "$count" "$(median "$WORK/hit.json")" <<'EOP'
import sys
label, count, hit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
print("| %s | %.2f ms |" % (label, hit / count * 1e3))
EOP
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
    "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
echo "filesystem: $(df -T "$WORK" | awk 'NR==2 {print $1, $2}')"
echo "runs per case: $RUNS (medians)"
echo
echo "| original | bodies per run | kadr keep-alive MB/s | kadr curl MB/s | store MB/s | dd MB/s | keep-alive/dd | curl/dd | store/dd | store dedup hit |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
run_case "100 KB" 102400 20
run_case "3 MB" 3145728 5
run_case "100 MB" 104857600 1
echo
echo "| dedup hit over HTTP | median per upload |"
echo "| --- | --- |"
run_dedup "100 KB" 102400 20
run_dedup "3 MB" 3145728 5
