"""Prediction records and their id,label CSV: torch-free, shared by the PyTorch and the ONNX paths."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.runs.checkpoint import write_text


@dataclass
class Prediction:
    id: str  # file name or CSV id/row
    index: int  # predicted class index
    top: list[tuple[str, float]]  # (class, probability), most probable first
    label: int | None = None  # the true class index when the input had one


def write_predictions(path: Path, predictions: list[Prediction], classes: list[str], names: bool = False) -> None:
    """A Kaggle-style `id,label` CSV (label = class index, or class name with names=True), written atomically."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "label"])
    for p in predictions:
        writer.writerow([p.id, classes[p.index] if names else p.index])
    write_text(Path(path), out.getvalue())


def accuracy_of(predictions: list[Prediction]) -> float | None:
    """Share of labelled inputs predicted correctly (None when no input had a label)."""
    known = [(p.index, p.label) for p in predictions if p.label is not None]
    return float(np.mean([a == b for a, b in known])) if known else None
