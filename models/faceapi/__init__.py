"""face-api (@vladmandic/face-api 1.7.15) networks rebuilt as torch nn.Modules.

See models/README.md. The registry in :mod:`faceapi.registry` lists every
exported model with its I/O contract and model card.
"""
FACEAPI_VERSION = "1.7.15"
