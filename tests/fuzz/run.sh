#!/bin/sh
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs each
# for a bounded time from its seed corpus. Exits non-zero when a target
# finds a crash; the input is saved under build-fuzz/crashes/ and belongs
# in tests/fuzz/regressions/<target>/ once fixed.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]    (default 60)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
build=${KADR_FUZZ_BUILD:-$root/build-fuzz}
jobs=$(nproc)

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DKADR_FUZZ=ON -DKADR_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$jobs" --target fuzzers

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for target in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus="$build/corpus/$name"
    seeds="$build/tests/fuzz/seeds/$name"
    crashes="$build/crashes/$name/"
    mkdir -p "$corpus" "$crashes"
    set -- "$corpus"
    [ -d "$seeds" ] && set -- "$@" "$seeds"
    [ -d "$root/tests/fuzz/regressions/$name" ] &&
        set -- "$@" "$root/tests/fuzz/regressions/$name"
    echo "fuzz: $name for ${seconds}s"
    if ! "$target" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes" "$@" >"$build/$name.log" 2>&1; then
        echo "fuzz: $name failed; log: $build/$name.log" >&2
        tail -n 40 "$build/$name.log" >&2
        status=1
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" \
        "$build/$name.log" || true
done
exit $status
