"""Console output for the CLI: a progress bar on a terminal, one line per epoch elsewhere (CI, files, notebooks)."""
from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class TrainingConsole:
    """Renders the trainer's events (see cnnlab.training.loop.Reporter)."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.bar_enabled = self.stream.isatty() if bar is None else bar
        self.quiet = quiet
        self.bar: tqdm | None = None

    def say(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def __call__(self, event: str, info: dict) -> None:
        getattr(self, f"on_{event}", lambda info: None)(info)

    def on_data(self, info: dict) -> None:
        if self.quiet:
            return
        splits = ", ".join(f"{k} {v}" for k, v in info["splits"].items())
        shape = "×".join(map(str, info["shape"]))
        self.say(f"data      {info['name']}: {shape}, {len(info['classes'])} classes ({splits})")
        self.say(f"normalise {info['normalize']}")
        self.say(f"run dir   {info['run_dir']}")

    def on_init(self, info: dict) -> None:
        if not self.quiet:
            self.say(f"init      {info['text']}")

    def on_start(self, info: dict) -> None:
        if not self.quiet:
            self.say(f"model     {info['params']:,} parameters on {info['device']} ({info['precision']}), "
                     f"{info['steps_per_epoch']} steps per epoch")

    def on_epoch_start(self, info: dict) -> None:
        if self.bar_enabled and not self.quiet:
            self.bar = tqdm(total=info["steps"], desc=f"epoch {info['epoch']}/{info['epochs']}", unit="step",
                            file=self.stream, leave=False, dynamic_ncols=True)

    def on_step(self, info: dict) -> None:
        if self.bar is not None:
            self.bar.n = info["step"]
            metric = "mae" if "mae" in info else "acc"
            self.bar.set_postfix(loss=f"{info['loss']:.4f}", **{metric: f"{info[metric]:.4f}"},
                                 img_s=f"{info['images_per_s']:.0f}", refresh=False)
            self.bar.refresh()

    def on_epoch_end(self, info: dict) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.quiet:
            return
        metric = "mae" if "train_mae" in info else "acc"
        parts = [f"epoch {info['epoch']:3d}", f"loss {info['train_loss']:.4f}", f"{metric} {info[f'train_{metric}']:.4f}"]
        if "val_loss" in info:
            parts += [f"val_loss {info['val_loss']:.4f}", f"val_{metric} {info[f'val_{metric}']:.4f}"]
        parts += [f"{info['train_images_per_s']:.0f} img/s", f"{info['seconds']:.1f}s"]
        self.say("  ".join(parts) + ("  *" if info.get("improved") else ""))

    def on_early_stop(self, info: dict) -> None:
        self.say(f"early stop: {info['monitor']} did not improve for {info['patience']} epochs")


class DownloadProgress:
    """A byte progress bar per downloaded file."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.bars: dict[str, tqdm] = {}

    def __call__(self, name: str, done: int, total: int | None) -> None:
        bar = self.bars.get(name)
        if bar is None:
            bar = self.bars[name] = tqdm(total=total, desc=f"download {name}", unit="B", unit_scale=True,
                                         file=self.stream, disable=None)  # None: off when not a terminal
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()
