"""Experiment logs for TensorBoard: `cnnlab train DATA --log tensorboard`, then `tensorboard --logdir runs`.

Writes `<run_dir>/tensorboard/` with torch.utils.tensorboard's SummaryWriter (the `tensorboard` package:
`pip install 'cnnlab[tensorboard]'`):

- scalars per step (x = optimizer steps): `step/loss`, `step/acc` (or `step/mae`), `step/lr`, `step/images_per_s`
  at each on_batch_end (every LOG_EVERY steps and an epoch's last step; loss and acc are the epoch's running
  means, as the progress bar shows them);
- scalars per epoch (x = epoch): `epoch/<column>` for every number of the history.csv row (train_loss,
  train_acc, val_loss, val_acc, lr, train_images_per_s, seconds);
- the effective config (recipe applied) as hparams, with the final metrics `final/<split>_<metric>`, and as text;
- images: `images/train_batch` (the first training batch as the network sees it: normalised and augmented,
  each image rescaled to [0, 1] for display) and `confusion/<split>` (the final test report's, else val's:
  the run directory's confusion_matrix.png).

history.csv and metrics.json are written as before; this is an extra view of the same run.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import torch

from cnnlab.training.callbacks import BatchLogs, Callback, RunInfo

INSTALL_HINT = "pip install 'cnnlab[tensorboard]'"
SAMPLE_IMAGES = 32  # images of the first training batch written as `images/train_batch`
SKIP_EPOCH_COLUMNS = ("epoch", "time")  # history columns that are not curves (the x axis; a wall-clock stamp)


def summary_writer_class():
    """torch.utils.tensorboard.SummaryWriter; ValueError with the install line when `tensorboard` is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises it when the tensorboard package is absent or too old
        raise ValueError(f"--log tensorboard needs the tensorboard package: {INSTALL_HINT}") from None
    return SummaryWriter


def experiment_loggers(cfg) -> list[Callback]:
    """The callbacks cfg.log asks for (train() adds them); ValueError when their package is missing."""
    return [TensorBoardLogger()] if cfg.log == "tensorboard" else []


def hparam_values(config: dict) -> dict:
    """A run's config as hparams: numbers, strings and bools kept; lists and dicts as JSON text; None (an
    automatic choice) and the `_dataset` block left out (the data set's name is the `data` value)."""
    values = {}
    for key, value in config.items():
        if value is None or key.startswith("_") or value == {}:
            continue
        values[key] = value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
    return values


def display_images(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) normalised floats → (N, C, H, W) floats in [0, 1], each image min-max rescaled (the
    normalisation and augmentation make the stored pixel range meaningless for display)."""
    x = x.detach().float().cpu().contiguous()
    flat = x.flatten(1)
    low, high = flat.min(1).values, flat.max(1).values
    scale = (high - low).clamp_min(1e-8)
    return ((x - low.view(-1, 1, 1, 1)) / scale.view(-1, 1, 1, 1)).clamp(0, 1)


def png_array(png: bytes):
    """PNG bytes → (H, W, 3) uint8 NumPy array."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


class TensorBoardLogger(Callback):
    """Writes a run's curves, config, confusion matrix and a sample batch to `<run_dir>/tensorboard/`.

    Raises ValueError (with the pip line) when created without the tensorboard package.  train() adds it with
    cfg.log == "tensorboard"; under torchrun it runs on rank 0 only, like every callback given to train().
    """

    def __init__(self, subdir: str = "tensorboard", sample_images: int = SAMPLE_IMAGES):
        self.writer_class = summary_writer_class()  # fail before the data is read, not after
        self.subdir = subdir
        self.sample_images = sample_images
        self.writer = None
        self.logdir: Path | None = None
        self._hook = None

    def on_run_begin(self, info: RunInfo) -> None:
        self.logdir = Path(info.run_dir) / self.subdir
        self.writer = self.writer_class(log_dir=str(self.logdir))

    def on_train_begin(self, state) -> None:
        if self.writer is None:  # fit() called without train(): no run directory to write under
            return
        if self.sample_images > 0 and state.epoch == 0:  # the first batch of a fresh run, as the network sees it
            self._hook = state.model.register_forward_pre_hook(self._sample_batch)

    def _sample_batch(self, module, inputs) -> None:
        """Forward pre-hook: write the first training batch's images, then remove itself."""
        if not module.training:
            return
        self._hook.remove()
        self._hook = None
        if self.writer is None:
            return
        x = inputs[0] if inputs else None
        # images only: (B, 1 or 3, H, W) floats; text (token ids) and 1-D signals are not pictures
        if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() == 4 and x.shape[1] in (1, 3):
            self.writer.add_images("images/train_batch", display_images(x[:self.sample_images]), 0)

    def on_batch_end(self, state, logs: BatchLogs) -> None:
        if self.writer is None:
            return
        metric = "mae" if logs.mae is not None else "acc"
        values = {"loss": logs.loss, metric: getattr(logs, metric), "lr": state.optimizer.param_groups[-1]["lr"],
                  "images_per_s": logs.images_per_s}
        for name, value in values.items():
            if value is not None:
                self.writer.add_scalar(f"step/{name}", value, state.step)

    def on_epoch_end(self, state, metrics: dict) -> None:
        if self.writer is None:
            return
        for name, value in metrics.items():
            if name not in SKIP_EPOCH_COLUMNS and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(f"epoch/{name}", value, metrics["epoch"])
        self.writer.flush()  # an interrupted run keeps its finished epochs

    def on_train_end(self, state) -> None:
        if self._hook is not None:  # no training step ran (resumed at its last epoch)
            self._hook.remove()
            self._hook = None

    def on_run_end(self, result) -> None:
        if self.writer is None:
            return
        final = {f"final/{split}_{k}": float(v) for split, report in result.reports.items()
                 for k, v in report.headline.items() if v is not None and math.isfinite(v)}
        final["final/best_epoch"] = float(result.fit.best_epoch)
        self._write_hparams(Path(result.run_dir), final)
        self._write_confusions(Path(result.run_dir), result.reports)
        self.close()

    def _write_hparams(self, run_dir: Path, final: dict) -> None:
        """The config as hparams (TensorBoard's HParams tab compares runs by them) and as text."""
        from torch.utils.tensorboard.summary import hparams

        config_path = run_dir / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
        for summary in hparams(hparam_values(config), final):  # experiment, session start, session end
            self.writer.file_writer.add_summary(summary)
        for tag, value in final.items():  # the metric values the HParams tab shows
            self.writer.add_scalar(tag, value)
        self.writer.add_text("config", "```\n" + json.dumps(config, indent=2) + "\n```")

    def _write_confusions(self, run_dir: Path, reports: dict) -> None:
        """The run directory's confusion_matrix.png (the final test report, else val's), not drawn a second time
        (a figure costs ~1 s of CPU)."""
        png = run_dir / "confusion_matrix.png"
        if png.exists():  # classification runs only
            split = "test" if "test" in reports else "val"
            self.writer.add_image(f"confusion/{split}", png_array(png.read_bytes()), dataformats="HWC")

    def close(self) -> None:
        """Write what is pending and close the event file."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
