"""Shared helpers for the tfjs importer tests (models/tfjs).

* node + models/reference/node_modules (`npm ci` in models/reference) are needed;
  tests skip, saying why, only when node or node_modules is missing.
* reference dumps go to $FACESERVE_TFJS_DUMP (default models/reference/out/tfjs)
  and are rebuilt when the producing script is newer than the dump.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
MODELS_PY = os.path.join(ROOT, "models")
if MODELS_PY not in sys.path:
    sys.path.insert(0, MODELS_PY)

REF = os.path.join(ROOT, "models", "reference")
NODE_MODULES = os.path.join(REF, "node_modules")
HUMAN_MODELS = os.path.join(REF, "human-models", "models")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def missing_reason(need_human_models=False):
    """Why the tfjs reference cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node not found on PATH"
    if not os.path.isdir(os.path.join(NODE_MODULES, "@tensorflow", "tfjs")):
        return "models/reference/node_modules missing (run `npm ci` in models/reference)"
    if need_human_models and not os.path.isdir(HUMAN_MODELS):
        return "models/reference/human-models missing (run models/reference/fetch_human_models.sh)"
    return None


def dump_root():
    # default under models/reference/out/ (git-ignored), next to the face-api dump
    return os.environ.get("FACESERVE_TFJS_DUMP") or os.path.join(REF, "out", "tfjs")


def run_node(script, out_dir, extra=(), inputs=()):
    """Run models/reference/<script> --out out_dir unless out_dir/manifest.json is newer than
    the script and every input; returns the parsed manifest."""
    src = os.path.join(REF, script)
    man = os.path.join(out_dir, "manifest.json")
    deps = [src] + list(inputs)
    if not (os.path.exists(man) and all(os.path.getmtime(d) < os.path.getmtime(man) for d in deps)):
        log("running node %s -> %s" % (script, out_dir))
        subprocess.check_call(["node", src, "--out", out_dir] + list(extra), cwd=ROOT,
                              stdout=sys.stderr)
    with open(man) as f:
        return json.load(f)
