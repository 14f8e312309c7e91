#!/bin/sh
# Installs the Debian 12 packages that building and testing kadr need.
# Run as root (or through sudo). Safe to run again.
set -eu

packages="
build-essential cmake pkg-config python3 curl ffmpeg
libuv1-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
libswresample-dev libavfilter-dev libturbojpeg0-dev libjpeg62-turbo-dev
libwebp-dev libgif-dev libpng-dev libheif-dev libexif-dev liblcms2-dev
liblmdb-dev lmdb-utils libxxhash-dev libhttp-parser-dev libssl-dev
libjansson-dev libinih-dev libcmocka-dev clang libclang-rt-14-dev
imagemagick
"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo sh "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages
