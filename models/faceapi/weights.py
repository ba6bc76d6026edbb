"""Decode tfjs weights manifests (``*-weights_manifest.json`` + ``.bin`` shards)."""
import json
import os
from collections import OrderedDict

import numpy as np

_DTYPES = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
    "bool": np.dtype("u1"),
}


def manifest_path(model_dir, name):
    return os.path.join(model_dir, name + "-weights_manifest.json")


def weight_files(model_dir, name):
    """Manifest + every shard it references (absolute paths, manifest first)."""
    mp = manifest_path(model_dir, name)
    with open(mp) as f:
        manifest = json.load(f)
    files = [mp]
    for group in manifest:
        for p in group["paths"]:
            files.append(os.path.join(model_dir, p))
    return files


def load_weights(model_dir, name):
    """Return OrderedDict tensor-name -> float32 numpy array (tfjs shape, e.g. HWIO).

    Tensors are laid out back to back in manifest order over the concatenated
    shards of each group. Quantized tensors (``quantization: {dtype: uint8|uint16,
    scale, min}``) are dequantized as ``v * scale + min``; ``float16``
    quantization is a plain half -> float conversion.
    """
    with open(manifest_path(model_dir, name)) as f:
        manifest = json.load(f)
    out = OrderedDict()
    for group in manifest:
        buf = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                qdt = _DTYPES[q["dtype"]]
                raw = np.frombuffer(buf, dtype=qdt, count=n, offset=off)
                off += n * qdt.itemsize
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    # tfjs: Float32Array.from(q, v => v * scale + min) (double math, f32 store)
                    arr = (raw.astype(np.float64) * float(q["scale"]) + float(q["min"])).astype(np.float32)
            else:
                dt = _DTYPES[w["dtype"]]
                arr = np.frombuffer(buf, dtype=dt, count=n, offset=off).astype(np.float32)
                off += n * dt.itemsize
            out[w["name"]] = arr.reshape(shape).copy()
        if off != len(buf):
            raise ValueError("%s: decoded %d bytes of %d" % (name, off, len(buf)))
    return out
