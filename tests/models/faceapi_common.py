"""Shared fixtures for the face-api parity tests.

* exported models: $FACESERVE_MODELS_DIR (default models/exported); exported on
  demand with models/export.py when missing.
* face-api dump: $FACESERVE_FACEAPI_DUMP (default models/reference/out); produced
  with `node models/reference/dump.js` when missing or stale.
"""
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
MODELS_PY = os.path.join(ROOT, "models")
if MODELS_PY not in sys.path:
    sys.path.insert(0, MODELS_PY)

REF = os.path.join(ROOT, "models", "reference")
FACEAPI = os.path.join(REF, "node_modules", "@vladmandic", "face-api")
SHARED = os.path.join(ROOT, "..", "shared", "data", "faces")

# face-api's six demo photos + a few photos of the shared data set
IMAGES = [os.path.join(FACEAPI, "demo", "sample%d.jpg" % i) for i in range(1, 7)] + [
    os.path.join(SHARED, "bench", "group_faceapi_bbt1.jpg"),
    os.path.join(SHARED, "attributes", "images", "faceapi_happy.jpg"),
    os.path.join(SHARED, "verify", "barack_obama", "facerec_obama3.jpg"),
    os.path.join(SHARED, "verify", "bbt_penny", "faceapi_penny2.png"),  # grayscale PNG, tight crop
    os.path.join(SHARED, "bench", "noface_dlib_dog.jpg"),  # no face
]

MODEL_NAMES = ["ssd_mobilenetv1", "tiny_face_detector", "face_landmark_68", "face_recognition",
               "face_expression", "age_gender"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def models_dir():
    d = os.environ.get("FACESERVE_MODELS_DIR") or os.path.join(ROOT, "models", "exported")
    missing = [n for n in MODEL_NAMES if not os.path.exists(os.path.join(d, n + ".pt"))]
    if missing:
        log("exporting face-api models to %s (missing: %s)" % (d, ", ".join(missing)))
        subprocess.check_call([sys.executable, os.path.join(ROOT, "models", "export.py"), "--out", d])
    return d


def images():
    return [p for p in IMAGES if os.path.exists(p)]


def image_id(p):
    return os.path.splitext(os.path.basename(p))[0]


def dump_dir():
    d = os.environ.get("FACESERVE_FACEAPI_DUMP") or os.path.join(REF, "out")
    man = os.path.join(d, "manifest.json")
    want = [image_id(p) for p in images()]
    stale = True
    if os.path.exists(man):
        with open(man) as f:
            have = json.load(f).get("images", [])
        src = os.path.join(REF, "dump.js")
        stale = have != want or os.path.getmtime(src) > os.path.getmtime(man)
    if stale:
        backend = os.environ.get("FACESERVE_FACEAPI_BACKEND", "wasm")
        log("running face-api (%s backend) on %d images -> %s" % (backend, len(want), d))
        subprocess.check_call(["node", os.path.join(REF, "dump.js"), "--backend", backend, "--out", d]
                              + images(), cwd=ROOT)
    return d


class Dump:
    """One image's face-api dump."""

    def __init__(self, root, image):
        self.id = image
        self.dir = os.path.join(root, image)
        with open(os.path.join(self.dir, "results.json")) as f:
            self.res = json.load(f)

    def npy(self, name):
        return np.load(os.path.join(self.dir, name + ".npy"))

    def nchw(self, name):
        import torch
        return torch.from_numpy(np.ascontiguousarray(self.npy(name).transpose(0, 3, 1, 2)))


def all_dumps():
    root = dump_dir()
    with open(os.path.join(root, "manifest.json")) as f:
        man = json.load(f)
    return man, [Dump(root, i) for i in man["images"]]


def cos(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def match_faces(ref_boxes, our_boxes, min_iou=0.3):
    """Greedy IoU matching -> list of (ref_idx, our_idx, iou)."""
    from faceapi.pipeline import iou_box
    pairs = sorted(((iou_box(r, o), i, j) for i, r in enumerate(ref_boxes) for j, o in enumerate(our_boxes)),
                   reverse=True)
    used_r, used_o, out = set(), set(), []
    for v, i, j in pairs:
        if v < min_iou or i in used_r or j in used_o:
            continue
        used_r.add(i)
        used_o.add(j)
        out.append((i, j, v))
    return sorted(out)


if __name__ == "__main__":
    # ctest fixture: export the models and run face-api once, before the tests
    log("models: %s" % models_dir())
    log("face-api dump: %s" % dump_dir())
