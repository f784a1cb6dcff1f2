"""Scoring a saved run on a split of its own data or of other data (`cnnlab evaluate`, `Classifier`-free)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from cnnlab.runs.evaluate import RegressionReport, Report, predict_logits, report
from cnnlab.data import Dataset, Split
from cnnlab.runs.rundir import LoadedRun, run_data
from cnnlab.training.config import chosen_tta, mirror_tta_note
from cnnlab.training.device import pick_device


@dataclass
class RunScore:
    """A run scored on one split: the data set's name, the split, the test-time augmentation used (None: plain
    predictions), the metrics (`Report`: accuracy, loss in nats, per-class figures, confusion matrix) and notes
    on the choices (a mirroring TTA on a run never trained on mirror images)."""
    data_name: str
    split: str
    tta: str | None
    report: Report | RegressionReport
    notes: list[str] = dataclasses.field(default_factory=list)


def labeled_split(dataset: Dataset, split: str | None = None) -> tuple[str, Split]:
    """(name, split) of `dataset` to score on: `split`, by default test when there is one, else val, else the
    first.  Raises ValueError naming the data set when it has no such split or the split has no labels."""
    split = split or ("test" if "test" in dataset else "val" if "val" in dataset else next(iter(dataset.splits)))
    if split not in dataset:
        raise ValueError(f"{dataset.name} has no split {split!r} (it has {', '.join(dataset.splits)})")
    if not dataset[split].labeled:
        raise ValueError(f"split {split!r} of {dataset.source} has no labels to evaluate against")
    return split, dataset[split]


def score_run(run: LoadedRun, data: str | None = None, data_dir: str | None = None, split: str | None = None,
              device: str = "auto", tta: str | None = None) -> RunScore:
    """Score `run` (from runs.rundir.load_run) on `split` of `data` (a named data set or a path; default: the
    run's own data with the same validation split, so "val" is the split it was chosen on).  `split` defaults
    to test when the data has one, else val; `tta` None keeps the run's own test-time augmentation, "none"
    turns it off.  Images of other data are read at the run's input size and channels, and a file's labels
    are mapped to the run's classes as in training.

    Raises ValueError naming the data set when the split is missing or unlabeled, or when the data has another
    number of classes than the model; DataError for data that cannot be read."""
    from cnnlab.data import load_data

    if data:
        own = {"classes": list(run.classes)} if Path(data).exists() else {}
        dataset = load_data(data, data_dir=data_dir, image_size=run.input_shape[1:], channels=run.input_shape[0],
                            **own)
    else:
        dataset = run_data(run, data_dir)
    split, part = labeled_split(dataset, split)
    if dataset.classes != run.classes and len(dataset.classes) != len(run.classes):
        raise ValueError(f"the data has {len(dataset.classes)} classes, the model {len(run.classes)}")
    target = pick_device(device)
    run.model.to(target)
    tta = chosen_tta(tta, run.config.tta)
    logits = predict_logits(run.model, part.images, run.preprocess, target, None, run.config.eval_batch_size,
                            run.config.channels_last, tta)
    mirror = mirror_tta_note(tta, run.config.augment) if part.images.dim() == 4 else None
    return RunScore(dataset.name, split, tta,
                    report(logits, part.labels, run.classes, run.config.loss, run.config.top_k),
                    [mirror] if mirror else [])
