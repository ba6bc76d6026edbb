"""Model-card writer shared by the exporters (models/faceapi, models/tfjs, models/pytorch).

A card is a plain dict written as YAML next to the exported ``<name>.pt``.
Keys used by faceserve: name, version, task, file, input{shape,color,range,
layout,...}, outputs[{name,shape,kind,labels?}], source{...}, license, accuracy.
"""
import hashlib
import os

import yaml


def sha256_file(path, chunk=1 << 20):
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _plain(o):
    """Convert tuples / numpy scalars to YAML-friendly builtins."""
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if hasattr(o, "item") and callable(o.item):  # numpy / torch scalar
        try:
            return o.item()
        except Exception:  # pragma: no cover
            pass
    return o


def write_card(path, card):
    """Write ``card`` (dict) as YAML to ``path`` atomically; returns path."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(_plain(card), f, sort_keys=False, default_flow_style=None,
                       allow_unicode=True, width=100)
    os.replace(tmp, path)
    return path


def read_card(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)
