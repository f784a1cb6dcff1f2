"""One entry point for every source: a name, a file or a folder, format detected from the content."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.cifar import load_cifar10, looks_like_cifar_folder
from cnnlab.data.dataset import DataError, Dataset, Split
from cnnlab.data.download import Progress
from cnnlab.data.folder import load_image_folder, looks_like_image_folder
from cnnlab.data.image import convert_image
from cnnlab.data.idx import is_idx, load_idx_folder, looks_like_idx_folder
from cnnlab.data.io import head_bytes
from cnnlab.data.named import NAMED, load_named
from cnnlab.data.pixelcsv import load_pixel_csv, looks_like_pixel_csv

FORMATS = ("idx", "csv", "folder", "cifar10", "text", "audio")
TEXT_OPTIONS = ("text_column", "label_column")  # naming either means a text CSV, whatever its header says


def detect_format(path: Path) -> str:
    """'idx', 'csv', 'folder', 'cifar10', 'text' or 'audio', from what the path holds."""
    from cnnlab.modalities.audio.loader import looks_like_audio_folder
    from cnnlab.modalities.text.loader import looks_like_text_csv, looks_like_text_folder

    if path.is_dir():
        if looks_like_cifar_folder(path):
            return "cifar10"
        if looks_like_idx_folder(path):
            return "idx"
        if _csv_splits(path):
            return "csv"
        if looks_like_image_folder(path):
            return "folder"
        if looks_like_audio_folder(path):
            return "audio"
        if looks_like_text_folder(path):
            return "text"
        raise DataError(f"{path}: cannot tell the data format; expected IDX files (train-images-idx3-ubyte...), "
                        "CIFAR-10 batches, train.csv, one subfolder of images, .wav or .txt files per class, "
                        "or {label}_{speaker}_{index}.wav clips")
    head = head_bytes(path)
    if not head:
        raise DataError(f"{path}: empty file")
    if is_idx(head):
        raise DataError(f"{path}: an IDX file alone has no labels; pass the folder holding "
                        "train-images-idx3-ubyte and train-labels-idx1-ubyte")
    if looks_like_text_csv(head):
        return "text"
    if looks_like_pixel_csv(head) or path.name.lower().endswith((".csv", ".csv.gz")):
        return "csv"
    raise DataError(f"{path}: cannot tell the data format; expected a CSV with a header such as "
                    "label,feature or emotion,pixels,Usage")


def _csv_splits(folder: Path) -> dict[str, Path]:
    """train.csv / val.csv / test.csv (plain or .gz) in a folder, as in the course's layout."""
    found = {}
    for split in ("train", "val", "test"):
        for name in (f"{split}.csv", f"{split}.csv.gz"):
            if (folder / name).is_file():
                found[split] = folder / name
                break
    return found if "train" in found else {}


def load_data(source: str | Path, *, data_dir: str | Path | None = None, fmt: str | None = None,
              image_size: tuple[int, int] | None = None, channels: int | None = None,
              download: bool = True, progress: Progress | None = None, **options) -> Dataset:
    """Load a data set by name (mnist, fashion-mnist, kmnist, cifar10, fer2013, mnist-mini) or path.

    `options` go to the text and audio loaders (cnnlab.modalities.text.loader.load_text_csv / load_text_folder,
    cnnlab.modalities.audio.loader.load_audio_folder): e.g. text_column, label_column, test_split, seed, max_length;
    split="speaker:theo", n_mels; meta (a trained run's) to encode new data its way.  For pixel CSVs,
    target="x" makes that numeric column the label: a regression data set.
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
    if fmt is None and path.is_file() and any(options.get(k) for k in TEXT_OPTIONS):
        fmt = "text"
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown data format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "text":
        from cnnlab.modalities.text.loader import load_text_csv, load_text_folder
        return load_text_folder(path, **options) if path.is_dir() else load_text_csv(path, **options)
    if fmt == "audio":
        from cnnlab.modalities.audio.loader import load_audio_folder
        return load_audio_folder(path, **options)
    target = options.pop("target", None) if fmt == "csv" else None  # pixel CSVs: a numeric column to regress on
    # pixel CSVs: class names ("a,b,c" or a list, in label order), or a trained model's classes to map labels to
    names = options.pop("class_names", None) if fmt == "csv" else None
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
    classes = options.pop("classes", None)  # image folders and IDX name their own classes
    if options:
        raise ValueError(f"option(s) {', '.join(sorted(options))} apply to text and audio data, not to {fmt} data")
    if fmt == "idx":
        return resized(load_idx_folder(path), image_size, channels)
    if fmt == "cifar10":
        return resized(load_cifar10(path, path.name), image_size, channels)
    if fmt == "folder":
        return load_image_folder(path, image_size, channels)
    if path.is_dir():
        files = _csv_splits(path)
        if not files:
            raise DataError(f"{path}: expected train.csv (and optionally val.csv, test.csv)")
        data = load_pixel_csv(files.pop("train"), image_size, channels, classes, path.name, target, names)
        for split, file in files.items():
            add_split(data, split, load_pixel_csv(file, image_size, channels, classes=data.classes, target=target))
        return data
    return load_pixel_csv(path, image_size, channels, classes, target=target, class_names=names)


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
