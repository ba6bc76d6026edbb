#!/usr/bin/python3
"""The sharpness scale of a stream's best shot (issue 32, item 3):
core/utilizer/face_sharpness.cc's measure (the variance of the Laplacian of
the face box's grey pixels at 64x64), written again here in numpy, on the
largest face of real photos of two sets, as they are and degraded (motion
blur of 9 px, Gaussian blur of sigma 2, JPEG 60). ShotQuality's sharpness
term is s / (s + K); K is chosen between the sharp and the blurred faces.
Writes <out>.md. Uses the Python client (build/python-venv) on a server it
starts.

    bench/face_sharpness.sh     (after scripts/bootstrap.sh; needs ../shared)
"""
import argparse
import io
import os
import pathlib
import platform
import statistics
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import cpu_model  # noqa: E402
from stream_common import Server  # noqa: E402

import faceserve  # noqa: E402


def sharpness(rgb, box):
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    crop = rgb.crop((max(0, x1), max(0, y1), min(rgb.width, x2), min(rgb.height, y2)))
    g = np.asarray(crop.convert("L").resize((64, 64), Image.BOX), dtype=np.float32)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def motion_blur(img, n=9):
    a = np.asarray(img, dtype=np.float32)
    out = np.zeros_like(a)
    for k in range(n):
        out += np.roll(a, k - n // 2, axis=1)
    return Image.fromarray((out / n).astype(np.uint8))


def jpeg(img, quality=60):
    b = io.BytesIO()
    img.save(b, "JPEG", quality=quality)
    return Image.open(io.BytesIO(b.getvalue())).convert("RGB")


DEGRADE = {
    "as is": lambda img: img,
    "motion blur 9 px": motion_blur,
    "Gaussian blur sigma 2": lambda img: img.filter(ImageFilter.GaussianBlur(2)),
    "JPEG 60": jpeg,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--faces", default="../shared/data/faces")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    faces = pathlib.Path(args.faces)
    sets = {"verify (every 6th photo)": sorted(faces.glob("verify/*/*"))[::6],
            "detect (annotated photos)": sorted(faces.glob("detect/images/*"))}
    server = Server(args.build)
    lines = ["# Face sharpness of real and degraded faces", "",
             "`bench/face_sharpness.sh` on %s (%s), %s." % (platform.node(), cpu_model(), os.popen("date -u +%F").read().strip()),
             "The largest face of each photo; s = variance of the Laplacian at 64x64.", "",
             "| set | faces | degradation | p10 | median | p90 | s/(s+100) at the median |",
             "|---|---|---|---|---|---|---|"]
    try:
        with faceserve.Client(server.address) as client:
            for name, files in sets.items():
                rows = {k: [] for k in DEGRADE}
                for f in files:
                    analysis = client.analyze(f.read_bytes(), predictors=["landmarks"])
                    if not analysis.faces:
                        continue
                    face = max(analysis.faces, key=lambda x: x.box.x2 - x.box.x1)
                    box = (face.box.x1, face.box.y1, face.box.x2, face.box.y2)
                    img = Image.open(f).convert("RGB")
                    for k, degrade in DEGRADE.items():
                        rows[k].append(sharpness(degrade(img), box))
                for k, v in rows.items():
                    v.sort()
                    med = statistics.median(v)
                    lines.append("| %s | %d | %s | %.0f | %.0f | %.0f | %.2f |" % (
                        name, len(v), k, v[len(v) // 10], med, v[len(v) * 9 // 10], med / (med + 100)))
    finally:
        server.stop()
    text = "\n".join(lines) + "\n"
    pathlib.Path(args.out + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
