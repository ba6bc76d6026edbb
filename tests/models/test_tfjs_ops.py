#!/usr/bin/python3
"""Per-op parity of the tfjs graph-model importer (models/tfjs) with tfjs itself.

models/reference/tfjs_ops.js builds one tiny graph model per op variant (same
JSON + weight format as a real model.json, incl. fp16 / uint8 quantised weights),
runs it in tfjs 4.22 (cpu backend) and dumps input + output; here the very same
model.json goes through graph_model.load -> convert.convert -> torch.jit.script
and must reproduce tfjs' output: max |diff| <= 1e-4 * max(1, max |ref|).

Env: FACESERVE_TFJS_DUMP (dump root, default models/reference/out/tfjs).
"""
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_common as C  # noqa: E402

torch.set_num_threads(1)
TOL = 1e-4
# cases where tfjs 4.22 itself is wrong: compared on tfjs' finite values only
TFJS_BUGS = {
    "FusedDepthwiseConv2dNative_BiasAdd_LeakyRelu":
        "tfjs loses leakyrelu_alpha for fused depthwise convs: NaN for negative pre-activations",
}


def op_group(name):
    return name.split("_")[0] if not name.startswith("_") else "_" + name.split("_")[1]


class TfjsOps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = C.missing_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.dir = os.path.join(C.dump_root(), "ops")
        cls.manifest = C.run_node("tfjs_ops.js", cls.dir)
        cls.stats = {}

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "stats", None):
            C.log("max |diff| / scale per op group:")
            for g, (d, n) in sorted(cls.stats.items()):
                C.log("  %-28s %.2e  (%d cases)" % (g, d, n))

    def test_all_cases(self):
        from tfjs import convert, graph_model
        self.assertGreater(len(self.manifest["cases"]), 100)
        failures = []
        for case in self.manifest["cases"]:
            with self.subTest(case=case["name"]):
                self.assertNotIn("error", case, "tfjs rejected the case: %s" % case.get("error"))
                d = os.path.join(self.dir, case["name"])
                g = graph_model.load(os.path.join(d, "model.json"))
                module = convert.convert(g, [case["output"]])
                scripted = torch.jit.script(module)
                x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
                ref = np.load(os.path.join(d, "output.npy"))
                with torch.no_grad():
                    y = scripted(x)[0].numpy()
                    e = module(x)[0].numpy()
                self.assertEqual(tuple(y.shape), tuple(ref.shape), case["name"])
                self.assertTrue(np.isfinite(y).all(), "non-finite importer output")
                if case["name"] in TFJS_BUGS:
                    C.log("%s: %s" % (case["name"], TFJS_BUGS[case["name"]]))
                    keep = np.isfinite(ref)
                    self.assertGreater(keep.sum(), ref.size // 4)
                    y, e, ref = y[keep], e[keep], ref[keep]
                scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
                diff = float(np.abs(y - ref).max()) / scale if ref.size else 0.0
                self.assertTrue(np.array_equal(y, e), "scripted != eager")
                grp = op_group(case["name"])
                prev = self.stats.get(grp, (0.0, 0))
                self.stats[grp] = (max(prev[0], diff), prev[1] + 1)
                if not diff <= TOL:
                    failures.append("%s: %.3g" % (case["name"], diff))
                self.assertLessEqual(diff, TOL, case["name"])
        self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
