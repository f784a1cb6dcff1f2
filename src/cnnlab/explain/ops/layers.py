"""The rest of a small CNN in NumPy: ReLU, flatten, a dense (fully connected) layer, softmax."""
from __future__ import annotations

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), element by element."""
    return np.maximum(x, 0)


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (N, C·H·W), channel by channel as torch's nn.Flatten (Keras flattens H, W, C order)."""
    x = np.asarray(x)
    return x.reshape(len(x), -1)


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x (N, in) · weightᵀ (in, out) + bias (out,), as torch's linear (weight is (out, in))."""
    out = np.asarray(x) @ np.asarray(weight).T
    return out if bias is None else out + bias


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / Σ exp(x), shifted by the maximum so large logits do not overflow."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
