"""RetinaFace (MobileNet-0.25 backbone) as in biubug6/Face-Detector-1MB-with-landmark.

Rebuilt from the public architecture description so that the published
state_dict ``mobilenet0.25_Final.pth`` loads with strict key/shape matching.
Note: that repository's ``models/net.py`` uses plain ReLU everywhere (its
``leaky`` variables are computed but unused), unlike Pytorch_Retinaface which
uses LeakyReLU(0.1); we follow the repository the weights come from.

``RetinaFaceExport`` wraps the network with the faceserve I/O contract:
input float32 [N,3,640,640] RGB 0..255 -> (boxes [N,K,4] x1y1x2y2 in [0,1],
scores [N,K], landmarks [N,K,10] in [0,1]); BGR flip, mean subtraction,
priors and decoding live inside the graph.
"""
from itertools import product
from math import ceil
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# Facts (see ../shared/models/README.md): cfg of these weights.
CFG = {
    "min_sizes": [[10, 20], [32, 64], [128, 256]],
    "steps": [8, 16, 32],
    "variance": [0.1, 0.2],
    "in_channel": 32,
    "out_channel": 64,
    "mean_bgr": [104.0, 117.0, 123.0],
    "input_size": 640,
}


def _conv_bn(inp, oup, stride=1, relu=True, k=3):
    layers = [nn.Conv2d(inp, oup, k, stride, k // 2, bias=False), nn.BatchNorm2d(oup)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _conv_dw(inp, oup, stride):
    # indices 0..5: dw conv, bn, relu, pw conv, bn, relu (matches state_dict keys)
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.ReLU(inplace=True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU(inplace=True),
    )


class MobileNetV1025(nn.Module):
    """MobileNetV1 at width 0.25; returns the outputs of stage1..3 (strides 8/16/32)."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(
            _conv_bn(3, 8, 2),
            _conv_dw(8, 16, 1),
            _conv_dw(16, 32, 2),
            _conv_dw(32, 32, 1),
            _conv_dw(32, 64, 2),
            _conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(
            _conv_dw(64, 128, 2),
            _conv_dw(128, 128, 1),
            _conv_dw(128, 128, 1),
            _conv_dw(128, 128, 1),
            _conv_dw(128, 128, 1),
            _conv_dw(128, 128, 1),
        )
        self.stage3 = nn.Sequential(
            _conv_dw(128, 256, 2),
            _conv_dw(256, 256, 1),
        )

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        c3 = self.stage3(c2)
        return [c1, c2, c3]


class FPN(nn.Module):
    def __init__(self, in_channels: List[int], out_channels: int):
        super().__init__()
        self.output1 = _conv_bn(in_channels[0], out_channels, k=1)
        self.output2 = _conv_bn(in_channels[1], out_channels, k=1)
        self.output3 = _conv_bn(in_channels[2], out_channels, k=1)
        self.merge1 = _conv_bn(out_channels, out_channels)
        self.merge2 = _conv_bn(out_channels, out_channels)

    def forward(self, feats: List[torch.Tensor]) -> List[torch.Tensor]:
        o1 = self.output1(feats[0])
        o2 = self.output2(feats[1])
        o3 = self.output3(feats[2])
        o2 = self.merge2(o2 + F.interpolate(o3, size=[o2.size(2), o2.size(3)], mode="nearest"))
        o1 = self.merge1(o1 + F.interpolate(o2, size=[o1.size(2), o1.size(3)], mode="nearest"))
        return [o1, o2, o3]


class SSH(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        assert cout % 4 == 0
        self.conv3X3 = _conv_bn(cin, cout // 2, relu=False)
        self.conv5X5_1 = _conv_bn(cin, cout // 4)
        self.conv5X5_2 = _conv_bn(cout // 4, cout // 4, relu=False)
        self.conv7X7_2 = _conv_bn(cout // 4, cout // 4)
        self.conv7x7_3 = _conv_bn(cout // 4, cout // 4, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv3X3(x)
        b1 = self.conv5X5_1(x)
        b = self.conv5X5_2(b1)
        c = self.conv7x7_3(self.conv7X7_2(b1))
        return F.relu(torch.cat([a, b, c], dim=1))


class _Head(nn.Module):
    def __init__(self, cin: int, num_anchors: int, per_anchor: int):
        super().__init__()
        self.per_anchor = per_anchor
        self.conv1x1 = nn.Conv2d(cin, num_anchors * per_anchor, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x).permute(0, 2, 3, 1).contiguous()
        return out.view(out.shape[0], -1, self.per_anchor)


class RetinaFaceNet(nn.Module):
    """Raw network: BGR-minus-mean input -> (loc [N,K,4], conf logits [N,K,2], landm [N,K,10])."""

    def __init__(self, in_channel: int = 32, out_channel: int = 64, num_anchors: int = 2):
        super().__init__()
        self.body = MobileNetV1025()
        self.fpn = FPN([in_channel * 2, in_channel * 4, in_channel * 8], out_channel)
        self.ssh1 = SSH(out_channel, out_channel)
        self.ssh2 = SSH(out_channel, out_channel)
        self.ssh3 = SSH(out_channel, out_channel)
        self.ClassHead = nn.ModuleList([_Head(out_channel, num_anchors, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([_Head(out_channel, num_anchors, 4) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList([_Head(out_channel, num_anchors, 10) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.fpn(self.body(x))
        feats = [self.ssh1(f[0]), self.ssh2(f[1]), self.ssh3(f[2])]
        loc: List[torch.Tensor] = []
        conf: List[torch.Tensor] = []
        landm: List[torch.Tensor] = []
        for i, h in enumerate(self.BboxHead):
            loc.append(h(feats[i]))
        for i, h in enumerate(self.ClassHead):
            conf.append(h(feats[i]))
        for i, h in enumerate(self.LandmarkHead):
            landm.append(h(feats[i]))
        return torch.cat(loc, 1), torch.cat(conf, 1), torch.cat(landm, 1)


def make_priors(size: int = 640, min_sizes=None, steps=None) -> torch.Tensor:
    """Anchors [K,4] (cx, cy, w, h) normalised to the square input, unclipped,
    ordered level -> row -> column -> min_size exactly like the heads' outputs."""
    min_sizes = min_sizes or CFG["min_sizes"]
    steps = steps or CFG["steps"]
    out = []
    for ms, st in zip(min_sizes, steps):
        fh = fw = int(ceil(size / st))
        for i, j in product(range(fh), range(fw)):
            for m in ms:
                out.append([(j + 0.5) * st / size, (i + 0.5) * st / size, m / size, m / size])
    return torch.tensor(out, dtype=torch.float32)


class RetinaFaceExport(nn.Module):
    """faceserve contract wrapper (see module docstring)."""

    def __init__(self, net: RetinaFaceNet, size: int = 640):
        super().__init__()
        self.net = net
        self.size = size
        self.var0 = float(CFG["variance"][0])
        self.var1 = float(CFG["variance"][1])
        self.register_buffer("priors", make_priors(size), persistent=True)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.size(1) != 3 or x.size(2) != self.size or x.size(3) != self.size:
            raise RuntimeError("retinaface_mnet025 expects float [N,3,640,640] RGB 0..255")
        mean = torch.tensor([104.0, 117.0, 123.0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        bgr = torch.flip(x, [1]) - mean
        loc, conf, landm = self.net(bgr)
        pr = self.priors.to(dtype=loc.dtype, device=loc.device).unsqueeze(0)  # [1,K,4]
        pc = pr[:, :, 0:2]
        ps = pr[:, :, 2:4]
        centre = pc + loc[:, :, 0:2] * self.var0 * ps
        wh = ps * torch.exp(loc[:, :, 2:4] * self.var1)
        x1y1 = centre - wh / 2
        boxes = torch.cat([x1y1, x1y1 + wh], dim=2)
        scores = F.softmax(conf, dim=-1)[:, :, 1]
        n = landm.size(0)
        lm = landm.view(n, -1, 5, 2)
        lm = pc.unsqueeze(2) + lm * self.var0 * ps.unsqueeze(2)
        return boxes, scores, lm.reshape(n, -1, 10)
