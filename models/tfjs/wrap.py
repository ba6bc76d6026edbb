"""The faceserve model contract around an imported tfjs graph.

faceserve feeds ONE float32 [N, 3, H, W] tensor, RGB, 0..255; the graph wants
NHWC in whatever range its JS caller produced. Preprocess reproduces that
caller's arithmetic step by step (same op order, so float32 rounding matches):
x / div, optional RGB -> gray with fixed weights (summed over the channel axis,
kept as a 1-channel image, or with gray_channels=3 summed r + g + b in that order
like tf.addN and replicated to 3 channels), optional per-sample min-max scaling
to 0..1 ((x - min) / max(x - min), min and max over each image of the batch
separately), then (x - sub) * mul.
"""
from typing import List, Tuple

import torch
from torch import nn


class Preprocess(nn.Module):
    div: float
    sub: float
    mul: float
    gray: bool
    gray3: bool
    minmax: bool
    minmax_floor: float

    def __init__(self, div=1.0, gray_weights=None, sub=0.0, mul=1.0, gray_channels=1, minmax=False):
        super().__init__()
        if gray_channels not in (1, 3):
            raise ValueError("gray_channels must be 1 or 3")
        self.div, self.sub, self.mul = float(div), float(sub), float(mul)
        self.gray = gray_weights is not None
        self.gray3 = self.gray and gray_channels == 3
        self.minmax = bool(minmax)
        # A flat image (max - min == 0) would divide 0 by 0 (NaN, as in JS); dividing by at
        # least this gives zeros there and changes nothing for any real image. 1e-6, not
        # smaller, so that it stays non-zero in float16.
        self.minmax_floor = 1e-6
        self.register_buffer("gray_weights", torch.tensor(gray_weights or [1.0, 1.0, 1.0], dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # NCHW -> NHWC (a view)
        if self.div != 1.0:
            x = x / self.div
        if self.gray3:
            # tf.split + tf.mul per channel + tf.addN: (r * wr + g * wg) + b * wb, one channel for now
            w = self.gray_weights
            x = (x[:, :, :, 0:1] * w[0] + x[:, :, :, 1:2] * w[1]) + x[:, :, :, 2:3] * w[2]
        elif self.gray:
            x = torch.sum(x * self.gray_weights, 3, keepdim=True)
        if self.minmax:
            # per image: min / max over H, W, C (gray replicated to 3 channels has the same extremes)
            x = x - torch.amin(x, dim=[1, 2, 3], keepdim=True)
            x = x / torch.clamp(torch.amax(x, dim=[1, 2, 3], keepdim=True), min=self.minmax_floor)
        if self.gray3:
            x = x.expand(-1, -1, -1, 3)
        if self.sub != 0.0:
            x = x - self.sub
        if self.mul != 1.0:
            x = x * self.mul
        return x.contiguous()


class Post(nn.Module):
    """Optional per-output reshape (keeps the batch dimension): [] = leave as is."""
    shapes: List[List[int]]

    def __init__(self, shapes):
        super().__init__()
        self.shapes = [list(s) for s in shapes]

    def forward(self, ys: List[torch.Tensor]) -> List[torch.Tensor]:
        out: List[torch.Tensor] = []
        for i in range(len(ys)):
            s = self.shapes[i]
            out.append(ys[i] if len(s) == 0 else ys[i].reshape([ys[i].shape[0]] + s))
        return out


class Single(nn.Module):
    """One output tensor."""

    def __init__(self, pre, graph, post):
        super().__init__()
        self.pre, self.graph, self.post = pre, graph, post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.graph(self.pre(x)))[0]


class Triple(nn.Module):
    """Three output tensors, as a tuple."""

    def __init__(self, pre, graph, post):
        super().__init__()
        self.pre, self.graph, self.post = pre, graph, post

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ys = self.post(self.graph(self.pre(x)))
        return ys[0], ys[1], ys[2]


def wrap(graph_module, preprocess, n_outputs, shapes=None):
    post = Post(shapes or [[]] * n_outputs)
    if n_outputs == 1:
        return Single(preprocess, graph_module, post)
    if n_outputs == 3:
        return Triple(preprocess, graph_module, post)
    raise ValueError("no wrapper for %d outputs" % n_outputs)
