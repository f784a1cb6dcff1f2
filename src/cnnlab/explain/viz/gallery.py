"""The filter gallery as one labelled Figure (and each result as its own PNG on request)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.runs.checkpoint import atomic_write
from cnnlab.data import DataError
from cnnlab.data.image_file import read_errors, upright
from cnnlab.explain.ops.filters import Filtered, to_display
from cnnlab.explain.viz.fonts import drawing, escaped
from cnnlab.explain.viz.plots import new_figure

# A synthetic 192×192 RGB scene (sky gradient, sun, house, tree, checkerboard, the word "CNN"), drawn with
# Pillow shapes plus a little Gaussian noise; no photograph is involved.
SAMPLE_IMAGE = Path(__file__).with_name("sample.png")


def read_image(path: str | Path | None = None, max_size: int = 512) -> np.ndarray:
    """A gray (H, W) or colour (3, H, W) float image 0-255, shrunk so its longer side is at most max_size."""
    path = Path(path) if path is not None else SAMPLE_IMAGE
    try:
        with Image.open(path) as img:
            img = upright(img, path)  # as every image file is read: EXIF orientation, 16-bit scaled, alpha on white
            gray = img.mode == "L"
            if max(img.size) > max_size:
                scale = max_size / max(img.size)
                img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                                 Image.Resampling.LANCZOS)
            array = np.asarray(img, dtype=np.float64)
    except DataError:
        raise
    except read_errors() as exc:
        raise DataError(f"{path}: cannot read this image ({exc})") from None
    return array if gray else array.transpose(2, 0, 1)


def _as_rgb_or_gray(values: np.ndarray) -> np.ndarray:
    """(H, W) stays; (C, H, W) → (H, W, C) for imshow / Pillow."""
    return values if values.ndim == 2 else values.transpose(1, 2, 0)


def gallery_figure(results: list[Filtered], title: str = "", cols: int = 4):
    """One panel per result: its label on top, the image, and the kernel (or what was done) below; a Figure."""
    rows = -(-len(results) // cols)
    with drawing():
        fig = new_figure((3.0 * cols, 3.55 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, result in zip(axes.flat, results):
            shown = _as_rgb_or_gray(to_display(result.values, result.display))
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(result.label, fontsize=10, fontweight="bold")
            if result.caption:
                ax.text(0.5, -0.03, result.caption, transform=ax.transAxes, ha="center", va="top", fontsize=8,
                        family="monospace", linespacing=1.1)
        if title:
            fig.suptitle(escaped(title), fontsize=12)
        fig.tight_layout(h_pad=2.2)
    return fig


def save_each(results: list[Filtered], folder: Path) -> list[Path]:
    """Each result as folder/<name>.png at the image's own resolution."""
    paths = []
    for result in results:
        image = Image.fromarray(_as_rgb_or_gray(to_display(result.values, result.display)))
        path = Path(folder) / f"{result.name}.png"
        atomic_write(path, lambda tmp, image=image: image.save(tmp, format="PNG"))
        paths.append(path)
    return paths
