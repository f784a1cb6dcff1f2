"""Grids of labelled images as matplotlib Figures: a batch of data (like fastai's show_batch) and a model's top
losses."""
from __future__ import annotations

import numpy as np

from cnnlab.explain.viz.maps import show_image
from cnnlab.explain.viz.fonts import drawing, escaped, shown_names
from cnnlab.explain.viz.plots import new_figure


def _tile_inches(h: int, w: int) -> tuple[float, float]:
    return 1.15 * min(w / h, 2.0), 1.15


def batch_figure(images, labels: list[str], title: str = "", augmented=None, augment_title: str = "augmented",
                 cols: int | None = None, classes: list[str] | None = None):
    """images uint8 (N, C, H, W) with a label under each; with `augmented`, the same batch again on the right.
    A label no font can draw is shown as its index in `classes` (else among the distinct labels), spelled out
    in a note."""
    images = np.asarray(images)
    n, _, h, w = images.shape
    cols = cols or min(8 if augmented is None else 6, n)
    rows = -(-n // cols)
    order = list(classes) if classes else sorted(set(labels))
    shown, note = shown_names(order)
    lookup = dict(zip(order, shown))
    labels = [lookup.get(label, escaped(label)) for label in labels]
    panels = [(images, title or "batch")] + ([(np.asarray(augmented), augment_title)] if augmented is not None else [])
    tw, th = _tile_inches(h, w)
    height = rows * (th + 0.3) + 0.45
    with drawing():
        fig = new_figure((len(panels) * cols * tw + 0.4 * (len(panels) - 1), height))
        outer = fig.add_gridspec(1, len(panels), wspace=0.08, left=0.01, right=0.99, bottom=0.01,
                                 top=1 - 0.45 / height)
        for p, (batch, name) in enumerate(panels):
            inner = outer[p].subgridspec(rows, cols, wspace=0.05, hspace=0.3)
            for i in range(n):
                ax = fig.add_subplot(inner[i // cols, i % cols])
                show_image(ax, batch[i], labels[i], fontsize=8)
            fig.text((p + 0.5) / len(panels), 0.995, escaped(name), ha="center", va="top", fontsize=11,
                     fontweight="bold")
        if note:
            fig.text(0.01, 0.0, note, fontsize=8, va="top", wrap=True)
    return fig


def top_losses_figure(images, captions: list[str], wrong: list[bool], title: str = "", cols: int | None = None):
    """images uint8 (N, C, H, W), each with a caption (true / predicted / probability); wrong ones titled in red."""
    images = np.asarray(images)
    n, _, h, w = images.shape
    cols = cols or min(4, n) or 1
    rows = -(-n // cols)
    tw, th = _tile_inches(h, w)
    with drawing():
        fig = new_figure((cols * tw * 1.9, rows * (th * 1.9 + 0.55) + 0.4))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, caption, bad in zip(axes.flat, images, captions, wrong):
            show_image(ax, image)
            ax.axis("on")
            ax.set_title(escaped(caption), fontsize=8, color="tab:red" if bad else "black")
        if title:
            fig.suptitle(escaped(title), fontsize=11)
        fig.tight_layout()
    return fig


def show_batch(data, split: str | None = None, n: int = 32, seed: int = 0, augment: str | None = None):
    """A grid of n random images of a Dataset's split (default: its first) or of a Split, labelled with their
    class names, as fastai's show_batch; with `augment` (e.g. "rotation=10,shift=0.1"), augmented beside them."""
    from cnnlab.data import Dataset
    from cnnlab.explain.samples import augment_batch, sample_batch

    if isinstance(data, Dataset):
        split = split or next(iter(data.splits))
        chosen, classes, title = data[split], data.classes, f"{data.name} / {split}"
    else:
        chosen, classes, title = data, None, "batch"
    if chosen.images.dim() != 4 or chosen.images.dtype.is_floating_point:
        raise ValueError(f"show_batch draws uint8 images (N, C, H, W); these inputs are "
                         f"{chosen.images.dtype} {tuple(chosen.images.shape)}")
    images, labels = sample_batch(chosen, n, seed)
    names = [("?" if i < 0 else classes[i] if classes else str(i)) for i in labels.tolist()]
    augmented = None
    if augment:
        augmented = (augment_batch(images, augment, seed) * 255).round().to(images.dtype)
    return batch_figure(images, names, f"{title}: {len(images)} images", augmented, f"augmented: {augment}",
                        classes=classes)
