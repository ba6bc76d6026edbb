#!/usr/bin/python3
"""Gap between face-api's final results and our own Python preprocessing path.

Same decoded pixels (face-api's decode, dumped as image.npy) go through
models/faceapi/pipeline.py, which re-implements face-api's glue (letterbox,
crops, NMS, landmark post-processing, alignment) around the exported models:

1. ``resize="tf"`` (face-api's tf.image.resizeBilinear semantics): checks the
   glue itself, so it must reproduce face-api almost exactly;
2. ``resize="cv_warp_f32"`` (OpenCV warpAffine with an inverse scale map on a
   float32 image, which is what the C++ server should do) and ``"cv_warp"``
   (the same on the uint8 image, with PIL's JPEG/PNG decode instead of
   jpeg-js): the real preprocessing gaps. Assert box IoU >= 0.95 and
   descriptor cosine >= 0.99 on every matched face;
3. ``resize="cv_resize"`` (plain cv::resize INTER_LINEAR, half-pixel centres):
   reported only — it shifts the sampling grid and misses IoU 0.95 on a few
   faces (see models/README.md).

Faces found by only one side must be borderline (score < 0.6).
"""
import os
import sys
import unittest

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faceapi_common as C  # noqa: E402
from faceapi.pipeline import Pipeline  # noqa: E402

torch.set_num_threads(2)

MIN_IOU = 0.95
MIN_COS = 0.99
BORDERLINE = 0.6

REPORT = {}


def compare(ref_faces, our_faces):
    """-> dict of gap metrics, list of problems."""
    ref_boxes = [f["box"] for f in ref_faces]
    our_boxes = [f["box"] for f in our_faces]
    pairs = C.match_faces(ref_boxes, our_boxes)
    problems = []
    m = dict(ref=len(ref_faces), ours=len(our_faces), matched=len(pairs), iou=[], cos=[], lm_px=[],
             expr=[], age=[], gender_flip=0, score=[])
    mr = {i for i, _, _ in pairs}
    mo = {j for _, j, _ in pairs}
    for i, f in enumerate(ref_faces):
        if i not in mr and f["score"] >= BORDERLINE:
            problems.append("face-api face %d (score %.3f) not found" % (i, f["score"]))
    for j, f in enumerate(our_faces):
        if j not in mo and f["score"] >= BORDERLINE:
            problems.append("extra face %d (score %.3f)" % (j, f["score"]))
    for i, j, v in pairs:
        r, o = ref_faces[i], our_faces[j]
        c = float(C.cos(r["descriptor"], o["descriptor"]))
        m["iou"].append(v)
        m["cos"].append(c)
        m["score"].append(abs(r["score"] - o["score"]))
        m["lm_px"].append(float(np.abs(np.array(r["landmarks"]) - o["landmarks"]).max()))
        m["expr"].append(float(np.abs(np.array(r["expressions"]) - o["expressions"]).max()))
        m["age"].append(abs(r["age"] - o["age"]))
        m["gender_flip"] += int(r["gender"] != o["gender"])
        if v < MIN_IOU:
            problems.append("face %d: box IoU %.4f < %.2f" % (i, v, MIN_IOU))
        if c < MIN_COS:
            problems.append("face %d: descriptor cosine %.4f < %.2f" % (i, c, MIN_COS))
    return m, problems


def summarize(name, metrics):
    agg = lambda k, f: f([v for m in metrics for v in m[k]]) if any(m[k] for m in metrics) else float("nan")  # noqa
    n_ref = sum(m["ref"] for m in metrics)
    n_our = sum(m["ours"] for m in metrics)
    n_match = sum(m["matched"] for m in metrics)
    REPORT[name] = ("faces face-api/ours/matched %d/%d/%d | box IoU min %.4f mean %.4f | desc cos min %.5f | "
                    "score max diff %.4f | landmarks max %.2f px | expr max %.4f | age max %.2f y | gender flips %d"
                    % (n_ref, n_our, n_match, agg("iou", min), agg("iou", np.mean), agg("cos", min),
                       agg("score", max), agg("lm_px", max), agg("expr", max), agg("age", max),
                       sum(m["gender_flip"] for m in metrics)))


class PreprocessingGap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = C.models_dir()
        cls.manifest, cls.dumps = C.all_dumps()
        cls.p = {m: Pipeline(d, resize=m) for m in ("tf", "cv_warp_f32", "cv_warp", "cv_resize")}

    @classmethod
    def tearDownClass(cls):
        C.log("\npreprocessing gap vs face-api %s final results (%d images):" % (
            cls.manifest["faceapi"], len(cls.dumps)))
        for k in sorted(REPORT):
            C.log("  %-22s %s" % (k, REPORT[k]))

    def _run(self, name, mode, decode, min_iou=None, min_cos=None, strict=True):
        metrics = []
        for d in self.dumps:
            with self.subTest(image=d.id):
                img = d.npy("image") if decode == "jpeg-js" else np.asarray(
                    Image.open(d.res["file"] if os.path.isabs(d.res["file"])
                               else os.path.join(C.ROOT, d.res["file"])).convert("RGB"))
                ours = self.p[mode].analyze(img)
                m, problems = compare(d.res["full"], ours)
                metrics.append(m)
                if min_iou is not None:
                    problems += ["IoU %.5f < %g" % (v, min_iou) for v in m["iou"] if v < min_iou]
                    problems += ["cos %.6f < %g" % (v, min_cos) for v in m["cos"] if v < min_cos]
                if strict:
                    self.assertFalse(problems, "; ".join(problems))
        summarize(name, metrics)
        return metrics

    def test_glue_reproduces_faceapi_with_tf_resize(self):
        """Our glue + tf-style resize == face-api (checks crops, NMS, alignment logic)."""
        metrics = self._run("tf-resize, jpeg-js", "tf", "jpeg-js", min_iou=0.999, min_cos=0.9999)
        for m in metrics:
            self.assertEqual(m["ref"], m["ours"])
            self.assertEqual(m["gender_flip"], 0)
            self.assertTrue(all(v < 0.5 for v in m["lm_px"]), m["lm_px"])

    def test_opencv_warp_f32_gap(self):
        """Recommended server path (models/README.md): warpAffine on float32, face-api's grid."""
        self._run("cv_warp_f32, jpeg-js", "cv_warp_f32", "jpeg-js", min_iou=MIN_IOU, min_cos=MIN_COS)

    def test_opencv_warp_pil_decode_gap(self):
        """warpAffine on the uint8 image, with PIL/libjpeg decoding instead of face-api's jpeg-js."""
        self._run("cv_warp, PIL decode", "cv_warp", "pil", min_iou=MIN_IOU, min_cos=MIN_COS)

    def test_opencv_resize_gap_report(self):
        """Plain cv::resize (half-pixel centres): reported only; it misses IoU 0.95 on some faces."""
        self._run("cv_resize, PIL decode", "cv_resize", "pil", strict=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
