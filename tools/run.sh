#!/bin/sh
# Sets up, builds and starts kadrd on its embedded store: volumes and the
# LMDB index under ./data, listening on 127.0.0.1.
#
#   tools/run.sh [--port PORT] [any kadrd flag...]
#
# A front-end API key is made at the first start and kept in
# data/api_keys; send it in the X-Api-Key header to upload.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
port=8080
if [ "${1:-}" = "--port" ]; then
    port=$2
    shift 2
fi

sh "$root/tools/setup.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF >/dev/null
cmake --build "$root/build" -j "$(nproc)"

data="$root/data"
mkdir -p "$data"
if [ ! -s "$data/api_keys" ]; then
    umask 077
    head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$data/api_keys"
    echo "kadr: made a front-end API key in $data/api_keys"
fi

exec "$root/build/engine/kadrd" --data "$data" \
    --listen "127.0.0.1:$port" --api-keys-file "$data/api_keys" "$@"
