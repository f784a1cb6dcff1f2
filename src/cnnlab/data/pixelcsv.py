"""FER-style CSV files: one image per row as space-separated pixel values.

Accepted layouts (header names are case-insensitive, plain or gzip):
  label,feature          the course's format (48*48 = 2,304 values per row)
  emotion,pixels,Usage   Kaggle's FER2013; Usage gives the splits (chosen on validation, reported on test):
                         Training → train, PublicTest → test; PrivateTest → test when there is no PublicTest,
                         else left out (it is the challenge's final test: score a run on a file of those rows
                         alone).  Nothing is tuned on the test split: the validation split is carved from
                         Training by the run's --val-split (stratified, seeded; data.rundata.split_data).
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
                                   USAGE_SPLITS, label_index, looks_like_pixel_csv, parse_pixel_rows,
                                   read_pixel_rows)

FER_CLASSES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]


def load_pixel_csv(path: str | Path, image_size: tuple[int, int] | None = None, channels: int | None = None,
                   classes: list[str] | None = None, name: str | None = None, target: str | None = None,
                   class_names: list[str] | None = None) -> Dataset:
    """Read a FER-style CSV into a Dataset (splits from Usage as the module says when present, else all rows in
    'train'; never a 'val' split from Usage).

    Class names, first found: `classes` (a trained model's or the training file's), `class_names` (the user's),
    classes.txt beside the file, FER2013's seven emotions for 48×48 gray rows with exactly the codes 0-6 (a
    note says so), else the label values; labels are mapped onto them by `label_index`.  Notes on what was
    assumed go to meta["notes"].  With `target`, the rows' labels are that numeric column: a regression data
    set (meta task "regression").
    """
    if class_names is not None and (not all(class_names) or len(set(class_names)) != len(class_names)):
        raise DataError(f"class names {','.join(class_names)!r}: expected distinct, non-empty names, "
                        "comma-separated in label order")
    rows = read_pixel_rows(path, image_size, channels, target)
    path, images, label_array, ids = rows.path, rows.images, rows.labels, rows.ids
    meta, notes = {}, []
    given = classes  # a trained model's or the training file's: its notes were given already
    names = classes or class_names
    if names is None and rows.labeled and rows.targets is None:
        names = read_class_names(path.parent)
        if names is not None:
            notes.append(f"{path}: class names from {path.parent / 'classes.txt'} ({', '.join(names)})")
    if rows.targets is not None:
        label_array, classes, meta = rows.targets, [target], {"task": "regression", "target": target}
    elif rows.labeled:
        if names is None and _fer_shaped(images.shape[1:], label_array):
            names = list(FER_CLASSES)
            if name != "fer2013":  # the named data set is FER2013; a file of the same shape is assumed to be
                notes.append(f"{path}: 48×48 gray rows with labels 0-6: class names assumed to be FER2013's "
                             f"({', '.join(FER_CLASSES)}); name them with classes.txt beside the file or "
                             "--class-names")
        label_array, classes, mapped = label_index(label_array, names, path, rows.lines)
        if mapped and not given:
            notes.append(f"{path}: label values {_values(rows.labels)} are classes 0..{len(classes) - 1} "
                         f"({', '.join(classes)}); predictions give these indices, or names with --names")
    else:
        classes = names or read_class_names(path.parent) or []
    split_of_row = rows.split_of_row()
    if split_of_row is not None:
        notes += _usage_notes(name or str(path), rows.usages, split_of_row)
    if notes:
        meta["notes"] = notes

    splits = {}
    if split_of_row is None:
        splits["train" if rows.labeled or rows.targets is not None else "test"] = Split(images, label_array, ids)
    else:
        for split in ("train", "test"):
            index = np.flatnonzero(split_of_row == split)
            if index.size:
                splits[split] = Split(images[index], label_array[index], [ids[i] for i in index] if ids else None)
    return Dataset(name or _stem(path), classes, splits, source=str(path), meta=meta)


def _usage_notes(where: str, usages: list[bytes], split_of_row: np.ndarray) -> list[str]:
    """One line on which Usage rows are the test split (and what was left out), for meta["notes"]."""
    if not (split_of_row == "test").any():
        return []
    public = any(u.strip().lower() == b"publictest" for u in usages)
    left = int(sum(s is None for s in split_of_row))
    note = (f"{where}: Usage {'PublicTest' if public else 'PrivateTest'} is the test split (nothing is tuned on "
            "it); validation, unless --val-data gives one, is a stratified --val-split share of Training (seeded by "
            "--seed)")
    if left:
        note += (f"; left out {left:,} PrivateTest rows (the final test: score a run on them with `cnnlab evaluate "
                 "RUN --data` a CSV of those rows alone)")
    return [note]


def _fer_shaped(shape: tuple[int, ...], labels: np.ndarray) -> bool:
    """True for 48×48 gray rows whose labels are exactly FER2013's seven codes 0-6 (each present)."""
    return tuple(shape) == (1, 48, 48) and np.array_equal(np.unique(labels), np.arange(len(FER_CLASSES)))


def _values(labels: np.ndarray) -> str:
    """'1, 2, …, 6': the distinct label values, shortened."""
    distinct = [str(int(v)) for v in np.unique(labels)]
    return ", ".join(distinct if len(distinct) <= 4 else distinct[:2] + ["…", distinct[-1]])


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name
