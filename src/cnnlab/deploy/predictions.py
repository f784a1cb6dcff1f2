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


ID_FORMS = {"path": lambda i: i, "name": lambda i: Path(i).name, "stem": lambda i: Path(i).stem}


def write_predictions(path: Path, predictions: list[Prediction], classes: list[str], names: bool = False,
                      ids: str = "path") -> None:
    """A Kaggle-style `id,label` CSV (label = class index, or class name with names=True), written atomically.
    `ids`: each id as given ("path"), its file name ("name": test/00501.jpg → 00501.jpg) or that name without
    its suffix ("stem": → 00501, the ids of most sample_submission.csv files)."""
    form = ID_FORMS[ids]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "label"])
    for p in predictions:
        writer.writerow([form(p.id), classes[p.index] if names else p.index])
    write_text(Path(path), out.getvalue())


def accuracy_of(predictions: list[Prediction]) -> float | None:
    """Share of labelled inputs predicted correctly (None when no input had a label)."""
    known = [(p.index, p.label) for p in predictions if p.label is not None]
    return float(np.mean([a == b for a, b in known])) if known else None
