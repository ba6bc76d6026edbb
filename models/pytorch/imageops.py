"""Reference pre/post-processing matching what the faceserve server does around
the exported graphs (used by the tests and documented in the model cards).

Pure numpy/torch/PIL (no OpenCV). Images are HxWx3 uint8 RGB numpy arrays.
"""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def load_rgb(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def resize_bilinear(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and no antialiasing (= cv2.INTER_LINEAR
    up to rounding). Returns float32 HxWx3."""
    t = torch.from_numpy(np.array(img, np.float32)).permute(2, 0, 1)[None]
    t = F.interpolate(t, size=(out_h, out_w), mode="bilinear", align_corners=False)
    return t[0].permute(1, 2, 0).numpy()


def letterbox(img: np.ndarray, size: int = 640) -> Tuple[np.ndarray, float]:
    """Place the image top-left on a zero square of side max(h, w), resize the
    square to size x size bilinear. Returns (float32 [size,size,3] RGB 0..255, side)
    where normalised output coordinates * side = original pixel coordinates."""
    h, w = img.shape[:2]
    side = max(h, w)
    sq = np.zeros((side, side, 3), np.uint8)
    sq[:h, :w] = img
    return resize_bilinear(sq, size, size), float(side)


def to_nchw(imgs: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(i, np.float32) for i in imgs])).permute(0, 3, 1, 2).contiguous()


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> List[int]:
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(0, x2 - x1) * np.maximum(0, y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        iou = inter / np.maximum(areas[i] + areas[order[1:]] - inter, 1e-12)
        order = order[1:][iou <= thr]
    return keep


def postprocess(boxes, scores, landms, side: float, score_thr: float = 0.5, nms_thr: float = 0.4):
    """One image's raw outputs (torch or numpy, no batch dim) -> list of
    (box[4] px, score, landmarks[5,2] px) after threshold + NMS, best first."""
    b = np.asarray(boxes, np.float32)
    s = np.asarray(scores, np.float32)
    l = np.asarray(landms, np.float32)
    m = s > score_thr
    b, s, l = b[m] * side, s[m], l[m] * side
    keep = nms(b, s, nms_thr)
    return [(b[i], float(s[i]), l[i].reshape(5, 2)) for i in keep]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def silent_face_box(src_w: int, src_h: int, bbox_xywh, scale: float) -> Tuple[int, int, int, int]:
    """Silent-Face-Anti-Spoofing CropImage._get_new_box: returns inclusive
    (left, top, right, bottom) pixel indices of the patch.

    scale is first reduced to min(scale, (src_h-1)/h, (src_w-1)/w) so that the
    patch fits in the image; the patch (w*scale x h*scale, centred on the box
    centre) is then SHIFTED back inside the image when it leaves it (its size is
    kept, it is not clipped/padded); corners are truncated to int."""
    x, y, w, h = [float(v) for v in bbox_xywh]
    scale = min((src_h - 1) / h, (src_w - 1) / w, scale)
    nw, nh = w * scale, h * scale
    cx, cy = x + w / 2, y + h / 2
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0:
        r -= l
        l = 0
    if t < 0:
        b -= t
        t = 0
    if r > src_w - 1:
        l -= r - src_w + 1
        r = src_w - 1
    if b > src_h - 1:
        t -= b - src_h + 1
        b = src_h - 1
    return int(l), int(t), int(r), int(b)


def silent_face_crop(img: np.ndarray, box_xyxy, scale: float, out: int = 80) -> np.ndarray:
    """Patch for MiniFASNet from a detector box x1,y1,x2,y2 (pixels). Silent-Face's
    detector box is [left, top, right-left+1, bottom-top+1]; we follow that."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box_xyxy]
    bb = [int(x1), int(y1), int(x2 - x1 + 1), int(y2 - y1 + 1)]
    l, t, r, b = silent_face_box(w, h, bb, scale)
    patch = img[t:b + 1, l:r + 1]
    return resize_bilinear(patch, out, out)
