"""One converter per TF op: GraphDef node -> small TorchScript-able module.

Tensors keep TF semantics (NHWC for images) everywhere, so shapes, axes,
broadcasting and Reshape behave as in tfjs. Convolutions and pools run through
``permute(0, 3, 1, 2)`` views: torch then computes in NCHW on channels-last
memory without copying. TF 'SAME' padding is asymmetric (the extra pixel goes
to the end) and depends on the input size, so it is computed in forward(); a
convolution takes it as its own padding when it is symmetric, else it is
applied with an explicit F.pad.

A converter has the signature ``conv(node, ctx) -> (module, [input refs])``
where the refs are the node's data inputs (graph tensor names) the module gets,
in order, as ``forward(xs: List[Tensor])``. Inputs that are attributes in
disguise (filters, biases, shapes, axes, paddings) are folded in as buffers or
Python values through ``ctx.const(ref)``.
"""
import math
from typing import List

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# activation codes shared by fused conv / matmul and the unary ops
ACT_NONE, ACT_RELU, ACT_RELU6, ACT_PRELU, ACT_LEAKY, ACT_SIGMOID, ACT_ELU, ACT_TANH = range(8)
_FUSED_ACT = {"": ACT_NONE, "relu": ACT_RELU, "relu6": ACT_RELU6, "prelu": ACT_PRELU, "leakyrelu": ACT_LEAKY,
              "sigmoid": ACT_SIGMOID, "elu": ACT_ELU}


class Unsupported(NotImplementedError):
    pass


def _t(a, dtype=torch.float32):
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def activate(x: torch.Tensor, act: int, alpha: torch.Tensor, leaky: float) -> torch.Tensor:
    # act: the ACT_* codes above (TorchScript cannot read module-level ints)
    if act == 1:
        return torch.relu(x)
    if act == 2:
        return torch.clamp(x, 0.0, 6.0)
    if act == 3:
        # tfjs prelu: x < 0 ? alpha * x : x (alpha broadcast NHWC-style)
        return torch.where(x < 0, alpha * x, x)
    if act == 4:
        return torch.where(x < 0, leaky * x, x)
    if act == 5:
        return torch.sigmoid(x)
    if act == 6:
        return torch.where(x > 0, x, torch.expm1(x))
    if act == 7:
        return torch.tanh(x)
    return x


def same_pads(size: int, k: int, stride: int, dilation: int) -> List[int]:
    """TF SAME padding along one axis: [before, after], after >= before."""
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + eff - size, 0)
    return [total // 2, total - total // 2]


class Op(nn.Module):
    """Base: slot indices of the inputs, and slots to release after this op."""
    inputs: List[int]
    free: List[int]

    def __init__(self):
        super().__init__()
        self.inputs = []
        self.free = []

    def __init_subclass__(cls, **kwargs):
        # TorchScript reads only the class's own __annotations__: merge in the base's
        super().__init_subclass__(**kwargs)
        ann = dict(Op.__annotations__)
        ann.update(cls.__dict__.get("__annotations__", {}))
        cls.__annotations__ = ann


def _nchw_view(x: torch.Tensor, nhwc: bool) -> torch.Tensor:
    return x.permute(0, 3, 1, 2) if nhwc else x


def _back(y: torch.Tensor, nhwc: bool) -> torch.Tensor:
    return y.permute(0, 2, 3, 1) if nhwc else y


def _spatial_pads(x: torch.Tensor, mode: str, explicit: List[int], k: List[int], s: List[int],
                  d: List[int]) -> List[int]:
    """[left, right, top, bottom] for F.pad on an NCHW view."""
    if mode == "SAME":
        ph = same_pads(x.shape[2], k[0], s[0], d[0])
        pw = same_pads(x.shape[3], k[1], s[1], d[1])
        return [pw[0], pw[1], ph[0], ph[1]]
    if mode == "EXPLICIT":
        return [explicit[2], explicit[3], explicit[0], explicit[1]]
    return [0, 0, 0, 0]


class Conv2d(Op):
    """Conv2D / DepthwiseConv2dNative / _FusedConv2D / FusedDepthwiseConv2dNative."""
    mode: str
    explicit: List[int]
    stride: List[int]
    dilation: List[int]
    ksize: List[int]
    groups: int
    nhwc: bool
    act: int
    leaky: float

    def __init__(self, weight, bias, mode, explicit, stride, dilation, groups, nhwc, act, alpha, leaky):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.register_buffer("alpha", alpha)
        self.mode, self.explicit, self.stride, self.dilation = mode, explicit, stride, dilation
        self.ksize = [int(weight.shape[2]), int(weight.shape[3])]
        self.groups, self.nhwc, self.act, self.leaky = groups, nhwc, act, leaky

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = _nchw_view(xs[0], self.nhwc)
        p = _spatial_pads(x, self.mode, self.explicit, self.ksize, self.stride, self.dilation)
        if p[0] == p[1] and p[2] == p[3]:
            # symmetric (every stride-1 SAME conv with an odd kernel): the conv pads
            # as it computes, without F.pad's padded copy of the input
            y = F.conv2d(x, self.weight, self.bias, self.stride, [p[2], p[0]], self.dilation, self.groups)
        else:
            y = F.conv2d(F.pad(x, p), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        # bias add is fused in conv2d; the activation runs in the graph's layout (prelu alpha is NHWC)
        return activate(_back(y, self.nhwc), self.act, self.alpha, self.leaky)


class Pool2d(Op):
    """MaxPool / AvgPool. SAME max pools ignore padding (-inf), SAME avg pools divide by the valid count."""
    mode: str
    explicit: List[int]
    ksize: List[int]
    stride: List[int]
    nhwc: bool
    is_max: bool

    def __init__(self, is_max, mode, explicit, ksize, stride, nhwc):
        super().__init__()
        self.is_max, self.mode, self.explicit, self.ksize, self.stride, self.nhwc = \
            is_max, mode, explicit, ksize, stride, nhwc

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = _nchw_view(xs[0], self.nhwc)
        p = _spatial_pads(x, self.mode, self.explicit, self.ksize, self.stride, [1, 1])
        padded = p[0] + p[1] + p[2] + p[3] > 0
        if self.is_max:
            if padded:
                x = F.pad(x, p, value=-math.inf)
            y = F.max_pool2d(x, self.ksize, self.stride)
        elif padded:
            ones = torch.ones_like(x[:1, :1])
            s = F.avg_pool2d(F.pad(x, p), self.ksize, self.stride)
            n = F.avg_pool2d(F.pad(ones, p), self.ksize, self.stride)
            y = s / n
        else:
            y = F.avg_pool2d(x, self.ksize, self.stride)
        return _back(y, self.nhwc)


class MatMul(Op):
    """MatMul / _FusedMatMul with a constant right-hand side (the dense layers)."""
    act: int
    leaky: float
    transpose_a: bool

    def __init__(self, weight, bias, transpose_a, act, alpha, leaky):
        super().__init__()
        self.register_buffer("weight", weight)  # [in, out], transpose_b already applied
        self.register_buffer("bias", bias)
        self.register_buffer("alpha", alpha)
        self.transpose_a, self.act, self.leaky = transpose_a, act, leaky

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        a = xs[0].t() if self.transpose_a else xs[0]
        return activate(torch.addmm(self.bias, a, self.weight), self.act, self.alpha, self.leaky)


class MatMul2(Op):
    """MatMul of two graph tensors."""
    transpose_a: bool
    transpose_b: bool

    def __init__(self, transpose_a, transpose_b):
        super().__init__()
        self.transpose_a, self.transpose_b = transpose_a, transpose_b

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        a = xs[0].transpose(-1, -2) if self.transpose_a else xs[0]
        b = xs[1].transpose(-1, -2) if self.transpose_b else xs[1]
        return torch.matmul(a, b)


_BINARY = {"Add": 0, "AddV2": 0, "Sub": 1, "Mul": 2, "RealDiv": 3, "Div": 3, "Maximum": 4, "Minimum": 5,
           "SquaredDifference": 6, "Pow": 7, "BiasAdd": 0}


class Binary(Op):
    """Element-wise binary ops with TF (numpy) broadcasting."""
    code: int

    def __init__(self, code):
        super().__init__()
        self.code = code

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        a, b = xs[0], xs[1]
        if self.code == 0:
            return a + b
        if self.code == 1:
            return a - b
        if self.code == 2:
            return a * b
        if self.code == 3:
            return a / b
        if self.code == 4:
            return torch.maximum(a, b)
        if self.code == 5:
            return torch.minimum(a, b)
        if self.code == 6:
            return (a - b) * (a - b)
        return torch.pow(a, b)


class BiasAddNCHW(Op):
    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return xs[0] + xs[1].reshape(1, -1, 1, 1)


class AddN(Op):
    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        y = xs[0]
        for i in range(1, len(xs)):
            y = y + xs[i]
        return y


_UNARY = {"Identity": 0, "Relu": 1, "Relu6": 2, "Sigmoid": 3, "Tanh": 4, "Elu": 5, "Exp": 6, "Sqrt": 7,
          "Rsqrt": 8, "Neg": 9, "Abs": 10, "Square": 11, "Softmax": 12, "LeakyRelu": 13, "Log": 14,
          "Reciprocal": 15, "Softplus": 16, "StopGradient": 0, "Snapshot": 0}


class Unary(Op):
    code: int
    alpha: float

    def __init__(self, code, alpha=0.2):
        super().__init__()
        self.code, self.alpha = code, alpha

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        c = self.code
        if c == 0:
            return x
        if c == 1:
            return torch.relu(x)
        if c == 2:
            return torch.clamp(x, 0.0, 6.0)
        if c == 3:
            return torch.sigmoid(x)
        if c == 4:
            return torch.tanh(x)
        if c == 5:
            return torch.where(x > 0, x, torch.expm1(x))
        if c == 6:
            return torch.exp(x)
        if c == 7:
            return torch.sqrt(x)
        if c == 8:
            return torch.rsqrt(x)
        if c == 9:
            return -x
        if c == 10:
            return torch.abs(x)
        if c == 11:
            return x * x
        if c == 12:
            return torch.softmax(x, -1)  # TF Softmax is always over the last axis
        if c == 13:
            return torch.where(x < 0, self.alpha * x, x)
        if c == 14:
            return torch.log(x)
        if c == 15:
            return 1.0 / x
        return F.softplus(x)


class Prelu(Op):
    def __init__(self, alpha):
        super().__init__()
        self.register_buffer("alpha", alpha)

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        return torch.where(x < 0, self.alpha * x, x)


_REDUCE = {"Mean": 0, "Max": 1, "Min": 2, "Sum": 3, "Prod": 4}


class Reduce(Op):
    code: int
    axes: List[int]
    keep: bool

    def __init__(self, code, axes, keep):
        super().__init__()
        self.code, self.axes, self.keep = code, axes, keep

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        if len(self.axes) == 0:
            return x
        axes = [a % x.dim() for a in self.axes]
        if self.code == 0:
            return torch.mean(x, axes, self.keep)
        if self.code == 1:
            return torch.amax(x, axes, self.keep)
        if self.code == 2:
            return torch.amin(x, axes, self.keep)
        if self.code == 3:
            return torch.sum(x, axes, self.keep)
        y = x
        axes.sort()
        for j in range(len(axes)):  # last axis first so the others keep their index
            y = torch.prod(y, axes[len(axes) - 1 - j], self.keep)
        return y


class Reshape(Op):
    shape: List[int]

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return xs[0].reshape(self.shape)


class Squeeze(Op):
    dims: List[int]

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        if len(self.dims) == 0:
            return torch.squeeze(x)
        dims = [a % x.dim() for a in self.dims]
        dims.sort()
        for j in range(len(dims)):  # last dim first so the others keep their index
            x = torch.squeeze(x, dims[len(dims) - 1 - j])
        return x


class ExpandDims(Op):
    axis: int

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        a = self.axis if self.axis >= 0 else self.axis + x.dim() + 1
        return torch.unsqueeze(x, a)


class Transpose(Op):
    perm: List[int]

    def __init__(self, perm):
        super().__init__()
        self.perm = perm

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return xs[0].permute(self.perm)


class Concat(Op):
    axis: int

    def __init__(self, axis):
        super().__init__()
        self.axis = axis

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, self.axis % xs[0].dim())


class Pad(Op):
    pads: List[int]
    value: float

    def __init__(self, pads, value):
        super().__init__()
        self.pads, self.value = pads, value

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return F.pad(xs[0], self.pads, value=self.value)


class ResizeBilinear(Op):
    """tfjs-backend-cpu ResizeBilinear, index for index (NHWC, align_corners / half_pixel_centers)."""
    size: List[int]
    align_corners: bool
    half_pixel: bool

    def __init__(self, size, align_corners, half_pixel):
        super().__init__()
        self.size, self.align_corners, self.half_pixel = size, align_corners, half_pixel

    def _axis(self, old: int, new: int, device: torch.device):
        ac = self.align_corners and new > 1
        ratio = float(old - 1 if ac else old) / float(new - 1 if ac else new)
        r = torch.arange(new, dtype=torch.float64, device=device)
        src = ratio * (r + 0.5) - 0.5 if self.half_pixel else ratio * r
        lo = torch.clamp(torch.floor(src), min=0.0)
        hi = torch.clamp(torch.ceil(src), max=float(old - 1))
        frac = (src - lo).to(torch.float32)
        return lo.long(), hi.long(), frac

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        x = xs[0]
        r0, r1, fr = self._axis(x.shape[1], self.size[0], x.device)
        c0, c1, fc = self._axis(x.shape[2], self.size[1], x.device)
        top = x.index_select(1, r0)
        bot = x.index_select(1, r1)
        fc = fc.view(1, 1, -1, 1)
        t = top.index_select(2, c0) + (top.index_select(2, c1) - top.index_select(2, c0)) * fc
        b = bot.index_select(2, c0) + (bot.index_select(2, c1) - bot.index_select(2, c0)) * fc
        return t + (b - t) * fr.view(1, -1, 1, 1)


class Const(Op):
    def __init__(self, value):
        super().__init__()
        self.register_buffer("value", value)

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        return self.value


# ------------------------------------------------------------------ converters

def _need_const(ctx, node, ref, what):
    v = ctx.const(ref)
    if v is None:
        raise Unsupported("%s %s: %s must be a constant" % (node.op, node.name, what))
    return v


def _nhwc(node):
    fmt = node.s("data_format", "NHWC")
    if fmt not in ("NHWC", "NCHW"):
        raise Unsupported("%s %s: data_format %s" % (node.op, node.name, fmt))
    return fmt == "NHWC"


def _hw(vals, nhwc):
    """[N,H,W,C] or [N,C,H,W] attribute list -> [H, W]."""
    return [vals[1], vals[2]] if nhwc else [vals[2], vals[3]]


def _padding(node, nhwc):
    mode = node.s("padding", "VALID")
    explicit = [0, 0, 0, 0]
    if mode == "EXPLICIT":
        e = node.ints("explicit_paddings")
        explicit = [e[2], e[3], e[4], e[5]] if nhwc else [e[4], e[5], e[6], e[7]]
    elif mode not in ("SAME", "VALID"):
        raise Unsupported("%s %s: padding %s" % (node.op, node.name, mode))
    return mode, explicit


def _fused(node, ctx, n_base):
    """fused_ops -> (bias or None, act code, alpha, leaky alpha), following tfjs' executor."""
    ops_ = [o.lower() for o in node.strs("fused_ops", [])]
    extra = node.inputs[n_base:]
    bias, alpha = None, torch.zeros(1)
    if not ops_:
        return bias, ACT_NONE, alpha, 0.2
    first, act_name = ops_[0], (ops_[1] if len(ops_) > 1 else "")
    if first == "biasadd":
        bias = _need_const(ctx, node, extra[0], "bias")
        extra = extra[1:]
    elif first in _FUSED_ACT and len(ops_) == 1:
        act_name = first
    else:
        raise Unsupported("%s %s: fused_ops %s" % (node.op, node.name, ops_))
    if act_name not in _FUSED_ACT:
        raise Unsupported("%s %s: fused activation %s" % (node.op, node.name, act_name))
    act = _FUSED_ACT[act_name]
    if act == ACT_PRELU:
        alpha = _t(_need_const(ctx, node, extra[0], "prelu alpha"))
    return bias, act, alpha, node.f("leakyrelu_alpha", 0.2)


def conv_conv2d(node, ctx):
    nhwc = _nhwc(node)
    w = _need_const(ctx, node, node.inputs[1], "filter")  # [kh, kw, in, out] or [kh, kw, in, mult]
    depthwise = "Depthwise" in node.op
    kh, kw, cin, cout = w.shape
    if depthwise:
        # output channel c*mult + m <- filter[:, :, c, m]
        weight = _t(w.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw))
        groups, nout = cin, cin * cout
    else:
        weight = _t(w.transpose(3, 2, 0, 1))
        groups, nout = 1, cout
    bias, act, alpha, leaky = (None, ACT_NONE, torch.zeros(1), 0.2)
    if node.op.startswith("_Fused") or node.op.startswith("Fused"):
        bias, act, alpha, leaky = _fused(node, ctx, 2)
    bias_t = _t(bias).reshape(-1) if bias is not None else torch.zeros(nout)
    mode, explicit = _padding(node, nhwc)
    stride = _hw(node.ints("strides", [1, 1, 1, 1]), nhwc)
    dil = _hw(node.ints("dilations", [1, 1, 1, 1]), nhwc)
    return Conv2d(weight, bias_t, mode, explicit, stride, dil, groups, nhwc, act, alpha, leaky), [node.inputs[0]]


def conv_pool(node, ctx):
    nhwc = _nhwc(node)
    mode, explicit = _padding(node, nhwc)
    return (Pool2d(node.op == "MaxPool", mode, explicit, _hw(node.ints("ksize"), nhwc),
                   _hw(node.ints("strides"), nhwc), nhwc), [node.inputs[0]])


def conv_matmul(node, ctx):
    ta, tb = node.b("transpose_a"), node.b("transpose_b")
    w = ctx.const(node.inputs[1])
    fused = node.op == "_FusedMatMul"
    if w is None or w.ndim != 2:
        if fused:
            raise Unsupported("_FusedMatMul %s with a non-constant or batched right operand" % node.name)
        return MatMul2(ta, tb), node.inputs[:2]
    w = w.T if tb else w
    bias, act, alpha, leaky = (None, ACT_NONE, torch.zeros(1), 0.2)
    if fused:
        bias, act, alpha, leaky = _fused(node, ctx, 2)
    bias_t = _t(bias).reshape(-1) if bias is not None else torch.zeros(w.shape[1])
    return MatMul(_t(w), bias_t, ta, act, alpha, leaky), [node.inputs[0]]


def conv_binary(node, ctx):
    if node.op == "BiasAdd" and not _nhwc(node):
        return BiasAddNCHW(), node.inputs[:2]
    return Binary(_BINARY[node.op]), node.inputs[:2]


def conv_unary(node, ctx):
    return Unary(_UNARY[node.op], node.f("alpha", 0.2)), [node.inputs[0]]


def conv_prelu(node, ctx):
    return Prelu(_t(_need_const(ctx, node, node.inputs[1], "alpha"))), [node.inputs[0]]


def conv_reduce(node, ctx):
    axes = np.asarray(_need_const(ctx, node, node.inputs[1], "axes")).reshape(-1)
    return Reduce(_REDUCE[node.op], [int(a) for a in axes], node.b("keep_dims")), [node.inputs[0]]


def conv_reshape(node, ctx):
    shape = [int(s) for s in np.asarray(_need_const(ctx, node, node.inputs[1], "shape")).reshape(-1)]
    return Reshape(shape), [node.inputs[0]]


def conv_squeeze(node, ctx):
    return Squeeze(node.ints("squeeze_dims", []) or node.ints("axis", []) or []), [node.inputs[0]]


def conv_expand_dims(node, ctx):
    axis = int(np.asarray(_need_const(ctx, node, node.inputs[1], "axis")).reshape(-1)[0])
    return ExpandDims(axis), [node.inputs[0]]


def conv_transpose(node, ctx):
    perm = [int(p) for p in np.asarray(_need_const(ctx, node, node.inputs[1], "perm")).reshape(-1)]
    return Transpose(perm), [node.inputs[0]]


def conv_concat(node, ctx):
    if node.op == "ConcatV2":
        axis_ref, data = node.inputs[-1], node.inputs[:-1]
    else:  # Concat: axis first
        axis_ref, data = node.inputs[0], node.inputs[1:]
    n = node.i("N")
    if n is not None:
        data = data[:n]
    axis = int(np.asarray(_need_const(ctx, node, axis_ref, "axis")).reshape(-1)[0])
    return Concat(axis), data


def conv_pad(node, ctx):
    p = np.asarray(_need_const(ctx, node, node.inputs[1], "paddings")).reshape(-1, 2)
    pads = []
    for before, after in p[::-1]:  # F.pad lists the last dimension first
        pads += [int(before), int(after)]
    value = 0.0
    if node.op == "PadV2":
        value = float(np.asarray(_need_const(ctx, node, node.inputs[2], "constant_values")).reshape(-1)[0])
    return Pad(pads, value), [node.inputs[0]]


def conv_resize_bilinear(node, ctx):
    size = [int(s) for s in np.asarray(_need_const(ctx, node, node.inputs[1], "size")).reshape(-1)]
    return ResizeBilinear(size, node.b("align_corners"), node.b("half_pixel_centers")), [node.inputs[0]]


def conv_addn(node, ctx):
    return AddN(), list(node.inputs)


CONVERTERS = {
    "Conv2D": conv_conv2d, "DepthwiseConv2dNative": conv_conv2d, "DepthwiseConv2d": conv_conv2d,
    "_FusedConv2D": conv_conv2d, "FusedDepthwiseConv2dNative": conv_conv2d,
    "MaxPool": conv_pool, "AvgPool": conv_pool,
    "MatMul": conv_matmul, "_FusedMatMul": conv_matmul,
    "Prelu": conv_prelu,
    "Reshape": conv_reshape, "Squeeze": conv_squeeze, "ExpandDims": conv_expand_dims,
    "Transpose": conv_transpose, "Concat": conv_concat, "ConcatV2": conv_concat,
    "Pad": conv_pad, "PadV2": conv_pad, "ResizeBilinear": conv_resize_bilinear, "AddN": conv_addn,
}
CONVERTERS.update({op: conv_binary for op in _BINARY})
CONVERTERS.update({op: conv_unary for op in _UNARY})
CONVERTERS.update({op: conv_reduce for op in _REDUCE})

SUPPORTED_OPS = sorted(CONVERTERS) + ["Const", "Placeholder"]
