"""Torch-free basics of the data package: the error class, the label and split conventions, folder listing."""
from __future__ import annotations

import os
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


def visible_files(folder: Path) -> list[Path]:
    """Every visible file under `folder`, in sub-folders too (hidden files and folders skipped), sorted by path —
    the walk torchvision's ImageFolder and Keras's image_dataset_from_directory do inside a class folder."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root) / name for name in files if not name.startswith(".")]
    return sorted(found)


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable), or 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def size_text(n: int) -> str:
    """Bytes as a short human figure: 1.2 GB, 340 MB, 12 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def cache_dir() -> Path:
    """Where downloads and decoded images go: $CNNLAB_CACHE, else ~/.cache/cnnlab."""
    return Path(os.environ.get("CNNLAB_CACHE") or Path.home() / ".cache" / "cnnlab")
