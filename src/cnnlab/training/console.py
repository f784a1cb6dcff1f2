"""Training progress as text: a progress bar on a terminal, a widget in a notebook, one line per epoch elsewhere
(CI, log files) — the output `cnnlab train` shows, usable as a callback from Python too."""
from __future__ import annotations

import sys
from typing import TextIO

from cnnlab.training.callbacks import BatchLogs, Callback, RunInfo


def in_notebook() -> bool:
    """True inside a Jupyter kernel, where tqdm.auto draws a widget."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class Console(Callback):
    """Prints the run's setup, a bar per epoch (where one can be drawn) and a line per epoch to `stream`.

    bar=None draws one on a terminal or in a notebook; quiet=True prints nothing (the CLI's --quiet prints only
    its own final lines).
    """

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.notebook = bar is None and in_notebook()
        self.bar_enabled = (self.stream.isatty() or self.notebook) if bar is None else bar
        self.quiet = quiet
        self.bar = None
        self.noted = 0  # state.notes already printed

    def say(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Remove a bar left open (training stopped by an error or Ctrl-C)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_run_begin(self, info: RunInfo) -> None:
        if self.quiet:
            return
        for note in info.notes:  # what the reader chose or assumed (working size, transparency, class names): first
            self.say(f"note      {note}")
        splits = ", ".join(f"{k} {v}" for k, v in info.splits.items())
        shape = "×".join(map(str, info.shape))
        self.say(f"data      {info.name}: {shape}, {len(info.classes)} classes ({splits})")
        self.say(f"normalise {info.normalize}")
        self.say(f"run dir   {info.run_dir}")
        if info.init:
            self.say(f"init      {info.init}")

    def on_train_begin(self, state) -> None:
        if not self.quiet:
            from cnnlab.models import count_parameters

            self.say(f"model     {count_parameters(state.model):,} parameters on {state.device} ({state.precision}), "
                     f"{state.steps_per_epoch} step{'s' if state.steps_per_epoch != 1 else ''} per epoch")
            finetune = getattr(state, "finetune", None)
            if finetune is not None and state.epoch < finetune.freeze_epochs:
                self.say(f"frozen    only the head ({finetune.head}) trains for {finetune.freeze_epochs} epoch(s), "
                         f"BatchNorm statistics fixed")

    def on_epoch_begin(self, state) -> None:
        finetune = getattr(state, "finetune", None)
        if finetune is not None and state.epoch == finetune.freeze_epochs + 1 and not self.quiet:
            self.say(finetune.describe())
        if self.bar_enabled and not self.quiet:
            if self.notebook:
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self.bar = tqdm(total=_epoch_steps(state), desc=f"epoch {state.epoch}/{state.epochs}", unit="step",
                            file=self.stream, leave=False, dynamic_ncols=True)

    def say_notes(self, state) -> None:
        """What the loop decided since the last call (a time budget's plan), one `note` line each."""
        notes = getattr(state, "notes", [])
        for note in notes[self.noted:]:
            if not self.quiet:
                self.say(f"note      {note}")
            if self.bar is not None:  # the planned number of epochs (and a cut epoch's steps)
                self.bar.set_description(f"epoch {state.epoch}/{state.epochs}", refresh=False)
                self.bar.total = _epoch_steps(state)
        self.noted = len(notes)

    def on_batch_end(self, state, logs: BatchLogs) -> None:
        self.say_notes(state)
        if self.bar is not None:
            self.bar.n = logs.step
            metric = {"mae": f"{logs.mae:.4f}"} if logs.mae is not None else {"acc": f"{logs.acc:.4f}"}
            self.bar.set_postfix(loss=f"{logs.loss:.4f}", **metric, img_s=f"{logs.images_per_s:.0f}", refresh=False)
            self.bar.refresh()

    def on_epoch_end(self, state, metrics: dict) -> None:
        self.close()
        if self.quiet:
            return
        metric = "mae" if "train_mae" in metrics else "acc"
        parts = [f"epoch {metrics['epoch']:3d}", f"loss {metrics['train_loss']:.4f}",
                 f"{metric} {metrics[f'train_{metric}']:.4f}"]
        if "val_loss" in metrics:
            parts += [f"val_loss {metrics['val_loss']:.4f}", f"val_{metric} {metrics[f'val_{metric}']:.4f}"]
        monitor = getattr(state, "monitor", None)
        if monitor not in ("val_loss", f"val_{metric}") and metrics.get(monitor) is not None:
            parts.append(f"{monitor} {metrics[monitor]:.4f}")  # what the * follows
        parts += [f"{metrics['train_images_per_s']:.0f} img/s", f"{metrics['seconds']:.1f}s"]
        self.say("  ".join(parts) + ("  *" if state.improved else ""))
        self.say_notes(state)

    def on_train_end(self, state) -> None:
        self.close()
        if state.stop_reason:
            self.say(state.stop_reason)


def _epoch_steps(state) -> int:
    """The steps of the epoch being trained: a time budget may cut the last one short (TrainState.steps_in)."""
    return state.steps_in(state.epoch) if hasattr(state, "steps_in") else state.steps_per_epoch
