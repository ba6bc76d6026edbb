"""TensorFlow.js graph-model importer: model.json + .bin -> torch.nn.Module (TorchScript-able).

graph_model.py parses the model and decodes its weights, ops.py holds one converter
per TF op, convert.py wires them into a module; human_models.py describes the
@vladmandic/human models exported by models/export.py.
"""
