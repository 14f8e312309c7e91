#!/bin/sh
# Times kadr's image variant set against libvips' vipsthumbnail on three
# photos (the corpus phone photo and a 12 MP and a 24 MP JPEG made here),
# with peak memory and SSIM against an ImageMagick Lanczos resize.
#
#   bench/images.sh [RUNS]
#
# RUNS is the number of timed rounds (default 7). Each round runs kadr,
# kadr --direct and the vipsthumbnail set once, in turn, and medians are
# reported. Needs root for apt-get when a tool is missing. Writes a
# Markdown report to stdout and keeps its files in $KADR_BENCH_DIR (a
# temporary folder by default).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-7}
build=${KADR_BENCH_BUILD:-$root/build-bench}
corpus=${KADR_CORPUS:-$root/../shared/corpus}

missing=""
command -v vipsthumbnail >/dev/null 2>&1 || missing="$missing libvips-tools"
command -v convert >/dev/null 2>&1 || missing="$missing imagemagick"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >&2
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" --target image_variants -j "$(nproc)" >/dev/null

exec python3 "$root/bench/images.py" --runs "$runs" \
    --driver "$build/bench/image_variants" \
    --photo "$corpus/photos/phone-jolla.jpg"
