"""MTCNN (Zhang et al. 2016) as in timesler/facenet-pytorch: P-Net over an image
pyramid, R-Net on 24x24 and O-Net on 48x48 crops, 5 landmarks from O-Net.

The three networks follow facenet-pytorch's models/mtcnn.py (PReLU
activations; R-Net and O-Net flatten after permute(0, 3, 2, 1), as the
converted Caffe weights expect) and load its data/{pnet,rnet,onet}.pt
state_dicts with strict keys and shapes. ``MtcnnExport`` runs the whole
cascade of facenet-pytorch's detect_face (its defaults: minimum face 20 px,
pyramid factor 0.709, thresholds 0.6 / 0.7 / 0.7, NMS 0.5 per scale, 0.7 per
stage, 0.7 "Min" at the end; area resampling; (x - 127.5) / 128) inside one
TorchScript graph and answers with faceserve's detector contract:

    input   float [N, 3, S, S] RGB 0..255 (the image letterboxed top-left, S = 640)
    boxes   [N, K, 4]  x1, y1, x2, y2 normalised to S (K = 128 slots)
    scores  [N, K]     O-Net face probability; 0 in unused slots
    landmarks [N, K, 10] x, y pairs normalised to S: left eye, right eye, nose,
                       left mouth corner, right mouth corner (as seen in the image)

Slots are filled best first; the server thresholds and runs its own NMS.
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

MIN_FACE = 20.0
FACTOR = 0.709
THRESHOLDS = (0.6, 0.7, 0.7)
SLOTS = 128


class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, min_mode: bool,
        plus_one: bool) -> torch.Tensor:
    """Greedy NMS, indices kept best first. IoU (or intersection over the
    smaller area with min_mode) above `threshold` suppresses; plus_one counts
    box sides as x2 - x1 + 1 (facenet-pytorch's numpy NMS), else x2 - x1
    (torchvision's, used in its first two stages)."""
    if boxes.size(0) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    one = 1.0 if plus_one else 0.0
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + one) * (y2 - y1 + one)
    order = torch.argsort(scores, descending=True)
    keep: List[int] = []
    while order.numel() > 0:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = (torch.minimum(x2[rest], x2[i]) - torch.maximum(x1[rest], x1[i]) + one).clamp(min=0)
        h = (torch.minimum(y2[rest], y2[i]) - torch.maximum(y1[rest], y1[i]) + one).clamp(min=0)
        inter = w * h
        if min_mode:
            overlap = inter / torch.minimum(areas[rest], areas[i])
        else:
            overlap = inter / (areas[rest] + areas[i] - inter)
        order = rest[overlap <= threshold]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


def rerec(b: torch.Tensor) -> torch.Tensor:
    """Boxes made square around their centres (side = the longer one)."""
    h = b[:, 3] - b[:, 1]
    w = b[:, 2] - b[:, 0]
    side = torch.maximum(w, h)
    x1 = b[:, 0] + w * 0.5 - side * 0.5
    y1 = b[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def bbreg(b: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Box regression as facenet-pytorch applies it after R-Net and O-Net."""
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    return torch.stack([b[:, 0] + reg[:, 0] * w, b[:, 1] + reg[:, 1] * h,
                        b[:, 2] + reg[:, 2] * w, b[:, 3] + reg[:, 3] * h], dim=1)


def crops(img: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """facenet-pytorch's pad + imresample: each box truncated to integers,
    clamped to the image (1-based, inclusive), cut out and resampled to
    size x size with area interpolation, then normalised. img: [3, H, W]."""
    h = img.size(1)
    w = img.size(2)
    b = boxes.trunc().to(torch.long)
    out: List[torch.Tensor] = []
    for k in range(b.size(0)):
        x = max(int(b[k, 0]), 1)
        y = max(int(b[k, 1]), 1)
        ex = min(int(b[k, 2]), w)
        ey = min(int(b[k, 3]), h)
        if ey > y - 1 and ex > x - 1:
            patch = img[:, y - 1:ey, x - 1:ex].unsqueeze(0)
        else:  # facenet-pytorch drops such boxes; a blank crop scores ~0
            patch = torch.zeros(1, 3, 1, 1, dtype=img.dtype, device=img.device) + 127.5
        out.append(F.interpolate(patch, size=[size, size], mode="area"))
    return (torch.cat(out, 0) - 127.5) * 0.0078125


class MtcnnExport(nn.Module):
    def __init__(self, pnet: PNet, rnet: RNet, onet: ONet, size: int = 640):
        super().__init__()
        self.pnet = pnet
        self.rnet = rnet
        self.onet = onet
        self.size = size
        # Attributes, not globals: TorchScript keeps them as constants.
        self.min_face = MIN_FACE
        self.factor = FACTOR
        self.threshold1 = THRESHOLDS[0]
        self.threshold2 = THRESHOLDS[1]
        self.threshold3 = THRESHOLDS[2]
        self.slots = SLOTS

    def detect_one(self, img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One image [3, H, W] RGB 0..255 -> boxes [M, 4], scores [M], points [M, 10] (pixels)."""
        h = img.size(1)
        w = img.size(2)
        # Stage 1: P-Net over the pyramid.
        m = 12.0 / self.min_face
        minl = float(min(h, w)) * m
        scale = m
        candidates: List[torch.Tensor] = []
        while minl >= 12.0:
            hs = int(h * scale + 1)
            ws = int(w * scale + 1)
            data = (F.interpolate(img.unsqueeze(0), size=[hs, ws], mode="area") - 127.5) * 0.0078125
            reg, probs = self.pnet(data)
            p = probs[0, 1]
            mask = p >= self.threshold1
            idx = mask.nonzero()
            if idx.size(0) > 0:
                score = p[mask]
                r = reg[0][:, mask].permute(1, 0)
                bb = idx.to(img.dtype).flip(1)  # (x, y) cells
                q1 = torch.floor((2.0 * bb + 1.0) / scale)
                q2 = torch.floor((2.0 * bb + 12.0) / scale)
                found = torch.cat([q1, q2, score.unsqueeze(1), r], dim=1)
                keep = nms(found[:, :4], found[:, 4], 0.5, False, False)
                candidates.append(found[keep])
            scale = scale * self.factor
            minl = minl * self.factor
        empty = (torch.zeros(0, 4, dtype=img.dtype, device=img.device),
                 torch.zeros(0, dtype=img.dtype, device=img.device),
                 torch.zeros(0, 10, dtype=img.dtype, device=img.device))
        if len(candidates) == 0:
            return empty
        b = torch.cat(candidates, 0)
        b = b[nms(b[:, :4], b[:, 4], 0.7, False, False)]
        regw = b[:, 2] - b[:, 0]
        regh = b[:, 3] - b[:, 1]
        boxes = torch.stack([b[:, 0] + b[:, 5] * regw, b[:, 1] + b[:, 6] * regh,
                             b[:, 2] + b[:, 7] * regw, b[:, 3] + b[:, 8] * regh], dim=1)
        boxes = rerec(boxes)
        # Stage 2: R-Net on 24x24 crops.
        reg2, probs2 = self.rnet(crops(img, boxes, 24))
        score = probs2[:, 1]
        passed = score > self.threshold2
        boxes, score, reg2 = boxes[passed], score[passed], reg2[passed]
        if boxes.size(0) == 0:
            return empty
        keep = nms(boxes, score, 0.7, False, False)
        boxes = rerec(bbreg(boxes[keep], reg2[keep]))
        # Stage 3: O-Net on 48x48 crops, with the landmarks.
        reg3, pts, probs3 = self.onet(crops(img, boxes, 48))
        score = probs3[:, 1]
        passed = score > self.threshold3
        boxes, score, reg3, pts = boxes[passed], score[passed], reg3[passed], pts[passed]
        if boxes.size(0) == 0:
            return empty
        bw = (boxes[:, 2] - boxes[:, 0] + 1).unsqueeze(1)
        bh = (boxes[:, 3] - boxes[:, 1] + 1).unsqueeze(1)
        px = bw * pts[:, 0:5] + boxes[:, 0:1] - 1
        py = bh * pts[:, 5:10] + boxes[:, 1:2] - 1
        points = torch.stack([px, py], dim=2).reshape(-1, 10)
        boxes = bbreg(boxes, reg3)
        keep = nms(boxes, score, 0.7, True, True)
        return boxes[keep], score[keep], points[keep]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.size(1) != 3 or x.size(2) != self.size or x.size(3) != self.size:
            raise RuntimeError("mtcnn expects float [N,3,640,640] RGB 0..255")
        n = x.size(0)
        boxes = torch.zeros(n, self.slots, 4, dtype=x.dtype, device=x.device)
        scores = torch.zeros(n, self.slots, dtype=x.dtype, device=x.device)
        points = torch.zeros(n, self.slots, 10, dtype=x.dtype, device=x.device)
        for i in range(n):
            b, s, p = self.detect_one(x[i])
            k = min(int(b.size(0)), self.slots)
            order = torch.argsort(s, descending=True)[:k]
            boxes[i, :k] = b[order] / self.size
            scores[i, :k] = s[order]
            points[i, :k] = p[order] / self.size
        return boxes, scores, points
