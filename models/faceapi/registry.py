"""The exported face-api models: architecture, weights, I/O contract, model card."""
import os

from . import FACEAPI_VERSION
from . import nets

VERSION = "faceapi-" + FACEAPI_VERSION
PACKAGE = "@vladmandic/face-api"

# tf.image.resizeBilinear(x, size, alignCorners=false, halfPixelCenters=false)
_TF_RESIZE = ("bilinear; face-api uses tf.image.resizeBilinear(alignCorners=false, "
              "halfPixelCenters=false), i.e. src = dst * in/out (no half-pixel offset)")

_CROP_FACE = ("face crop (see models/README.md): box floored and clipped to the image, the crop "
              "zero-padded to a square with the image CENTRED (extra pixel of an odd difference "
              "goes to the top/left side, face-api padToSquare(center=true)), then resized")

MODELS = {
    "ssd_mobilenetv1": dict(
        cls=nets.SsdMobilenetv1, weights="ssd_mobilenetv1_model", size=512,
        task="face_detection",
        input_extra=dict(
            letterbox="top_left", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            preprocess=("zero-pad the image at the bottom or right to a square (image at the top-left), "
                        "then resize the square to 512x512"),
            normalization="in graph: x/127.5 - 1"),
        outputs=[
            dict(name="boxes", shape=[5118, 4], kind="boxes_xyxy_normalized",
                 note="x1,y1,x2,y2 in [0,1] of the 512 input, prior boxes decoded in graph, not clipped"),
            dict(name="scores", shape=[5118], kind="scores", labels=["face"],
                 note="sigmoid face probability per anchor"),
        ],
        postprocess=dict(min_confidence=0.5, nms_iou=0.5, max_results=100,
                         note=("face-api clips boxes to [0,1] after NMS and scales them by "
                               "square_side/512 per axis back to image pixels")),
        parity=dict(max_abs_err_boxes=1.6e-6, max_abs_err_scores=1.1e-6, same_faces_after_nms=True),
        accuracy=dict(published="not published (face-api README: WIDER FACE-trained SSD MobileNet V1)"),
    ),
    "tiny_face_detector": dict(
        cls=nets.TinyFaceDetector, weights="tiny_face_detector_model", size=416,
        task="face_detection",
        input_extra=dict(
            letterbox="top_left", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            preprocess=("zero-pad the image at the bottom or right to a square (image at the top-left), "
                        "then resize the square to 416x416"),
            normalization="in graph: (x - [117.001, 114.697, 97.404]) / 255"),
        outputs=[
            dict(name="boxes", shape=[845, 4], kind="boxes_xyxy_normalized",
                 note="x1,y1,x2,y2 in [0,1] of the 416 input (13x13 cells x 5 anchors, row, col, anchor order)"),
            dict(name="scores", shape=[845], kind="scores", labels=["face"],
                 note="sigmoid(objectness); single class so class score is 1"),
        ],
        postprocess=dict(score_threshold=0.5, nms_iou=0.4,
                         note="face-api rescales boxes by 416/reshaped_size (same as the SSD), NMS IoU 0.4"),
        parity=dict(max_abs_err_boxes=1.4e-6, max_abs_err_scores=7.4e-7, same_faces_after_nms=True),
        accuracy=dict(published="not published"),
    ),
    "face_landmark_68": dict(
        cls=nets.FaceLandmark68Net, weights="face_landmark_68_model", size=112,
        task="face_landmarks_68",
        input_extra=dict(
            letterbox="center", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            crop="detection box (floored, clipped) -> " + _CROP_FACE,
            normalization="in graph: (x - [122.782, 117.001, 104.298]) / 255"),
        outputs=[dict(name="landmarks", shape=[136], kind="landmarks_xy_normalized",
                      note="x0,y0,x1,y1,... (68 points, iBUG 300-W order) in [0,1] of the 112 input")],
        parity=dict(max_err_px_at_112=2.0e-5),
        accuracy=dict(published="not published"),
    ),
    "face_recognition": dict(
        cls=nets.FaceRecognitionNet, weights="face_recognition_model", size=150,
        task="face_embedding",
        input_extra=dict(
            letterbox="center", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            crop="dlib-style aligned box from the 68 landmarks -> " + _CROP_FACE,
            normalization="in graph: (x - [122.782, 117.001, 104.298]) / 255"),
        outputs=[dict(name="descriptor", shape=[128], kind="embedding",
                      note="raw descriptor as face-api returns it (not L2-normalised); "
                           "face-api matches with euclidean distance < 0.6")],
        parity=dict(min_cosine=1.0, max_abs_err=3.9e-7),
        accuracy=dict(published="99.38% on LFW (face-api / face-recognition.js README; dlib ResNet model)",
                      lfw=0.9938),
    ),
    "face_expression": dict(
        cls=nets.FaceExpressionNet, weights="face_expression_model", size=112,
        task="face_expression",
        input_extra=dict(
            letterbox="center", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            crop="landmark min-bbox padded by 20% (alignedRect) -> " + _CROP_FACE,
            normalization="in graph: (x - [122.782, 117.001, 104.298]) / 255"),
        outputs=[dict(name="logits", shape=[7], kind="logits_softmax",
                      labels=list(nets.FaceExpressionNet.LABELS))],
        parity=dict(max_prob_err=9.6e-7),
        accuracy=dict(published="not published"),
    ),
    "age_gender": dict(
        cls=nets.AgeGenderNet, weights="age_gender_model", size=112,
        task="age_gender",
        input_extra=dict(
            letterbox="center", pad_value=0, resize="bilinear", resize_detail=_TF_RESIZE,
            crop="landmark min-bbox padded by 20% (alignedRect) -> " + _CROP_FACE,
            normalization="in graph: (x - [122.782, 117.001, 104.298]) / 255"),
        outputs=[dict(name="age", shape=[1], kind="regression", unit="years"),
                 dict(name="gender", shape=[2], kind="logits_softmax", labels=list(nets.AgeGenderNet.LABELS))],
        parity=dict(max_age_err_years=1.3e-5, max_gender_prob_err=1.7e-7),
        accuracy=dict(published="not published"),
    ),
}


def build(name, faceapi_dir):
    """Build the module for ``name`` with face-api's weights loaded (eval mode, float32)."""
    from .weights import load_weights
    spec = MODELS[name]
    m = spec["cls"]()
    m.load_faceapi(load_weights(faceapi_dir, spec["weights"]))
    nets.fold_padding(m)
    # The card's input size is the only one the server feeds: fix every pad
    # for it (no shape tests left in the graph for oneDNN to trip over).
    return nets.specialize(m, spec["size"]).eval()


def card(name, weight_files, sha256s, measured=None):
    spec = MODELS[name]
    s = spec["size"]
    inp = dict(shape=[3, s, s], color="rgb", range=[0, 255], layout="NCHW", dtype="float32",
               batch="dynamic")
    inp.update(spec["input_extra"])
    c = dict(
        name=name,
        version=VERSION,
        task=spec["task"],
        file=name + ".pt",
        format="torchscript",
        input=inp,
        outputs=spec["outputs"],
    )
    if "postprocess" in spec:
        c["postprocess"] = spec["postprocess"]
    c["source"] = dict(
        package=PACKAGE, version=FACEAPI_VERSION,
        url="https://www.npmjs.com/package/@vladmandic/face-api",
        files=[os.path.basename(f) for f in weight_files],
        sha256={os.path.basename(f): h for f, h in zip(weight_files, sha256s)},
    )
    c["license"] = "MIT"
    c["accuracy"] = spec["accuracy"]
    par = dict(measured or spec.get("parity", {}))
    if par:
        par["method"] = ("tests/models/test_faceapi_parity.py: same input tensors as face-api 1.7.15 "
                         "(tfjs 4.22.0 wasm), 11 photos / 28 faces")
        c["parity"] = par
    return c
