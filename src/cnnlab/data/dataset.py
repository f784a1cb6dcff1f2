"""The one in-memory form every loader returns: uint8 images, int64 labels, class names, named splits."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from cnnlab.data.base import SPLIT_NAMES, UNLABELED, DataError  # noqa: F401  (re-exported)


def _tensor(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A tensor sharing the array's memory when it can (copied when read-only or not contiguous)."""
    if isinstance(array, torch.Tensor):
        return array
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, order="C")
    return torch.from_numpy(array)


@dataclass
class Split:
    """One split: inputs and labels (N,) — int64 class indices (-1 where unknown) or float32 regression
    targets — and optional ids.

    `images` holds uint8 images (N, C, H, W) — or, for other modalities, float features such as log-Mel
    spectrograms (N, 1, M, T) or int64 token ids (N, L).
    """

    images: torch.Tensor
    labels: torch.Tensor
    ids: list[str] | None = None
    streamed: bool = False  # images are a memory map bigger than RAM may hold: train through DataLoader workers

    def __post_init__(self) -> None:
        self.images, self.labels = _tensor(self.images), _tensor(self.labels)
        images_ok = self.images.dim() == 4 and (self.images.dtype == torch.uint8 or self.images.is_floating_point())
        tokens_ok = self.images.dim() == 2 and self.images.dtype == torch.int64
        if not (images_ok or tokens_ok):
            raise TypeError("inputs must be uint8 images N×C×H×W, float features N×C×H×W or int64 token ids N×L, "
                            f"got {self.images.dtype} {tuple(self.images.shape)}")
        # class indices, or float targets for regression (NaN where unknown)
        self.labels = self.labels.to(torch.float32 if self.labels.is_floating_point() else torch.int64)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}")
        if self.ids is not None and len(self.ids) != len(self.labels):
            raise ValueError(f"{len(self.labels)} rows but {len(self.ids)} ids")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def labeled(self) -> bool:
        """True when every row has a label."""
        if self.regression:
            return bool(not self.labels.isnan().any())
        return bool(len(self) == 0 or (self.labels >= 0).all())

    @property
    def regression(self) -> bool:
        """True when the labels are numbers to predict (float targets), not class indices."""
        return self.labels.is_floating_point()

    def subset(self, index: torch.Tensor) -> Split:
        """The rows at `index` (a 1-D index tensor), as a new Split."""
        ids = [self.ids[i] for i in index.tolist()] if self.ids is not None else None
        return Split(self.images[index], self.labels[index], ids)

    def class_counts(self, num_classes: int) -> list[int]:
        """How many labelled rows each class has."""
        if self.regression:
            return [len(self)] * num_classes
        known = self.labels[self.labels >= 0]
        return torch.bincount(known, minlength=num_classes).tolist()


@dataclass
class Dataset:
    """Named splits of one data set, with the class names its integer labels index."""

    name: str
    classes: list[str]
    splits: dict[str, Split] = field(default_factory=dict)
    source: str = ""  # where it was read from, for messages and the run config
    # How raw inputs become tensors, JSON-able; travels into checkpoints so `predict` reads new inputs the same
    # way.  Images: {} (the input shape says it all); text: {"kind": "text", "tokenizer": {...}};
    # audio: {"kind": "audio", ...feature parameters}.  "model_options" (e.g. vocab_size) go to models.build.
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        shapes = {tuple(s.images.shape[1:]) for s in self.splits.values() if len(s)}
        if len(shapes) > 1:
            raise DataError(f"{self.source or self.name}: splits have different image shapes {sorted(shapes)}")
        for split_name, split in self.splits.items():
            if len(split) and not split.regression and int(split.labels.max()) >= len(self.classes):
                raise DataError(
                    f"{self.source or self.name}: split {split_name!r} has label {int(split.labels.max())}, "
                    f"expected 0..{len(self.classes) - 1} ({len(self.classes)} classes)")

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise KeyError(f"{self.name} has no split {split!r}; it has {', '.join(self.splits) or 'none'}")
        return self.splits[split]

    def __contains__(self, split: str) -> bool:
        return split in self.splits

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(C, H, W) of the images (or of the features; (L,) for token ids)."""
        for split in self.splits.values():
            return tuple(int(d) for d in split.images.shape[1:])
        raise DataError(f"{self.name}: the data set has no splits")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        """A few lines: shape, classes, split sizes."""
        kind = self.meta.get("kind", "image")
        what = {"image": "images", "text": "token ids", "audio": "features"}.get(kind, "inputs")
        lines = [f"{self.name}: {'×'.join(map(str, self.input_shape))} {what}, {self.num_classes} classes"]
        for name, split in self.splits.items():
            counts = split.class_counts(self.num_classes) if split.labeled else None
            lines.append(f"  {name:5s} {len(split):7d} {'images' if kind == 'image' else 'items'}"
                         + (f"  per class {counts}" if counts else "  (unlabeled)"))
        return "\n".join(lines)
