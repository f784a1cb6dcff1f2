"""The convolution playground: the gallery's kernels (or a typed one) on an image, and the course's worked
examples with every output cell's sum, all computed by the reference ops in cnnlab.explain.ops."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.explain import viz
from cnnlab.explain.ops import examples as worked
from cnnlab.explain.ops.filters import KERNELS, filter2d, kernel_text, to_display
from cnnlab.serve.images import as_channels, png_data_url

MAX_SIDE = 256  # pixels: the playground filters an image at most this large (the reference conv2d is NumPy)
KERNEL_SIZES = (1, 3, 5, 7)  # a typed kernel is square with one of these sizes
DISPLAYS = ("auto", "clip", "abs", "signed")
# the filter gallery's synthetic scene (cnnlab.explain.viz.gallery.SAMPLE_IMAGE), found without importing matplotlib
SAMPLE_IMAGE = Path(viz.__file__).with_name("sample.png")


def kernels_json() -> list[dict]:
    """The gallery's kernels: name, label, weights and how their output is shown."""
    return [{"name": k.name, "label": k.label, "weights": k.weights.tolist(), "display": k.display,
             "caption": k.caption or kernel_text(k.weights)} for k in KERNELS.values()]


def parse_kernel(text: str) -> np.ndarray:
    """A typed kernel: JSON [[...], ...] or rows of numbers separated by newlines or ';' → (k, k) float64."""
    text = (text or "").strip()
    example = "such as '0 -1 0; -1 5 -1; 0 -1 0'"
    if not text:
        raise ValueError(f"the kernel is empty: type 3 rows of 3 numbers, {example}")
    try:
        rows = json.loads(text) if text.startswith("[") else \
            [line.replace(",", " ").split() for line in re.split(r"[;\n]", text) if line.strip()]
        rows = [[float(v) for v in row] for row in rows]
    except (ValueError, TypeError):
        raise ValueError(f"kernel {text[:60]!r}: expected rows of numbers {example}") from None
    if len({len(row) for row in rows}) > 1:
        raise ValueError(f"kernel {text[:60]!r}: its rows have different lengths (ragged); expected {example}")
    weights = np.array(rows, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1] or weights.shape[0] not in KERNEL_SIZES:
        raise ValueError(f"the kernel must be square, 3×3 or 5×5 (1×1 and 7×7 work too); got "
                         f"{'×'.join(map(str, weights.shape))}")
    if not np.isfinite(weights).all():
        raise ValueError("the kernel has a value that is not a finite number")
    return weights


def auto_display(weights: np.ndarray) -> str:
    """How to show a kernel's output: signed when it has negative weights summing to about zero
    (edge detectors), clipped otherwise."""
    if (weights < 0).any() and abs(weights.sum()) < 1e-6:
        return "signed"
    return "clip"


def apply_kernel(img: Image.Image, weights: np.ndarray, display: str = "auto") -> dict:
    """The image (gray, or RGB channel by channel) cross-correlated with `weights`, edges repeated."""
    if display not in DISPLAYS:
        raise ValueError(f"display {display!r}: expected one of {', '.join(DISPLAYS)}")
    gray = img.mode in ("1", "L", "LA", "I", "I;16", "F")
    if max(img.size) > MAX_SIDE:
        scale = MAX_SIDE / max(img.size)
        img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                         Image.Resampling.LANCZOS)
    pixels = as_channels(img, 1 if gray else 3).astype(np.float64)
    image = pixels if gray else pixels.transpose(2, 0, 1)  # (H, W) or (C, H, W)
    values = filter2d(image, weights)
    mode = auto_display(weights) if display == "auto" else display
    shown = to_display(values, mode)
    return {"original": png_data_url(image.astype(np.uint8)), "filtered": png_data_url(shown),
            "display": mode, "kernel": weights.tolist(), "size": [int(image.shape[-2]), int(image.shape[-1])],
            "min": float(values.min()), "max": float(values.max())}


def examples_json() -> list[dict]:
    """Each worked example computed: image, kernel, padded input, feature map, pooling, and each cell's sum."""
    out = []
    for ex in worked.EXAMPLES.values():
        w = worked.compute(ex)
        oh, ow = w.feature_map.shape
        pooled = w.pooled.tolist() if w.pooled is not None else None
        out.append({"name": ex.name, "title": ex.title, "image": ex.image.tolist(), "kernel": ex.kernel.tolist(),
                    "padded": w.padded.tolist(), "stride": ex.stride, "padding": ex.padding, "pool": ex.pool,
                    "feature_map": w.feature_map.tolist(), "pooled": pooled, "note": ex.note,
                    "focus": list(ex.focus) if ex.focus else None, "matches": bool(w.matches),
                    "cells": [[worked.cell_text(w, r, c) for c in range(ow)] for r in range(oh)],
                    "pool_cells": [[worked.pool_cell_text(w, r, c) for c in range(len(pooled[0]))]
                                   for r in range(len(pooled))] if pooled else None,
                    "steps": worked.steps_text(w)})
    return out
