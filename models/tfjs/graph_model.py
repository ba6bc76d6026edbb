"""Parse a tfjs graph model (model.json + weight shards) into plain Python / numpy.

model.json holds ``modelTopology.node`` (a TF GraphDef as JSON: name, op, input,
attr) and ``weightsManifest`` (groups of shard paths + weight specs). Weights are
decoded exactly like tfjs ``io.decodeWeights`` (tfjs-core 4.x): shards of all
groups concatenated in order, each spec consuming prod(shape) * bytes-per-value,
fp16 / uint8 / uint16 quantisation expanded to float32 (or int32 with JS
Math.round for int weights).
"""
import base64
import json
import os

import numpy as np

_DTYPE_BYTES = {"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}
_NP = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


class Node:
    """One GraphDef node with typed attribute accessors (TF JSON attr encoding)."""

    def __init__(self, d):
        self.name = d["name"]
        self.op = d["op"]
        self.attr = d.get("attr", {})
        # "^name" entries are control dependencies: no data flows, tfjs ignores them too
        self.inputs = [i for i in d.get("input", []) if not i.startswith("^")]

    def has(self, key):
        return key in self.attr

    def s(self, key, default=None):
        v = self.attr.get(key)
        return base64.b64decode(v["s"]).decode() if v and "s" in v else default

    def i(self, key, default=None):
        v = self.attr.get(key)
        return int(v["i"]) if v and "i" in v else default

    def f(self, key, default=None):
        v = self.attr.get(key)
        return float(v["f"]) if v and "f" in v else default

    def b(self, key, default=False):
        v = self.attr.get(key)
        return bool(v["b"]) if v and "b" in v else default

    def ints(self, key, default=None):
        v = self.attr.get(key)
        if not v or "list" not in v:
            return default
        return [int(x) for x in v["list"].get("i", [])]

    def strs(self, key, default=None):
        v = self.attr.get(key)
        if not v or "list" not in v:
            return default
        return [base64.b64decode(x).decode() for x in v["list"].get("s", [])]

    def __repr__(self):
        return "Node(%s %s <- %s)" % (self.op, self.name, self.inputs)


def split_input(ref):
    """'name:1' -> ('name', 1); 'name' -> ('name', 0)."""
    if ":" in ref:
        name, idx = ref.rsplit(":", 1)
        if idx.isdigit():
            return name, int(idx)
    return ref, 0


def _float16_to_float32(raw):
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def decode_weights(specs, buf):
    """tfjs io.decodeWeights: specs (all groups, in order) + the concatenated shards."""
    out = {}
    offset = 0
    for spec in specs:
        name, dtype, shape = spec["name"], spec["dtype"], [int(s) for s in spec["shape"]]
        size = int(np.prod(shape)) if shape else 1
        q = spec.get("quantization")
        if q:
            qd = q["dtype"]
            nbytes = size * _DTYPE_BYTES[qd]
            raw = buf[offset:offset + nbytes]
            if qd == "float16":
                if dtype != "float32":
                    raise ValueError("%s: float16 quantisation needs dtype float32" % name)
                vals = _float16_to_float32(raw)
            elif qd in ("uint8", "uint16"):
                qv = np.frombuffer(raw, dtype=np.uint8 if qd == "uint8" else "<u2").astype(np.float64)
                v = qv * float(q["scale"]) + float(q["min"])  # JS: double math, then stored
                if dtype == "float32":
                    vals = v.astype(np.float32)
                elif dtype == "int32":
                    vals = np.floor(v + 0.5).astype(np.int32)  # JS Math.round (half up)
                else:
                    raise ValueError("%s: unsupported dtype %s for %s quantisation" % (name, dtype, qd))
            else:
                raise ValueError("%s: unknown quantisation dtype %s" % (name, qd))
        else:
            if dtype not in _NP:
                raise ValueError("%s: unsupported weight dtype %s" % (name, dtype))
            nbytes = size * _DTYPE_BYTES[dtype]
            raw = buf[offset:offset + nbytes]
            vals = np.frombuffer(raw, dtype=np.dtype(_NP[dtype]).newbyteorder("<")).copy()
        if len(raw) != nbytes:
            raise ValueError("weight data too short for %s" % name)
        offset += nbytes
        out[name] = vals.reshape(shape)
    if offset != len(buf):
        raise ValueError("weight data has %d bytes, specs use %d" % (len(buf), offset))
    return out


class GraphModel:
    """Nodes (in file order), decoded weights, and the signature's inputs/outputs."""

    def __init__(self, model_json, weight_bytes):
        self.json = model_json
        topo = model_json["modelTopology"]
        self.nodes = {}
        for d in topo["node"]:
            n = Node(d)
            self.nodes[n.name] = n
        specs = [w for g in model_json.get("weightsManifest", []) for w in g["weights"]]
        self.weights = decode_weights(specs, weight_bytes)
        sig = model_json.get("signature") or model_json.get("userDefinedMetadata", {}).get("signature") or {}
        self.signature_inputs = {k: v["name"] for k, v in sig.get("inputs", {}).items()}
        self.signature_outputs = {k: v["name"] for k, v in sig.get("outputs", {}).items()}

    def placeholders(self):
        return [n for n in self.nodes.values() if n.op == "Placeholder"]

    def input_shape(self, name=None):
        """Placeholder shape (-1 = dynamic), from its ``shape`` attr."""
        n = self.nodes[name] if name else self.placeholders()[0]
        dims = n.attr.get("shape", {}).get("shape", {}).get("dim", [])
        return [int(d.get("size", -1)) for d in dims]

    def const(self, name):
        """numpy value of a Const node (its weight), or None when ``name`` is not a Const."""
        n = self.nodes.get(name)
        if n is None or n.op != "Const":
            return None
        if name not in self.weights:
            raise KeyError("Const %s has no weight in the manifest" % name)
        return self.weights[name]

    def output_node(self, tensor_name):
        """'Identity_2:0' -> node name, resolving signature names too."""
        name = self.signature_outputs.get(tensor_name, tensor_name)
        node, idx = split_input(name)
        if idx != 0:
            raise ValueError("multi-output nodes are not supported (%s)" % name)
        return node

    def op_counts(self):
        counts = {}
        for n in self.nodes.values():
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts


def load(json_path, weights_dir=None):
    """Read ``json_path`` and its shards (paths relative to ``weights_dir`` or the json's folder)."""
    with open(json_path, encoding="utf-8") as f:
        model_json = json.load(f)
    d = weights_dir or os.path.dirname(os.path.abspath(json_path))
    chunks = []
    for g in model_json.get("weightsManifest", []):
        for p in g["paths"]:
            with open(os.path.join(d, p), "rb") as f:
                chunks.append(f.read())
    return GraphModel(model_json, b"".join(chunks))


def weight_files(json_path):
    """The model.json and its shard files (for sha256 / staleness checks)."""
    with open(json_path, encoding="utf-8") as f:
        model_json = json.load(f)
    d = os.path.dirname(os.path.abspath(json_path))
    return [json_path] + [os.path.join(d, p) for g in model_json.get("weightsManifest", []) for p in g["paths"]]
