"""Looking inside a CNN: feature maps, kernels and Grad-CAM (inside), shapes layer by layer (shapes), the
teaching ops in NumPy (ops/), and every figure as a matplotlib Figure (viz/).

`feature_maps`, `first_layer_kernels`, `grad_cam`, `explain` and `top_losses` are imported on first use, so
that the NumPy ops can be imported on their own.
"""
from __future__ import annotations

import importlib

_EXPORTS = {name: "inside" for name in ("feature_maps", "first_layer_kernels", "grad_cam", "explain", "top_losses")}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
