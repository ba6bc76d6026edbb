"""MiniFASNetV2 / MiniFASNetV1SE (minivision-ai/Silent-Face-Anti-Spoofing).

Rebuilt from the public architecture (src/model_lib/MiniFASNet.py) so that the
published state_dicts load with strict key/shape matching.

``MiniFASNetExport`` applies the faceserve contract: input float32 [N,3,80,80]
RGB 0..255 (not divided by 255; flipped to BGR inside), output logits [N,3]
(pre-softmax; class 1 = real face, 0 and 2 = the two spoof classes).
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

# Pruned channel widths ("keep" lists) of the two published models.
KEEP_V1 = [32, 32, 103, 103, 64, 13, 13, 64, 26, 26,
           64, 13, 13, 64, 52, 52, 64, 231, 231, 128,
           154, 154, 128, 52, 52, 128, 26, 26, 128, 52,
           52, 128, 26, 26, 128, 26, 26, 128, 308, 308,
           128, 26, 26, 128, 26, 26, 128, 512, 512]
KEEP_V2 = [32, 32, 103, 103, 64, 13, 13, 64, 13, 13, 64, 13,
           13, 64, 13, 13, 64, 231, 231, 128, 231, 231, 128, 52,
           52, 128, 26, 26, 128, 77, 77, 128, 26, 26, 128, 26, 26,
           128, 308, 308, 128, 26, 26, 128, 26, 26, 128, 512, 512]


class ConvBlock(nn.Module):
    """conv (no bias) -> BN -> PReLU; prelu=False gives the 'linear' block."""

    def __init__(self, cin, cout, kernel=1, stride=1, padding=0, groups=1, prelu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu = nn.PReLU(cout) if prelu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(self.conv(x)))


class LinearBlock(nn.Module):
    def __init__(self, cin, cout, kernel=1, stride=1, padding=0, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SEModule(nn.Module):
    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // reduction)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=[2, 3], keepdim=True)
        s = torch.relu(self.bn1(self.fc1(s)))
        s = torch.sigmoid(self.bn2(self.fc2(s)))
        return x * s


class DepthWise(nn.Module):
    """1x1 expand (PReLU) -> 3x3 depthwise (PReLU) -> 1x1 project (linear) [+ SE] [+ residual]."""

    def __init__(self, cin: int, cexp: int, cout: int, stride: int, residual: bool, se_reduct: int = 0):
        super().__init__()
        self.conv = ConvBlock(cin, cexp)
        self.conv_dw = ConvBlock(cexp, cexp, kernel=3, stride=stride, padding=1, groups=cexp)
        self.project = LinearBlock(cexp, cout)
        self.residual = residual
        self.use_se = se_reduct > 0
        self.se_module = SEModule(cout, se_reduct) if se_reduct > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.conv_dw(self.conv(x)))
        if self.residual:
            if self.use_se:
                y = self.se_module(y)
            y = x + y
        return y


class Residual(nn.Module):
    def __init__(self, blocks: List[Tuple[int, int, int]], se: bool):
        super().__init__()
        mods = []
        for i, (cin, cexp, cout) in enumerate(blocks):
            last = i == len(blocks) - 1
            mods.append(DepthWise(cin, cexp, cout, 1, True, se_reduct=4 if (se and last) else 0))
        self.model = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _stage(keep: Sequence[int], start: int, n: int) -> List[Tuple[int, int, int]]:
    # block b uses keep[start+3b] -> keep[start+3b+1] (expand) -> keep[start+3b+3] (out)
    return [(keep[start + 3 * b], keep[start + 3 * b + 1], keep[start + 3 * b + 3]) for b in range(n)]


class MiniFASNet(nn.Module):
    """Raw network: BGR 0..255 [N,3,80,80] -> logits [N,num_classes]."""

    def __init__(self, keep: Sequence[int], se: bool, embedding_size: int = 128,
                 conv6_kernel: int = 5, num_classes: int = 3):
        super().__init__()
        k = keep
        self.conv1 = ConvBlock(3, k[0], kernel=3, stride=2, padding=1)
        self.conv2_dw = ConvBlock(k[0], k[1], kernel=3, stride=1, padding=1, groups=k[1])
        self.conv_23 = DepthWise(k[1], k[2], k[4], 2, False)
        self.conv_3 = Residual(_stage(k, 4, 4), se)
        self.conv_34 = DepthWise(k[16], k[17], k[19], 2, False)
        self.conv_4 = Residual(_stage(k, 19, 6), se)
        self.conv_45 = DepthWise(k[37], k[38], k[40], 2, False)
        self.conv_5 = Residual(_stage(k, 40, 2), se)
        self.conv_6_sep = ConvBlock(k[46], k[47])
        self.conv_6_dw = LinearBlock(k[47], k[48], kernel=conv6_kernel, groups=k[48])
        self.linear = nn.Linear(512, embedding_size, bias=False)
        self.bn = nn.BatchNorm1d(embedding_size)
        self.prob = nn.Linear(embedding_size, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2_dw(self.conv1(x))
        x = self.conv_5(self.conv_45(self.conv_4(self.conv_34(self.conv_3(self.conv_23(x))))))
        x = self.conv_6_dw(self.conv_6_sep(x))
        x = x.reshape(x.size(0), -1)
        return self.prob(self.bn(self.linear(x)))  # dropout is identity at inference


def minifasnet_v2() -> MiniFASNet:
    return MiniFASNet(KEEP_V2, se=False)


def minifasnet_v1se() -> MiniFASNet:
    return MiniFASNet(KEEP_V1, se=True)


class MiniFASNetExport(nn.Module):
    def __init__(self, net: MiniFASNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != 3 or x.size(2) != 80 or x.size(3) != 80:
            raise RuntimeError("minifasnet expects float [N,3,80,80] RGB 0..255")
        return self.net(torch.flip(x, [1]))
