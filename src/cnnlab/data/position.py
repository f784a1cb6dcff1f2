"""The course's exercise "position: left or right?" as a generated data set.

Each image is a 40×40 black canvas with one object — an MNIST digit (from the bundled mnist-mini) or a drawn
shape — at a random place.  Each row carries two targets: `label` (0 = left, 1 = right: which half holds the
object's centre) for a classifier, and `x` and `y` (the centre's column and row, in pixels) for a regressor:

    cnnlab data make position --n 10000 --out position/
    cnnlab train position/ --model cnn                 # classify left / right
    cnnlab train position/ --model cnn --target x      # regress the x coordinate (MSE loss, MAE in pixels)
    cnnlab train position/ --model cnn --target y      # ... or the y coordinate (row, from the top)
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cnnlab.runs.checkpoint import atomic_write
from cnnlab.data.named import load_named

SIZE = 40  # canvas side in pixels
OBJECT = 20  # digits are the 20×20 box that MNIST centres its strokes in


def _digits(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random 20×20 digit crops (uint8) from the bundled mnist-mini training split."""
    images = load_named("mnist-mini")["train"].images[:, 0, 4:24, 4:24].numpy()
    return images[rng.integers(0, len(images), n)]


def _shapes(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random filled shapes (circle, square, triangle) of 10-20 px in 20×20 tiles."""
    out = np.zeros((n, OBJECT, OBJECT), dtype=np.uint8)
    for i in range(n):
        tile = Image.new("L", (OBJECT, OBJECT))
        draw = ImageDraw.Draw(tile)
        s = int(rng.integers(10, OBJECT + 1))
        lo, hi = (OBJECT - s) // 2, (OBJECT - s) // 2 + s - 1
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse((lo, lo, hi, hi), fill=255)
        elif kind == 1:
            draw.rectangle((lo, lo, hi, hi), fill=255)
        else:
            draw.polygon([(lo, hi), (hi, hi), ((lo + hi) // 2, lo)], fill=255)
        out[i] = np.asarray(tile)
    return out


def make_position(n: int, seed: int = 0, source: str = "digits"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(images (n, 40, 40) uint8, side labels (n,) 0 = left / 1 = right, centre x (n,) and centre y (n,),
    float32 in pixels from the left and from the top)."""
    if source not in ("digits", "shapes"):
        raise ValueError(f"source {source!r} is not one of digits, shapes")
    rng = np.random.default_rng(seed)
    objects = _digits(n, rng) if source == "digits" else _shapes(n, rng)
    left = rng.integers(0, SIZE - OBJECT + 1, n)  # the object's left edge
    top = rng.integers(0, SIZE - OBJECT + 1, n)
    images = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
    for i in range(n):
        images[i, top[i]:top[i] + OBJECT, left[i]:left[i] + OBJECT] = objects[i]
    x = (left + (OBJECT - 1) / 2).astype(np.float32)  # the tile's centre column
    y = (top + (OBJECT - 1) / 2).astype(np.float32)  # and row
    return images, (x >= (SIZE - 1) / 2).astype(np.int64), x, y


def write_position(folder: str | Path, n: int, seed: int = 0, source: str = "digits",
                   test_fraction: float = 0.2) -> list[Path]:
    """Write folder/train.csv.gz and folder/test.csv.gz (`label,x,y,feature`) and folder/classes.txt."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels, x, y = make_position(n, seed, source)
    n_test = int(round(n * test_fraction))
    written = []
    for name, rows in (("train", slice(n_test, n)), ("test", slice(0, n_test))):
        lines = ["label,x,y,feature"] + [f"{lab},{xi:g},{yi:g}," + " ".join(map(str, img.reshape(-1).tolist()))
                                          for lab, xi, yi, img in zip(labels[rows], x[rows], y[rows], images[rows])]
        path = folder / f"{name}.csv.gz"
        data = gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6, mtime=0)
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
        written.append(path)
    atomic_write(folder / "classes.txt", lambda tmp: tmp.write_text("left\nright\n"))
    return written + [folder / "classes.txt"]
