#!/usr/bin/env python3
"""Turns deploy/gpu/build_and_bench.sh's output folder into the markdown table
for bench/results/gpu-<date>.md: Analyze throughput and latency per photo set
and concurrency, GPU utilisation during each point (nvidia-smi samples between
the point's start and end marks), the raw model limit, and the targets.

    python3 bench/summarize_gpu.py OUT_DIR > bench/results/gpu-<date>.md
"""
import glob
import json
import os
import re
import sys

TARGETS = {"demo": 500.0, "640": 2000.0}  # images/s on one H100 (issue 4)


def load(path):
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text.splitlines()[-1]) if text else None


def marks(out):
    """{label: (start, end)} from marks.txt (a time line, then a label line)."""
    path = os.path.join(out, "marks.txt")
    if not os.path.exists(path):
        return {}
    lines = open(path).read().split("\n")
    spans = {}
    for t, label in zip(lines[0::2], lines[1::2]):
        kind, _, name = label.partition(" ")
        spans.setdefault(name, [None, None])[0 if kind == "start" else 1] = float(t)
    return spans


def gpu_samples(out):
    """[(unix time, utilisation %, memory MiB)] from nvidia-smi's csv."""
    path = os.path.join(out, "gpu.csv")
    samples = []
    if not os.path.exists(path):
        return samples
    import datetime
    for line in open(path):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        try:
            ts = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            samples.append((ts, float(parts[1]), float(parts[2])))
        except ValueError:
            continue
    return samples


def utilisation(samples, span):
    inside = [s for s in samples if span[0] is not None and span[1] is not None
              and span[0] <= s[0] <= span[1]]
    if not inside:
        return None, None
    return (sum(s[1] for s in inside) / len(inside), max(s[2] for s in inside))


def main():
    out = sys.argv[1]
    env = open(os.path.join(out, "environment.txt")).read() if os.path.exists(
        os.path.join(out, "environment.txt")) else ""
    spans = marks(out)
    samples = gpu_samples(out)
    lines = ["# GPU benchmark", "", "```", env.strip(), "```", "",
             "Reproduce: `deploy/gpu/pack_kit.sh` on Debian, then `deploy/gpu/build_and_bench.sh` "
             "on the GPU machine (config/gpu.yaml; demo = face-api's six demo photos, 1920 px, "
             "~3.7 faces each; 640 = the same photos cut to 4:3 and scaled to 640x480).", "",
             "| photos | concurrency | images/s | p50 ms | p90 ms | p99 ms | errors | faces/image "
             "| GPU util % (mean) | GPU memory MiB (max) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    best = {}
    for path in sorted(glob.glob(os.path.join(out, "bench-*-c*.json")),
                       key=lambda p: (p, int(re.search(r"-c(\d+)\.json$", p).group(1)))):
        m = re.search(r"bench-(\w+)-c(\d+)\.json$", path)
        r = load(path)
        if r is None:
            lines.append("| %s | %s | failed | | | | | | | |" % (m.group(1), m.group(2)))
            continue
        errors = sum(r.get("errors", {}).values())
        util, mem = utilisation(samples, spans.get("%s c%s" % (m.group(1), m.group(2)), (None, None)))
        lines.append("| %s | %s | %.1f | %.0f | %.0f | %.0f | %d | %.2f | %s | %s |" % (
            m.group(1), m.group(2), r["images_per_s"], r["latency_ms"]["p50"],
            r["latency_ms"]["p90"], r["latency_ms"]["p99"], errors, r.get("faces_per_image", 0),
            "%.0f" % util if util is not None else "n/a", "%.0f" % mem if mem is not None else "n/a"))
        best[m.group(1)] = max(best.get(m.group(1), 0.0), r["images_per_s"])
    limit_path = os.path.join(out, "model_limit.json")
    limit = load(limit_path) if os.path.exists(limit_path) else None
    if limit:
        lines += ["", "Raw model limit (bench/model_limit, models alone at their best batch size, "
                  "device %s): **%.1f images/s**; model time of one image %.1f ms." % (
                      limit.get("device", "?"), limit["raw_limit_images_per_s"],
                      limit["model_time_one_image_ms"]), "",
                  "| role | model | best batch | ms per item |", "|---|---|---|---|"]
        for mdl in limit["models"]:
            lines.append("| %s | %s | %d | %.3f |" % (mdl["role"], mdl["model"], mdl["best_batch"],
                                                     mdl["best_ms_per_item"]))
    if limit and limit.get("device") == "cpu":
        lines += ["", "A dry run on CPU: the GPU targets (%s) do not apply." % ", ".join(
            ">= %.0f images/s on the %s photos" % (g, n) for n, g in TARGETS.items())]
        print("\n".join(lines))
        return
    lines += ["", "| target | measured (best concurrency) | goal |", "|---|---|---|"]
    for name, goal in TARGETS.items():
        got = best.get(name)
        lines.append("| %s photos images/s | %s | >= %.0f |" % (
            name, "%.1f" % got if got is not None else "not run", goal))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
