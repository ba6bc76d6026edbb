"""Reference end-to-end pipeline in Python around the exported TorchScript models.

It re-implements face-api 1.7.15's glue code (letterbox, crops, NMS, landmark
post-processing, face alignment) so that

* with ``resize="tf"`` (tf.image.resizeBilinear, alignCorners=false,
  halfPixelCenters=false) it reproduces face-api's final results, and
* with ``resize="cv_warp"`` (OpenCV warpAffine with an inverse scale map on
  uint8: face-api's sampling grid, uint8 output) it shows what the C++ server
  gets when it follows models/README.md, and
* with ``resize="cv_resize"`` (cv::resize INTER_LINEAR: half-pixel centres)
  it shows the (larger) gap of a plain cv::resize.

Images are numpy uint8 ``[H,W,3]`` RGB. Boxes are dicts ``{x,y,width,height}``
in image pixels, as face-api reports them.
"""
import math
import os

import numpy as np
import torch

EXPRESSION_LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]


# --------------------------------------------------------------------------- image ops
def pad_to_square(img, center):
    """face-api ops/padToSquare: zero padding; centred puts round(d/2) after, rest before."""
    h, w = img.shape[:2]
    if h == w:
        return img.astype(np.float32)
    d = abs(h - w)
    after = int(math.floor(d * (0.5 if center else 1.0) + 0.5))  # JS Math.round
    before = d - after if center else 0
    if h > w:
        pads = ((0, 0), (before, after), (0, 0))
    else:
        pads = ((before, after), (0, 0), (0, 0))
    return np.pad(img.astype(np.float32), pads)


def _axis_tf(n_in, n_out, quant=0):
    """tf.image.resizeBilinear (halfPixelCenters=false): src = dst * in/out.
    quant=32 emulates OpenCV warpAffine's 1/32-pixel fixed-point coordinates."""
    scale = n_in / n_out
    src = np.arange(n_out, dtype=np.float64) * scale
    if quant:
        src = np.floor(src * quant + 0.5) / quant
    i0 = np.clip(np.floor(src).astype(np.int64), 0, n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def _axis_cv(n_in, n_out, quant=0):
    """OpenCV cv::resize INTER_LINEAR: half-pixel centres, clamped at the borders."""
    scale = n_in / n_out
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


RESIZE_MODES = ("tf", "cv_warp_f32", "cv_warp", "cv_resize")


def resize_bilinear(img, out_h, out_w, mode="cv_warp"):
    """Bilinear resize of HWC to float32.

    mode "tf": face-api (tf.image.resizeBilinear, alignCorners=false, halfPixelCenters=false), float;
    "cv_warp": OpenCV cv::warpAffine(src, dst, [[in/out,0,0],[0,in/out,0]], INTER_LINEAR |
    WARP_INVERSE_MAP, BORDER_REPLICATE) on uint8 -> same sampling grid as tf, 1/32 px coordinates,
    uint8 output; "cv_warp_f32": the same warpAffine on a CV_32F image (no uint8 rounding);
    "cv_resize": cv::resize(INTER_LINEAR) on uint8 (half-pixel centres), uint8 output.
    """
    img = img.astype(np.float32)
    h, w = img.shape[:2]
    if (h, w) == (out_h, out_w):
        return img
    if mode == "tf":
        ax, q = _axis_tf, 0
    elif mode in ("cv_warp", "cv_warp_f32"):
        ax, q = _axis_tf, 32
    elif mode in ("cv_resize", "cv"):
        ax, q = _axis_cv, 0
    else:
        raise ValueError("resize mode %r" % mode)
    y0, y1, fy = ax(h, out_h, q)
    x0, x1, fx = ax(w, out_w, q)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bot = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bot * fy[:, None, None]
    if mode in ("cv_warp", "cv_resize", "cv"):  # OpenCV on a uint8 image gives a uint8 image
        out = np.clip(np.rint(out), 0, 255)
    return out


def letterbox(img, size, center, mode):
    return resize_bilinear(pad_to_square(img, center), size, size, mode)


def to_nchw(batch_hwc):
    a = np.ascontiguousarray(np.stack(batch_hwc).transpose(0, 3, 1, 2), dtype=np.float32)
    return torch.from_numpy(a)


# --------------------------------------------------------------------------- box helpers (face-api classes/Box)
def floor_box(b):
    return {k: math.floor(b[k]) for k in ("x", "y", "width", "height")}


def clip_box(b, W, H):
    """Box.clipAtImageBorders (then floor)."""
    x = max(b["x"], 0)
    y = max(b["y"], 0)
    w = min(b["x"] + b["width"] - x, W - x)
    h = min(b["y"] + b["height"] - y, H - y)
    return floor_box({"x": x, "y": y, "width": w, "height": h})


def crop(img, b):
    W, H = img.shape[1], img.shape[0]
    c = clip_box(b, W, H)
    if c["width"] <= 0 or c["height"] <= 0:
        return None
    return img[c["y"]:c["y"] + c["height"], c["x"]:c["x"] + c["width"]]


def reshaped_dims(W, H, size):
    s = size / max(W, H)
    return int(math.floor(W * s + 0.5)), int(math.floor(H * s + 0.5))


def _iou_minmax(a, b):
    """ssdMobilenetv1/nonMaxSuppression IOU (boxes as 4 coords in any corner order)."""
    ay0, ax0, ay1, ax1 = min(a[1], a[3]), min(a[0], a[2]), max(a[1], a[3]), max(a[0], a[2])
    by0, bx0, by1, bx1 = min(b[1], b[3]), min(b[0], b[2]), max(b[1], b[3]), max(b[0], b[2])
    area_a = (ay1 - ay0) * (ax1 - ax0)
    area_b = (by1 - by0) * (bx1 - bx0)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = max(min(ay1, by1) - max(ay0, by0), 0.0) * max(min(ax1, bx1) - max(ax0, bx0), 0.0)
    return inter / (area_a + area_b - inter)


def nms_ssd(boxes, scores, max_results=100, iou_threshold=0.5, score_threshold=0.5):
    """face-api's SSD NMS (greedy, strict '>' score threshold). boxes [K,4] x1y1x2y2."""
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    out_size = min(max_results, len(boxes))
    cand = [i for i in np.argsort(-scores, kind="stable") if scores[i] > score_threshold]
    selected = []
    for i in cand:
        if len(selected) >= out_size:
            break
        ok = True
        for j in reversed(selected):
            iou = _iou_minmax(boxes[i], boxes[j])
            if iou == 0.0:
                continue
            if iou > iou_threshold:
                ok = False
                break
        if ok:
            selected.append(int(i))
    return selected


def _iou_xyxy(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def nms_tiny(boxes, scores, iou_threshold=0.4):
    """face-api ops/nonMaxSuppression (used by the tiny detector)."""
    order = [int(i) for i in np.argsort(np.asarray(scores), kind="stable")]
    pick = []
    while order:
        cur = order.pop()
        pick.append(cur)
        order = [i for i in order if _iou_xyxy(boxes[cur], boxes[i]) <= iou_threshold]
    return pick


def iou_box(a, b):
    """IoU of two {x,y,width,height} boxes."""
    return _iou_xyxy([a["x"], a["y"], a["x"] + a["width"], a["y"] + a["height"]],
                     [b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]])


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- pipeline
class Pipeline:
    def __init__(self, models_dir, resize="cv_warp", device="cpu"):
        self.resize = resize
        self.device = device
        self.m = {}
        for n in ("ssd_mobilenetv1", "tiny_face_detector", "face_landmark_68", "face_recognition",
                  "face_expression", "age_gender"):
            self.m[n] = torch.jit.load(os.path.join(models_dir, n + ".pt"), map_location=device).eval()

    def _run(self, name, batch):
        # optimized_execution(False): the profiling executor re-specialises the graph for
        # every new batch size (seconds each on CPU); plain interpretation is as fast here
        with torch.no_grad(), torch.jit.optimized_execution(False):
            out = self.m[name](to_nchw(batch).to(self.device))
        if isinstance(out, tuple):
            return tuple(o.float().cpu().numpy() for o in out)
        return out.float().cpu().numpy()

    # -------------------------------------------------------------- detectors
    def ssd_raw(self, img):
        x = letterbox(img, 512, False, self.resize)
        boxes, scores = self._run("ssd_mobilenetv1", [x])
        return boxes[0], scores[0]

    def detect_ssd(self, img, min_confidence=0.5, max_results=100):
        H, W = img.shape[:2]
        boxes, scores = self.ssd_raw(img)
        idx = nms_ssd(boxes, scores, max_results, 0.5, min_confidence)
        rw, rh = reshaped_dims(W, H, 512)
        pad_x, pad_y = 512 / rw, 512 / rh
        dets = []
        for i in idx:
            x1, y1, x2, y2 = boxes[i]
            top, bottom = max(0.0, y1) * pad_y, min(1.0, y2) * pad_y
            left, right = max(0.0, x1) * pad_x, min(1.0, x2) * pad_x
            dets.append({"score": float(scores[i]),
                         "box": {"x": left * W, "y": top * H, "width": (right - left) * W,
                                 "height": (bottom - top) * H}})
        return dets

    def detect_tiny(self, img, score_threshold=0.5, input_size=416):
        H, W = img.shape[:2]
        x = letterbox(img, input_size, False, self.resize)
        boxes, scores = self._run("tiny_face_detector", [x])
        boxes, scores = boxes[0], scores[0]
        rw, rh = reshaped_dims(W, H, input_size)
        cfx, cfy = max(rw, rh) / rw, max(rw, rh) / rh
        keep = [i for i in range(len(scores)) if scores[i] > score_threshold]
        rel = [[boxes[i][0] * cfx, boxes[i][1] * cfy, boxes[i][2] * cfx, boxes[i][3] * cfy] for i in keep]
        pick = nms_tiny([[v * input_size for v in b] for b in rel], [scores[i] for i in keep], 0.4)
        return [{"score": float(scores[keep[p]]),
                 "box": {"x": rel[p][0] * W, "y": rel[p][1] * H, "width": (rel[p][2] - rel[p][0]) * W,
                         "height": (rel[p][3] - rel[p][1]) * H}} for p in pick]

    # -------------------------------------------------------------- per-face nets
    def _face_batch(self, img, boxes, size):
        crops = [crop(img, b) for b in boxes]
        return crops, [letterbox(c, size, True, self.resize) for c in crops]

    def landmarks(self, img, dets):
        """Returns per face (positions [68,2] image px, unshifted [68,2] crop px)."""
        if not dets:
            return []
        crops, batch = self._face_batch(img, [d["box"] for d in dets], 112)
        raw = self._run("face_landmark_68", batch)
        out = []
        for d, c, r in zip(dets, crops, raw):
            h, w = c.shape[:2]
            s = 112 / max(h, w)
            sw, sh = w * s, h * s
            px = abs(sw - sh) / 2 if sw < sh else 0.0
            py = abs(sw - sh) / 2 if sh < sw else 0.0
            rel = np.stack([(r[0::2] * 112 - px) / sw, (r[1::2] * 112 - py) / sh], 1).astype(np.float64)
            unshifted = rel * [w, h]
            out.append((unshifted + [d["box"]["x"], d["box"]["y"]], unshifted))
        return out

    @staticmethod
    def aligned_rect(pos, W, H):
        """FaceLandmarks.align() (min bbox padded 20%), roundtrip via relative coords."""
        min_x, min_y = pos[:, 0].min(), pos[:, 1].min()
        max_x, max_y = max(0.0, pos[:, 0].max()), max(0.0, pos[:, 1].max())
        bw, bh = max_x - min_x, max_y - min_y
        x, y, w, h = min_x - bw * 0.2 / 2, min_y - bh * 0.2 / 2, bw + bw * 0.2, bh + bh * 0.2
        return {"x": x / W * W, "y": y / H * H, "width": w / W * W, "height": h / H * H}

    @staticmethod
    def dlib_rect(pos, W, H):
        """FaceLandmarks.alignDlib()."""
        le, re, mo = pos[36:42].mean(0), pos[42:48].mean(0), pos[48:68].mean(0)
        d = (np.linalg.norm(mo - le) + np.linalg.norm(mo - re)) / 2
        size = math.floor(d / 0.45)
        ref = (le + re + mo) / 3
        x = math.floor(max(0.0, ref[0] - 0.5 * size))
        y = math.floor(max(0.0, ref[1] - 0.43 * size))
        return {"x": x, "y": y, "width": min(size, W + x), "height": min(size, H + y)}

    def analyze(self, img, min_confidence=0.5):
        """detectAllFaces(SSD).withFaceLandmarks().withFaceExpressions().withAgeAndGender().withFaceDescriptors()"""
        H, W = img.shape[:2]
        dets = self.detect_ssd(img, min_confidence)
        if not dets:
            return []
        lms = self.landmarks(img, dets)
        arects = [self.aligned_rect(p, W, H) for p, _ in lms]
        drects = [self.dlib_rect(p, W, H) for p, _ in lms]
        _, b112 = self._face_batch(img, arects, 112)
        expr = softmax(self._run("face_expression", b112))
        age, gender = self._run("age_gender", b112)
        gender = softmax(gender)
        _, b150 = self._face_batch(img, drects, 150)
        desc = self._run("face_recognition", b150)
        res = []
        for i, d in enumerate(dets):
            pm = float(gender[i][0])
            res.append(dict(score=d["score"], box=d["box"], landmarks=lms[i][0], alignedRect=arects[i],
                            dlibRect=drects[i], expressions=expr[i], age=float(age[i][0]),
                            gender="male" if pm > 0.5 else "female",
                            genderProbability=pm if pm > 0.5 else 1 - pm, descriptor=desc[i]))
        return res
