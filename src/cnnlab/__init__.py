"""cnnlab: train, inspect, compare and deploy CNN classifiers on your own data, fast on a laptop CPU.

The names below are imported on first use, so that `import cnnlab` stays light (and the ONNX inference
path can run where PyTorch is not installed).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {"Classifier": "api", "TrainConfig": "training.config", "Dataset": "data", "DataError": "data", "Split": "data",
            "load_data": "data", "build": "models", "load_run": "runs.rundir", "train": "training.loop"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
