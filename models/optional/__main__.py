import argparse
import sys

from . import export_all


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.optional",
                                 description="Export the optional PyTorch models to TorchScript + model cards.")
    ap.add_argument("--weights", default="../shared/models", help="folder with retinaface/ and antispoof/ weights")
    ap.add_argument("--out", default="models/exported", help="output folder for <name>.pt and <name>.yaml")
    ap.add_argument("--force", action="store_true", help="re-export even when up to date")
    a = ap.parse_args(argv)
    written = export_all(a.weights, a.out, force=a.force)
    for p in written:
        print(p)
    if not written:
        print("nothing written (up to date or no weights found)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
