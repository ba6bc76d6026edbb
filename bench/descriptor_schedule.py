#!/usr/bin/python3
"""Descriptor scheduling in streams (issue 32, item 2): the tracker's
descriptor run only where the tracker uses it (a track's start, every 5th
detection, a face while somebody is lost), against the descriptor on every
detected face (what a client that names `embedding` among its predictors
gets). The synthetic set of client/synthetic_sequence.h through `facectl
eval-track` on one real server, with the predictors `age_gender` (scheduled)
and `age_gender,embedding` (every face), detecting every frame and every 3rd;
then `facectl stream` on the real clips of ../shared/data/faces/bench/video.
Writes <out>.jsonl and <out>.md.

    bench/descriptor_schedule.sh     (after scripts/bootstrap.sh; needs ../shared)
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
VARIANTS = [("scheduled", "age_gender"), ("every face", "age_gender,embedding")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--faces", default="../shared/data/faces")
    ap.add_argument("--sequences", type=int, default=6)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    backgrounds = ",".join(os.path.join(args.faces, "bench", b) for b in BACKGROUNDS)
    server = Server(args.build)
    totals, clips = [], []
    try:
        for name, predictors in VARIANTS:
            lines = run_json_lines(server.facectl(
                "eval-track", "--faces", os.path.join(args.faces, "verify"), "--backgrounds",
                backgrounds, "--sequences", str(args.sequences), "--detect-every", "1,3",
                "--predictors", predictors))
            totals += [dict(t, variant=name) for t in lines if t.get("total")]
            for clip in sorted(glob.glob(os.path.join(args.faces, "bench", "video", "*"))):
                out = run_json_lines(server.facectl("stream", clip, "--detect-every", "1",
                                                    "--predictors", predictors, "--summary-only"))
                clips.append(dict(out[-1]["summary"], variant=name))
    finally:
        server.stop()
    with open(args.out + ".jsonl", "w") as f:
        for l in totals + clips:
            f.write(json.dumps(l) + "\n")

    md = ["# Descriptor scheduling in streams", "",
          "Machine: %s, %d CPUs, %s. Default configuration. *scheduled*: the client asks for "
          "`age_gender`, so the tracker's descriptor (`embedding`) runs only on the faces "
          "`FaceTracker::DescriptorsWanted` names; *every face*: the client asks for "
          "`age_gender,embedding`, so it runs on every detected face." %
          (cpu_model(), os.cpu_count(), platform.platform()), "",
          "Command: `bench/descriptor_schedule.sh` (`facectl eval-track --faces %s/verify "
          "--sequences %d --detect-every 1,3 --predictors P`, then `facectl stream CLIP "
          "--detect-every 1 --predictors P --summary-only` per clip)." %
          (args.faces, args.sequences), "",
          "## Synthetic set (file mode: no frame skipped)", "",
          "| descriptor | detect every | truth frames | IDF1 | MOTA | ID switches | frames/s |",
          "|---|---|---|---|---|---|---|"]
    for t in totals:
        md.append("| %s | %d | %d | %.3f | %.3f | %d | %.1f |" % (
            t["variant"], t["detect_every"], t["truths"], t["idf1"], t["mota"], t["id_switches"],
            t["frames_per_s"]))
    md += ["", "## Real clips, detecting every frame", "",
           "| clip | descriptor | frames | tracks | frames/s | latency p50 / p99 ms |",
           "|---|---|---|---|---|---|"]
    for c in clips:
        md.append("| %s | %s | %d | %d | %.1f | %.0f / %.0f |" % (
            os.path.basename(c["video"]), c["variant"], c["frames_processed"], len(c["tracks"]),
            c["frames_per_s"], c["latency_ms"]["p50"], c["latency_ms"]["p99"]))
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
