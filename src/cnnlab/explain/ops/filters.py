"""The course's classic image filters: named kernels applied with the reference conv2d, plus a median filter.

Images are float arrays (H, W) or (C, H, W) with values 0-255; a kernel is applied to each channel alone.
Borders repeat the nearest edge pixel (scipy.ndimage's mode 'nearest'), so blurs do not darken the frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.explain.ops.conv import conv2d

_BINOMIAL = np.array([1, 4, 6, 4, 1], dtype=np.float64)


@dataclass(frozen=True)
class Kernel:
    """A named kernel and how to show its result: 'clip' to 0-255, 'signed' (zero = mid gray) or 'abs'."""

    name: str
    label: str
    weights: np.ndarray
    display: str = "clip"
    caption: str = ""  # shown instead of the weights when they are too many to print


KERNELS: dict[str, Kernel] = {k.name: k for k in [
    Kernel("identity", "identity", np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64)),
    Kernel("box-blur", "box blur 3×3", np.ones((3, 3)) / 9, caption="3×3, all 1/9"),
    Kernel("box-blur-5x5", "box blur, the slide's 5×5", np.pad(np.ones((3, 3)), 1) / 9,
           caption="5×5: 3×3 ones inside a 0 border, /9"),
    Kernel("gaussian-blur", "Gaussian blur 5×5 (σ≈1)", np.outer(_BINOMIAL, _BINOMIAL) / 256,
           caption="5×5: [1 4 6 4 1]ᵀ[1 4 6 4 1] / 256"),
    Kernel("sharpen", "sharpen", np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)),
    Kernel("edge-detect", "edge detect (Laplacian, 4 neighbours)",
           np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64), "abs"),
    Kernel("laplacian-8", "Laplacian, 8 neighbours", np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
           "abs"),
    Kernel("sobel-x", "Sobel x (vertical edges)", np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
           "signed"),
    Kernel("sobel-y", "Sobel y (horizontal edges)",
           np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64), "signed"),
    Kernel("prewitt-x", "Prewitt x", np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64), "signed"),
    Kernel("prewitt-y", "Prewitt y", np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float64), "signed"),
    Kernel("emboss", "emboss", np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64), "signed"),
]}


@dataclass
class Filtered:
    """One result of the gallery: the raw values (float, same shape as the image) and how to show them."""

    name: str
    label: str
    values: np.ndarray
    display: str = "clip"
    caption: str = ""  # the kernel as text, or what was done


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Cross-correlate each channel of a (H, W) or (C, H, W) image with a 2-D kernel, edges repeated."""
    image = np.asarray(image, dtype=np.float64)
    kh, kw = kernel.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2  # the kernel's centre lands on each pixel
    widths = [(0, 0)] * (image.ndim - 2) + [(top, kh - 1 - top), (left, kw - 1 - left)]
    padded = np.pad(image, widths, mode="edge")
    if image.ndim == 2:
        return conv2d(padded, kernel)
    # channels as a batch of 1-channel images: (C, 1, H, W) → (C, 1, H, W)
    return conv2d(padded[:, None], kernel[None, None])[:, 0]


def median_filter(image: np.ndarray, size: int = 3) -> np.ndarray:
    """The median of each size×size neighbourhood (per channel), edges repeated: removes salt-and-pepper noise."""
    image = np.asarray(image, dtype=np.float64)
    r = size // 2
    widths = [(0, 0)] * (image.ndim - 2) + [(r, size - 1 - r), (r, size - 1 - r)]
    padded = np.pad(image, widths, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(-2, -1))  # (..., H, W, k, k)
    return np.median(windows, axis=(-2, -1))


def salt_and_pepper(image: np.ndarray, fraction: float = 0.06, seed: int = 0) -> np.ndarray:
    """A copy with `fraction` of the pixels (all channels at once) set to 0 or 255."""
    rng = np.random.default_rng(seed)
    noisy = np.array(image, dtype=np.float64)
    h, w = noisy.shape[-2:]
    hit = rng.random((h, w)) < fraction
    noisy[..., hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0.0, 255.0)
    return noisy


def kernel_text(weights: np.ndarray) -> str:
    """A small kernel as lines of numbers, e.g. ' 0  1  0'."""
    cells = [[f"{v:g}" for v in row] for row in weights]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)


def gallery(image: np.ndarray, names: list[str] | None = None, median_size: int = 3,
            noise: float = 0.06) -> list[Filtered]:
    """Every classic kernel applied to `image`, then Sobel magnitude and median denoising of a noisy copy."""
    names = list(KERNELS) if names is None else names
    out = [Filtered("original", "original", np.asarray(image, dtype=np.float64), "clip", "")]
    for name in names:
        k = KERNELS[name]
        out.append(Filtered(name, k.label, filter2d(image, k.weights), k.display, k.caption or kernel_text(k.weights)))
    gx, gy = filter2d(image, KERNELS["sobel-x"].weights), filter2d(image, KERNELS["sobel-y"].weights)
    out.append(Filtered("sobel-magnitude", "Sobel magnitude", np.hypot(gx, gy), "abs", "√(Sobel x² + Sobel y²)"))
    noisy = salt_and_pepper(image, noise)
    out.append(Filtered("noisy", f"salt-and-pepper noise ({noise:.0%})", noisy, "clip", "input to the median filter"))
    out.append(Filtered("median", f"median {median_size}×{median_size} (denoised)", median_filter(noisy, median_size),
                        "clip", f"median of each {median_size}×{median_size} neighbourhood"))
    return out


def _scale(values: np.ndarray) -> float:
    """A robust maximum of |values|: the 99.5th percentile (so a few extreme pixels do not dim the rest)."""
    magnitude = np.abs(values)
    top = float(np.percentile(magnitude, 99.5))
    return top if top > 0 else float(magnitude.max())


def to_display(values: np.ndarray, mode: str = "clip") -> np.ndarray:
    """Raw filter output → uint8 for viewing: clipped, |v| scaled to its range, or signed around mid gray."""
    values = np.asarray(values, dtype=np.float64)
    if mode == "clip":
        shown = values
    elif mode in ("abs", "signed"):
        top = _scale(values)
        if top == 0:
            shown = np.full_like(values, 0.0 if mode == "abs" else 127.5)
        else:
            shown = np.abs(values) * (255 / top) if mode == "abs" else 127.5 + values * (127.5 / top)
    else:
        raise ValueError(f"display mode {mode!r}: expected clip, abs or signed")
    return np.clip(np.rint(shown), 0, 255).astype(np.uint8)
