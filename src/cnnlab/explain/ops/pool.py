"""Max and average pooling in plain NumPy, over the last two axes (H, W), as torch's max_pool2d / avg_pool2d."""
from __future__ import annotations

import numpy as np

from cnnlab.explain.ops.conv import pad_image
from cnnlab.explain.ops.sizes import output_size, pair


def _windows(h: int, w: int, size, stride, padding: int, ceil_mode: bool):
    """Kernel and stride pairs, output size, and the padding (top, bottom, left, right) that covers every window."""
    (kh, kw), (sh, sw) = pair(size, "size"), pair(stride if stride is not None else size, "stride")
    ph, pw = (padding, padding) if np.ndim(padding) == 0 else (int(p) for p in padding)
    if min(ph, pw) < 0 or ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding {padding} is more than half the {kh}×{kw} window")
    oh = output_size(h, kh, sh, ph, 1, ceil_mode)
    ow = output_size(w, kw, sw, pw, 1, ceil_mode)
    # pixels past the image that the last window reaches (ceil mode can reach beyond the padding)
    bottom, right = (oh - 1) * sh + kh - h - ph, (ow - 1) * sw + kw - w - pw
    return (kh, kw), (sh, sw), (oh, ow), (ph, max(bottom, 0), pw, max(right, 0))


def _cells(xp: np.ndarray, kernel, stride, out):
    """For each window cell (i, j): the padded-input pixels it lies on at every output position (..., oh, ow)."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out
    for i in range(kh):
        for j in range(kw):
            yield xp[..., i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]


def max_pool2d(x: np.ndarray, size: int | tuple = 2, stride: int | tuple | None = None, padding: int | tuple = 0,
               ceil_mode: bool = False) -> np.ndarray:
    """The largest value of each size×size window (stride defaults to size); padding never wins."""
    x = np.asarray(x)
    kernel, step, out, (top, bottom, left, right) = _windows(*x.shape[-2:], size, stride, padding, ceil_mode)
    low = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp = pad_image(x, top, bottom, left, right, low)
    result = None
    for under in _cells(xp, kernel, step, out):
        result = under.copy() if result is None else np.maximum(result, under)
    return result


def avg_pool2d(x: np.ndarray, size: int | tuple = 2, stride: int | tuple | None = None, padding: int | tuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> np.ndarray:
    """The mean of each window.  The divisor counts the zero padding (count_include_pad, torch's default) or
    only real pixels; a ceil-mode window hanging past the padding is divided by the part that overlaps."""
    x = np.asarray(x)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    h, w = x.shape[-2:]
    kernel, step, out, (top, bottom, left, right) = _windows(h, w, size, stride, padding, ceil_mode)
    xp = pad_image(x, top, bottom, left, right, 0)
    counted = np.zeros(xp.shape[-2:])  # 1 where the divisor counts a position: the image (and its padding)
    if count_include_pad:
        counted[:top + h + top, :left + w + left] = 1  # (top, left) is the declared padding on each side
    else:
        counted[top:top + h, left:left + w] = 1
    total = sum(under for under in _cells(xp, kernel, step, out))
    divisor = sum(under for under in _cells(counted, kernel, step, out))
    return total / divisor
