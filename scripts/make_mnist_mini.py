"""Rebuild the bundled `mnist-mini` subset: 6,000 train / 1,000 test images drawn from full MNIST with seed 0.

Usage: python scripts/make_mnist_mini.py PATH/TO/mnist  (the folder with the four IDX .gz files)
"""
import gzip
import sys
from pathlib import Path

import numpy as np

from cnnlab.data.idx import load_idx_folder

OUT = Path(__file__).resolve().parents[1] / "src" / "cnnlab" / "data" / "bundled" / "mnist-mini"
SIZES = {"train": 6000, "test": 1000}
STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def main(source: str) -> None:
    data = load_idx_folder(source, "mnist")
    rng = np.random.default_rng(0)
    OUT.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        part = data[split]
        index = np.sort(rng.permutation(len(part))[:n])
        write_idx(OUT / (STEMS[split][0] + ".gz"), part.images[index, 0].numpy())
        write_idx(OUT / (STEMS[split][1] + ".gz"), part.labels[index].numpy())


if __name__ == "__main__":
    main(sys.argv[1])
