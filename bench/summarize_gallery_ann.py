#!/usr/bin/env python3
"""bench/gallery_ann.sh's results as JSON and a Markdown table.

  summarize_gallery_ann.py RESULTS.json OUT_STEM COMMIT
"""
import json
import platform
import statistics
import sys


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    results_path, stem, commit = sys.argv[1:4]
    r = json.load(open(results_path))
    sizes = sorted({int(k.split("_")[-1]) for k in r if k.startswith("in_process_")})

    def in_process(size):  # the default (half precision) first, then single
        return [r[k] for k in (f"in_process_{size}", f"in_process_single_{size}") if k in r]

    out = {"commit": commit, "cpu": cpu_name(), "results": r}
    lines = [
        "# Approximate gallery index (HNSW) against exact search",
        "",
        f"Machine: {cpu_name()}, Linux {platform.release()}. Commit {commit}. "
        "Reproduce: `bench/gallery_ann.sh` (after `scripts/bootstrap.sh`).",
        "",
        "Data: face-like synthetic descriptors (`bench/make_face_like_data.py`): gallery faces "
        "and strangers drawn from a Gaussian with the mean and covariance of real face-api "
        "descriptors of the photos in `../shared/data/faces` (embedded by the server), "
        "normalised; mated probes are enrolled faces plus noise with the real spread between "
        "two photos of one person. Half the probes are mated, half strangers.",
        "",
    ]
    for size in sizes:
        d = r.get(f"data_{size}", {})
        lines.append(f"- {size:,} faces: fitted on {d.get('real_descriptors')} real descriptors "
                     f"({d.get('real_persons')} people); mean similarity mated "
                     f"{d.get('mated_similarity_mean', 0):.3f}, two strangers "
                     f"{d.get('stranger_similarity_mean', 0):.3f}.")
    lines += ["", "## Agreement with exact search (in process, `bench/gallery_ann`)", "",
              "rank-1: the best subject is the same, over mated probes; decision: identified "
              "or unknown at the gallery threshold is the same, over all probes. ms: one "
              "query at a time on one thread.", "",
              "| faces | m | vectors | ef_search | rank-1 agreement | decision agreement | "
              "largest similarity error | ms/query p50 | ms/query p99 | "
              "exact ms/query (64 per pass) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for p in in_process(size):
            for row in p["by_ef"]:
                lines.append(f"| {size:,} | {p['m']} | {p.get('precision', 'single')} | "
                             f"{row['ef_search']} | {row['rank1_agreement']:.4f} | "
                             f"{row['decision_agreement']:.4f} | "
                             f"{row.get('similarity_error_max', 0):.5f} | "
                             f"{row['ms_per_query_p50']:.3f} | {row['ms_per_query_p99']:.3f} | "
                             f"{p['exact_ms_per_query']:.2f} |")
    lines += ["", "## Building, memory, snapshots", "",
              "| faces | vectors | build s (in process, 2 threads) | graph MB (per million) | "
              "snapshot MB | save s | load s (in process, warm) |",
              "|---|---|---|---|---|---|---|"]
    for size in sizes:
        for p in in_process(size):
            per_million = p["index_mb"] / size * 1e6
            lines.append(f"| {size:,} | {p.get('precision', 'single')} | {p['build_s']:.1f} | "
                         f"{p['index_mb']:.0f} ({per_million:.0f}) | {p['snapshot_mb']:.0f} | "
                         f"{p['save_s']:.2f} | {p['load_warm_s']:.2f} |")
    lines += ["", "## On the server (Search RPC over loopback, 16 closed-loop clients)", "",
              "import: `facectl gallery import`, 4 faces per Enroll, 8 in flight, into an exact "
              "gallery; build: the next start, which builds the graph and saves it; load: a "
              "start from the snapshot plus the change log (cold: page cache dropped first). "
              "RSS: the server's resident memory after loading (models included).", "",
              "| faces | import s | build s | save s | snapshot MB | load cold s | load warm s | "
              "RSS MB | Search p50 ms | Search p99 ms (median round) | Search req/s |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        s = r.get(f"server_{size}")
        rounds = [r[k] for k in sorted(r) if k.startswith(f"search_{size}_r")]
        if not s or not rounds:
            continue
        p50 = statistics.median(x["latency_ms"]["p50"] for x in rounds)
        p99 = statistics.median(x["latency_ms"]["p99"] for x in rounds)
        rps = statistics.median(x["requests_per_s"] for x in rounds)
        cold = "n/a" if s.get("load_cold_s") is None else f"{s['load_cold_s']:.2f}"
        lines.append(f"| {size:,} | {s['import_s']:.0f} | {s['build_s']:.1f} | {s['save_s']:.2f} | "
                     f"{s['snapshot_mb']} | {cold} | {s['load_warm_s']:.2f} | {s['rss_mb']:.0f} | "
                     f"{p50:.2f} | {p99:.2f} | {rps:.0f} |")
        errors = sum(x["requests"] - x["ok"] for x in rounds)
        if errors:
            lines.append(f"\n{errors} Search calls failed at {size:,} faces.")
    open(stem + ".json", "w").write(json.dumps(out, indent=1) + "\n")
    open(stem + ".md", "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
