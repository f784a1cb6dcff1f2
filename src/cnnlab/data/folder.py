"""Image folders: one subfolder per class (optionally inside train/ val/ test/), any size and mode."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cnnlab.data.base import class_folders
from cnnlab.data.dataset import SPLIT_NAMES, DataError, Dataset, Split
from cnnlab.data.image import IMAGE_SUFFIXES, load_image  # noqa: F401  (re-exported)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def looks_like_image_folder(folder: Path) -> bool:
    """True when the folder has class subfolders holding images (directly or under train/)."""
    for sub in class_folders(folder):
        if any(is_image_file(p) for p in sub.iterdir()):
            return True
        if sub.name in SPLIT_NAMES and any(any(is_image_file(p) for p in c.iterdir()) for c in class_folders(sub)):
            return True
    return False


def load_images(paths: list[Path], channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """Decode many images (in threads: Pillow releases the GIL while decoding) into one N×C×H×W array."""
    if size is None and paths:
        with Image.open(paths[0]) as img:
            size = (img.size[1], img.size[0])
    with ThreadPoolExecutor(max_workers=4) as pool:
        arrays = list(pool.map(lambda p: load_image(p, channels, size), paths))
    if not arrays:
        return np.zeros((0, channels, *(size or (1, 1))), dtype=np.uint8)
    return np.stack(arrays)


def _guess_channels(paths: list[Path]) -> int:
    """1 when the first images are gray, else 3."""
    for path in paths[:20]:
        try:
            with Image.open(path) as img:
                if img.mode not in ("L", "1", "I", "I;16", "F", "LA"):
                    return 3
        except (UnidentifiedImageError, OSError):
            raise DataError(f"{path}: unreadable image") from None
    return 1


def _list_split(folder: Path, classes: list[str] | None) -> tuple[list[Path], list[int], list[str]]:
    found = [p.name for p in class_folders(folder)]
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(f"{folder}: class folder(s) {', '.join(unknown)} not among the training classes "
                        f"{', '.join(classes)}")
    paths, labels = [], []
    for label, name in enumerate(classes):
        sub = folder / name
        if sub.is_dir():
            files = sorted(p for p in sub.iterdir() if is_image_file(p))
            paths += files
            labels += [label] * len(files)
    return paths, labels, classes


@dataclass
class FolderListing:
    """What an image folder holds, before any image is decoded."""

    folder: Path
    classes: list[str]
    files: dict[str, tuple[list[Path], list[int]]]  # split → (sorted paths, labels)
    channels: int
    image_size: tuple[int, int]  # (H, W) every image is resized to


def list_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None,
                      channels: int | None = None) -> FolderListing:
    """List `folder/<class>/*` (split 'train') or `folder/{train,val,test}/<class>/*`, and settle size and mode."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    split_dirs = {s: folder / s for s in SPLIT_NAMES if (folder / s).is_dir()}
    if "train" not in split_dirs:
        split_dirs = {"train": folder}
    listed, classes = {}, None
    for split, path in split_dirs.items():
        paths, labels, classes = _list_split(path, classes)
        listed[split] = (paths, labels)
    if not listed["train"][0]:
        raise DataError(f"{folder}: no images found; expected one subfolder per class holding image files "
                        f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    channels = channels or _guess_channels(listed["train"][0])
    if image_size is None:  # keep the first image's size, resize the others to it
        with Image.open(listed["train"][0][0]) as img:
            image_size = (img.size[1], img.size[0])
    return FolderListing(folder, classes, listed, channels, tuple(image_size))


def load_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None, channels: int | None = None,
                      name: str | None = None) -> Dataset:
    """Load `folder/<class>/*.png` (one split 'train') or `folder/{train,val,test}/<class>/*` (named splits)."""
    listing = list_image_folder(folder, image_size, channels)
    splits = {}
    for split, (paths, labels) in listing.files.items():
        images = load_images(paths, listing.channels, listing.image_size)
        splits[split] = Split(images, np.asarray(labels, dtype=np.int64),
                              [str(p.relative_to(listing.folder)) for p in paths])
    return Dataset(name or listing.folder.name, listing.classes, splits, source=str(listing.folder))
