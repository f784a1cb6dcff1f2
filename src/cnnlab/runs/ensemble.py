"""Ensembles, as on the course's closing slide: several trained models vote by averaging their probabilities.

An ensemble is a folder with `ensemble.json` naming its member runs and their weights; `cnnlab predict`
and `cnnlab evaluate` take it wherever they take a run.  Members may differ in architecture and
preprocessing; they must share the input shape and the class names.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnlab.runs.checkpoint import CheckpointError, write_json
from cnnlab.runs.evaluate import Report, report
from cnnlab.training.config import TTAS, chosen_tta, mirror_tta_note
from cnnlab.runs.rundir import LoadedRun, load_run, run_data

FILE = "ensemble.json"


@dataclass
class Ensemble:
    members: list[LoadedRun]
    weights: list[float]  # sum to 1
    path: Path | None = None
    tta: str = "member"  # the members' own test-time augmentation, or one for all (none | flip | shift)

    @property
    def classes(self) -> list[str]:
        return self.members[0].classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.members[0].input_shape

    @property
    def input_meta(self) -> dict:
        return self.members[0].input_meta

    def member_probabilities(self, images: torch.Tensor, device: str = "auto") -> list[torch.Tensor]:
        """Each member's class probabilities (N, K) for uint8 inputs, with its own preprocessing and TTA."""
        return [run.probabilities(images, device) for run in self.members]

    def combine(self, member_probs: list[torch.Tensor]) -> torch.Tensor:
        """The weighted mean of the members' probabilities (N, K)."""
        return sum(w * p for w, p in zip(self.weights, member_probs))

    def probabilities(self, images: torch.Tensor, device: str = "auto") -> torch.Tensor:
        """The ensemble's class probabilities (N, K)."""
        return self.combine(self.member_probabilities(images, device))


def score(ensemble: Ensemble, member_probs: list[torch.Tensor], labels: torch.Tensor) -> tuple[list[Report], Report]:
    """The reports of each member and of the ensemble against labels (N,), from the members' probabilities
    (N, K); log-probabilities stand in for logits (the loss is then the cross-entropy of the probabilities)."""
    def scored(probs: torch.Tensor) -> Report:
        return report(probs.clamp_min(1e-12).log(), labels, ensemble.classes)

    return [scored(p) for p in member_probs], scored(ensemble.combine(member_probs))


@dataclass
class EnsembleScore:
    """An ensemble scored on one split: each member's report (in member order), the ensemble's, and notes (a
    mirroring TTA on a member that never trained on mirror images)."""
    data_name: str
    split: str
    images: int
    members: list[Report]
    report: Report
    notes: list[str]

    def member_rows(self, ensemble: Ensemble) -> list[dict]:
        """Per member: run path, model, weight, accuracy, balanced accuracy, macro F1 (fractions 0–1)."""
        return [{"run": str(run.path), "model": run.config.model, "weight": w, "acc": r.accuracy,
                 "balanced_acc": r.balanced_accuracy, "macro_f1": r.average("macro")["f1"]}
                for run, w, r in zip(ensemble.members, ensemble.weights, self.members)]


def score_ensemble(ensemble: Ensemble, data: str | None = None, data_dir: str | None = None,
                   split: str | None = None, device: str = "auto") -> EnsembleScore:
    """Score the members and the ensemble on `split` (default: test if present, else val, else the first split,
    as scoring.labeled_split) of `data` (a named data set or a path, read at the members' input size; default:
    the first member's own data with its validation split).  Raises ValueError naming the data when the split
    is missing or unlabeled."""
    from cnnlab.data import load_data
    from cnnlab.runs.scoring import labeled_split

    first = ensemble.members[0]
    if data:
        own = {"classes": list(first.classes)} if Path(data).exists() else {}
        dataset = load_data(data, data_dir=data_dir, image_size=first.input_shape[1:], channels=first.input_shape[0],
                            **own)
    else:
        dataset = run_data(first, data_dir)
    split, part = labeled_split(dataset, split)
    member_reports, rep = score(ensemble, ensemble.member_probabilities(part.images, device), part.labels)
    notes = [] if part.images.dim() != 4 else \
        [f"{run.path}: {note}" for run in ensemble.members if (note := mirror_tta_note(run.config.tta,
                                                                                      run.config.augment))]
    return EnsembleScore(dataset.name, split, len(part), member_reports, rep, notes)


def write_ensemble(ensemble: Ensemble, result: EnsembleScore, folder: str | Path) -> Path:
    """Save the ensemble into `folder` (ensemble.json, for `cnnlab predict` and `cnnlab evaluate`) with its
    scores (metrics.json: the split, the TTA, each member's row and the ensemble's report) and its confusion
    matrix (confusion_matrix.png).  Returns the folder."""
    from cnnlab.explain.viz.plots import plot_confusion

    folder = Path(folder)
    save_ensemble(ensemble, folder)
    plot_confusion(result.report.confusion, ensemble.classes, folder / "confusion_matrix.png",
                   title=f"ensemble, {result.split} split")
    write_json(folder / "metrics.json", {"split": result.split, "tta": ensemble.tta,
                                         "members": result.member_rows(ensemble),
                                         "ensemble": result.report.to_dict()})
    return folder


def is_ensemble(path: str | Path) -> bool:
    return (Path(path) / FILE).is_file()


def val_accuracy(run: LoadedRun) -> float:
    """A member's validation accuracy from its metrics.json (for weighting)."""
    metrics = run.path / "metrics.json"
    try:
        return float(json.loads(metrics.read_text())["val"]["acc"])
    except (OSError, KeyError, ValueError):
        raise CheckpointError(f"{run.path}: no validation accuracy in metrics.json to weight by") from None


def set_tta(members: list[LoadedRun], tta: str) -> None:
    """Give every member test-time augmentation `tta` ("none": off; "member": each keeps its own)."""
    if tta != "member":
        for run in members:
            run.config = dataclasses.replace(run.config, tta=chosen_tta(tta, run.config.tta))


def make_ensemble(paths: list[str | Path], weights: str | list[float] = "equal", tta: str = "member") -> Ensemble:
    """Load the member runs; weights 'equal', 'val' (proportional to validation accuracy) or explicit numbers.
    tta: "member" keeps each member's own test-time augmentation; "none" or one of TTAS sets it for all."""
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two runs")
    if tta not in ("member", "none", *TTAS):
        raise ValueError(f"tta {tta!r} is not one of member, none, {', '.join(TTAS)}")
    members = [load_run(p) for p in paths]
    set_tta(members, tta)
    for run in members[1:]:
        if run.classes != members[0].classes:
            raise ValueError(f"{run.path}: classes {run.classes} differ from {members[0].path}'s {members[0].classes}")
        if run.input_shape != members[0].input_shape:
            raise ValueError(f"{run.path}: input {run.input_shape} differs from {members[0].path}'s "
                             f"{members[0].input_shape}")
    if weights == "equal":
        raw = [1.0] * len(members)
    elif weights == "val":
        raw = [val_accuracy(run) for run in members]
    else:
        raw = [float(w) for w in weights]
        if len(raw) != len(members) or min(raw) < 0 or sum(raw) <= 0:
            raise ValueError(f"expected {len(members)} non-negative weights, got {weights}")
    return Ensemble(members, [w / sum(raw) for w in raw], tta=tta)


def save_ensemble(ensemble: Ensemble, folder: str | Path) -> Path:
    """Write folder/ensemble.json (member paths relative to the folder when possible)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    members = [{"run": str(run.path.resolve()), "weight": w} for run, w in zip(ensemble.members, ensemble.weights)]
    write_json(folder / FILE, {"members": members, "classes": ensemble.classes, "tta": ensemble.tta})
    ensemble.path = folder
    return folder / FILE


def load_ensemble(folder: str | Path) -> Ensemble:
    """The ensemble described by folder/ensemble.json."""
    path = Path(folder) / FILE
    try:
        spec = json.loads(path.read_text())
        members = [m["run"] for m in spec["members"]]
        weights = [float(m["weight"]) for m in spec["members"]]
        tta = str(spec.get("tta", "member"))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable ensemble description ({exc})") from None
    ensemble = make_ensemble(members, weights, tta)
    ensemble.path = Path(folder)
    return ensemble
