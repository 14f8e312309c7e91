#!/bin/sh
# Measures how fast kadrd ingests originals of 100 KB, 3 MB and 100 MB over
# HTTP on loopback, against dd writing the same bytes with conv=fsync to
# the same filesystem in the same run, and the cost of a dedup hit.
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
cmake --build "$BUILD" --target kadrd store_ingest -j"$(nproc)" >/dev/null

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

# Runs one case and prints a table row: size, bodies per run, the medians
# in MB/s of kadr over HTTP, of the store layer alone and of dd, and the
# ratios to dd. kadr and dd alternate: each round times one kadr run and
# one dd run, each on fresh bodies.
run_case() {
    label=$1 size=$2 count=$3
    store=$("$BUILD/bench/store_ingest" "$WORK/store" "$size" "$count" "$RUNS")
    : >"$WORK/rounds.txt"
    for _ in $(seq "$RUNS"); do
        hyperfine -N --runs 1 --style none \
            --prepare "$WORK/make_bodies.sh $size $count" \
            --export-json "$WORK/round.json" "$WORK/upload.sh" "$WORK/dd.sh" \
            >/dev/null 2>&1
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["mean"], r[1]["mean"])' \
            "$WORK/round.json" >>"$WORK/rounds.txt"
    done
    python3 - "$label" "$size" "$count" "$WORK/rounds.txt" $store <<'EOP'
import statistics
import sys
label, size, count, rounds, store, hit = sys.argv[1:]
size, count, store, hit = int(size), int(count), float(store), float(hit)
pairs = [tuple(map(float, line.split())) for line in open(rounds)]
kadr = statistics.median(p[0] for p in pairs)
dd = statistics.median(p[1] for p in pairs)
mb = size * count / 1e6
print("| %s | %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f ms |" %
      (label, count, mb / kadr, mb / store, mb / dd, dd / kadr, dd / store,
       hit / count * 1e3))
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
echo "| original | bodies per run | kadr HTTP MB/s | store MB/s | dd MB/s | HTTP/dd | store/dd | store dedup hit |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
run_case "100 KB" 102400 20
run_case "3 MB" 3145728 5
run_case "100 MB" 104857600 1
echo
echo "| dedup hit over HTTP | median per upload |"
echo "| --- | --- |"
run_dedup "100 KB" 102400 20
run_dedup "3 MB" 3145728 5
