#!/bin/bash
# Times the 720.mp4 rendition made by kadr's codec layer (bench
# video_transcode, kadrd's default parameters) against the ffmpeg command
# with the same codec settings. The inputs are generated: a 1080p 30 s
# clip, and a phone-style clip of 10 s, 1920x1080 coded with a 90 degree
# display matrix and moov at the end. Prints a Markdown table of medians: wall
# time, the kadr/ffmpeg wall-time ratio, CPU time (user + sys) and peak
# resident memory, from /usr/bin/time -v.
#
#   bench/video.sh [BUILD_DIR]      (RUNS=5 by default)
#
# KADR_THREADS overrides kadr's thread count; 0 lets libavcodec and
# libx264 choose from the cores, as the ffmpeg command does.
set -euo pipefail

build=${1:-build}
runs=${RUNS:-5}
driver=$build/bench/video_transcode
work=$(mktemp -d /tmp/kadr-bench-video.XXXXXX)
trap 'rm -rf "$work"' EXIT

# kadrd's defaults: video_crf, video_preset, the 720.mp4 bounds, AAC at
# 128 kbit/s, a keyframe every 2 s, and video_encoder_threads, which is
# cores / video_workers with video_workers half the cores.
crf=23
preset=veryfast
cores=$(nproc)
video_workers=$(( cores >= 2 ? cores / 2 : 1 ))
threads=${KADR_THREADS:-$(( cores / video_workers ))}

if [ ! -x "$driver" ]; then
    echo "missing $driver: build the video_transcode target first" >&2
    exit 1
fi

make_inputs() {
    ffmpeg -v error -nostdin -y \
        -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000:duration=30 \
        -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p \
        -c:a aac -b:a 192k "$work/1080p-30s.mp4"
    ffmpeg -v error -nostdin -y \
        -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=10 \
        -f lavfi -i sine=frequency=440:sample_rate=44100:duration=10 \
        -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p \
        -c:a aac -b:a 128k "$work/phone-flat.mov"
    ffmpeg -v error -nostdin -y -i "$work/phone-flat.mov" -c copy \
        -metadata:s:v:0 rotate=90 "$work/phone-rotated.mov"
}

# The ffmpeg command doing kadr's work: autorotate, scale into the
# 720.mp4 bounds, H.264 High at the same preset and CRF with a 2 s GOP,
# AAC stereo 48 kHz at 128 kbit/s, moov first.
ffmpeg_command() {
    local input=$1 output=$2 size=$3 gop=$4
    measure ffmpeg -v error -nostdin -y -i "$input" -map 0:v:0 -map 0:a:0 \
        -vf "scale=$size:flags=bicubic" -c:v libx264 -preset "$preset" \
        -crf "$crf" -profile:v high -pix_fmt yuv420p -g "$gop" \
        -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart "$output"
}

kadr_command() {
    measure "$driver" --preset "$preset" --crf "$crf" --threads "$threads" \
        "$1" "$2"
}

# Runs a command under /usr/bin/time -v and prints "wall cpu rss_kib".
measure() {
    local log=$work/time.log
    /usr/bin/time -v -o "$log" "$@" >/dev/null 2>&1
    awk -F': ' '
        /Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); wall = 0
            for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
        }
        /User time/ { cpu += $2 }
        /System time/ { cpu += $2 }
        /Maximum resident/ { rss = $2 }
        END { printf "%.2f %.2f %d\n", wall, cpu, rss }' "$log"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Times runs of kadr and ffmpeg, interleaved so that both see the same
# machine state, and prints one table row per tool.
bench_input() {
    local name=$1 input=$2 size=$3 gop=$4
    : > "$work/kadr.txt"
    : > "$work/ffmpeg.txt"
    for _ in $(seq "$runs"); do
        kadr_command "$input" "$work/kadr.mp4" >> "$work/kadr.txt"
        ffmpeg_command "$input" "$work/ffmpeg.mp4" "$size" "$gop" \
            >> "$work/ffmpeg.txt"
    done
    local kw kc km fw fc fm
    kw=$(cut -d' ' -f1 "$work/kadr.txt" | median)
    kc=$(cut -d' ' -f2 "$work/kadr.txt" | median)
    km=$(cut -d' ' -f3 "$work/kadr.txt" | median)
    fw=$(cut -d' ' -f1 "$work/ffmpeg.txt" | median)
    fc=$(cut -d' ' -f2 "$work/ffmpeg.txt" | median)
    fm=$(cut -d' ' -f3 "$work/ffmpeg.txt" | median)
    local ratio
    ratio=$(awk -v k="$kw" -v f="$fw" 'BEGIN { printf "%.2f", k / f }')
    printf '| %s | kadr | %s | %s | %s | %d |\n' "$name" "$kw" "$ratio" \
        "$kc" $(( km / 1024 ))
    printf '| %s | ffmpeg | %s | 1.00 | %s | %d |\n' "$name" "$fw" "$fc" \
        $(( fm / 1024 ))
}

make_inputs
echo "runs=$runs cores=$cores kadr_threads=$threads preset=$preset crf=$crf"
echo "ffmpeg: $(ffmpeg -version | head -1)"
echo
echo "| input | tool | wall s | wall ratio kadr/ffmpeg | CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
bench_input "1080p 30 s" "$work/1080p-30s.mp4" 1280:720 60
bench_input "phone 10 s, rotated 90" "$work/phone-rotated.mov" 720:1280 60
