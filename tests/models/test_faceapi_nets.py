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


if __name__ == "__main__":
    unittest.main()
