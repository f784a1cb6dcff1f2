"""Torch-free basics of the data package: the error class, the label and split conventions, folder listing."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SPLIT_NAMES = ("train", "val", "test")
# the names split folders go by (any case, alone or as a word of the name: Training, valid, seg_train, test_set)
SPLIT_ALIASES = {"train": ("train", "training"), "val": ("val", "valid", "validation", "dev"),
                 "test": ("test", "testing")}
ARCHIVE_LEFTOVERS = ("__MACOSX",)  # what unzipping a macOS archive leaves beside the data
UNLABELED = -1  # label value of rows that carry no label (prediction CSVs)


class DataError(ValueError):
    """Bad input data; the message names the file, the row or line, what was found and what was expected."""


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in ARCHIVE_LEFTOVERS


def class_names(labels: list[str]) -> list[str]:
    """Sorted distinct labels; numerically when they are all integers ('2' before '10')."""
    distinct = set(labels)
    if all(v.lstrip("-").isdigit() for v in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def class_folders(folder: Path) -> list[Path]:
    """The visible subfolders of `folder`, sorted: one per class (or train/ val/ test/).  Hidden folders and
    macOS archives' __MACOSX are skipped."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p.name))


def split_of(name: str) -> str | None:
    """'train', 'val' or 'test' for a split folder's name, in any case, alone or as a word of it (SPLIT_ALIASES:
    Training, valid, validation, dev, Testing, training_set, seg_train, test-images, train2017, test1); None for
    any other name or one that names two splits (train_val)."""
    words = {re.sub(r"\d+$", "", word) for word in re.split(r"[\W_]+", name.lower())}  # test1, val2017
    hits = [split for split, aliases in SPLIT_ALIASES.items() if words & set(aliases)]
    return hits[0] if len(hits) == 1 else None


def has_files(folder: Path, suffixes: frozenset[str] | set[str]) -> bool:
    """True when `folder` itself (not its subfolders) holds a visible file with one of `suffixes` (any case)."""
    return any(p.suffix.lower() in suffixes and _visible(p.name) and p.is_file() for p in folder.iterdir())


def unwrap(folder: Path, suffixes: frozenset[str] | set[str]) -> Path:
    """`folder`, or the folder at the end of a chain of lone wrappers below it: a folder with one visible
    subfolder, itself holding subfolders, and no data file (`suffixes`) of its own — what unzipping often leaves
    (archive/dataset/..., Kaggle's training_set/training_set/<class>/)."""
    while not has_files(folder, suffixes):
        subs = class_folders(folder)
        if len(subs) != 1 or not class_folders(subs[0]):
            break
        folder = subs[0]
    return folder


def split_folders(folder: Path, suffixes: frozenset[str] | set[str]) -> dict[str, Path]:
    """Split name → its folder (unwrapped) when `folder` is laid out in split folders holding class folders
    (train/ val/ test/ or any SPLIT_ALIASES name: Training/ Testing/, train/ valid/ test/, seg_train/seg_train/);
    {} when it is not (no training split, or one whose data files sit directly in it: a class named 'train').

    Raises DataError when two folders name the same split (test/ and testing/).
    """
    found: dict[str, Path] = {}
    for sub in class_folders(folder):
        split = split_of(sub.name)
        if split is None:
            continue
        if split in found:
            raise DataError(f"{folder}: both {found[split].relative_to(folder).parts[0]}/ and {sub.name}/ name the "
                            f"{split} split; keep one (or rename the other)")
        found[split] = unwrap(sub, suffixes)
    train = found.get("train")
    if train is None or has_files(train, suffixes) or not class_folders(train):
        return {}
    return {split: found[split] for split in SPLIT_NAMES if split in found}


@dataclass
class FolderLayout:
    """How a data folder is laid out: split → the folder of its class folders, and where the split folders are."""

    dirs: dict[str, Path]
    named: bool  # the splits come from split folders (else one 'train' split: the class folders' parent)
    root: Path  # the folder holding the split folders (or the class folders), below any lone wrappers


def folder_layout(folder: Path, suffixes: frozenset[str] | set[str]) -> FolderLayout:
    """Split folders in `folder` (split_folders), else in the folder below its lone wrappers (unwrap), else that
    folder's class folders as the one training split.  `suffixes`: the data files' (image, .txt, .wav)."""
    for root in dict.fromkeys([folder, unwrap(folder, suffixes)]):
        named = split_folders(root, suffixes)
        if named:
            return FolderLayout(named, True, root)
    return FolderLayout({"train": root}, False, root)


def other_folders(folder: Path) -> list[str]:
    """The visible subfolders of a split-laid-out `folder` that are no split (seg_pred/ beside seg_train/)."""
    return [p.name for p in class_folders(folder) if split_of(p.name) is None]


def files_with_suffix(folder: Path, suffix: str) -> list[Path]:
    """The visible files of `folder` whose suffix is `suffix` (any case), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == suffix
                  and not p.name.startswith("."))


def visible_files(folder: Path) -> list[Path]:
    """Every visible file under `folder`, in sub-folders too (hidden files and folders skipped), sorted by path —
    the walk torchvision's ImageFolder and Keras's image_dataset_from_directory do inside a class folder."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if _visible(d)]
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
