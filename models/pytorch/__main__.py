import argparse
import sys

from . import DEFAULT_WEIGHTS_DIR, WeightsError, export_all


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.pytorch",
                                 description="Export the PyTorch-checkpoint models to TorchScript + model cards.")
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS_DIR,
                    help="folder with retinaface/, mtcnn/ and antispoof/ weights (default: the vendored ones)")
    ap.add_argument("--out", default="models/exported", help="output folder for <name>.pt and <name>.yaml")
    ap.add_argument("--force", action="store_true", help="re-export even when up to date")
    a = ap.parse_args(argv)
    try:
        written = export_all(a.weights, a.out, force=a.force)
    except WeightsError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    for p in written:
        print(p)
    if not written:
        print("nothing written (up to date)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
