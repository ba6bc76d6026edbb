#!/usr/bin/python3
"""Tracking quality (issue 32, item 7): the whole synthetic set of
client/synthetic_sequence.h (20 sequences, seed 1) through `facectl
eval-track` on a real server, detecting every frame and every 3rd, and
`facectl stream` on the real clips of ../shared/data/faces/bench/video (track
counts and frames per second; no ground truth there). Writes <out>.jsonl (the
raw lines) and <out>.md.

    bench/track_quality.sh     (after scripts/bootstrap.sh; needs ../shared)
"""
import argparse
import glob
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import cpu_model  # noqa: E402
from stream_common import Server, run_json_lines  # noqa: E402

BACKGROUNDS = ["noface_human_background.jpg", "noface_dlib_horses.jpg", "noface_dlib_giraffe.jpg"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--faces", default="../shared/data/faces")
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    backgrounds = ",".join(os.path.join(args.faces, "bench", b) for b in BACKGROUNDS)
    server = Server(args.build)
    try:
        eval_argv = server.facectl("eval-track", "--faces", os.path.join(args.faces, "verify"),
                                   "--backgrounds", backgrounds, "--sequences", str(args.sequences),
                                   "--detect-every", "1,3", "--predictors", "embedding")
        lines = run_json_lines(eval_argv)
        clips = []
        for clip in sorted(glob.glob(os.path.join(args.faces, "bench", "video", "*"))):
            for every in (1, 3):
                out = run_json_lines(server.facectl("stream", clip, "--detect-every", str(every),
                                                    "--predictors", "embedding", "--summary-only"))
                clips.append(dict(out[-1]["summary"], detect_every=every))
    finally:
        server.stop()
    with open(args.out + ".jsonl", "w") as f:
        for l in lines + clips:
            f.write(json.dumps(l) + "\n")

    md = ["# Tracking quality: the synthetic set and the real clips", "",
          "Machine: %s, %d CPUs, %s. Default configuration (RetinaFace, face-api's "
          "descriptor re-links lost tracks), stream `lost_track_ttl_ms` 10000 (`eval-track`'s default: longer than a person is away), re-linking at the descriptor's verify threshold (0.925)." %
          (cpu_model(), os.cpu_count(), platform.platform()), "",
          "Command: `bench/track_quality.sh` (`facectl eval-track --faces %s/verify --backgrounds "
          "%s --sequences %d --detect-every 1,3 --predictors embedding`)." %
          (args.faces, ",".join(BACKGROUNDS), args.sequences), "",
          "## Synthetic set (file mode: no frame skipped)", "",
          "| detect every | sequences | truth frames | IDF1 | MOTA | ID switches | per 1000 | misses | "
          "false positives | frames/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in [l for l in lines if l.get("total")]:
        md.append("| %d | %d | %d | %.3f | %.3f | %d | %.2f | %d | %d | %.1f |" % (
            t["detect_every"], t["sequences"], t["truths"], t["idf1"], t["mota"], t["id_switches"],
            t["switches_per_1000"], t["misses"], t["false_positives"], t["frames_per_s"]))
    md += ["", "Targets: IDF1 >= 0.90, at most 1 ID switch per 1000 truth frames.", "",
           "Per sequence:", "", "| sequence | detect every | IDF1 | MOTA | switches | description |",
           "|---|---|---|---|---|---|"]
    for l in [l for l in lines if not l.get("total")]:
        md.append("| %d | %d | %.3f | %.3f | %d | %s |" % (
            l["sequence"], l["detect_every"], l["idf1"], l["mota"], l["id_switches"], l["description"]))
    md += ["", "## Real clips (no ground truth)", "",
           "| clip | detect every | frames | detected | tracks | frames/s | latency p50 / p99 ms |",
           "|---|---|---|---|---|---|---|"]
    for c in clips:
        md.append("| %s | %d | %d | %d | %d | %.1f | %.0f / %.0f |" % (
            os.path.basename(c["video"]), c["detect_every"], c["frames_processed"],
            c["frames_detected"], len(c["tracks"]), c["frames_per_s"], c["latency_ms"]["p50"],
            c["latency_ms"]["p99"]))
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
