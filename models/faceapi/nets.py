"""face-api's six networks as TorchScript-able nn.Modules.

Every module takes ONE input ``float32 [N,3,H,W]``, RGB in 0..255, and does its
own normalisation. Architectures follow face-api 1.7.15 ``src/`` exactly:

* ssdMobilenetv1/{SsdMobilenetv1,mobileNetV1,predictionLayer,outputLayer}.ts
* tinyYolov2/TinyYolov2Base.ts (runMobilenet) + tinyFaceDetector/
* faceFeatureExtractor/{FaceFeatureExtractor,denseBlock}.ts + faceProcessor/
* faceRecognitionNet/*.ts
* xception/TinyXception.ts + ageGenderNet/AgeGenderNet.ts

TensorFlow "same" padding (asymmetric when the stride is 2: more at
bottom/right) is reproduced with explicit ``F.pad``, or, once the input size
is known (``specialize``, as the exporter does with each card's size), with
padding fixed inside the convs and pools, so that the graph has no shape
tests and stays in oneDNN's layout on CPU. No device constants:
every created tensor follows ``x.device`` / ``x.dtype`` so ``.half().cuda()``
works.
"""
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------
def _same_pads(n: int, k: int, s: int) -> Tuple[int, int]:
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class TFConv(nn.Module):
    """tf.conv2d / tf.depthwiseConv2d with 'same' or 'valid' padding."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, same: bool = True,
                 groups: int = 1, bias: bool = True):
        super().__init__()
        self.k = k
        self.stride = stride
        self.same = same
        # symmetric 'same' (stride 1, odd kernel) can use the conv's own padding
        self.sym = same and stride == 1 and k % 2 == 1
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=(k // 2 if self.sym else 0),
                              groups=groups, bias=bias)
        self.folded = False  # set by fold_padding(), after the weights are loaded
        self.static = False  # set by specialize_padding(): input size known, no F.pad

    def fold_padding(self):
        """Make a stride-2 'same' conv (odd kernel k) pad symmetrically, so no F.pad.

        TF pads such a conv (k >= 3) asymmetrically, one more row/column after
        than before, which PyTorch's conv padding cannot express; the F.pad it
        needed copies every activation (and on CPU reorders it out of and
        back into oneDNN's layout). A (k+1)-kernel whose first row and column
        are zero reads exactly TF's windows with a symmetric padding of
        (k-1)/2 when the input size is even, plus one leading zero row/column
        (an F.pad) when it is odd. Same products, same sums.
        """
        # (k = 1 reads no padding at all: nothing to fold.)
        if not (self.same and self.stride == 2 and self.k % 2 == 1 and self.k >= 3) or self.folded:
            return
        c = self.conv
        k = self.k
        grown = nn.Conv2d(c.in_channels, c.out_channels, k + 1, 2, padding=(k - 1) // 2,
                          groups=c.groups, bias=c.bias is not None)
        with torch.no_grad():
            grown.weight.zero_()
            grown.weight[:, :, 1:, 1:] = c.weight
            if c.bias is not None:
                grown.bias.copy_(c.bias)
        self.conv = grown
        self.folded = True

    def specialize(self, h: int, w: int):
        """Fix the padding for inputs of h x w (see specialize_padding)."""
        if self.static:
            return
        if not self.folded:
            if self.same and not self.sym:
                ph = _same_pads(h, self.k, self.stride)
                pw = _same_pads(w, self.k, self.stride)
                if ph[0] == ph[1] and pw[0] == pw[1]:  # symmetric: the conv's own padding
                    self.conv.padding = (ph[0], pw[0])
                    self.static = True
            return
        if h % 2 != w % 2:
            return  # mixed parity: keep the general path
        if h % 2 == 1:
            # odd size: TF pads (k-1)/2 on both sides, the original kernel's symmetric padding
            c = self.conv
            k = self.k
            orig = nn.Conv2d(c.in_channels, c.out_channels, k, 2, padding=(k - 1) // 2,
                             groups=c.groups, bias=c.bias is not None)
            with torch.no_grad():
                orig.weight.copy_(c.weight[:, :, 1:, 1:])
                if c.bias is not None:
                    orig.bias.copy_(c.bias)
            self.conv = orig
        self.static = True

    def forward(self, x):
        if self.static:
            return self.conv(x)
        if self.folded:
            ph = x.shape[2] % 2
            pw = x.shape[3] % 2
            if ph != 0 or pw != 0:
                x = F.pad(x, [pw, 0, ph, 0])
        elif self.same and not self.sym:
            ph = _same_pads(x.shape[2], self.k, self.stride)
            pw = _same_pads(x.shape[3], self.k, self.stride)
            x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]])
        return self.conv(x)


def fold_padding(module: nn.Module) -> nn.Module:
    """TFConv.fold_padding on every conv of ``module`` (call once weights are loaded)."""
    for m in module.modules():
        if isinstance(m, TFConv):
            m.fold_padding()
    return module


def specialize_padding(module: nn.Module, size: int) -> nn.Module:
    """Fix every folded conv's padding for a size x size input (the model card's).

    The general path tests each stride-2 conv's input parity at run time; that
    branch splits LibTorch's oneDNN graph (optimize_for_inference) into pieces,
    with a reorder out of oneDNN's layout and back around each. Knowing the
    input size, the branch goes; inputs of another size would then give wrong
    windows, so use specialize(), which refuses them.
    """
    shapes = {}
    hooks = [m.register_forward_pre_hook(
                 lambda mod, inp: shapes.setdefault(mod, set()).add(tuple(inp[0].shape[2:])))
             for m in module.modules() if isinstance(m, (TFConv, TFMaxPoolSame, Residual))]
    with torch.no_grad():
        module(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    for m, seen in shapes.items():
        if len(seen) == 1:  # a module called at several sizes (a shared pool) stays general
            h, w = next(iter(seen))
            m.specialize(int(h), int(w))
    return module


class FixedInputSize(nn.Module):
    """A net specialised (specialize_padding) for size x size inputs; refuses others."""

    def __init__(self, net: nn.Module, size: int):
        super().__init__()
        self.net = net
        self.size = size

    def forward(self, x):
        if x.shape[2] != self.size or x.shape[3] != self.size:
            raise ValueError("this model takes [N, 3, " + str(self.size) + ", " + str(self.size)
                             + "] input, got " + str(x.shape))
        return self.net(x)


def specialize(module: nn.Module, size: int) -> nn.Module:
    """specialize_padding, wrapped so that another input size is an error, not a wrong result."""
    return FixedInputSize(specialize_padding(module, size), size)


def channels_last(x):
    """NHWC activations. On CPU oneDNN then convolves them in place of
    reordering each one to its blocked layout and back (measured 1.3-1.9x
    faster per forward pass on face-api's SSD, landmark, expression and
    age/gender nets: bench/results/); cuDNN prefers NHWC for fp16 too."""
    return x.contiguous(memory_format=torch.channels_last)


class SepConv(nn.Module):
    """tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias."""

    def __init__(self, cin: int, cout: int, stride: int = 1, same: bool = True):
        super().__init__()
        self.depthwise = TFConv(cin, cin, 3, stride, same=same, groups=cin, bias=False)
        self.pointwise = TFConv(cin, cout, 1, 1, bias=True)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class TFMaxPoolSame(nn.Module):
    """tf.maxPool(x, k, s, 'same'): pads with -inf (asymmetric, bottom/right first)."""

    def __init__(self, k: int, s: int):
        super().__init__()
        self.k = k
        self.s = s
        self.static = False  # set by specialize(): max_pool2d's own padding, no F.pad
        self.pad = 0
        self.ceil = False

    def specialize(self, h: int, w: int):
        """Fix the padding for inputs of h x w (see specialize_padding).

        TF's (p, p) padding is max_pool2d's own -inf padding p; TF's (p, p+1)
        is padding p plus ceil_mode's partial last window (stride >= 2 only).
        """
        ph = _same_pads(h, self.k, self.s)
        pw = _same_pads(w, self.k, self.s)
        if ph != pw or ph[1] - ph[0] not in (0, 1) or (ph[1] > ph[0] and self.s < 2):
            return
        self.pad = ph[0]
        self.ceil = ph[1] > ph[0]
        self.static = True

    def forward(self, x):
        if self.static:
            return F.max_pool2d(x, self.k, self.s, self.pad, 1, self.ceil)
        ph = _same_pads(x.shape[2], self.k, self.s)
        pw = _same_pads(x.shape[3], self.k, self.s)
        if ph[0] + ph[1] + pw[0] + pw[1] > 0:
            x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]], value=float("-inf"))
        return F.max_pool2d(x, self.k, self.s)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def set_conv(m: TFConv, w, filters, bias=None):
    """filters: HWIO [kh,kw,in,out] (or depthwise [kh,kw,C,1])."""
    f = w[filters]
    if m.conv.groups > 1:  # depthwise [kh,kw,C,1] -> [C,1,kh,kw]
        t = _t(f).permute(2, 3, 0, 1)
    else:  # HWIO -> OIHW
        t = _t(f).permute(3, 2, 0, 1)
    assert tuple(t.shape) == tuple(m.conv.weight.shape), (filters, t.shape, m.conv.weight.shape)
    m.conv.weight.data.copy_(t)
    if bias is not None:
        b = _t(w[bias]) if isinstance(bias, str) else _t(bias)
        m.conv.bias.data.copy_(b.reshape(-1))


def set_sep(m: SepConv, w, prefix):
    set_conv(m.depthwise, w, prefix + "/depthwise_filter")
    set_conv(m.pointwise, w, prefix + "/pointwise_filter", prefix + "/bias")


def set_linear(m: nn.Linear, w, weights, bias=None):
    m.weight.data.copy_(_t(w[weights]).t())  # [in,out] -> [out,in]
    if bias is not None:
        m.bias.data.copy_(_t(w[bias]).reshape(-1))
    else:
        m.bias.data.zero_()


# --------------------------------------------------------------------------
# SSD MobileNet v1
# --------------------------------------------------------------------------
class PointwiseConvLayer(nn.Module):
    """conv 'same' + batch_norm_offset, clip 0..6 (ssdMobilenetv1/pointwiseConvLayer.ts)."""

    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.c = TFConv(cin, cout, k, stride, bias=True)

    def forward(self, x):
        return F.relu6(self.c(x))


class SsdMobilenetv1(nn.Module):
    """Input [N,3,512,512] RGB 0..255 -> (boxes [N,5118,4] x1y1x2y2 in [0,1], scores [N,5118])."""

    def __init__(self):
        super().__init__()
        chans = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
        self.conv_0 = PointwiseConvLayer(3, 32, 3, 2)
        dw = []
        pw = []
        for i in range(1, 14):
            s = 2 if i in (2, 4, 6, 12) else 1
            dw.append(TFConv(chans[i - 1], chans[i - 1], 3, s, groups=chans[i - 1], bias=True))
            pw.append(PointwiseConvLayer(chans[i - 1], chans[i], 1, 1))
        self.dw = nn.ModuleList(dw)
        self.pw = nn.ModuleList(pw)
        pc = [(1024, 256, 1, 1), (256, 512, 3, 2), (512, 128, 1, 1), (128, 256, 3, 2),
              (256, 128, 1, 1), (128, 256, 3, 2), (256, 64, 1, 1), (64, 128, 3, 2)]
        self.pred = nn.ModuleList([PointwiseConvLayer(a, b, k, s) for a, b, k, s in pc])
        bp_in = [512, 1024, 512, 256, 256, 128]
        bp_anchors = [3, 6, 6, 6, 6, 6]
        self.box_enc = nn.ModuleList([TFConv(c, a * 4, 1) for c, a in zip(bp_in, bp_anchors)])
        self.cls = nn.ModuleList([TFConv(c, a * 3, 1) for c, a in zip(bp_in, bp_anchors)])
        # anchors as (ymin, xmin, ymax, xmax) -> kept as centers / sizes
        self.register_buffer("anchor_ctr", torch.zeros(5118, 2))  # (cy, cx)
        self.register_buffer("anchor_size", torch.zeros(5118, 2))  # (h, w)

    def load_faceapi(self, w):
        set_conv(self.conv_0.c, w, "MobilenetV1/Conv2d_0_pointwise/weights",
                 "MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset")
        eps = 0.0010000000474974513
        for i in range(1, 14):
            p = "MobilenetV1/Conv2d_%d_depthwise/" % i
            # fold tf.batchNorm into the depthwise conv (computed in float64)
            f = w[p + "depthwise_weights"].astype(np.float64)
            g = w[p + "BatchNorm/gamma"].astype(np.float64)
            b = w[p + "BatchNorm/beta"].astype(np.float64)
            mu = w[p + "BatchNorm/moving_mean"].astype(np.float64)
            var = w[p + "BatchNorm/moving_variance"].astype(np.float64)
            inv = g / np.sqrt(var + eps)
            set_conv(self.dw[i - 1], {"f": f * inv[None, None, :, None]}, "f", (b - mu * inv))
            q = "MobilenetV1/Conv2d_%d_pointwise/" % i
            set_conv(self.pw[i - 1].c, w, q + "weights", q + "convolution_bn_offset")
        for i in range(8):
            q = "Prediction/Conv2d_%d_pointwise/" % i
            set_conv(self.pred[i].c, w, q + "weights", q + "convolution_bn_offset")
        for i in range(6):
            q = "Prediction/BoxPredictor_%d/" % i
            set_conv(self.box_enc[i], w, q + "BoxEncodingPredictor/weights", q + "BoxEncodingPredictor/biases")
            set_conv(self.cls[i], w, q + "ClassPredictor/weights", q + "ClassPredictor/biases")
        a = w["Output/extra_dim"].reshape(-1, 4).astype(np.float32)
        # outputLayer.ts computes sizes and centers in float32 exactly like this
        sizes = np.stack([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]], 1).astype(np.float32)
        ctr = np.stack([a[:, 0] + sizes[:, 0] / np.float32(2), a[:, 1] + sizes[:, 1] / np.float32(2)], 1)
        self.anchor_size.copy_(_t(sizes))
        self.anchor_ctr.copy_(_t(ctr))

    @staticmethod
    def _flat(head: torch.Tensor, n: int, width: int) -> torch.Tensor:
        """[N, anchors * width, H, W] -> [N, H * W * anchors, width] (TF's NHWC order)."""
        return head.permute(0, 2, 3, 1).reshape(n, -1, width)

    def forward(self, x):
        n = x.shape[0]
        x = channels_last(x / 127.5 - 1.0)
        out = self.conv_0(x)
        conv11 = out
        i = 0
        for dw, pw in zip(self.dw, self.pw):
            out = pw(F.relu6(dw(out)))
            i += 1
            if i == 11:
                conv11 = out
        # The six feature maps go straight into their box and class heads (no
        # list of feature maps): on CPU they then stay in oneDNN's layout, and
        # only the small head outputs are reordered back.
        f2 = self.pred[1](self.pred[0](out))
        f3 = self.pred[3](self.pred[2](f2))
        f4 = self.pred[5](self.pred[4](f3))
        f5 = self.pred[7](self.pred[6](f4))
        enc = torch.cat([self._flat(self.box_enc[0](conv11), n, 4), self._flat(self.box_enc[1](out), n, 4),
                         self._flat(self.box_enc[2](f2), n, 4), self._flat(self.box_enc[3](f3), n, 4),
                         self._flat(self.box_enc[4](f4), n, 4), self._flat(self.box_enc[5](f5), n, 4)], 1)
        cls = torch.cat([self._flat(self.cls[0](conv11), n, 3), self._flat(self.cls[1](out), n, 3),
                         self._flat(self.cls[2](f2), n, 3), self._flat(self.cls[3](f3), n, 3),
                         self._flat(self.cls[4](f4), n, 3), self._flat(self.cls[5](f5), n, 3)], 1)
        scores = torch.sigmoid(cls[:, :, 1])
        ctr = self.anchor_ctr.to(enc.dtype)
        size = self.anchor_size.to(enc.dtype)
        # decodeBoxesLayer: enc = (ty, tx, th, tw), variances 10, 10, 5, 5
        cy = enc[:, :, 0] / 10.0 * size[:, 0] + ctr[:, 0]
        cx = enc[:, :, 1] / 10.0 * size[:, 1] + ctr[:, 1]
        hh = torch.exp(enc[:, :, 2] / 5.0) * size[:, 0] / 2.0
        hw = torch.exp(enc[:, :, 3] / 5.0) * size[:, 1] / 2.0
        boxes = torch.stack([cx - hw, cy - hh, cx + hw, cy + hh], 2)
        return boxes, scores


# --------------------------------------------------------------------------
# Tiny face detector (tiny yolo v2 with separable convs)
# --------------------------------------------------------------------------
def _leaky(x):
    # leaky.ts: relu(x - 0.1x) + 0.1x  == leaky_relu(x, 0.1)
    return F.leaky_relu(x, 0.10000000149011612)


class TinyFaceDetector(nn.Module):
    """Input [N,3,416,416] RGB 0..255 -> (boxes [N,845,4] x1y1x2y2 in [0,1] of the input, scores [N,845])."""

    ANCHORS = [(1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061),
               (4.266906, 5.178857), (9.041765, 10.66308)]
    MEAN_RGB = (117.001, 114.697, 97.404)

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(self.MEAN_RGB).view(1, 3, 1, 1))
        self.register_buffer("anchors", torch.tensor(self.ANCHORS))  # (x, y)
        self.conv0 = TFConv(3, 16, 3, 1, same=False)
        ch = [16, 32, 64, 128, 256, 512]
        self.sep = nn.ModuleList([SepConv(ch[i], ch[i + 1], 1, same=False) for i in range(5)])
        self.pool2 = TFMaxPoolSame(2, 2)
        self.pool1 = TFMaxPoolSame(2, 1)
        self.conv8 = TFConv(512, 25, 1, 1, same=False)

    def load_faceapi(self, w):
        set_conv(self.conv0, w, "conv0/filters", "conv0/bias")
        for i in range(5):
            set_sep(self.sep[i], w, "conv%d" % (i + 1))
        set_conv(self.conv8, w, "conv8/filters", "conv8/bias")

    def forward(self, x):
        n = x.shape[0]
        x = (x - self.mean) / 255.0
        out = _leaky(self.conv0(x))
        i = 0
        for sep in self.sep:
            out = self.pool2(out) if i < 5 else out
            # depthwiseSeparableConv.ts: pad 1 then 'valid'
            out = _leaky(sep(F.pad(out, [1, 1, 1, 1])))
            i += 1
            if i == 5:
                out = self.pool1(out)
        out = self.conv8(out)  # [N,25,g,g]
        g = out.shape[2]
        gw = out.shape[3]
        r = out.permute(0, 2, 3, 1).reshape(n, g, gw, 5, 5)
        col = torch.arange(gw, device=x.device, dtype=x.dtype).view(1, 1, gw, 1)
        row = torch.arange(g, device=x.device, dtype=x.dtype).view(1, g, 1, 1)
        anc = self.anchors.to(x.dtype)
        ctx = (col + torch.sigmoid(r[..., 0])) / float(gw)
        cty = (row + torch.sigmoid(r[..., 1])) / float(g)
        bw = torch.exp(r[..., 2]) * anc[:, 0] / float(gw)
        bh = torch.exp(r[..., 3]) * anc[:, 1] / float(g)
        x1 = ctx - bw / 2.0
        y1 = cty - bh / 2.0
        boxes = torch.stack([x1, y1, x1 + bw, y1 + bh], -1).reshape(n, -1, 4)
        scores = torch.sigmoid(r[..., 4]).reshape(n, -1)  # single class: classScore == 1
        return boxes, scores


# --------------------------------------------------------------------------
# Face feature extractor (dense blocks) + landmark / expression heads
# --------------------------------------------------------------------------
FACE_MEAN_RGB = (122.782, 117.001, 104.298)


class DenseBlock4(nn.Module):
    def __init__(self, cin, cout, first=False):
        super().__init__()
        self.first = first
        if first:
            self.conv0 = TFConv(cin, cout, 3, 2, bias=True)
            self.conv0s = SepConv(1, 1)  # unused placeholder (keeps TorchScript attrs typed)
        else:
            self.conv0 = TFConv(1, 1, 1)  # unused placeholder
            self.conv0s = SepConv(cin, cout, 2)
        self.conv1 = SepConv(cout, cout)
        self.conv2 = SepConv(cout, cout)
        self.conv3 = SepConv(cout, cout)

    def load(self, w, p):
        if self.first:
            set_conv(self.conv0, w, p + "/conv0/filters", p + "/conv0/bias")
        else:
            set_sep(self.conv0s, w, p + "/conv0")
        for i, m in enumerate([self.conv1, self.conv2, self.conv3]):
            set_sep(m, w, "%s/conv%d" % (p, i + 1))

    def forward(self, x):
        if self.first:
            out1 = F.relu(self.conv0(x))
        else:
            out1 = F.relu(self.conv0s(x))
        out2 = self.conv1(out1)
        out3 = self.conv2(F.relu(out1 + out2))
        out4 = self.conv3(F.relu(out1 + (out2 + out3)))
        return F.relu(out1 + (out2 + (out3 + out4)))


class FaceFeatureExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(FACE_MEAN_RGB).view(1, 3, 1, 1))
        self.dense0 = DenseBlock4(3, 32, first=True)
        self.dense1 = DenseBlock4(32, 64)
        self.dense2 = DenseBlock4(64, 128)
        self.dense3 = DenseBlock4(128, 256)

    def load(self, w):
        for i, d in enumerate([self.dense0, self.dense1, self.dense2, self.dense3]):
            d.load(w, "dense%d" % i)

    def forward(self, x):
        x = channels_last((x - self.mean) / 255.0)
        out = self.dense3(self.dense2(self.dense1(self.dense0(x))))
        return F.avg_pool2d(out, 7, 2)  # tf.avgPool 7x7 stride 2 'valid'


class _FeatureHeadNet(nn.Module):
    """face-api's FaceProcessor: the shared feature extractor, then one linear
    layer of OUTPUTS values."""

    OUTPUTS = 0

    def __init__(self):
        super().__init__()
        self.features = FaceFeatureExtractor()
        self.fc = nn.Linear(256, self.OUTPUTS)

    def load_faceapi(self, w):
        self.features.load(w)
        set_linear(self.fc, w, "fc/weights", "fc/bias")

    def forward(self, x):
        f = self.features(x)
        return self.fc(f.reshape(f.shape[0], -1))


class FaceLandmark68Net(_FeatureHeadNet):
    """Input [N,3,112,112] -> [N,136] (x0,y0,x1,y1,... in [0,1] of the 112 input)."""

    OUTPUTS = 136


class FaceExpressionNet(_FeatureHeadNet):
    """Input [N,3,112,112] -> [N,7] logits (face-api applies softmax)."""

    OUTPUTS = 7
    LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]


# --------------------------------------------------------------------------
# Face recognition (ResNet-34-like, dlib port)
# --------------------------------------------------------------------------
class RecConv(nn.Module):
    """faceRecognitionNet/convLayer.ts: conv + bias, scale layer (mul + add), optional relu."""

    def __init__(self, cin, cout, k, stride, same):
        super().__init__()
        self.c = TFConv(cin, cout, k, stride, same=same)
        self.register_buffer("sw", torch.ones(1, cout, 1, 1))
        self.register_buffer("sb", torch.zeros(1, cout, 1, 1))

    def load(self, w, p):
        set_conv(self.c, w, p + "/conv/filters", p + "/conv/bias")
        self.sw.copy_(_t(w[p + "/scale/weights"]).view(1, -1, 1, 1))
        self.sb.copy_(_t(w[p + "/scale/biases"]).view(1, -1, 1, 1))

    def forward(self, x):
        return self.c(x) * self.sw + self.sb


class Residual(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        self.down = down
        self.cin = cin
        self.cout = cout
        self.conv1 = RecConv(cin, cout, 3, 2 if down else 1, same=not down)
        self.conv2 = RecConv(cout, cout, 3, 1, same=True)
        self.static = False  # set by specialize(): shapes known, no shape tests
        self.pad_out = False
        # static only: the shortcut's zero channels as a 1x1 conv [I; 0]
        # (exact: x * 1 + 0s), which oneDNN keeps in its layout; cat does not
        self.widen = nn.Conv2d(cin, cout, 1, bias=False) if down and cin != cout else nn.Identity()

    def load(self, w, p):
        self.conv1.load(w, p + "/conv1")
        self.conv2.load(w, p + "/conv2")

    def specialize(self, h: int, w: int):
        if not self.down:
            return
        out_h = (h - 3) // 2 + 1  # conv1: 3x3, stride 2, 'valid'
        out_w = (w - 3) // 2 + 1
        self.pad_out = out_h != h // 2 or out_w != w // 2
        if isinstance(self.widen, nn.Conv2d):
            with torch.no_grad():
                self.widen.weight.zero_()
                self.widen.weight[:self.cin, :, 0, 0] = torch.eye(self.cin)
        self.static = True

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        if self.static:
            pooled = F.avg_pool2d(x, 2, 2)
            if self.pad_out:
                out = F.pad(out, [0, 1, 0, 1])
            if self.cin != self.cout:
                pooled = self.widen(pooled)
            return F.relu(pooled + out)
        if self.down:
            pooled = F.avg_pool2d(x, 2, 2)
            if pooled.shape[2] != out.shape[2] or pooled.shape[3] != out.shape[3]:
                # residualDown: zero row at the bottom, zero column at the right
                out = F.pad(out, [0, 1, 0, 1])
            if self.cin != self.cout:
                pooled = torch.cat([pooled, torch.zeros_like(pooled)], 1)
            return F.relu(pooled + out)
        return F.relu(out + x)


class FaceRecognitionNet(nn.Module):
    """Input [N,3,150,150] -> [N,128] descriptor (not normalised)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(FACE_MEAN_RGB).view(1, 3, 1, 1))
        self.conv32_down = RecConv(3, 32, 7, 2, same=False)
        spec = [("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
                ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
                ("conv64_3", 64, 64, False), ("conv128_down", 64, 128, True), ("conv128_1", 128, 128, False),
                ("conv128_2", 128, 128, False), ("conv256_down", 128, 256, True),
                ("conv256_1", 256, 256, False), ("conv256_2", 256, 256, False),
                ("conv256_down_out", 256, 256, True)]
        self.names = [s[0] for s in spec]
        self.blocks = nn.ModuleList([Residual(a, b, d) for _, a, b, d in spec])
        self.fc = nn.Linear(256, 128, bias=False)

    def load_faceapi(self, w):
        self.conv32_down.load(w, "conv32_down")
        for name, b in zip(self.names, self.blocks):
            b.load(w, name)
        self.fc.weight.data.copy_(_t(w["fc"]).t())

    def forward(self, x):
        x = (x - self.mean) / 255.0
        out = F.relu(self.conv32_down(x))
        out = F.max_pool2d(out, 3, 2)  # 'valid'
        for b in self.blocks:
            out = b(out)
        return self.fc(out.mean(dim=[2, 3]))


# --------------------------------------------------------------------------
# Age / gender (TinyXception)
# --------------------------------------------------------------------------
class ReductionBlock(nn.Module):
    def __init__(self, cin, cout, activate_input):
        super().__init__()
        self.activate_input = activate_input
        self.separable_conv0 = SepConv(cin, cout)
        self.separable_conv1 = SepConv(cout, cout)
        self.pool = TFMaxPoolSame(3, 2)
        self.expansion_conv = TFConv(cin, cout, 1, 2)

    def load(self, w, p):
        set_sep(self.separable_conv0, w, p + "/separable_conv0")
        set_sep(self.separable_conv1, w, p + "/separable_conv1")
        set_conv(self.expansion_conv, w, p + "/expansion_conv/filters", p + "/expansion_conv/bias")

    def forward(self, x):
        out = F.relu(x) if self.activate_input else x
        out = self.separable_conv0(out)
        out = self.separable_conv1(F.relu(out))
        out = self.pool(out)
        return out + self.expansion_conv(x)


class MainBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.separable_conv0 = SepConv(c, c)
        self.separable_conv1 = SepConv(c, c)
        self.separable_conv2 = SepConv(c, c)

    def load(self, w, p):
        for i, m in enumerate([self.separable_conv0, self.separable_conv1, self.separable_conv2]):
            set_sep(m, w, "%s/separable_conv%d" % (p, i))

    def forward(self, x):
        out = self.separable_conv0(F.relu(x))
        out = self.separable_conv1(F.relu(out))
        out = self.separable_conv2(F.relu(out))
        return out + x


class AgeGenderNet(nn.Module):
    """Input [N,3,112,112] -> (age [N,1] years, gender logits [N,2] = (male, female))."""

    LABELS = ["male", "female"]

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(FACE_MEAN_RGB).view(1, 3, 1, 1))
        self.conv_in = TFConv(3, 32, 3, 2)
        self.reduction_block_0 = ReductionBlock(32, 64, False)
        self.reduction_block_1 = ReductionBlock(64, 128, True)
        self.main_blocks = nn.ModuleList([MainBlock(128), MainBlock(128)])
        self.exit_reduction = ReductionBlock(128, 256, True)
        self.exit_sep = SepConv(256, 512)
        self.age = nn.Linear(512, 1)
        self.gender = nn.Linear(512, 2)

    def load_faceapi(self, w):
        set_conv(self.conv_in, w, "entry_flow/conv_in/filters", "entry_flow/conv_in/bias")
        self.reduction_block_0.load(w, "entry_flow/reduction_block_0")
        self.reduction_block_1.load(w, "entry_flow/reduction_block_1")
        for i, m in enumerate(self.main_blocks):
            m.load(w, "middle_flow/main_block_%d" % i)
        self.exit_reduction.load(w, "exit_flow/reduction_block")
        set_sep(self.exit_sep, w, "exit_flow/separable_conv")
        set_linear(self.age, w, "fc/age/weights", "fc/age/bias")
        set_linear(self.gender, w, "fc/gender/weights", "fc/gender/bias")

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        x = channels_last((x - self.mean) / 255.0)
        out = F.relu(self.conv_in(x))
        out = self.reduction_block_0(out)
        out = self.reduction_block_1(out)
        for m in self.main_blocks:
            out = m(out)
        out = self.exit_reduction(out)
        out = F.relu(self.exit_sep(out))
        pooled = F.avg_pool2d(out, 7, 2)
        pooled = pooled.reshape(pooled.shape[0], -1)
        return self.age(pooled), self.gender(pooled)
