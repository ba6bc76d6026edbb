#!/usr/bin/env python3
"""bench/gallery_identify.sh's results as Markdown (stdout).

  summarize_gallery.py RESULTS.json COMMIT
"""
import json
import os
import statistics
import sys


def main():
    results = json.load(open(sys.argv[1]))
    commit = sys.argv[2]
    sizes = sorted({int(k.split("_")[1]) for k in results if k.startswith("import_")})
    rounds = sorted({int(k.rsplit("_r", 1)[1]) for k in results if k.startswith("embed_")})
    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print("# Galleries end to end, %s\n" % sys.argv[1].split("gallery-identify-")[1][:10])
    print("Machine: %s, %d cores. Commit %s. Reproduce: `bench/gallery_identify.sh` "
          "(BENCH_SECONDS per point, BENCH_ROUNDS rounds). Photos: face-api's six demo photos, "
          "every face of each (Identify searches each face); galleries of random unit vectors, "
          "4 faces per subject, imported with `facectl gallery import`; config/default.yaml "
          "(CPU). Each round runs Embed and Identify one right after the other, Embed first in odd "
          "rounds and Identify first in even ones (this VM slows down over a minute of load, "
          "so whichever runs second loses up to 10 %%); the ratio columns are the median of "
          "the rounds' ratios.\n"
          % (cpu, os.cpu_count(), commit))
    print("| faces | import (faces/s) | load at start-up | Embed p50 c=1 (ms) | Identify p50 c=1 (ms) "
          "| ratio, median (target <= 1.10) | Embed img/s c=16 | Identify img/s c=16 "
          "| ratio, median (target >= 0.90) |")
    print("|---|---|---|---|---|---|---|---|---|")
    per_round = []
    for n in sizes:
        imp = results["import_%d" % n]
        p50 = {rpc: [results["%s_%d_c1_r%d" % (rpc, n, r)]["latency_ms"]["p50"] for r in rounds]
               for rpc in ("embed", "identify")}
        ips = {rpc: [results["%s_%d_c16_r%d" % (rpc, n, r)]["images_per_s"] for r in rounds]
               for rpc in ("embed", "identify")}
        lat_ratio = [i / e for i, e in zip(p50["identify"], p50["embed"])]
        ips_ratio = [i / e for i, e in zip(ips["identify"], ips["embed"])]
        print("| %d | %.0f | %s | %.1f | %.1f | **%.3f** | %.2f | %.2f | **%.3f** |" % (
            n, imp["faces"] / imp["seconds"], results.get("load_%d" % n, "?"),
            statistics.median(p50["embed"]), statistics.median(p50["identify"]),
            statistics.median(lat_ratio), statistics.median(ips["embed"]),
            statistics.median(ips["identify"]), statistics.median(ips_ratio)))
        for r, lr, ir in zip(rounds, lat_ratio, ips_ratio):
            per_round.append("| %d | %d | %.1f / %.1f = %.3f | %.2f / %.2f = %.3f |" % (
                n, r, p50["identify"][r - 1], p50["embed"][r - 1], lr,
                ips["identify"][r - 1], ips["embed"][r - 1], ir))
    print("\nEvery round (Identify / Embed):\n")
    print("| faces | round | p50 c=1 (ms) | images/s c=16 |")
    print("|---|---|---|---|")
    print("\n".join(per_round))
    failed = {k: v["errors"] for k, v in results.items() if isinstance(v, dict) and v.get("errors")}
    print("\nFailed calls: %s." % (failed or "none"))
    en = results.get("enroll_photos")
    if en:
        print("\nEnrollment from photos (the six demo photos, each its own subject, 4 rounds, "
              "4 in flight, `--largest`): %d images in %.1f s = %.2f images/s; %s."
              % (en["images"], en["seconds"], en["images"] / en["seconds"], json.dumps(en["summary"])))


if __name__ == "__main__":
    main()
