#!/usr/bin/python3
"""Parity of the exported TorchScript models with face-api 1.7.15 itself.

Runs face-api (Node, tfjs wasm backend) on a set of photos (see
faceapi_common.IMAGES), then feeds OUR models the very input tensors face-api
built and compares outputs:

* detectors: boxes (normalised) and scores over ALL anchors within 1e-3, and
  the same faces after face-api's NMS;
* landmarks within 0.5 px at 112; descriptor cosine >= 0.9999;
* expression / gender probabilities within 1e-3; age within 0.1 years.

Env: FACESERVE_MODELS_DIR (exported .pt), FACESERVE_FACEAPI_DUMP (dump dir).
"""
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faceapi_common as C  # noqa: E402
from faceapi.pipeline import nms_ssd, nms_tiny, reshaped_dims, softmax  # noqa: E402

torch.set_num_threads(2)

TOL_BOX = 1e-3
TOL_SCORE = 1e-3
TOL_LM_PX = 0.5
MIN_COS = 0.9999
TOL_PROB = 1e-3
TOL_AGE = 0.1

STATS = {}


def stat(key, value, worst=max):
    STATS[key] = value if key not in STATS else worst(STATS[key], value)


def run(model, x):
    with torch.no_grad():
        out = model(x)
    if isinstance(out, tuple):
        return tuple(o.numpy() for o in out)
    return out.numpy()


def tiny_decode_faceapi(raw):
    """face-api TinyYolov2Base.extractBoxes in numpy, before the correction factor.
    raw [g,g,5*5] (NHWC, batch 0) -> boxes [g*g*5,4] x1y1x2y2 normalised, scores."""
    from faceapi.nets import TinyFaceDetector
    g = raw.shape[0]
    r = raw.reshape(g, g, 5, 5).astype(np.float64)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    anc = np.array(TinyFaceDetector.ANCHORS)
    col = np.arange(g)[None, :, None]
    row = np.arange(g)[:, None, None]
    ctx = (col + sig(r[..., 0])) / g
    cty = (row + sig(r[..., 1])) / g
    w = np.exp(r[..., 2]) * anc[:, 0] / g
    h = np.exp(r[..., 3]) * anc[:, 1] / g
    x, y = ctx - w / 2, cty - h / 2
    return np.stack([x, y, x + w, y + h], -1).reshape(-1, 4), sig(r[..., 4]).reshape(-1)


class FaceApiParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models_dir = C.models_dir()
        cls.manifest, cls.dumps = C.all_dumps()
        cls.m = {n: torch.jit.load(os.path.join(cls.models_dir, n + ".pt")).eval() for n in C.MODEL_NAMES}
        cls.faces = [d for d in cls.dumps if d.npy("lm_input").shape[0] > 0]
        assert len(cls.dumps) >= 5, "too few images dumped"
        assert sum(d.npy("lm_input").shape[0] for d in cls.faces) >= 10, "too few faces to compare"

    @classmethod
    def tearDownClass(cls):
        C.log("\nface-api %s (tfjs %s, %s backend) vs TorchScript, %d images, %d faces:" % (
            cls.manifest["faceapi"], cls.manifest["tfjs"], cls.manifest["backend"], len(cls.dumps),
            sum(len(d.res["full"]) for d in cls.dumps)))
        for k in sorted(STATS):
            C.log("  %-36s %.3g" % (k, STATS[k]))

    # ------------------------------------------------------------------ detectors
    def test_ssd_mobilenetv1(self):
        for d in self.dumps:
            with self.subTest(image=d.id):
                boxes, scores = run(self.m["ssd_mobilenetv1"], d.nchw("ssd_input"))
                self.assertEqual(boxes.shape, (1, 5118, 4))
                ref_b = d.npy("ssd_boxes")[:, [1, 0, 3, 2]]  # face-api: ymin,xmin,ymax,xmax
                ref_s = d.npy("ssd_scores")
                eb, es = np.abs(boxes[0] - ref_b).max(), np.abs(scores[0] - ref_s).max()
                stat("ssd box max abs err (norm)", eb)
                stat("ssd score max abs err", es)
                self.assertLess(eb, TOL_BOX)
                self.assertLess(es, TOL_SCORE)
                # same faces after face-api's NMS
                ours = nms_ssd(boxes[0], scores[0], 100, 0.5, 0.5)
                self.assertEqual(len(ours), len(d.res["ssd"]))
                W, H = d.res["width"], d.res["height"]
                rw, rh = reshaped_dims(W, H, 512)
                for i, ref in zip(ours, d.res["ssd"]):
                    x1, y1, x2, y2 = boxes[0][i]
                    left, top = max(0, x1) * 512 / rw * W, max(0, y1) * 512 / rh * H
                    right, bottom = min(1, x2) * 512 / rw * W, min(1, y2) * 512 / rh * H
                    got = [left, top, right - left, bottom - top]
                    want = [ref["box"][k] for k in ("x", "y", "width", "height")]
                    err = np.abs(np.array(got) - want).max() / max(W, H)
                    stat("ssd final box err (norm of image)", err)
                    self.assertLess(err, TOL_BOX)
                    self.assertLess(abs(scores[0][i] - ref["score"]), TOL_SCORE)

    def test_tiny_face_detector(self):
        for d in self.dumps:
            with self.subTest(image=d.id):
                boxes, scores = run(self.m["tiny_face_detector"], d.nchw("tiny_input"))
                self.assertEqual(boxes.shape, (1, 845, 4))
                ref_b, ref_s = tiny_decode_faceapi(d.npy("tiny_raw")[0])
                eb, es = np.abs(boxes[0] - ref_b).max(), np.abs(scores[0] - ref_s).max()
                stat("tiny box max abs err (norm)", eb)
                stat("tiny score max abs err", es)
                self.assertLess(eb, TOL_BOX)
                self.assertLess(es, TOL_SCORE)
                # same faces after face-api's NMS
                W, H = d.res["width"], d.res["height"]
                rw, rh = reshaped_dims(W, H, 416)
                cf = np.array([max(rw, rh) / rw, max(rw, rh) / rh] * 2)
                keep = [i for i in range(845) if scores[0][i] > 0.5]
                rel = [boxes[0][i] * cf for i in keep]
                pick = nms_tiny([r * 416 for r in rel], [scores[0][i] for i in keep], 0.4)
                self.assertEqual(len(pick), len(d.res["tiny"]))
                for p, ref in zip(pick, d.res["tiny"]):
                    r = rel[p]
                    got = [r[0] * W, r[1] * H, (r[2] - r[0]) * W, (r[3] - r[1]) * H]
                    want = [ref["box"][k] for k in ("x", "y", "width", "height")]
                    err = np.abs(np.array(got) - want).max() / max(W, H)
                    stat("tiny final box err (norm of image)", err)
                    self.assertLess(err, TOL_BOX)
                    self.assertLess(abs(scores[0][keep[p]] - ref["score"]), TOL_SCORE)

    # ------------------------------------------------------------------ per-face nets
    def test_face_landmark_68(self):
        for d in self.faces:
            with self.subTest(image=d.id):
                out = run(self.m["face_landmark_68"], d.nchw("lm_input"))
                err = np.abs(out - d.npy("lm_raw")).max() * 112
                stat("landmark max err (px @112)", err)
                self.assertLess(err, TOL_LM_PX)

    def test_face_recognition(self):
        for d in self.faces:
            with self.subTest(image=d.id):
                out = run(self.m["face_recognition"], d.nchw("rec_input"))
                c = C.cos(out, d.npy("rec_desc")).min()
                stat("descriptor min cosine", c, min)
                stat("descriptor max abs err", np.abs(out - d.npy("rec_desc")).max())
                self.assertGreaterEqual(c, MIN_COS)
                # the dumped raw descriptor is the one face-api returned in its final results
                final = np.array([f["descriptor"] for f in d.res["full"]])
                self.assertLess(np.abs(final - d.npy("rec_desc")).max(), 1e-5)

    def test_face_expression(self):
        for d in self.faces:
            with self.subTest(image=d.id):
                out = run(self.m["face_expression"], d.nchw("aligned_input"))
                p, ref = softmax(out), softmax(d.npy("expr_logits"))
                err = np.abs(p - ref).max()
                stat("expression max prob err", err)
                self.assertLess(err, TOL_PROB)
                final = np.array([f["expressions"] for f in d.res["full"]])
                self.assertLess(np.abs(final - ref).max(), 1e-5)
                self.assertLess(np.abs(final - p).max(), TOL_PROB)

    def test_age_gender(self):
        for d in self.faces:
            with self.subTest(image=d.id):
                age, g = run(self.m["age_gender"], d.nchw("aligned_input"))
                ea = np.abs(age - d.npy("age")).max()
                pg, ref = softmax(g), softmax(d.npy("gender_logits"))
                eg = np.abs(pg - ref).max()
                stat("age max err (years)", ea)
                stat("gender max prob err", eg)
                self.assertLess(ea, TOL_AGE)
                self.assertLess(eg, TOL_PROB)
                for i, f in enumerate(d.res["full"]):
                    self.assertLess(abs(f["age"] - age[i][0]), TOL_AGE)
                    pm = pg[i][0]
                    self.assertEqual(f["gender"], "male" if pm > 0.5 else "female")
                    self.assertLess(abs(f["genderProbability"] - max(pm, 1 - pm)), TOL_PROB)

    # ------------------------------------------------------------------ the comparison can fail
    def test_tolerances_discriminate(self):
        """A different image's input, or a perturbed weight, must break parity."""
        a, b = self.faces[0], self.faces[1]
        _, s = run(self.m["ssd_mobilenetv1"], b.nchw("ssd_input"))
        self.assertGreater(np.abs(s[0] - a.npy("ssd_scores")).max(), TOL_SCORE)
        m = torch.jit.load(os.path.join(self.models_dir, "face_recognition.pt")).eval()
        with torch.no_grad():
            p = next(v for k, v in m.named_parameters() if k.endswith("fc.weight"))
            p.mul_(1.02).add_(0.002)
        out = run(m, a.nchw("rec_input"))
        self.assertLess(C.cos(out, a.npy("rec_desc")).min(), MIN_COS)

    # ------------------------------------------------------------------ reduced precision
    def test_bfloat16_cpu(self):
        """Dtype plumbing without a GPU: every graph runs cast to bfloat16 (coarser than fp16)."""
        d = self.faces[0]
        for name, inp in [("ssd_mobilenetv1", "ssd_input"), ("tiny_face_detector", "tiny_input"),
                          ("face_landmark_68", "lm_input"), ("face_recognition", "rec_input"),
                          ("face_expression", "aligned_input"), ("age_gender", "aligned_input")]:
            with self.subTest(model=name):
                m = torch.jit.load(os.path.join(self.models_dir, name + ".pt")).eval()
                x = d.nchw(inp)
                with torch.no_grad():
                    ref = m(x)
                    out = m.to(torch.bfloat16)(x.to(torch.bfloat16))
                ref = ref if isinstance(ref, tuple) else (ref,)
                out = out if isinstance(out, tuple) else (out,)
                for r, o in zip(ref, out):
                    self.assertEqual(o.dtype, torch.bfloat16)
                    self.assertTrue(torch.isfinite(o.float()).all())
                    err = float((o.float() - r).abs().max() / (r.abs().max() + 1))
                    stat("bf16 max rel err", err)
                    self.assertLess(err, 5e-2, name)

    # ------------------------------------------------------------------ fp16 on CUDA (the server casts at load)
    @unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
    def test_fp16_cuda(self):
        d = self.faces[0]
        for name, inp in [("ssd_mobilenetv1", "ssd_input"), ("tiny_face_detector", "tiny_input"),
                          ("face_landmark_68", "lm_input"), ("face_recognition", "rec_input"),
                          ("face_expression", "aligned_input"), ("age_gender", "aligned_input")]:
            with self.subTest(model=name):
                m = torch.jit.load(os.path.join(self.models_dir, name + ".pt"), map_location="cuda").eval()
                x = d.nchw(inp).cuda()
                with torch.no_grad():
                    ref = m(x)
                    out = m.half()(x.half())
                ref = ref if isinstance(ref, tuple) else (ref,)
                out = out if isinstance(out, tuple) else (out,)
                for r, o in zip(ref, out):
                    self.assertTrue(torch.isfinite(o).all())
                    if name == "face_recognition":
                        self.assertGreater(float(C.cos(o.float().cpu().numpy(), r.cpu().numpy()).min()), 0.999)
                    else:
                        err = float((o.float() - r).abs().max() / (r.abs().max() + 1))
                        self.assertLess(err, 2e-2, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
