"""cnnlab: train, inspect, compare and deploy CNN classifiers on your own data, fast on a laptop CPU.

The names below are imported on first use, so that `import cnnlab` stays light (and the ONNX inference
path can run where PyTorch is not installed).  No public name is also the name of a subpackage or module of
cnnlab (importing `cnnlab.X` sets the attribute `cnnlab.X` to that module), so each name means one thing
whatever was imported before; tests/test_api_names.py checks this in several import orders.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {"Classifier": "api", "TrainConfig": "training.config", "train": "training.pipeline",
            "load_data": "data", "Dataset": "data", "Split": "data", "DataError": "data",
            "build": "models", "model_summary": "models.summary", "load_run": "runs.rundir",
            "History": "runs.history", "Report": "runs.evaluate", "show_batch": "explain.viz.batch",
            "save_figure": "explain.viz.plots"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
