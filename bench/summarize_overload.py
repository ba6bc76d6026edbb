#!/usr/bin/env python3
"""Turns bench/run_overload.sh's raw JSON into bench/results/overload-<date>.{json,md}."""
import argparse
import datetime
import json
import os
import platform

from bench_common import cpu_model, load


def mib(n):
    return n / 1048576.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw_dir")
    ap.add_argument("--limits", nargs="+", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", required=True, help="path without extension")
    a = ap.parse_args()

    def raw(name):
        return load(os.path.join(a.raw_dir, name + ".json"))

    runs = {}
    for limit in a.limits:
        run = {
            "capacity": raw("%d-capacity" % limit),
            "alone_before": raw("%d-alone-before" % limit),
            "alone_after": raw("%d-alone-after" % limit),
            "idle_memory": raw("%d-idle" % limit),
            "points": {},
        }
        for factor in (2, 5, 20):
            point = raw("%d-x%d" % (limit, factor))
            point["memory"] = raw("%d-x%d-memory" % (limit, factor))
            run["points"][factor] = point
        runs[limit] = run

    summary = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": a.commit,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "os": platform.platform()},
        "seconds_per_point": a.seconds,
        "runs": {str(k): v for k, v in runs.items()},
    }
    with open(a.out + ".json", "w") as f:
        json.dump(summary, f, indent=1)

    m = summary["machine"]
    lines = [
        "# Overload benchmark, %s" % summary["date"][:10],
        "",
        "Machine: %s, %d cores, %s. Commit %s. faceserve on `config/default.yaml` (CPU, all "
        "predictors) with `server.max_concurrent_calls` as given; face-api's six demo photos. "
        "Load is open loop (`facectl bench --rate R`: a call starts every 1/R s whatever the "
        "answers), %g s per point, at 2x, 5x and 20x the capacity measured just before "
        "(closed loop, concurrency 16). Reproduce: `bench/run_overload.sh`."
        % (m["cpu"], m["cores"], m["os"], a.commit, a.seconds),
        "",
        "| max_concurrent_calls | offered | offered calls/s | answered images/s | refused/s "
        "| answered p50 / p99 / max ms | refusal p50 / p99 ms | other errors | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for limit, run in runs.items():
        cap = run["capacity"]
        lines.append(
            "| %d | capacity (closed loop, c16) | | %.2f | 0 | %.0f / %.0f / %.0f | | %s | %.0f (idle %.0f) |"
            % (limit, cap["images_per_s"], cap["latency_ms"]["p50"], cap["latency_ms"]["p99"],
               cap["latency_ms"]["max"], sum(cap["errors"].values()),
               mib(run["idle_memory"]["hwm"]), mib(run["idle_memory"]["rss"])))
        for factor, p in run["points"].items():
            errors = dict(p["errors"])
            refused = errors.pop("RESOURCE_EXHAUSTED", 0)
            other = ", ".join("%s %d" % kv for kv in sorted(errors.items())) or "0"
            lines.append(
                "| %d | %dx | %.1f | %.2f | %.1f | %.0f / %.0f / %.0f | %.1f / %.1f | %s | %.0f |"
                % (limit, factor, p["offered_requests_per_s"], p["images_per_s"],
                   refused / p["wall_s"], p["latency_ms"]["p50"], p["latency_ms"]["p99"],
                   p["latency_ms"]["max"], p["error_latency_ms"]["p50"],
                   p["error_latency_ms"]["p99"], other, mib(p["memory"]["hwm"])))
    lines += [
        "",
        "A call alone (concurrency 1, 12 calls) before and after the overload, p50 ms:",
        "",
    ]
    for limit, run in runs.items():
        lines.append("- max_concurrent_calls %d: %.0f before, %.0f after" %
                     (limit, run["alone_before"]["latency_ms"]["p50"],
                      run["alone_after"]["latency_ms"]["p50"]))
    lines += [
        "",
        "Peak RSS is the server's VmHWM (the highest resident size since it started, "
        "preheat included) read after each point; the idle figure is VmRSS before the load.",
        "",
    ]
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
