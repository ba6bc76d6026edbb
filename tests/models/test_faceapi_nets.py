#!/usr/bin/python3
"""Building blocks of the face-api nets (models/faceapi/nets.py), without face-api.

TFConv.fold_padding turns TF's asymmetric stride-2 'same' padding into a
symmetric one by growing the kernel; it must give the very windows TF reads,
for even and odd input sizes, every odd kernel size, plain and depthwise convs,
eager and scripted. (End-to-end parity with face-api itself is
test_faceapi_parity.py.)
"""
import copy
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
from faceapi import nets  # noqa: E402

torch.set_num_threads(1)
SIZES = [(16, 16), (17, 17), (16, 17), (9, 12), (5, 5), (2, 2), (1, 1), (3, 4), (512, 512)]


class FoldPadding(unittest.TestCase):
    def test_folded_conv_equals_tf_same_padding(self):
        torch.manual_seed(0)
        for k in (1, 3, 5, 7):
            for groups in (1, 4):
                ref = nets.TFConv(4, 4, k, 2, groups=groups, bias=(groups == 1)).eval()
                folded = copy.deepcopy(ref)
                folded.fold_padding()
                self.assertEqual(folded.folded, k >= 3)
                grown = k + 1 if k >= 3 else k
                self.assertEqual(tuple(folded.conv.weight.shape[-2:]), (grown, grown))
                scripted = torch.jit.script(folded)
                for h, w in SIZES:
                    if h == 512 and (k != 3 or groups != 1):
                        continue  # one large size is enough
                    x = torch.randn(2, 4, h, w)
                    with torch.no_grad():
                        a = ref(x)
                        b = folded(x)
                        c = scripted(x)
                    msg = "k=%d groups=%d input %dx%d" % (k, groups, h, w)
                    self.assertEqual(a.shape, b.shape, msg)
                    self.assertLess((a - b).abs().max().item(), 1e-5, msg)
                    self.assertLess((a - c).abs().max().item(), 1e-5, msg)

    def test_only_asymmetric_convs_fold(self):
        stride1 = nets.TFConv(4, 4, 3, 1)
        valid = nets.TFConv(4, 4, 3, 2, same=False)
        even_kernel = nets.TFConv(4, 4, 2, 2)
        pointwise = nets.TFConv(4, 4, 1, 2)  # TF pads a strided 1x1 conv by nothing
        for m in (stride1, valid, even_kernel, pointwise):
            m.fold_padding()
            self.assertFalse(m.folded)

    def test_ssd_convs_all_fold(self):
        ssd = nets.fold_padding(nets.SsdMobilenetv1())
        strided = [m for m in ssd.modules() if isinstance(m, nets.TFConv) and m.stride == 2]
        self.assertEqual(len(strided), 9)  # conv_0, four depthwise, four prediction convs
        self.assertTrue(all(m.folded for m in strided))

    def test_age_gender_folds_3x3_but_not_1x1(self):
        net = nets.fold_padding(nets.AgeGenderNet())
        strided = [m for m in net.modules() if isinstance(m, nets.TFConv) and m.stride == 2]
        self.assertTrue(all(m.folded == (m.k == 3) for m in strided))
        self.assertTrue(any(m.k == 1 for m in strided))

    def test_channels_last_keeps_values(self):
        x = torch.randn(2, 3, 8, 9)
        y = nets.channels_last(x)
        self.assertTrue(y.is_contiguous(memory_format=torch.channels_last))
        self.assertTrue(torch.equal(x, y))


def _optimized_graph_kinds(module):
    """Node kinds of ``module`` scripted, frozen and optimized as the server loads it."""
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(module).eval()))
    return [n.kind() for n in frozen.graph.nodes()]


class SpecializePadding(unittest.TestCase):
    """specialize_padding fixes each pad for one input size. It must read the
    very windows of the general path (bit for bit), and leave no shape test
    in the graph: each one split LibTorch's oneDNN graph, with a reorder of
    the activations out of oneDNN's layout and back around it."""

    def _same_at(self, general, special, h, w, msg, exact=True):
        x = torch.randn(2, 4, h, w) * 10
        with torch.no_grad():
            a = general(x)
            b = special(x)
            c = torch.jit.script(special)(x)
        self.assertEqual(a.shape, b.shape, msg)
        for y in (b, c):
            if exact:
                self.assertTrue(torch.equal(a, y), msg)
            else:
                self.assertLess((a - y).abs().max().item(), 1e-4, msg)

    def test_convs_read_the_same_windows(self):
        torch.manual_seed(0)
        for k in (1, 3, 5):
            for h, w in SIZES:
                if h == 512:
                    continue
                general = nets.TFConv(4, 4, k, 2).eval()
                general.fold_padding()
                special = copy.deepcopy(general)
                special.specialize(h, w)
                self.assertEqual(special.static, h % 2 == w % 2 or not special.folded,
                                 "k=%d %dx%d" % (k, h, w))
                # An odd size swaps the grown kernel back for the original one:
                # the same products, summed in another order.
                odd = special.folded and special.static and h % 2 == 1
                self._same_at(general, special, h, w, "k=%d input %dx%d" % (k, h, w), exact=not odd)

    def test_pools_read_the_same_windows(self):
        for k, s in ((3, 2), (2, 2), (2, 1)):
            for h, w in SIZES:
                general = nets.TFMaxPoolSame(k, s)
                special = copy.deepcopy(general)
                special.specialize(h, w)
                self._same_at(general, special, h, w, "pool k=%d s=%d input %dx%d" % (k, s, h, w))
        stride1 = nets.TFMaxPoolSame(2, 1)
        stride1.specialize(8, 8)
        self.assertFalse(stride1.static)  # (0, 1) padding at stride 1: no ceil_mode equivalent

    def test_residual_down_blocks_read_the_same_windows(self):
        torch.manual_seed(0)
        for cin, cout in ((4, 4), (4, 8)):
            for h in (35, 17, 8, 4):  # face_recognition's down blocks
                general = nets.Residual(cin, cout, True).eval()
                for conv in (general.conv1, general.conv2):
                    conv.c.conv.weight.data.normal_()
                    conv.sw.normal_()
                special = copy.deepcopy(general)
                special.specialize(h, h)
                self.assertTrue(special.static)
                self._same_at(general, special, h, h, "residual %d->%d input %d" % (cin, cout, h))

    def test_whole_nets_equal_and_branch_free(self):
        torch.manual_seed(0)
        for cls, size in ((nets.SsdMobilenetv1, 512), (nets.FaceRecognitionNet, 150),
                          (nets.AgeGenderNet, 112), (nets.FaceLandmark68Net, 112)):
            general = nets.fold_padding(cls()).eval()
            for p in general.parameters():
                p.data.normal_(0, 0.05)
            special = nets.specialize(copy.deepcopy(general), size).eval()
            x = torch.rand(2, 3, size, size) * 255
            with torch.no_grad():
                a = general(x)
                b = special(x)
            a = a if isinstance(a, tuple) else (a,)
            b = b if isinstance(b, tuple) else (b,)
            for p, q in zip(a, b):
                self.assertTrue(torch.equal(p, q), cls.__name__)
            kinds = _optimized_graph_kinds(special.net)
            self.assertNotIn("prim::If", kinds, cls.__name__)
            self.assertNotIn("aten::pad", kinds[:kinds.index("aten::to_dense")] if
                             "aten::to_dense" in kinds else kinds, cls.__name__)

    def test_specialized_net_refuses_another_size(self):
        net = torch.jit.script(nets.specialize(nets.fold_padding(nets.FaceLandmark68Net()).eval(), 112))
        with torch.no_grad():
            self.assertEqual(tuple(net(torch.zeros(1, 3, 112, 112)).shape), (1, 136))
            with self.assertRaisesRegex(Exception, r"takes \[N, 3, 112, 112\]"):
                net(torch.zeros(1, 3, 96, 96))


if __name__ == "__main__":
    unittest.main()
