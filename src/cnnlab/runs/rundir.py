"""Run directories: runs/<YYYYmmdd-HHMMSS>-<dataset>-<model>/ with config, history, checkpoints, metrics, plots."""
from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.runs.checkpoint import (CheckpointError, load_checkpoint, model_options, save_checkpoint, write_json,
                                   write_text)
from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset
from cnnlab.models import build
from cnnlab.data.preprocess import Preprocess

HISTORY_FIELDS = ["epoch", "lr", "train_loss", "train_acc", "train_mae", "val_loss", "val_acc", "val_balanced_acc",
                  "val_mae", "test_loss", "test_acc", "test_mae", "seconds", "train_images_per_s",
                  "time"]  # time: Unix time at the epoch's end; val_balanced_acc: when it is the monitor

__all__ = ["CheckpointError", "load_checkpoint", "new_run_dir", "LoadedRun", "load_run"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "data"


def new_run_dir(cfg: TrainConfig, dataset: str) -> Path:
    """A fresh run directory under cfg.runs_dir (suffixed -2, -3 ... if the name is taken)."""
    name = cfg.run_name or f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(dataset)}-{_slug(cfg.model)}"
    base = Path(cfg.runs_dir) / name
    path, i = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            if cfg.run_name and i == 1 and not any(path.iterdir()):
                return path
            i += 1
            path = base.with_name(f"{base.name}-{i}")


def write_config(run_dir: Path, cfg: TrainConfig, data: Dataset) -> None:
    write_json(run_dir / "config.json", {**cfg.to_dict(), "_dataset": {
        "name": data.name, "source": data.source, "input_shape": list(data.input_shape),
        "classes": data.classes, "splits": {k: len(v) for k, v in data.splits.items()}}})


def checkpoint_header(cfg: TrainConfig, preprocess: Preprocess, classes: list[str], input_shape: tuple[int, ...],
                      input_meta: dict | None = None) -> dict:
    """What a checkpoint holds besides the weights and the training state: how to rebuild and feed the model."""
    return {"model_name": cfg.model, "input_shape": list(input_shape), "classes": list(classes),
            "input_meta": input_meta or {}, "preprocess": preprocess.state(), "config": cfg.to_dict()}


def checkpoint_dict(model: nn.Module, cfg: TrainConfig, preprocess: Preprocess, classes: list[str],
                    input_shape: tuple[int, ...], *, epoch: int, history: list[dict], best: dict,
                    input_meta: dict | None = None) -> dict:
    """A checkpoint of trained weights without training state (it can be used, not resumed)."""
    return {**checkpoint_header(cfg, preprocess, classes, input_shape, input_meta),
            "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "epoch": epoch, "history": history, "best": best,
            "optimizer_state": None, "scheduler_state": None, "rng": None}


def save_epoch(run_dir: Path, state: dict, is_best: bool) -> None:
    """last.pt every epoch (with optimizer, scaler and RNG state); best.pt when the monitored metric improved."""
    save_checkpoint(run_dir / "last.pt", state)
    if is_best:
        save_checkpoint(run_dir / "best.pt", {**state, "optimizer_state": None, "scheduler_state": None,
                                              "scaler_state": None})
    write_history(run_dir / "history.csv", state["history"])


def write_history(path: Path, history: list[dict]) -> None:
    out = io.StringIO()
    drop = "_acc" if any("train_mae" in row for row in history) else "_mae"  # a regressor's or a classifier's
    fields = [f for f in HISTORY_FIELDS if not f.endswith(drop)
              and (f != "val_balanced_acc" or any(f in row for row in history))]  # only where it was the monitor
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.3f}" if k == "time" else f"{v:.6g}" if isinstance(v, float) else v)
                         for k, v in row.items()})
    write_text(path, out.getvalue())


def load_last(run_dir: Path) -> dict:
    """The checkpoint to resume from: run_dir/last.pt (or the .pt file given)."""
    path = run_dir if run_dir.suffix == ".pt" else run_dir / "last.pt"
    state = load_checkpoint(path)
    if state.get("optimizer_state") is None:
        raise CheckpointError(f"{path}: has no optimizer state to resume from (use last.pt)")
    return state


def summary_line(monitor: str, best_value, best_epoch: int) -> str:
    """The run's last line, e.g. 'best val_acc 0.9931 (epoch 3)'; without a validation split to choose on (no
    best_value), which epoch's weights the run kept, e.g. 'kept epoch 19 (the last: no labelled validation split
    to choose on)'."""
    if best_value is None:
        return f"kept epoch {best_epoch} (the last: no labelled validation split to choose on)"
    return f"best {monitor} {best_value:.4f} (epoch {best_epoch})"


def write_results(run_dir: Path, fit, reports: dict, cfg: TrainConfig, seconds: float) -> None:
    """metrics.json, curves.png, confusion_matrix.png (of the test split, else val) and summary.txt."""
    from cnnlab.explain.viz.plots import plot_confusion, plot_curves

    metrics = {"best": {"monitor": fit.monitor, "value": fit.best_value, "epoch": fit.best_epoch},
               "epochs_run": len(fit.history), "stopped_early": fit.stopped_early, "seconds": round(seconds, 2),
               **{split: r.to_dict() for split, r in reports.items()}}
    write_json(run_dir / "metrics.json", metrics)
    plot_curves(fit.history, run_dir / "curves.png", fit.best_epoch)  # the epoch best.pt holds
    shown = reports.get("test") or reports.get("val")
    if shown is not None and hasattr(shown, "confusion"):  # classification: regression has no confusion matrix
        plot_confusion(shown.confusion, shown.classes, run_dir / "confusion_matrix.png",
                       title=f"{'test' if 'test' in reports else 'val'} split")
    lines = [f"{split}_{key} {value:.4f}" for split, r in reports.items() for key, value in r.headline.items()]
    write_text(run_dir / "summary.txt", "\n".join(lines + [summary_line(fit.monitor, fit.best_value,
                                                                          fit.best_epoch)]) + "\n")


@dataclass
class LoadedRun:
    """A trained model ready for inference, with what it needs to read new inputs."""

    path: Path
    model: nn.Module
    preprocess: Preprocess
    classes: list[str]
    input_shape: tuple[int, ...]
    config: TrainConfig
    checkpoint: dict

    def probabilities(self, images: torch.Tensor, device: str = "auto") -> torch.Tensor:
        """Class probabilities (N, K) for raw inputs (uint8 images, features or token ids)."""
        from cnnlab.training.device import pick_device
        from cnnlab.runs.evaluate import predict_logits
        from cnnlab.training.optim import probabilities

        dev = pick_device(device)
        self.model.to(dev)
        logits = predict_logits(self.model, images, self.preprocess, dev, None, self.config.eval_batch_size,
                                self.config.channels_last, self.config.tta)
        if self.input_meta.get("task") == "regression":
            return logits[:, :1]  # the predicted number itself
        return probabilities(logits, self.config.loss)

    @property
    def input_meta(self) -> dict:
        """How raw inputs become tensors (see Dataset.meta); {} for images."""
        return self.checkpoint.get("input_meta") or {}


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory → its best.pt (else last.pt); a .pt file → itself."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"{path}: no best.pt or last.pt in this folder (is it a cnnlab run directory?)")
    return path


def load_run(path: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild the model of a run directory or checkpoint file, in eval mode."""
    file = resolve_checkpoint(path)
    state = load_checkpoint(file)
    try:
        cfg = TrainConfig.from_dict(state["config"], strict=False)
        shape = tuple(state["input_shape"])
        model = build(state["model_name"], shape, len(state["classes"]), **model_options(state))
        model.load_state_dict(state["model_state"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{file}: cannot rebuild the model ({str(exc).splitlines()[0]})") from None
    # the memory format it trained in (TrainState.create): the same convolution kernels, so the same logits to the
    # last bit as the model had at the end of training (NCHW weights against channels-last inputs differ by ~1e-6)
    model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format).eval()
    return LoadedRun(file.parent, model, Preprocess.from_state(state["preprocess"]), list(state["classes"]),
                     shape, cfg, state)


def run_data(run: LoadedRun, data_dir: str | None = None) -> Dataset:
    """The run's own data set, split as in training (the same validation split); `data_dir` overrides where
    named data sets are looked for."""
    import dataclasses

    from cnnlab.data.rundata import prepare_data

    return prepare_data(dataclasses.replace(run.config, data_dir=data_dir or run.config.data_dir))
