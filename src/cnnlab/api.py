"""The Keras life-cycle in Python, for people coming from the slides: define → compile → fit → evaluate →
predict → save / load.  It drives the same trainer as `cnnlab train`.

    from cnnlab import Classifier, load_data
    data = load_data("mnist-mini")
    clf = Classifier("mnist-2conv")
    clf.compile(loss="categorical_crossentropy", optimizer="adam")
    history = clf.fit(data["train"], epochs=3, validation_split=0.1)
    print(clf.evaluate(data["test"]))          # {'loss': ..., 'acc': ...}
    probs = clf.predict(data["test"].images)   # (N, classes) NumPy array
    clf.save("digits.pt"); clf = Classifier.load("digits.pt")
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from cnnlab.runs import rundir as runs
from cnnlab.runs.checkpoint import save_checkpoint
from cnnlab.runs.history import History
from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset, Split
from cnnlab.training.device import pick_device, pick_precision, set_threads
from cnnlab.runs.evaluate import predict_logits, report
from cnnlab.models import build
from cnnlab.training.optim import probabilities
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.callbacks import Callback
from cnnlab.training.loop import fit
from cnnlab.data.rundata import seed_everything
from cnnlab.data.splits import stratified_split


def as_images(x) -> torch.Tensor:
    """uint8 (N, C, H, W) from a tensor/array of (N, H, W) or (N, C, H, W); floats in [0, 1] are scaled to 0-255."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() == 3:
        t = t[:, None]
    if t.dim() != 4:
        raise ValueError(f"expected images (N, H, W) or (N, C, H, W), got shape {tuple(t.shape)}")
    if t.is_floating_point():
        if t.min() < 0 or t.max() > 1:
            raise ValueError("float images must be in [0, 1] (or pass uint8 0-255)")
        t = (t * 255).round()
    return t.to(torch.uint8)


def as_split(x, y=None) -> Split:
    """A Split from a Split, a Dataset's train split, or images + labels."""
    if isinstance(x, Split):
        return x
    if isinstance(x, Dataset):
        return x["train"]
    images = as_images(x)
    labels = torch.full((len(images),), -1, dtype=torch.int64) if y is None else torch.as_tensor(np.asarray(y))
    if labels.dim() == 2:  # one-hot, as Keras's to_categorical makes them
        labels = labels.argmax(1)
    return Split(images, labels.to(torch.int64))


class Classifier:
    """A CNN classifier with Keras's life-cycle; the model is built at the first fit if shapes are not given."""

    def __init__(self, model: str = "cnn", input_shape: tuple[int, int, int] | None = None,
                 classes: list[str] | int | None = None):
        self.config = TrainConfig(model=model, runs_dir="runs")
        self.classes = [str(i) for i in range(classes)] if isinstance(classes, int) else classes
        self.input_shape = tuple(input_shape) if input_shape else None
        self.model = build(model, self.input_shape, len(self.classes)) if self.input_shape and self.classes else None
        self.preprocess: Preprocess | None = None
        self.history = History()

    def compile(self, loss: str = "categorical_crossentropy", optimizer: str = "adam", lr: float | None = None,
                metrics: tuple[str, ...] = ("accuracy",), **options) -> Classifier:
        """Choose loss, optimizer and any other TrainConfig option (schedule, weight_decay, l2, ...)."""
        unknown = [m for m in metrics if m not in ("accuracy", "acc")]
        if unknown:
            raise ValueError(f"unsupported metric(s) {unknown}; accuracy and top-k are reported")
        self.config = TrainConfig.from_dict({**self.config.to_dict(), "loss": loss, "optimizer": optimizer,
                                             "lr": lr, **options})
        return self

    def fit(self, x, y=None, *, epochs: int = 5, batch_size: int = 128, validation_data=None,
            validation_split: float = 0.0, run_dir: str | Path | None = None,
            callbacks: Callback | list[Callback] | None = None, **options) -> History:
        """Train; returns the History of this call: one dict per epoch (epoch, train_loss, train_acc, val_loss,
        val_acc, lr, seconds), a list that a notebook draws as curves.  `run_dir` also writes checkpoints and
        history.csv.  `time="2m"` (any TrainConfig option can be passed) plans this call's epochs to fit that budget.

        `callbacks`: cnnlab.training.callbacks.Callback objects, e.g. cnnlab.training.console.Console() for a
        progress bar (a widget in a notebook), or your own with hooks such as on_epoch_end(state, metrics).
        """
        started = time.perf_counter()  # time="3m" (a budget for this call) counts from here
        cfg = dataclasses.replace(self.config, epochs=epochs, batch_size=batch_size, **{"time": None, **options})
        self.config = cfg
        set_threads(cfg.threads)
        seed_everything(cfg.seed)
        train = as_split(x, y)
        if isinstance(x, Dataset):
            self.classes = self.classes or x.classes
        self.classes = self.classes or [str(i) for i in range(int(train.labels.max()) + 1)]
        val = as_split(*validation_data) if isinstance(validation_data, tuple) else \
            as_split(validation_data) if validation_data is not None else None
        if val is None and validation_split > 0:
            train, val = stratified_split(train, validation_split, cfg.seed)
        if self.model is None:
            self.input_shape = tuple(train.images.shape[1:])
            self.model = build(cfg.model, self.input_shape, len(self.classes))
        if self.preprocess is None:
            self.preprocess = Preprocess.fit(train.images, cfg.normalize)
        if run_dir is not None:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
        result = fit(self.model, train, val, cfg, self.preprocess, self.classes,
                     run_dir=Path(run_dir) if run_dir else None, callbacks=callbacks, started=started)
        self.config = dataclasses.replace(cfg, epochs=result.epochs)  # time=...: the epochs its budget planned
        self.history += result.history
        return History(result.history)

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            raise RuntimeError("the model has not been built yet: call fit() first (or give input_shape and classes)")
        device = next(self.model.parameters()).device
        return predict_logits(self.model, images, self.preprocess or Preprocess("none"), device,
                              pick_precision(self.config.precision, device), self.config.eval_batch_size,
                              self.config.channels_last, self.config.tta)

    def evaluate(self, x, y=None) -> dict:
        """{'loss', 'acc', 'top5_acc'} on labelled images (or a Split / Dataset's test split)."""
        split = x["test"] if isinstance(x, Dataset) else as_split(x, y)
        rep = report(self._logits(split.images), split.labels, self.classes, self.config.loss, self.config.top_k)
        return {"loss": rep.loss, "acc": rep.accuracy, f"top{rep.top_k}_acc": rep.top_k_accuracy}

    def predict(self, x) -> np.ndarray:
        """Class probabilities (N, classes) for images."""
        images = x.images if isinstance(x, Split) else as_images(x)
        return probabilities(self._logits(images), self.config.loss).numpy()

    def summary(self):
        """The Keras-style table of layers, output shapes and parameters (print it, or show it in a notebook)."""
        from cnnlab.models.summary import model_summary

        if self.model is None:
            raise RuntimeError("the model has not been built yet: call fit() first (or give input_shape and classes)")
        return model_summary(self.model, self.input_shape)

    def save(self, path: str | Path) -> None:
        """A self-contained checkpoint (weights, preprocessing, classes, config), loadable with weights_only."""
        if self.model is None:
            raise RuntimeError("nothing to save: the model has not been built")
        # the history as a plain list: a checkpoint holds only tensors and plain values (weights_only loading)
        state = runs.checkpoint_dict(self.model, self.config, self.preprocess or Preprocess("none"), self.classes,
                                     self.input_shape, epoch=len(self.history), history=list(self.history),
                                     best={"monitor": self.config.monitor, "value": None, "epoch": len(self.history)})
        save_checkpoint(Path(path), state)

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Load a checkpoint written by save() or by `cnnlab train` (a .pt file or a run directory)."""
        run = runs.load_run(path, pick_device("auto"))
        clf = cls(run.config.model)
        clf.config, clf.classes, clf.input_shape = run.config, run.classes, run.input_shape
        clf.model, clf.preprocess = run.model, run.preprocess
        clf.history = History(run.checkpoint.get("history") or [])
        return clf
