"""What to look at: one input for `explain` (an image file, a CSV row, an image of a run's own data) and
random batches for `show-batch`, optionally augmented as in training."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnlab.data import DataError, Split
from cnnlab.data.image_file import IMAGE_SUFFIXES, load_image
from cnnlab.data.io import GZIP_MAGIC
from cnnlab.runs.rundir import LoadedRun, run_data


@dataclass
class InputImage:
    """One image at the model's input size, its true class when known, and where it came from."""

    image: torch.Tensor  # (C, H, W) uint8
    label: int | None
    source: str  # e.g. "digit.png", "fer2013.csv.gz:12", "test[12]"


# ── one input ───────────────────────────────────────────────────────────────────────────────────────────
def read_input(run: LoadedRun, source: str | None = None, index: int | None = None, split: str | None = None,
               data_dir: str | None = None) -> InputImage:
    """An image file, a CSV row 'file.csv:ROW' (ROW counts data rows from 0), or image `index` of the run's own
    data (split: test, else val, else train)."""
    c, h, w = run.input_shape
    if source is not None:
        path = Path(source)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if not path.is_file():
                raise DataError(f"{path}: no such image file")
            return InputImage(torch.from_numpy(load_image(path, c, (h, w)).copy()), None, path.name)
        m = re.fullmatch(r"(.+):(\d+)", source)
        if m and Path(m.group(1)).is_file():
            return _csv_row(run, Path(m.group(1)), int(m.group(2)))
        if path.is_file():
            raise DataError(f"{path}: give an image file, or a CSV row as {path}:ROW (ROW from 0)")
        raise DataError(f"{source}: no such file (expected an image file or file.csv:ROW)")
    if index is None:
        raise ValueError("no input: give an image file, file.csv:ROW, or --index N into the run's data")
    data = run_data(run, data_dir)
    name = split or next(s for s in ("test", "val", "train") if s in data)
    part = data[name]
    if not 0 <= index < len(part):
        raise ValueError(f"--index {index}: the {name} split has {len(part)} images (0..{len(part) - 1})")
    label = int(part.labels[index])
    return InputImage(part.images[index].clone(), label if label >= 0 else None, f"{name}[{index}]")


def _csv_row(run: LoadedRun, path: Path, row: int) -> InputImage:
    """Data row `row` (0-based, header excluded) of a pixel CSV, read without parsing the rest of the file."""
    import gzip
    import tempfile

    from cnnlab.data.pixelcsv import load_pixel_csv

    with open(path, "rb") as fh:
        opened = gzip.open(path, "rb") if fh.read(2) == GZIP_MAGIC else open(path, "rb")
    with opened as fh:
        header, line, count = fh.readline(), None, -1
        for count, line in enumerate(fh):
            if count == row:
                break
        else:
            raise DataError(f"{path}: has {count + 1} data rows; row {row} asked for (rows count from 0)")
    c, h, w = run.input_shape
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "row.csv"
        one.write_bytes(header + line.rstrip(b"\r\n") + b"\n")
        try:
            data = load_pixel_csv(one, (h, w), c, classes=run.classes)
        except DataError as exc:
            raise DataError(str(exc).replace(f"{one}, line 2", f"{path}, row {row}").replace(str(one), str(path)))
    part = next(iter(data.splits.values()))
    label = int(part.labels[0])
    return InputImage(part.images[0].clone(), label if label >= 0 else None, f"{path.name}:{row}")


# ── batches of data ──────────────────────────────────────────────────────────────────────────────────────
def sample_batch(split: Split, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (uint8 (n, C, H, W)) and labels drawn at random without replacement (all when fewer)."""
    gen = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(split), generator=gen)[:n]
    return split.images[index], split.labels[index]


def augment_batch(images: torch.Tensor, spec: str, seed: int = 0) -> torch.Tensor:
    """The images (uint8) as floats in [0, 1], augmented by cnnlab.training.augment as training would."""
    try:
        from cnnlab.training import augment
    except ImportError:
        raise ValueError("--augment needs cnnlab.training.augment, which this installation does not have") from None
    gen = torch.Generator().manual_seed(seed)
    return augment.Augmenter(augment.parse_augment(spec), gen)(images.float() / 255).clamp(0, 1)
