"""2-D convolution as CNNs use the word: cross-correlation (the kernel is not flipped), in plain NumPy.

Every output pixel is the sum of (input pixel × kernel weight) over the window under the kernel.  Instead
of looping over output pixels, the loop below runs over the k×k kernel cells: for cell (i, j) it takes the
input pixels that cell touches at every output position (one strided slice) and adds weight × slice.
The result is the same sum, k·k NumPy steps instead of H·W Python steps.
"""
from __future__ import annotations

import numpy as np

from cnnlab.explain.ops.sizes import Padding, output_size, pair, resolve_padding


def _to_nchw(x: np.ndarray) -> np.ndarray:
    """(H, W) → (1, 1, H, W); (C, H, W) → (1, C, H, W); (N, C, H, W) as is."""
    x = np.asarray(x)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"input must be (H, W), (C, H, W) or (N, C, H, W), got shape {x.shape}")
    return x.reshape((1,) * (4 - x.ndim) + x.shape)


def pad_image(x: np.ndarray, top: int, bottom: int, left: int, right: int, value=0) -> np.ndarray:
    """Pad the last two axes (H, W) with a constant."""
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode="constant", constant_values=value)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: int | tuple = 1,
           padding: Padding | tuple = 0, dilation: int | tuple = 1) -> np.ndarray:
    """Cross-correlate x (H,W | C,H,W | N,C,H,W) with weight (kh,kw | O,C,kh,kw), as torch's conv2d.

    padding: 'valid', 'same' (ceil(n/s) outputs, extra pixel after), p pixels each side, or (ph, pw).
    The output keeps the input's form: (H, W) in with a (kh, kw) kernel gives (H', W'); (C, H, W) in gives
    (O, H', W'); (N, C, H, W) in gives (N, O, H', W').  Integer inputs give integer outputs.
    """
    squeeze = np.asarray(x).ndim
    x = _to_nchw(x)
    weight = np.asarray(weight)
    if weight.ndim == 2:
        weight = weight[None, None]
    if weight.ndim != 4:
        raise ValueError(f"weight must be (kh, kw) or (O, C, kh, kw), got shape {weight.shape}")
    n, c, h, w = x.shape
    o, c_w, kh, kw = weight.shape
    if c_w != c:
        raise ValueError(f"the input has {c} channel(s) but the weight expects {c_w}")
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    if isinstance(padding, str):
        ph, pw = padding, padding
    else:
        ph, pw = (padding, padding) if np.ndim(padding) == 0 else padding
    top, bottom = resolve_padding(ph, h, kh, sh, dh)
    left, right = resolve_padding(pw, w, kw, sw, dw)
    oh = output_size(h, kh, sh, (top, bottom), dh)
    ow = output_size(w, kw, sw, (left, right), dw)

    xp = pad_image(x, top, bottom, left, right)  # (N, C, H + top + bottom, W + left + right)
    out = np.zeros((n, o, oh, ow), dtype=np.result_type(x, weight))
    for i in range(kh):
        for j in range(kw):
            # the input pixels kernel cell (i, j) lies on, for every output position: (N, C, oh, ow)
            under = xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
            out += np.einsum("nchw,oc->nohw", under, weight[:, :, i, j])  # sums over the input channels
    if bias is not None:
        out = out + np.asarray(bias).reshape(1, o, 1, 1)
    if squeeze == 4:
        return out
    return out[0] if squeeze == 3 else out[0, 0] if o == 1 else out[0]


def window_terms(x: np.ndarray, kernel: np.ndarray, row: int, col: int, stride: int = 1) -> list[tuple]:
    """The (pixel, weight) pairs whose products sum to output cell (row, col) of a 2-D, already padded input."""
    kh, kw = kernel.shape
    r, c = row * stride, col * stride
    return [(x[r + i, c + j], kernel[i, j]) for i in range(kh) for j in range(kw)]
