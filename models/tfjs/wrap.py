"""The faceserve model contract around an imported tfjs graph.

faceserve feeds ONE float32 [N, 3, H, W] tensor, RGB, 0..255; the graph wants
NHWC in whatever range its JS caller produced. Preprocess reproduces that
caller's arithmetic step by step (same op order, so float32 rounding matches):
x / div, optional RGB -> gray with fixed weights (summed over the channel axis,
kept as a 1-channel image), then (x - sub) * mul.
"""
from typing import List, Tuple

import torch
from torch import nn


class Preprocess(nn.Module):
    div: float
    sub: float
    mul: float
    gray: bool

    def __init__(self, div=1.0, gray_weights=None, sub=0.0, mul=1.0):
        super().__init__()
        self.div, self.sub, self.mul = float(div), float(sub), float(mul)
        self.gray = gray_weights is not None
        self.register_buffer("gray_weights", torch.tensor(gray_weights or [1.0, 1.0, 1.0], dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # NCHW -> NHWC (a view)
        if self.div != 1.0:
            x = x / self.div
        if self.gray:
            x = torch.sum(x * self.gray_weights, 3, keepdim=True)
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
