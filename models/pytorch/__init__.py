"""Models published as PyTorch checkpoints, exported to TorchScript for faceserve.

* ``retinaface_mnet025``: RetinaFace, MobileNet-0.25 (biubug6/Face-Detector-1MB-with-landmark)
* ``mtcnn``: the MTCNN cascade (timesler/facenet-pytorch)
* ``minifasnet_v2`` / ``minifasnet_v1se``: Silent-Face anti-spoofing (minivision-ai)

Their weights are vendored in models/weights/ (sha256-pinned in export.py).
``export_all(weights_dir, out_dir)`` writes ``<name>.pt`` + ``<name>.yaml``
(model card) into ``out_dir``; models/export.py calls it.
Run alone: ``/usr/bin/python3 -m models.pytorch --out models/exported``.
"""
from .export import (DEFAULT_WEIGHTS_DIR, MODELS, WeightsError, build_eager, export_all,  # noqa: F401
                     export_one, load_state_dict_strict, verify_weights)

__all__ = ["export_all", "export_one", "build_eager", "load_state_dict_strict", "verify_weights",
           "MODELS", "DEFAULT_WEIGHTS_DIR", "WeightsError"]
