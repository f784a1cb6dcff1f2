"""IDX files (MNIST, Fashion-MNIST, KMNIST): the format of LeCun's MNIST distribution, plain or gzip."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.dataset import DataError, Dataset, Split
from cnnlab.data.io import decode_text, read_bytes

# type code in the magic number → big-endian NumPy dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# (images, labels) file stems per split, as in the original distributions
IDX_SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

KNOWN_CLASSES = {
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
}


def is_idx(head: bytes) -> bool:
    """True when `head` (the first bytes of a decompressed file) starts with an IDX magic number."""
    return len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in IDX_TYPES and 1 <= head[3] <= 4


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in one IDX file; raises DataError for a bad magic number or a truncated body."""
    data = read_bytes(path)
    if len(data) < 4 or not is_idx(data[:4]):
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'}, "
                        "expected 0000 then a type code 08-0e and 1-4 dimensions)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, expected at least {header})")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = len(data) - header
    if body < expected:
        raise DataError(f"{path}: truncated IDX file: header says {dims[0]} items of shape {dims[1:]} "
                        f"({expected} bytes) but the file holds {body} bytes after the header")
    if body > expected:
        raise DataError(f"{path}: IDX file has {body - expected} unexpected bytes after {dims[0]} items")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """`stem` or `stem.gz` in `folder` (also the `stem.idx3-ubyte` spelling some copies use)."""
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def looks_like_idx_folder(folder: Path) -> bool:
    """True when the folder holds the MNIST-style training image and label files."""
    return all(find_idx_file(folder, stem) for stem in IDX_SPLITS["train"])


def load_idx_pair(images_path: Path, labels_path: Path) -> Split:
    """One split from an images file (N×H×W or N×C×H×W uint8) and its labels file (N)."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8:
        raise DataError(f"{images_path}: images must be unsigned bytes (type 0x08), got {images.dtype}")
    if images.ndim == 3:
        images = images[:, None, :, :]
    if images.ndim != 4:
        raise DataError(f"{images_path}: expected N×H×W images, got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a 1-D label array, got shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}")
    return Split(images, labels.astype(np.int64))


def load_idx_folder(folder: str | Path, name: str | None = None) -> Dataset:
    """A folder with the four MNIST-style files; classes from classes.txt, a known data set, or 0-9."""
    folder = Path(folder)
    splits = {}
    for split, (images_stem, labels_stem) in IDX_SPLITS.items():
        images_path, labels_path = find_idx_file(folder, images_stem), find_idx_file(folder, labels_stem)
        if images_path is None or labels_path is None:
            if split == "train":
                raise DataError(f"{folder}: expected {images_stem}[.gz] and {labels_stem}[.gz] (IDX files)")
            continue
        splits[split] = load_idx_pair(images_path, labels_path)
    name = name or folder.name
    num_classes = max(int(s.labels.max()) + 1 for s in splits.values())
    classes = read_class_names(folder) or KNOWN_CLASSES.get(name) or [str(i) for i in range(num_classes)]
    return Dataset(name, classes, splits, source=str(folder))


def read_class_names(folder: Path) -> list[str] | None:
    """Class names from `classes.txt` (one per line, in label order; UTF-8/16 or Windows-1252, as its bytes say)
    when the folder has one."""
    path = folder / "classes.txt"
    if not path.is_file():
        return None
    names = [line.strip() for line in decode_text(read_bytes(path), path)[0].splitlines() if line.strip()]
    return names or None
