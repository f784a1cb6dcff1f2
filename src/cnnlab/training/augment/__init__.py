"""Batched data augmentation on tensors: Keras ImageDataGenerator's options, random erasing, mixup and cutmix.

`parse_augment('rotation=20,shift=0.2,flip=h')` → AugmentConfig; `Augmenter(cfg, generator)(x)` augments a
float batch (B, C, H, W) in [0, 1]; `Augmenter.mix(x, y, K)` mixes it with soft targets.  The spec parser is
imported without torch (the config checks specs); the rest on first use.
"""
from __future__ import annotations

import importlib

from cnnlab.training.augment.spec import PRESETS, AugmentConfig, parse_augment

_LAZY = {"Augmenter": "augmenter", "AugmentParams": "augmenter", "affine_matrices": "geometry", "warp": "geometry"}
__all__ = ["AugmentConfig", "PRESETS", "parse_augment", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
