#!/bin/sh
# Sets up, builds and runs the whole test suite twice: once in a release
# build, once under AddressSanitizer and UBSan, then runs the fuzz
# targets for KADR_FUZZ_SECONDS (default 60) each.
#
#   tools/test.sh [ctest arguments...]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

sh "$root/tools/setup.sh"

run_suite() {
    dir=$1
    shift
    cmake -S "$root" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    (cd "$dir" && ctest --output-on-failure -j "$jobs" $ctest_args)
}

ctest_args="$*"
run_suite "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKADR_WERROR=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DKADR_SANITIZE=ON
# libFuzzer targets under ASan and UBSan, KADR_FUZZ_SECONDS each.
"$root/tests/fuzz/run.sh" "${KADR_FUZZ_SECONDS:-60}"
