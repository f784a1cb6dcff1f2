"""Data: every source becomes one in-memory form (uint8 N×C×H×W images, int64 labels, classes, splits).

The names below are imported on first use: the torch-free modules (base, io, image, pixelrows) can then be
imported without loading PyTorch, for the ONNX inference path.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"SPLIT_NAMES": "base", "UNLABELED": "base", "DataError": "base", "Dataset": "dataset",
            "Split": "dataset", "FORMATS": "load", "add_split": "load", "detect_format": "load",
            "load_data": "load", "NAMED": "named", "load_named": "named", "locate": "named"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
