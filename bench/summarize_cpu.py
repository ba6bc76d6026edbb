#!/usr/bin/env python3
"""Turns bench/run_cpu.sh's raw JSON into bench/results/cpu-<date>.{json,md}:
the table, the machine, the commit, and the ratios the targets are about."""
import argparse
import datetime
import glob
import json
import os
import platform

from bench_common import cpu_model, load


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw_dir")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", required=True, help="path without extension")
    a = ap.parse_args()

    points = {}
    for mode in ("batched", "unbatched"):
        for c in (1, 4, 16, 64):
            points[(mode, c)] = load(os.path.join(a.raw_dir, "%s-c%d.json" % (mode, c)))
    limit = load(os.path.join(a.raw_dir, "model_limit.json"))
    faceapi = [load(p) for p in sorted(glob.glob(os.path.join(a.raw_dir, "faceapi-*.json")))]
    faceapi_ips = sum(r["images_per_s"] for r in faceapi)

    rounds = []
    r = 1
    while os.path.exists(os.path.join(a.raw_dir, "round%d-c16.json" % r)):
        c16 = load(os.path.join(a.raw_dir, "round%d-c16.json" % r))
        lim = load(os.path.join(a.raw_dir, "round%d-model_limit.json" % r))
        fa = sum(load(p)["images_per_s"] for p in sorted(glob.glob(
            os.path.join(a.raw_dir, "round%d-faceapi-*.json" % r))))
        rounds.append({"round": r, "c16_images_per_s": c16["images_per_s"],
                       "raw_limit_images_per_s": lim["raw_limit_images_per_s"],
                       "faceapi_images_per_s": fa,
                       "c16_over_raw": c16["images_per_s"] / lim["raw_limit_images_per_s"],
                       "c16_over_faceapi": c16["images_per_s"] / fa if fa else float("nan")})
        r += 1

    def median(values):
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    raw = limit["raw_limit_images_per_s"]
    one = limit["model_time_one_image_ms"]
    b16 = points[("batched", 16)]["images_per_s"]
    p50_c1 = points[("batched", 1)]["latency_ms"]["p50"]
    targets = [
        ("Analyze throughput at concurrency 16 / raw model limit", b16 / raw, ">= 0.90"),
        ("Analyze throughput at concurrency 16 / face-api wasm", b16 / faceapi_ips if faceapi_ips else float("nan"), ">= 6"),
        ("p50 latency at concurrency 1 / model time of one image", p50_c1 / one, "<= 1.2"),
    ]
    if rounds:
        targets[0] = (targets[0][0] + " (median of the paired rounds)",
                      median([x["c16_over_raw"] for x in rounds]), ">= 0.90")
        targets[1] = (targets[1][0] + " (median of the paired rounds)",
                      median([x["c16_over_faceapi"] for x in rounds]), ">= 6")
    summary = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": a.commit,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "os": platform.platform()},
        "faceserve": {"%s_c%d" % k: v for k, v in points.items()},
        "model_limit": limit,
        "faceapi_wasm": {"processes": faceapi, "images_per_s": faceapi_ips},
        "ratios": {name: value for name, value, _ in targets},
        "paired_rounds": rounds,
    }
    with open(a.out + ".json", "w") as f:
        json.dump(summary, f, indent=1)

    m = summary["machine"]
    lines = [
        "# CPU benchmark, %s" % summary["date"][:10],
        "",
        "Machine: %s, %d cores, %s. Commit %s. Photos: face-api's six demo photos "
        "(%.2f faces per image on average). Reproduce: `bench/run_cpu.sh` "
        "(`BENCH_SECONDS` per point, default 20)." % (m["cpu"], m["cores"], m["os"], a.commit,
                                                      limit["faces_per_image"]),
        "",
        "## faceserve Analyze (all predictors: landmarks, expression, age/gender, embedding)",
        "",
        "| concurrency | batching | images/s | p50 ms | p90 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in (1, 4, 16, 64):
        for mode in ("batched", "unbatched"):
            r = points[(mode, c)]
            errors = sum(r.get("errors", {}).values()) if isinstance(r.get("errors"), dict) else r.get("errors", 0)
            lines.append("| %d | %s | %.2f | %.0f | %.0f | %.0f | %s |" % (
                c, "on" if mode == "batched" else "off", r["images_per_s"], r["latency_ms"]["p50"],
                r["latency_ms"]["p90"], r["latency_ms"]["p99"], errors))
    lines += [
        "",
        "## Raw model limit (bench/model_limit: models alone, no server, same threads)",
        "",
        "| role | model | best batch | ms per item | ms per batch at each size |",
        "|---|---|---|---|---|",
    ]
    for mdl in limit["models"]:
        lines.append("| %s | %s | %d | %.2f | %s |" % (
            mdl["role"], mdl["model"], mdl["best_batch"], mdl["best_ms_per_item"],
            ", ".join("%d: %.1f" % (p["batch"], p["ms_per_batch"]) for p in mdl["points"])))
    lines += [
        "",
        "Raw limit: **%.2f images/s** (detector per image + %.2f faces x each predictor per face, "
        "each at its best batch size). Model time of one image (detector at batch 1, each "
        "predictor on one batch of that image's faces): **%.1f ms**." % (raw, limit["faces_per_image"], one),
        "",
        "## face-api %s (tfjs %s, wasm backend), %d processes" % (
            faceapi[0]["faceapi"] if faceapi else "?", faceapi[0]["tfjs"] if faceapi else "?", len(faceapi)),
        "",
        "Same pipeline (SSD, landmarks, expression, age/gender, descriptor), images decoded "
        "before timing: **%.2f images/s** in total (%s)." % (
            faceapi_ips, ", ".join("%.2f" % r["images_per_s"] for r in faceapi)),
    ]
    if rounds:
        lines += [
            "",
            "## Paired rounds (raw limit, faceserve at concurrency 16, face-api, one right after the other)",
            "",
            "| round | raw model limit | faceserve c16 images/s | face-api images/s | c16 / raw limit | c16 / face-api |",
            "|---|---|---|---|---|---|",
        ]
        for x in rounds:
            lines.append("| %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                x["round"], x["raw_limit_images_per_s"], x["c16_images_per_s"],
                x["faceapi_images_per_s"], x["c16_over_raw"], x["c16_over_faceapi"]))
        lines += ["", "Single pass (the tables above, minutes apart): c16 / raw limit %.2f, "
                  "c16 / face-api %.2f." % (b16 / raw, b16 / faceapi_ips if faceapi_ips else float("nan"))]
    lines += [
        "",
        "## Targets",
        "",
        "| ratio | measured | target |",
        "|---|---|---|",
    ]
    for name, value, target in targets:
        lines.append("| %s | %.2f | %s |" % (name, value, target))
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
