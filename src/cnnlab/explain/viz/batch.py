"""Grids of labelled images: a batch of data (like fastai's show_batch) and a model's top losses."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.explain.viz.maps import show_image
from cnnlab.explain.viz.plots import plt, save_figure


def _tile_inches(h: int, w: int) -> tuple[float, float]:
    return 1.15 * min(w / h, 2.0), 1.15


def plot_batch(images, labels: list[str], path: Path, title: str = "", augmented=None,
               augment_title: str = "augmented", cols: int | None = None) -> None:
    """images uint8 (N, C, H, W) with a label under each; with `augmented`, the same batch again on the right."""
    images = np.asarray(images)
    n, _, h, w = images.shape
    cols = cols or min(8 if augmented is None else 6, n)
    rows = -(-n // cols)
    panels = [(images, title or "batch")] + ([(np.asarray(augmented), augment_title)] if augmented is not None else [])
    tw, th = _tile_inches(h, w)
    height = rows * (th + 0.3) + 0.45
    fig = plt.figure(figsize=(len(panels) * cols * tw + 0.4 * (len(panels) - 1), height))
    outer = fig.add_gridspec(1, len(panels), wspace=0.08, left=0.01, right=0.99, bottom=0.01,
                             top=1 - 0.45 / height)
    for p, (batch, name) in enumerate(panels):
        inner = outer[p].subgridspec(rows, cols, wspace=0.05, hspace=0.3)
        for i in range(n):
            ax = fig.add_subplot(inner[i // cols, i % cols])
            show_image(ax, batch[i], labels[i], fontsize=8)
        fig.text((p + 0.5) / len(panels), 0.995, name, ha="center", va="top", fontsize=11, fontweight="bold")
    save_figure(fig, path)


def plot_top_losses(images, captions: list[str], wrong: list[bool], path: Path, title: str = "",
                    cols: int | None = None) -> None:
    """images uint8 (N, C, H, W), each with a caption (true / predicted / probability); wrong ones titled in red."""
    images = np.asarray(images)
    n, _, h, w = images.shape
    cols = cols or min(4, n) or 1
    rows = -(-n // cols)
    tw, th = _tile_inches(h, w)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * tw * 1.9, rows * (th * 1.9 + 0.55) + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption, bad in zip(axes.flat, images, captions, wrong):
        show_image(ax, image)
        ax.axis("on")
        ax.set_title(caption, fontsize=8, color="tab:red" if bad else "black")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)
