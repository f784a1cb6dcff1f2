"""Typed callbacks: the hooks the training loop calls, with Keras's and Lightning's names, and early stopping.

A callback subclasses `Callback` and overrides the hooks it needs.  A method whose name starts with `on_` but
is not a hook is refused when the class is defined, so a misspelt hook cannot be silently never called.  A
callback asks the loop to stop by setting `state.stop_training = True` (as in Keras); the loop stops after the
current epoch, whose checkpoint is written.

    class PrintLoss(Callback):
        def on_epoch_end(self, state, metrics):
            print(state.epoch, metrics["train_loss"])

    train(cfg, callbacks=[PrintLoss()])
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # annotations only: state and loop import this module
    from cnnlab.training.pipeline import RunResult
    from cnnlab.training.state import TrainState

HOOKS = ("on_run_begin", "on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end",
         "on_run_end")


@dataclass(frozen=True)
class RunInfo:
    """What `train()` prepared before fitting: the data, its normalisation and the run directory."""

    name: str  # the data set's name
    source: str  # where it was read from
    shape: tuple[int, ...]  # one input, e.g. (1, 28, 28)
    classes: list[str]
    splits: dict[str, int]  # split name → examples
    run_dir: str
    normalize: str  # Preprocess.describe()
    model: str
    notes: list[str] = field(default_factory=list)  # what the reader chose or assumed (working size, class names)
    init: str = ""  # where the starting weights came from (--pretrained / --init-from), as one line

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BatchLogs:
    """Running figures of the epoch so far on this process: means over the `seen` images of steps 1..step."""

    epoch: int
    step: int  # steps done this epoch
    steps: int  # steps per epoch
    loss: float
    acc: float | None  # classification: the share of training images predicted right
    mae: float | None  # regression: mean absolute error
    images_per_s: float

    def to_dict(self) -> dict:
        """The figures as plain values; acc or mae, whichever applies."""
        return {k: v for k, v in asdict(self).items() if not (k in ("acc", "mae") and v is None)}


class Callback:
    """Hooks of a training run; every one does nothing unless overridden.

    train() calls on_run_begin(info) and on_run_end(result) around fit(); fit() calls the others.
    on_batch_end is called every LOG_EVERY steps and at each epoch's last step (each call costs a device sync).
    Under torchrun, the callbacks given to train() run on rank 0 only.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        unknown = [name for name in vars(cls) if name.startswith("on_") and name not in HOOKS]
        if unknown:
            raise TypeError(f"{cls.__name__}.{unknown[0]} is not a callback hook; the hooks are {', '.join(HOOKS)}")

    def on_run_begin(self, info: RunInfo) -> None:
        """train(): the data is loaded, the model built and the run directory made."""

    def on_train_begin(self, state: TrainState) -> None:
        """fit(): before the first epoch (state.epoch is the last finished one: > 0 when resuming)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """fit(): before epoch state.epoch."""

    def on_batch_end(self, state: TrainState, logs: BatchLogs) -> None:
        """fit(): after step logs.step of the epoch."""

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        """fit(): epoch state.epoch is trained, scored and checkpointed; metrics is its history row."""

    def on_train_end(self, state: TrainState) -> None:
        """fit(): after the last epoch, or the one after which training was stopped."""

    def on_run_end(self, result: RunResult) -> None:
        """train(): the final weights are scored and the run directory is written."""


class CallbackList(Callback):
    """Several callbacks called in order, as one."""

    def __init__(self, callbacks: Callback | Iterable[Callback] | None = ()):
        callbacks = [callbacks] if isinstance(callbacks, Callback) else list(callbacks or ())
        for c in callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be cnnlab.training.callbacks.Callback objects (hooks such as "
                                f"on_epoch_end(state, metrics)), got {type(c).__name__}")
        self.callbacks = callbacks

    def on_run_begin(self, info):
        for c in self.callbacks:
            c.on_run_begin(info)

    def on_train_begin(self, state):
        for c in self.callbacks:
            c.on_train_begin(state)

    def on_epoch_begin(self, state):
        for c in self.callbacks:
            c.on_epoch_begin(state)

    def on_batch_end(self, state, logs):
        for c in self.callbacks:
            c.on_batch_end(state, logs)

    def on_epoch_end(self, state, metrics):
        for c in self.callbacks:
            c.on_epoch_end(state, metrics)

    def on_train_end(self, state):
        for c in self.callbacks:
            c.on_train_end(state)

    def on_run_end(self, result):
        for c in self.callbacks:
            c.on_run_end(result)


class EarlyStopping(Callback):
    """Stop when the monitored metric has not improved for `patience` epochs (Keras's EarlyStopping).

    What counts as an improvement (monitor, min_delta) is the state's best-epoch tracking, which also picks best.pt,
    so a resumed run continues the same count.
    """

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, state, metrics):
        if metrics.get(state.monitor) is not None and state.since_best >= self.patience:
            state.stop_training = True
            state.stop_reason = f"early stop: {state.monitor} did not improve for {self.patience} epochs"
