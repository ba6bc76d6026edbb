"""Shared helpers for faceserve model exporters (model cards, hashing)."""
from .card import write_card, read_card, sha256_file  # noqa: F401
