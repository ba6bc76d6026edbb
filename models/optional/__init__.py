"""Optional PyTorch models for faceserve, exported to TorchScript.

* ``retinaface_mnet025`` — RetinaFace, MobileNet-0.25 (biubug6/Face-Detector-1MB-with-landmark)
* ``minifasnet_v2`` / ``minifasnet_v1se`` — Silent-Face anti-spoofing (minivision-ai)

``export_all(weights_dir, out_dir)`` exports whichever weight files exist under
``weights_dir`` (the layout of ../shared/models: ``retinaface/…``, ``antispoof/…``)
and writes ``<name>.pt`` + ``<name>.yaml`` (model card) into ``out_dir``.
Run alone: ``/usr/bin/python3 -m models.optional --weights ../shared/models --out models/exported``.
"""
from .export import MODELS, build_eager, export_all, export_one, load_state_dict_strict  # noqa: F401

__all__ = ["export_all", "export_one", "build_eager", "load_state_dict_strict", "MODELS"]
