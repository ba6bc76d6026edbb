"""Export the PyTorch-checkpoint models (RetinaFace, MTCNN, MiniFASNet) to TorchScript with model cards.

Their published weights are vendored under models/weights/ (each under 2 MB,
with its licence); every file's sha256 is pinned below and checked before the
weights are loaded, so an export never silently uses other weights.
"""
import glob
import os
from collections import OrderedDict

import torch

from . import minifasnet, mtcnn, retinaface

try:  # shared card writer (models/common/card.py), imported as models.pytorch or as pytorch
    from models.common.card import sha256_file, write_card
except ImportError:
    from common.card import sha256_file, write_card

# The vendored weights (layout: <family>/<file>, as in the published repositories' releases).
DEFAULT_WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights")


class WeightsError(RuntimeError):
    """A weight file is missing or is not the published one."""


VERSION = "1.0.0"

_RF_REPO = "biubug6/Face-Detector-1MB-with-landmark"
_RF_COMMIT = "2b075657aef954b9426f938ac7fce100b6910fe6"
_MT_REPO = "timesler/facenet-pytorch"
_MT_COMMIT = "787da06156087cd6b616fe6608213722bddc30cd"
_AS_REPO = "minivision-ai/Silent-Face-Anti-Spoofing"
_AS_COMMIT = "b6d5f04ad78778917853b25c778acef6d5626d15"

_SF_CROP = (
    "Silent-Face CropImage (src/generate_patches.py): the detector box as [x, y, w, h] pixels "
    "(w = x2-x1+1, h = y2-y1+1); s = min({scale}, (img_h-1)/h, (img_w-1)/w), i.e. the scale is REDUCED "
    "when the scaled box would be larger than the image; a w*s x h*s box centred on the box centre "
    "(x+w/2, y+h/2); when it leaves the image it is SHIFTED back inside, keeping its size (never "
    "padded): left<0 -> right-=left, left=0; top<0 -> bottom-=top, top=0; right>img_w-1 -> "
    "left-=right-(img_w-1), right=img_w-1; bottom>img_h-1 -> top-=bottom-(img_h-1), bottom=img_h-1; "
    "corners truncated to int; rows top..bottom and columns left..right (inclusive) are cut out and "
    "resized to 80x80 bilinear (cv2.resize INTER_LINEAR), aspect ratio not kept")

_AS_ACCURACY = dict(
    published=("Silent-Face README: the open-source APK model (fusion of MiniFASNet patches) "
               "TPR 97.8% at FPR 1e-5 on Minivision's internal test set; "
               "MiniFASNetV1 0.081 GFLOPs / 0.414 M params, MiniFASNetV2 0.081 GFLOPs / 0.435 M params"),
    usage=("softmax each model's logits and average the two models' probabilities "
           "(minifasnet_v2 on the x2.7 patch, minifasnet_v1se on the x4.0 patch); argmax 1 = real face"),
)

MODELS = OrderedDict([
    ("retinaface_mnet025", dict(
        weights="retinaface/mobilenet0.25_Final.pth",
        sha256={"retinaface/mobilenet0.25_Final.pth":
                "ed6fa7d45a5179f03cb5ce82c73b0c6711372968e53782e88395acee88d319e1"},
        source=dict(repository=_RF_REPO, commit=_RF_COMMIT, path="weights/mobilenet0.25_Final.pth",
                    url="https://github.com/" + _RF_REPO),
        license="MIT",
    )),
    ("mtcnn", dict(
        # The three networks' state_dicts; pnet.pt stands for the set.
        weights="mtcnn/pnet.pt", parts=("pnet.pt", "rnet.pt", "onet.pt"),
        sha256={"mtcnn/pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
                "mtcnn/rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
                "mtcnn/onet.pt": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"},
        source=dict(repository=_MT_REPO, commit=_MT_COMMIT, path="data/{pnet,rnet,onet}.pt",
                    url="https://github.com/" + _MT_REPO),
        license="MIT",
    )),
    ("minifasnet_v2", dict(
        weights="antispoof/2.7_80x80_MiniFASNetV2.pth", scale=2.7,
        sha256={"antispoof/2.7_80x80_MiniFASNetV2.pth":
                "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0"},
        source=dict(repository=_AS_REPO, commit=_AS_COMMIT,
                    path="resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.pth",
                    url="https://github.com/" + _AS_REPO),
        license="Apache-2.0",
    )),
    ("minifasnet_v1se", dict(
        weights="antispoof/4_0_0_80x80_MiniFASNetV1SE.pth", scale=4.0,
        sha256={"antispoof/4_0_0_80x80_MiniFASNetV1SE.pth":
                "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990"},
        source=dict(repository=_AS_REPO, commit=_AS_COMMIT,
                    path="resources/anti_spoof_models/4_0_0_80x80_MiniFASNetV1SE.pth",
                    url="https://github.com/" + _AS_REPO),
        license="Apache-2.0",
    )),
])


def verify_weights(name, weights_dir):
    """Check that every weight file of `name` is under weights_dir with its pinned sha256.

    Raises WeightsError naming the file, where it was looked for and what to do."""
    for rel, want in MODELS[name]["sha256"].items():
        path = os.path.join(weights_dir, rel)
        if not os.path.isfile(path):
            raise WeightsError("%s: weight file %s not found (looked in %s; the project vendors it under "
                               "models/weights/%s)" % (name, rel, os.path.abspath(weights_dir), rel))
        got = sha256_file(path)
        if got != want:
            raise WeightsError("%s: %s has sha256 %s, expected %s (the published file; see "
                               "models/weights/README.md)" % (name, os.path.abspath(path), got, want))


def load_state_dict_strict(module, path):
    """Load a published checkpoint with strict key and shape matching (``module.`` prefix stripped)."""
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and not torch.is_tensor(sd["state_dict"]):
        sd = sd["state_dict"]
    sd = OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in sd.items())
    mine = module.state_dict()
    missing = sorted(set(mine) - set(sd))
    unexpected = sorted(set(sd) - set(mine))
    bad = [(k, tuple(sd[k].shape), tuple(mine[k].shape)) for k in mine
           if k in sd and tuple(sd[k].shape) != tuple(mine[k].shape)]
    if missing or unexpected or bad:
        raise RuntimeError("%s: state_dict mismatch: missing=%s unexpected=%s shape=%s"
                           % (path, missing[:5], unexpected[:5], bad[:5]))
    module.load_state_dict(sd, strict=True)
    return module


def build_eager(name, weights_dir):
    """Eager export wrapper (faceserve I/O contract) with the weights loaded, eval mode."""
    spec = MODELS[name]
    path = os.path.join(weights_dir, spec["weights"])
    if name == "retinaface_mnet025":
        net = load_state_dict_strict(retinaface.RetinaFaceNet(), path)
        return retinaface.RetinaFaceExport(net).eval()
    if name == "mtcnn":
        folder = os.path.dirname(path)
        nets = [load_state_dict_strict(net, os.path.join(folder, part))
                for net, part in zip((mtcnn.PNet(), mtcnn.RNet(), mtcnn.ONet()), spec["parts"])]
        return mtcnn.MtcnnExport(*nets).eval()
    net = minifasnet.minifasnet_v2() if name == "minifasnet_v2" else minifasnet.minifasnet_v1se()
    load_state_dict_strict(net, path)
    return minifasnet.MiniFASNetExport(net).eval()


def card(name, weight_path):
    spec = MODELS[name]
    src = dict(spec["source"])
    src["sha256"] = sha256_file(weight_path)
    if name == "retinaface_mnet025":
        cfg = retinaface.CFG
        k = int(retinaface.make_priors(cfg["input_size"]).shape[0])
        inp = dict(
            shape=[3, 640, 640], color="rgb", range=[0, 255], layout="NCHW", dtype="float32",
            batch="dynamic",
            letterbox="top_left", pad_value=0, resize="bilinear",
            preprocess=("zero-pad the image at the bottom or right to a square (image at the top-left), "
                        "then resize the square to 640x640 bilinear; outputs * square side = image pixels"),
            normalization="in graph: RGB->BGR flip, minus mean (104, 117, 123), no scaling")
        outputs = [
            dict(name="boxes", shape=[k, 4], kind="boxes_xyxy_normalized",
                 note=("x1,y1,x2,y2 in [0,1] of the 640 input; decoded in graph from %d priors "
                       "(min_sizes %s, steps %s, variance %s), not clipped"
                       % (k, cfg["min_sizes"], cfg["steps"], cfg["variance"]))),
            dict(name="scores", shape=[k], kind="scores", labels=["face"],
                 note="softmax face probability (class 1 of 2) per prior"),
            dict(name="landmarks", shape=[k, 10], kind="landmarks_xy_normalized",
                 labels=["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"],
                 note=("x,y pairs in [0,1] of the 640 input, in the model's order: left eye, right eye, "
                       "nose, left mouth corner, right mouth corner (left/right as seen in the image)")),
        ]
        c = dict(name=name, version=VERSION, task="face_detection", file=name + ".pt",
                 format="torchscript", input=inp, outputs=outputs,
                 postprocess=dict(min_confidence=0.5, nms_iou=0.4,
                                  note=("reference detect.py keeps scores > 0.02 for WIDER eval and draws "
                                        "> 0.6; NMS IoU 0.4; no clipping")),
                 source=src, license=spec["license"],
                 accuracy=dict(
                     published=("WIDER FACE val AP easy/medium/hard at original image size: "
                                "0.873 / 0.836 / 0.638; at 320 px input: 0.811 / 0.697 / 0.376 "
                                "(Face-Detector-1MB-with-landmark README)"),
                     dataset="WIDER FACE validation"))
        return c
    if name == "mtcnn":
        src["sha256"] = {part: sha256_file(os.path.join(os.path.dirname(weight_path), part))
                         for part in spec["parts"]}
        inp = dict(
            shape=[3, 640, 640], color="rgb", range=[0, 255], layout="NCHW", dtype="float32",
            batch="dynamic", letterbox="top_left", pad_value=0, resize="bilinear",
            preprocess=("zero-pad the image at the bottom or right to a square (image at the top-left), "
                        "then resize the square to 640x640 bilinear; outputs * square side = image pixels"),
            normalization=("in graph: each pyramid level and crop resampled with area interpolation, "
                           "then (x - 127.5) / 128"))
        k = mtcnn.SLOTS
        outputs = [
            dict(name="boxes", shape=[k, 4], kind="boxes_xyxy_normalized",
                 note=("x1,y1,x2,y2 in [0,1] of the 640 input after O-Net's box regression; the whole "
                       "cascade runs in graph (facenet-pytorch detect_face: minimum face %g px, pyramid "
                       "factor %g, thresholds %s, NMS 0.5 per scale, 0.7 per stage, 0.7 'Min' at the "
                       "end); %d slots, best first, unused ones all zero"
                       % (mtcnn.MIN_FACE, mtcnn.FACTOR, list(mtcnn.THRESHOLDS), k))),
            dict(name="scores", shape=[k], kind="scores", labels=["face"],
                 note="O-Net face probability; 0 in unused slots"),
            dict(name="landmarks", shape=[k, 10], kind="landmarks_xy_normalized",
                 labels=["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"],
                 note="O-Net's 5 points as x,y pairs in [0,1] of the 640 input (left/right as seen in the image)"),
        ]
        return dict(name=name, version=VERSION, task="face_detection", file=name + ".pt",
                    format="torchscript", input=inp, outputs=outputs,
                    postprocess=dict(min_confidence=0.7, nms_iou=0.7,
                                     note="O-Net's threshold 0.7; the cascade's own NMS already ran"),
                    source=src, license=spec["license"],
                    accuracy=dict(published=("Zhang et al. 2016 (IEEE SPL): 95.04% true positives at 2000 "
                                             "false positives on FDDB"), dataset="FDDB"))
    scale = spec["scale"]
    inp = dict(
        shape=[3, 80, 80], color="rgb", range=[0, 255], layout="NCHW", dtype="float32",
        batch="dynamic",
        crop=dict(kind="silent_face_scaled_box", scale=scale, out_size=[80, 80],
                  description=_SF_CROP.format(scale=scale)),
        resize="bilinear",
        normalization="in graph: RGB->BGR flip; values stay 0..255 (not divided by 255, no mean)")
    outputs = [dict(name="logits", shape=[3], kind="logits_softmax",
                    labels=["spoof_0", "real", "spoof_2"],
                    note="pre-softmax; class 1 = real face, classes 0 and 2 = attack types")]
    return dict(name=name, version=VERSION, task="anti_spoofing", file=name + ".pt",
                format="torchscript", input=inp, outputs=outputs,
                source=src, license=spec["license"], accuracy=_AS_ACCURACY)


def _example(name):
    s = 640 if name in ("retinaface_mnet025", "mtcnn") else 80
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, s, s, generator=g) * 255.0


def _source_mtime():
    here = os.path.dirname(os.path.abspath(__file__))
    return max(os.path.getmtime(p) for p in glob.glob(os.path.join(here, "*.py")))


def export_one(name, weights_dir, out_dir, force=False):
    """Export one model; returns [pt, yaml] written, or [] when up to date.

    Raises WeightsError when a weight file is missing or not the pinned one."""
    verify_weights(name, weights_dir)
    wpath = os.path.join(weights_dir, MODELS[name]["weights"])
    os.makedirs(out_dir, exist_ok=True)
    pt = os.path.join(out_dir, name + ".pt")
    yml = os.path.join(out_dir, name + ".yaml")
    if not force and os.path.isfile(pt) and os.path.isfile(yml):
        newest_input = max([os.path.getmtime(os.path.join(weights_dir, rel)) for rel in MODELS[name]["sha256"]]
                           + [_source_mtime()])
        if min(os.path.getmtime(pt), os.path.getmtime(yml)) > newest_input:
            return []
    eager = build_eager(name, weights_dir)
    with torch.no_grad():
        scripted = torch.jit.script(eager)
        x = _example(name)
        ref, got = eager(x), scripted(x)
        ref = ref if isinstance(ref, tuple) else (ref,)
        got = got if isinstance(got, tuple) else (got,)
        for a, b in zip(ref, got):
            d = float((a - b).abs().max())
            if d > 1e-4:
                raise RuntimeError("%s: TorchScript differs from eager by %g" % (name, d))
    tmp = pt + ".tmp"
    scripted.save(tmp)
    os.replace(tmp, pt)
    write_card(yml, card(name, wpath))
    return [pt, yml]


def export_all(weights_dir=DEFAULT_WEIGHTS_DIR, out_dir="models/exported", only=None, force=False):
    """Export every model (or those in `only`); returns the paths written."""
    written = []
    for name in MODELS:
        if only is None or name in only:
            written += export_one(name, weights_dir, out_dir, force=force)
    return written
