"""Wire the op converters into one TorchScript-able module that runs a tfjs graph.

The module is a straight-line interpreter: ops (ops.Op subclasses) sit in an
nn.ModuleList in topological order and read / write a list of tensor slots
(slot 0 = the graph input). TorchScript unrolls the loop over the ModuleList,
so ``torch.jit.script`` sees a plain sequence of calls. Slots are released
after their last use to keep peak memory near tfjs' own.
"""
from typing import List

import torch
from torch import nn

from . import ops as O
from .graph_model import split_input


class _Context:
    """What converters see: constants, and on-demand slots for graph tensors."""

    def __init__(self, graph):
        self.graph = graph

    def resolve(self, ref):
        """Follow Identity chains: tfjs (and TF) often wrap Consts / outputs in Identity."""
        name, idx = split_input(ref)
        seen = 0
        while name in self.graph.nodes and self.graph.nodes[name].op in ("Identity", "StopGradient", "Snapshot"):
            name, idx = split_input(self.graph.nodes[name].inputs[0])
            seen += 1
            if seen > 1000:
                raise ValueError("Identity cycle at %s" % ref)
        if idx != 0:
            raise O.Unsupported("multi-output node input %s" % ref)
        return name

    def const(self, ref):
        return self.graph.const(self.resolve(ref))


class GraphModule(nn.Module):
    """Runs the graph on one NHWC (graph-layout) input; returns the requested outputs as a list."""
    outputs: List[int]

    def __init__(self, op_modules, outputs, names):
        super().__init__()
        self.ops = nn.ModuleList(op_modules)
        self.outputs = outputs
        self.op_names = names  # node names, for debugging (not scripted)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        empty = torch.empty(0)
        vals: List[torch.Tensor] = [x]
        for op in self.ops:
            vals.append(op([vals[i] for i in op.inputs]))
            for i in op.free:
                vals[i] = empty
        return [vals[i] for i in self.outputs]


def convert(graph, outputs=None, input_name=None):
    """GraphModel -> GraphModule computing ``outputs`` (tensor names or signature keys;
    default: the signature outputs in file order)."""
    ctx = _Context(graph)
    if outputs is None:
        outputs = list(graph.signature_outputs) or [n.name for n in _sinks(graph)]
    out_nodes = [ctx.resolve(graph.output_node(o)) for o in outputs]
    placeholders = graph.placeholders()
    if input_name is None:
        if len(placeholders) != 1:
            raise O.Unsupported("graph has %d inputs; name the one to use" % len(placeholders))
        input_name = placeholders[0].name

    slot = {input_name: 0}
    modules, names, uses = [], [], []

    def visit(name, stack=()):
        if name in slot:
            return slot[name]
        if name in stack:
            raise ValueError("cycle at %s" % name)
        node = graph.nodes.get(name)
        if node is None:
            raise KeyError("graph has no node %s" % name)
        if node.op == "Const":
            mod, refs = O.Const(O._t(graph.const(name), torch.float32 if graph.const(name).dtype.kind == "f"
                                     else torch.int64)), []
        elif node.op == "Placeholder":
            raise O.Unsupported("second graph input %s" % name)
        elif node.op in O.CONVERTERS:
            mod, refs = O.CONVERTERS[node.op](node, ctx)
        else:
            raise O.Unsupported("op %s (node %s) has no converter" % (node.op, name))
        ins = [visit(ctx.resolve(r), stack + (name,)) for r in refs]
        mod.inputs = ins
        modules.append(mod)
        names.append(name)
        uses.append(ins)
        slot[name] = len(modules)
        return slot[name]

    out_slots = [visit(n) for n in out_nodes]
    # release each slot after its last reader (never the outputs)
    last = {}
    for k, ins in enumerate(uses):
        for i in ins:
            last[i] = k
    for i, k in last.items():
        if i not in out_slots:
            modules[k].free = sorted(set(modules[k].free + [i]))
    return GraphModule(modules, out_slots, names)


def _sinks(graph):
    used = set()
    for n in graph.nodes.values():
        for r in n.inputs:
            used.add(split_input(r)[0])
    return [n for n in graph.nodes.values() if n.name not in used and n.op not in ("Const", "Placeholder")]
