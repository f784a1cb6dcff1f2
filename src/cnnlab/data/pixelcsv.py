"""FER-style CSV files: one image per row as space-separated pixel values.

Accepted layouts (header names are case-insensitive, plain or gzip):
  label,feature          the course's format (48*48 = 2,304 values per row)
  emotion,pixels,Usage   Kaggle's FER2013; Usage gives the splits
  id,feature             unlabeled rows, for prediction
A file without a header is read as label,pixels.  RGB rows are interleaved per pixel (r g b r g b ...).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.base import DataError
from cnnlab.data.dataset import Dataset, Split
from cnnlab.data.idx import read_class_names
from cnnlab.data.pixelrows import (CHUNK_ROWS, ID_COLUMNS, LABEL_COLUMNS, PIXEL_COLUMNS, USAGE_COLUMNS,  # noqa: F401
                                   USAGE_SPLITS, looks_like_pixel_csv, parse_pixel_rows, read_pixel_rows)

FER_CLASSES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]


def load_pixel_csv(path: str | Path, image_size: tuple[int, int] | None = None, channels: int | None = None,
                   classes: list[str] | None = None, name: str | None = None, target: str | None = None) -> Dataset:
    """Read a FER-style CSV into a Dataset (splits from Usage when present, else all rows in 'train').

    With `target`, the rows' labels are that numeric column: a regression data set (meta task "regression").
    """
    rows = read_pixel_rows(path, image_size, channels, target)
    path, images, label_array, ids = rows.path, rows.images, rows.labels, rows.ids
    meta = {}
    if rows.targets is not None:
        label_array, classes, meta = rows.targets, [target], {"task": "regression", "target": target}
    c, h, w = images.shape[1:]
    classes = classes or read_class_names(path.parent) or \
        _default_classes(rows.header, rows.label_col, label_array, (c, h, w))
    if rows.labeled and not meta and label_array.max() >= len(classes):
        i = int(np.argmax(label_array >= len(classes)))
        raise DataError(f"{path}, line {rows.lines[i]}: label {label_array[i]} outside the {len(classes)} "
                        f"classes 0..{len(classes) - 1} ({', '.join(classes)})")

    split_of_row = rows.split_of_row()
    splits = {}
    if split_of_row is None:
        splits["train" if rows.labeled or meta else "test"] = Split(images, label_array, ids)
    else:
        for split in ("train", "val", "test"):
            index = np.flatnonzero(split_of_row == split)
            if index.size:
                splits[split] = Split(images[index], label_array[index], [ids[i] for i in index] if ids else None)
    return Dataset(name or _stem(path), classes, splits, source=str(path), meta=meta)


def _default_classes(header: list[str], label_col: int | None, labels: np.ndarray,
                     shape: tuple[int, int, int]) -> list[str]:
    """FER2013's seven emotions for 48×48 gray rows or an 'emotion' column, else '0'..'K-1'."""
    if label_col is None:
        return []
    fer_like = header[label_col] == "emotion" or (shape == (1, 48, 48) and labels.max() < len(FER_CLASSES))
    if fer_like:
        return list(FER_CLASSES)
    return [str(i) for i in range(int(labels.max()) + 1)]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name
