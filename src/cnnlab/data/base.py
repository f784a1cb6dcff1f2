"""Torch-free basics of the data package: the error class, the label and split conventions, folder listing."""
from __future__ import annotations

from pathlib import Path

SPLIT_NAMES = ("train", "val", "test")
UNLABELED = -1  # label value of rows that carry no label (prediction CSVs)


class DataError(ValueError):
    """Bad input data; the message names the file, the row or line, what was found and what was expected."""


def class_folders(folder: Path) -> list[Path]:
    """The visible subfolders of `folder`, sorted: one per class (or train/ val/ test/)."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def files_with_suffix(folder: Path, suffix: str) -> list[Path]:
    """The visible files of `folder` whose suffix is `suffix` (any case), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == suffix
                  and not p.name.startswith("."))
