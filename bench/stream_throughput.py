#!/usr/bin/python3
"""Video stream throughput (issue 32, item 9) on a real server: clips made
by `facectl make-clip` from face-api's demo photos (6 photos, 20 s), sent by
`facectl stream --live --preload` from the clip's JPEG frames (`make-clip
--frames`: sent as they are, read before the stream starts, so that 16
clients on the server's machine cost it little) at the clip's frame rate; the
server skips the oldest frames when it falls behind with the embedding predictor:

  1. one 640x480 stream at 25 fps, detecting every 3rd frame;
  2. 4 streams at 10 fps, detecting every 3rd frame, then every frame;
  3. 16 streams at 25 fps, detecting every frame (far past capacity): the
     skipped frames, p99 and the server's memory at the start, middle, end;
  4. one 1280x720 stream at 25 fps, detecting every 3rd frame;
  5. the frames of 1 sent as unary Analyze calls at 25 per second
     (`facectl bench --rate 25`), in the same run.

Latency is per frame, from the client's send to its answer. Writes
<out>.json and <out>.md.

    bench/stream_throughput.sh        (after scripts/bootstrap.sh)
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import cpu_model  # noqa: E402
from stream_common import Server, run_json_lines  # noqa: E402

DEMO = "models/reference/node_modules/@vladmandic/face-api/demo"


def make_clip(server, path, fps, size, frames_dir=None):
    photos = sorted(glob.glob(os.path.join(DEMO, "sample*.jpg")))
    argv = server.facectl("make-clip", *photos, "--out", path, "--fps", str(fps), "--size", size,
                          "--seconds-per-photo", "%.3f" % (20.0 / len(photos)))
    if frames_dir:
        argv += ["--frames", frames_dir]
    return run_json_lines(argv)[-1]


def streams(server, clip, fps, count, detect_every, max_queued=0):
    """`count` concurrent live streams of `clip` (the server holding
    `max_queued` frames each; 0: its default); their summaries and the
    server's RSS sampled every second."""
    results, rss = [None] * count, []
    done = threading.Event()

    def one(i):
        out = run_json_lines(server.facectl("stream", clip, "--fps", str(fps), "--live", "--preload",
                                            "--detect-every",
                                            str(detect_every), "--predictors", "embedding",
                                            "--max-queued", str(max_queued), "--summary-only"))
        results[i] = out[-1]["summary"]

    def sample():
        while not done.wait(1.0):
            rss.append(server.rss_mib())

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    sent = sum(r["frames_sent"] for r in results)
    processed = sum(r["frames_processed"] for r in results)
    return {
        "streams": count, "detect_every": detect_every, "wall_s": wall,
        "frames_sent": sent, "frames_processed": processed,
        "frames_skipped": sum(r["frames_skipped"] for r in results),
        "aggregate_frames_per_s": processed / wall,
        "latency_p50_ms": max(r["latency_ms"]["p50"] for r in results),
        "latency_p99_ms": max(r["latency_ms"]["p99"] for r in results),
        "rss_mib": [rss[0], rss[len(rss) // 2], rss[-1]] if rss else [],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="faceserve-stream-bench-")
    server = Server(args.build)
    rows = {}
    try:
        # Folders of JPEG frames (make-clip --frames): sent as they are.
        vga25 = os.path.join(work, "vga25")
        make_clip(server, os.path.join(work, "vga25.mp4"), 25, "640x480", vga25)
        vga10 = os.path.join(work, "vga10")
        make_clip(server, os.path.join(work, "vga10.mp4"), 10, "640x480", vga10)
        hd25 = os.path.join(work, "hd25")
        make_clip(server, os.path.join(work, "hd25.mp4"), 25, "1280x720", hd25)
        rows["1 stream 640x480 25 fps, detect every 3rd"] = streams(server, vga25, 25, 1, 3)
        rows["4 streams 640x480 10 fps, detect every 3rd"] = streams(server, vga10, 10, 4, 3)
        rows["4 streams 640x480 10 fps, detect every frame"] = streams(server, vga10, 10, 4, 1)
        rows["16 streams 640x480 25 fps, detect every frame"] = streams(server, vga25, 25, 16, 1)
        rows["16 streams 640x480 25 fps, detect every frame, queue 1"] = streams(
            server, vga25, 25, 16, 1, max_queued=1)
        rows["1 stream 1280x720 25 fps, detect every 3rd"] = streams(server, hd25, 25, 1, 3)
        unary = run_json_lines(server.facectl(
            "bench", "--rate", "25", "--concurrency", "16", "--duration", "20", "--predictors",
            "embedding", "--json", *sorted(glob.glob(os.path.join(vga25, "*.jpg")))))[-1]
        rows["unary Analyze, the frames of row 1 at 25/s"] = unary
    finally:
        server.stop()
    with open(args.out + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    md = ["# Video stream throughput", "",
          "Machine: %s, %d CPUs, %s. Default configuration, the embedding predictor on "
          "detected frames; clips of 20 s made from face-api's 6 demo photos (`facectl "
          "make-clip`); `facectl stream --live` sends at the clip's frame rate." %
          (cpu_model(), os.cpu_count(), platform.platform()), "",
          "Command: `bench/stream_throughput.sh`.", "",
          "| run | frames sent | processed | skipped | frames/s | latency p50 / p99 ms | server RSS MiB (start, middle, end) |",
          "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        if "streams" in r:
            md.append("| %s | %d | %d | %d | %.1f | %.0f / %.0f | %s |" % (
                name, r["frames_sent"], r["frames_processed"], r["frames_skipped"],
                r["aggregate_frames_per_s"], r["latency_p50_ms"], r["latency_p99_ms"],
                ", ".join("%.0f" % m for m in r["rss_mib"])))
    md += ["", "Unary Analyze on the same frames: `%s`" % json.dumps(rows.get(
        "unary Analyze, the frames of row 1 at 25/s"))]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
