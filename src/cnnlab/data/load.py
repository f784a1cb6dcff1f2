"""One entry point for every source: a name, a file or a folder, format detected from the content."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cnnlab.data.dataset import DataError, Dataset, Split
from cnnlab.data.download import Progress
from cnnlab.data.image_file import convert_image
from cnnlab.data.named import NAMED, load_named
from cnnlab import modalities

FORMATS = modalities.formats()  # the built-in modalities' formats; modalities.formats() includes later ones


def detect_format(path: Path) -> str:
    """'idx', 'csv', 'folder', 'cifar10', 'text', 'audio' (or a registered modality's format), from what the
    path holds: cnnlab.modalities.detect asks each modality."""
    return modalities.detect(path)


def load_data(source: str | Path, *, data_dir: str | Path | None = None, fmt: str | None = None,
              image_size: tuple[int, int] | None = None, channels: int | None = None,
              download: bool = True, progress: Progress | None = None, **options) -> Dataset:
    """Load a data set by name (mnist, fashion-mnist, kmnist, cifar10, fer2013, mnist-mini) or path.

    The format (detected, or `fmt`) picks the modality whose `load` reads it, with `options`: for text and
    audio (cnnlab.modalities.text.loader.load_text_csv / load_text_folder,
    cnnlab.modalities.audio.loader.load_audio_folder) e.g. text_column, label_column, test_split, seed,
    max_length; split="speaker:theo", n_mels; meta (a trained run's) to encode new data its way.  For pixel
    CSVs, target="x" makes that numeric column the label: a regression data set.
    """
    source = str(source)
    if source in NAMED and fmt is None and not Path(source).exists():
        if options:
            raise ValueError(f"option(s) {', '.join(sorted(options))} apply to text and audio data, not to {source}")
        return resized(load_named(source, data_dir, download, progress), image_size, channels)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{source}: no such file or folder, and not a known data set name "
                        f"({', '.join(NAMED)})")
    fmt = fmt or modalities.forced_format(path, options) or detect_format(path)
    return modalities.modality_for_format(fmt).load(path, fmt, image_size, channels, **options)


def resized(data: Dataset, image_size: tuple[int, int] | None, channels: int | None) -> Dataset:
    """The data set's images converted to `channels` and resized to `image_size` (H, W) where they differ,
    the way image files are (Pillow: gray or RGB, bilinear); the same data set when nothing changes."""
    c, h, w = data.input_shape
    size = tuple(image_size) if image_size is not None else (h, w)
    channels = channels or c
    if size == (h, w) and channels == c:
        return data
    for name, split in data.splits.items():
        images = np.stack([convert_image(image, channels, size) for image in split.images.numpy()]) if len(split) \
            else np.zeros((0, channels, *size), dtype=np.uint8)
        data.splits[name] = Split(images, split.labels, split.ids)
    return data


def add_split(data: Dataset, split: str, other: Dataset) -> None:
    """Use all rows of `other` (same image shape and classes) as split `split` of `data`."""
    rows = [s for s in other.splits.values()]
    if len(rows) != 1:
        raise DataError(f"{other.source}: expected one split to use as {split!r}, found {', '.join(other.splits)}")
    if other.input_shape != data.input_shape:
        raise DataError(f"{other.source}: images are {other.input_shape}, but {data.source} has {data.input_shape}")
    data.splits[split] = rows[0]


def with_classes(data: Dataset, classes: list[str]) -> Dataset:
    """`data` (an image folder's, whose classes are its folders' or labels' sorted names) with its labels
    renumbered to `classes` (a trained model's) by name, as `evaluate --data` and `predict` need: a folder
    holding only some of the model's classes, or sorting them otherwise, keeps each image's class.

    Raises DataError naming the class names the model does not know.
    """
    classes = list(classes)
    if data.classes == classes:
        return data
    unknown = [name for name in data.classes if name not in classes]
    if unknown:
        raise DataError(f"{data.source}: class(es) {', '.join(unknown[:5])} not among the model's classes "
                        f"({', '.join(classes[:10])}{', …' if len(classes) > 10 else ''})")
    index = torch.tensor([classes.index(name) for name in data.classes], dtype=torch.int64)
    for split in data.splits.values():
        known = split.labels >= 0
        split.labels = torch.where(known, index[split.labels.clamp(min=0)], split.labels)
    data.classes = classes
    return data
