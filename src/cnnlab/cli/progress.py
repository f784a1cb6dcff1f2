"""Download progress for the CLI (training progress is cnnlab.training.console.Console, a callback)."""
from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


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
