#!/usr/bin/env python3
"""The same photos through the three ways in, side by side in one run:
gRPC (Analyze), HTTP/JSON (POST /v1/analyze, the image in base64) and HTTP
with the image as the body; images/s and p50/p99 latency at concurrency 1
and 16, the modes interleaved at each concurrency so that the machine's
speed drift hits them alike. One faceserve on config/default.yaml (CPU),
every call checked (an answer with faces, or counted as an error).

Client side: Python threads, each call's request made once in advance, its
answer parsed (protobuf for gRPC, JSON for HTTP), so both sides do the work
a real client does. On a 2-core machine the client shares the cores with the
server; the overhead stated is what a caller sees.

  BUILD=build bench/http_vs_grpc.sh          (the wrapper: venv, then this)
  bench/http_vs_grpc.py --faceserve build/bin/faceserve --seconds 20 --out bench/results/http-vs-grpc-DATE
"""
import argparse
import base64
import concurrent.futures
import http.client
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import grpc

from faceserve.v1 import face_service_pb2 as pb
from faceserve.v1 import face_service_pb2_grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_common import cpu_model  # noqa: E402

SOURCE = pathlib.Path(__file__).resolve().parents[1]
DEMO = SOURCE / "models/reference/node_modules/@vladmandic/face-api/demo"


def start_server(binary: str, workdir: str):
    log_path = pathlib.Path(workdir) / "faceserve.log"
    log = open(log_path, "w")
    args = [binary, "--config", str(SOURCE / "config/default.yaml")]
    for s in ["server.listen=127.0.0.1:0", "http.listen=127.0.0.1:0", "metrics.listen=",
              "server.max_concurrent_calls=256", f"models_dir={SOURCE / 'models/exported'}",
              f"gallery.sqlite.path={workdir}/g.sqlite"]:
        args += ["--set", s]
    process = subprocess.Popen(args, stderr=log)
    ports = {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(ports) < 3:
        text = log_path.read_text()
        for name, pattern in [("grpc", r"gRPC listening on \S+ \(port (\d+)"),
                              ("http", r"HTTP API on \S+ \(port (\d+)"),
                              ("ready", r"health SERVING()")]:
            m = re.search(pattern, text)
            if m:
                ports[name] = int(m.group(1) or 0)
        if process.poll() is not None:
            raise SystemExit(f"faceserve exited:\n{text}")
        time.sleep(0.1)
    return process, ports


class Mode:
    """One way in: make(image bytes) -> request; call(request) -> face count."""

    def __init__(self, name, make, call):
        self.name, self.make, self.call = name, make, call


def modes(ports):
    channel = grpc.insecure_channel(f"127.0.0.1:{ports['grpc']}")
    stub = face_service_pb2_grpc.FaceServiceStub(channel)
    local = threading.local()

    def connection():  # one keep-alive connection per thread
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=300)
        return local.conn

    def post(path, body, content_type):
        conn = connection()
        try:
            conn.request("POST", path, body, {"Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            local.conn = None
            raise
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
        return json.loads(data)

    return [
        Mode("gRPC", lambda img: pb.AnalyzeRequest(image=pb.Image(encoded=img)),
             lambda req: len(stub.Analyze(req, timeout=300).faces)),
        Mode("HTTP JSON (base64)",
             lambda img: json.dumps({"image": {"encoded": base64.b64encode(img).decode()}}).encode(),
             lambda body: len(post("/v1/analyze", body, "application/json").get("faces", []))),
        Mode("HTTP raw body", lambda img: img,
             lambda body: len(post("/v1/analyze", body, "image/jpeg").get("faces", []))),
    ]


def run_point(mode, requests, concurrency, seconds):
    latencies, errors = [], [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(i):
        k = i
        while time.monotonic() < stop:
            start = time.monotonic()
            try:
                ok = mode.call(requests[k % len(requests)]) > 0
            except Exception:
                ok = False
            took = time.monotonic() - start
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors[0] += 1
            k += concurrency
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.monotonic() - began
    latencies.sort()

    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0
    return {"mode": mode.name, "concurrency": concurrency, "calls": len(latencies),
            "errors": errors[0], "images_per_s": len(latencies) / wall,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "mean_ms": 1000 * statistics.mean(latencies) if latencies else 0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faceserve", default=str(SOURCE / "build/bin/faceserve"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--images", nargs="*", default=[str(DEMO / f"sample{i}.jpg") for i in range(1, 7)])
    parser.add_argument("--out", help="write OUT.json and OUT.md")
    args = parser.parse_args()
    images = [pathlib.Path(p).read_bytes() for p in args.images]
    with tempfile.TemporaryDirectory() as workdir:
        server, ports = start_server(args.faceserve, workdir)
        try:
            ways = modes(ports)
            for mode in ways:  # warm-up: each way's first calls
                run_point(mode, [mode.make(i) for i in images], 4, 3)
            rows = []
            for concurrency in (1, 16):
                for mode in ways:
                    print(f"{mode.name} at concurrency {concurrency}: {args.seconds} s",
                          file=sys.stderr)
                    rows.append(run_point(mode, [mode.make(i) for i in images], concurrency,
                                          args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=60)
    result = {"cpu": cpu_model(), "seconds_per_point": args.seconds,
              "images": [pathlib.Path(p).name for p in args.images], "rows": rows}
    lines = ["| way in | concurrency | images/s | p50 ms | p99 ms | errors | vs gRPC images/s | vs gRPC p50 |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        base = next(r for r in rows if r["mode"] == "gRPC" and r["concurrency"] == row["concurrency"])
        lines.append(f"| {row['mode']} | {row['concurrency']} | {row['images_per_s']:.2f} | "
                     f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} | {row['errors']} | "
                     f"{100 * (row['images_per_s'] / base['images_per_s'] - 1):+.1f} % | "
                     f"{row['p50_ms'] - base['p50_ms']:+.0f} ms |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        pathlib.Path(args.out + ".json").write_text(json.dumps(result, indent=1))
        header = (f"# gRPC, HTTP/JSON and HTTP raw body, side by side\n\n"
                  f"`bench/http_vs_grpc.sh` ({time.strftime('%Y-%m-%d', time.gmtime())}, "
                  f"{result['cpu']}, {args.seconds:.0f} s per point, modes interleaved at each "
                  f"concurrency): one faceserve on config/default.yaml (CPU), "
                  f"{len(images)} photos ({', '.join(result['images'])}) in turn; the client "
                  f"(Python threads) on the same cores.\n\n")
        pathlib.Path(args.out + ".md").write_text(header + table + "\n")


if __name__ == "__main__":
    main()
