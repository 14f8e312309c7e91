"""kadr's image variant set against vipsthumbnail: median time, peak
memory and SSIM per photo. Run through bench/images.sh, which installs
the tools and builds the driver."""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

# kadrd's presets: name, vipsthumbnail size, crop, save options. kadr
# encodes WebP at method 2 (codecs/encode.c); libvips calls the same
# setting "effort". The vips column uses effort 2 as well, so that both
# sides run the same encoder settings.
PRESETS = [
    ("w1080.jpg", "1080x", False, "Q=82,strip"),
    ("w1080.webp", "1080x", False, "Q=80,effort=2,strip"),
    ("w640.webp", "640x", False, "Q=80,effort=2,strip"),
    ("w320.webp", "320x", False, "Q=80,effort=2,strip"),
    ("s150.jpg", "150x150", True, "Q=80,strip"),
    ("preview.jpg", "32x", False, "Q=60,strip"),
]
# preview.jpg is blurred on purpose in kadr, so it is left out of SSIM.
SCORED = [p for p in PRESETS if p[0] != "preview.jpg"]


def run(args, **kw):
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" %
                           (args[0], done.returncode, done.stderr[-2000:]))
    return done


def make_inputs(photo, folder):
    """Return the corpus photo and 12 MP and 24 MP JPEGs made from it.
    Noise is added so that the larger ones carry sensor-like detail."""
    inputs = [("phone-jolla.jpg (8 MP)", photo)]
    for label, size in (("12 MP", "4000x3000"), ("24 MP", "6000x4000")):
        path = os.path.join(folder, "photo-%s.jpg" % size)
        run(["convert", photo, "-auto-orient", "-resize", size + "!",
             "-seed", "1", "-attenuate", "0.4", "+noise", "Gaussian",
             "-quality", "92", path])
        inputs.append(("generated %s (%s)" % (label, size), path))
    return inputs


def vips_script(folder):
    """Write a shell script that makes every preset with one
    vipsthumbnail call each, into the folder given as its second
    argument."""
    lines = ["#!/bin/sh", "set -e"]
    for name, size, crop, options in PRESETS:
        crop_flag = " -m centre" if crop else ""
        lines.append('vipsthumbnail "$1" -s %s%s -o "$2/%s[%s]"' %
                     (size, crop_flag, name, options))
    path = os.path.join(folder, "vips.sh")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def alternating_medians(commands, runs):
    """Run each command once to warm the caches, then runs rounds that
    each time every command once, in turn, so that load from elsewhere
    on the machine falls on every side alike. Return the median wall
    time of each command in seconds."""
    for command in commands:
        run(command)
    times = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            started = time.perf_counter()
            run(command)
            times[index].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def max_rss_kib(args):
    err = subprocess.run(["/usr/bin/time", "-v", *args], check=True,
                         capture_output=True, text=True).stderr
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                         err).group(1))


def vips_peak_kib(photo, out):
    """Return the largest peak RSS of the vipsthumbnail calls. They run
    one after another, so this is the peak of the whole set."""
    peaks = []
    for name, size, crop, options in PRESETS:
        args = ["vipsthumbnail", photo, "-s", size]
        if crop:
            args += ["-m", "centre"]
        peaks.append(max_rss_kib(args + ["-o", "%s/%s[%s]" %
                                         (out, name, options)]))
    return max(peaks)


def make_references(photo, folder):
    refs = {}
    for name, size, crop, _ in SCORED:
        path = os.path.join(folder, "ref-" + name + ".png")
        if crop:
            resize = ["-resize", "150x150^", "-gravity", "center",
                      "-extent", "150x150"]
        else:
            resize = ["-resize", size]
        if not os.path.exists(path):
            run(["convert", photo, "-auto-orient", "-filter", "Lanczos",
                 *resize, path])
        refs[name] = path
    return refs


def ssim(output, reference):
    err = run(["ffmpeg", "-v", "info", "-nostats", "-i", output, "-i",
               reference, "-lavfi", "ssim", "-f", "null", "-"]).stderr
    return float(re.search(r"All:([0-9.]+)", err).group(1))


def bench_photo(label, photo, args, folder):
    outs = {k: os.path.join(folder, k) for k in ("kadr", "direct", "vips")}
    for path in outs.values():
        os.makedirs(path, exist_ok=True)
    script = vips_script(folder)
    kadr_cmd = [args.driver, photo, outs["kadr"]]
    direct_cmd = [args.driver, "--direct", photo, outs["direct"]]
    vips_cmd = ["sh", script, photo, outs["vips"]]
    kadr_s, direct_s, vips_s = alternating_medians(
        [kadr_cmd, direct_cmd, vips_cmd], args.runs)
    refs = make_references(photo, folder)
    scores = {side: {name: ssim(os.path.join(outs[side], name), refs[name])
                     for name, _, _, _ in SCORED} for side in outs}
    sizes = {side: {name: os.path.getsize(os.path.join(outs[side], name))
                    for name, _, _, _ in PRESETS} for side in outs}
    return {
        "label": label, "kadr_s": kadr_s, "direct_s": direct_s,
        "vips_s": vips_s,
        "kadr_kib": max_rss_kib([args.driver, photo, outs["kadr"]]),
        "vips_kib": vips_peak_kib(photo, outs["vips"]),
        "ssim": scores, "bytes": sizes,
    }


def report(results, args):
    print("| photo | kadr median | libvips median | ratio kadr/libvips | "
          "kadr peak RSS | libvips peak RSS | kadr direct median |")
    print("|---|---|---|---|---|---|---|")

    for r in results:
        print("| %s | %.0f ms | %.0f ms | %.2f | %.1f MiB | %.1f MiB | "
              "%.0f ms |" % (r["label"], r["kadr_s"] * 1000,
                             r["vips_s"] * 1000, r["kadr_s"] / r["vips_s"],
                             r["kadr_kib"] / 1024, r["vips_kib"] / 1024,
                             r["direct_s"] * 1000))

    print()
    print("SSIM against ImageMagick `-filter Lanczos -resize` (kadr chain "
          "/ kadr direct / libvips), and bytes (kadr / libvips):")
    print()
    print("| photo | variant | SSIM kadr | SSIM kadr direct | SSIM libvips "
          "| kadr - libvips | bytes kadr | bytes libvips |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for name, _, _, _ in SCORED:
            k = r["ssim"]["kadr"][name]
            d = r["ssim"]["direct"][name]
            v = r["ssim"]["vips"][name]
            print("| %s | %s | %.4f | %.4f | %.4f | %+.4f | %d | %d |" %
                  (r["label"], name, k, d, v, k - v,
                   r["bytes"]["kadr"][name], r["bytes"]["vips"][name]))
    print()
    print("runs per command: %d, alternating (medians), machine: %s, %d cores, %s" %
          (args.runs, platform.processor() or platform.machine(),
           os.cpu_count(), cpu_model()))
    print("libvips: %s" % run(["vipsthumbnail", "--vips-version"]).stdout
          .strip())


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--driver", required=True)
    parser.add_argument("--photo", required=True)
    args = parser.parse_args()
    folder = os.environ.get("KADR_BENCH_DIR") or tempfile.mkdtemp(
        prefix="kadr-bench-images-")
    os.makedirs(folder, exist_ok=True)
    results = []
    for index, (label, photo) in enumerate(make_inputs(args.photo, folder)):
        sub = os.path.join(folder, "photo%d" % index)
        os.makedirs(sub, exist_ok=True)
        results.append(bench_photo(label, photo, args, sub))
    report(results, args)


if __name__ == "__main__":
    main()
