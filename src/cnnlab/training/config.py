"""The run configuration: one typed dataclass, overridable from the CLI, saved with every run and checkpoint."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.training.augment.spec import parse_augment

LOSSES = ("cross_entropy", "bce", "mse")
LOSS_ALIASES = {"categorical_crossentropy": "cross_entropy", "ce": "cross_entropy",
                "binary_crossentropy": "bce", "mean_squared_error": "mse"}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adadelta", "adagrad")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
NORMALIZATIONS = ("none", "standardize", "featurewise")
BALANCING = ("none", "weights", "sampler")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
TTAS = ("flip", "shift")  # test-time augmentations (see evaluate.predict_logits)
MONITORS = ("val_loss", "val_acc")


def chosen_tta(option: str | None, own: str | None) -> str | None:
    """The test-time augmentation a `--tta` option picks: None keeps the run's own, "none" turns it off."""
    return own if option is None else None if option == "none" else option


@dataclass
class TrainConfig:
    """Everything a training run depends on.  Units in the comments."""

    # ── data ──────────────────────────────────────────────────────────────
    data: str = "mnist-mini"  # a data set name (mnist, fer2013, ...) or a path to a file/folder
    data_format: str | None = None  # idx | csv | folder | cifar10; None: detected from the content
    data_dir: str | None = None  # where named data sets are looked for first (else $CNNLAB_DATA)
    val_data: str | None = None  # a separate file/folder used as the validation split
    test_data: str | None = None  # a separate file/folder used as the test split
    image_size: list[int] | None = None  # [H, W]: resize images (pixel CSVs: the rows' shape); None: as stored
    channels: int | None = None  # 1 (gray) or 3 (RGB); None: as stored
    val_split: float = 0.1  # fraction of train held out (stratified) when the data has no val split; 0: none
    limit: int | None = None  # train on about this many images (a stratified sample), for quick trials
    stream: str = "auto"  # image folders: on = decode once to a memory-mapped cache and stream batches with worker
    #   processes (data bigger than memory) | off = load into memory | auto = on when the images would fill half the RAM
    workers: int = 2  # DataLoader worker processes for streamed data
    target: str | None = None  # pixel CSVs: regress on this numeric column (e.g. x) instead of classifying the label
    text_column: str | None = None  # text CSVs: the column with the text (default: found from the header)
    label_column: str | None = None  # text CSVs: the column with the label (default: found from the header)
    holdout: str = "auto"  # text/audio without a test split: auto | standard (FSDD clips 0-4) | speaker:NAME | random
    test_split: float = 0.2  # text/audio: share held out (stratified, seeded) as the test split when there is none
    features: str = "logmel"  # audio: logmel | mfcc
    normalize: str = "standardize"  # none: x/255 | standardize: per-channel mean/std | featurewise: per-pixel
    balance: str = "none"  # none | weights: class-weighted loss | sampler: class-balanced sampling
    augment: str | None = None  # training batches only, e.g. rotation=20,shift=0.1,flip=h or a preset: light, fer
    # ── model ─────────────────────────────────────────────────────────────
    model: str = "cnn"  # a name from `cnnlab models`
    # ── optimisation ──────────────────────────────────────────────────────
    epochs: int = 5  # passes over the training split
    batch_size: int = 128  # images per step
    optimizer: str = "adam"  # sgd | adam | adamw | rmsprop | adadelta | adagrad
    lr: float | None = None  # peak learning rate; None: the optimizer's usual default (adam 1e-3, sgd 1e-2 ...)
    momentum: float = 0.9  # sgd momentum
    nesterov: bool = False  # sgd: Nesterov momentum
    weight_decay: float = 0.0  # decoupled for adamw, L2-in-gradient for the others
    l1: float = 0.0  # Keras-style kernel regulariser: adds l1·Σ|w| over conv/dense weights to the loss
    l2: float = 0.0  # Keras-style kernel regulariser: adds l2·Σw² over conv/dense weights to the loss
    schedule: str = "onecycle"  # onecycle (warm up then anneal) | cosine | step | constant; stepped per batch
    step_epochs: int = 10  # step schedule: multiply the lr by step_gamma every step_epochs epochs
    step_gamma: float = 0.1
    loss: str = "cross_entropy"  # cross_entropy | bce (one-vs-all sigmoid) | mse (on softmax probabilities)
    label_smoothing: float = 0.0  # cross_entropy only: weight moved from the true class to all classes
    top_k: int = 5  # also report top-k accuracy
    ema: float = 0.0  # > 0: evaluate and save an exponential moving average of the weights with this decay per step
    tta: str | None = None  # test-time augmentation: flip = average each prediction with its mirror image's;
    # shift = with those of the image moved 1 px left, right, up and down (for digits, which must not flip)
    # ── callbacks ─────────────────────────────────────────────────────────
    monitor: str = "val_acc"  # val_loss | val_acc: what picks best.pt and drives early stopping
    early_stopping: bool = False  # stop when `monitor` has not improved for `patience` epochs
    patience: int = 5  # epochs
    min_delta: float = 0.0  # smallest change of `monitor` that counts as an improvement
    restore_best: bool = True  # evaluate and keep the best epoch's weights, not the last
    # ── recipes and benchmarks ────────────────────────────────────────────
    recipe: str | None = None  # fast | best: a tuned preset for the data (`cnnlab recipes`); explicit options win
    track_test: bool = False  # also score the test split every epoch (history; time-to-accuracy), never for selection
    # ── run ───────────────────────────────────────────────────────────────
    seed: int = 0  # seeds Python, NumPy and torch; the shuffling and the val split
    device: str = "auto"  # auto (cuda, mps, cpu) | cpu | cuda | cuda:1 | mps
    precision: str = "auto"  # auto: bf16 where the hardware has it, else fp32 | fp32 | bf16 | fp16 (cuda)
    channels_last: bool = True  # NHWC memory format: faster convolutions on CPU and tensor cores
    threads: int | None = None  # torch CPU threads; None: the cores this process may use
    eval_batch_size: int = 1024  # images per step when evaluating
    runs_dir: str = "runs"  # parent of the run directory
    run_name: str | None = None  # run directory name; None: <YYYYmmdd-HHMMSS>-<dataset>-<model>
    extra: dict = field(default_factory=dict)  # free-form notes kept with the run

    def __post_init__(self) -> None:
        self.loss = LOSS_ALIASES.get(self.loss, self.loss)
        self.optimizer = self.optimizer.lower()
        checks = [("loss", LOSSES), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                  ("normalize", NORMALIZATIONS), ("balance", BALANCING), ("precision", PRECISIONS),
                  ("monitor", MONITORS)]
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        if not 0 <= self.val_split < 1:
            raise ValueError(f"val_split must be in [0, 1), got {self.val_split}")
        for name in ("epochs", "batch_size", "eval_batch_size", "top_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.image_size is not None:
            self.image_size = [int(v) for v in self.image_size]
            if len(self.image_size) != 2 or min(self.image_size) < 1:
                raise ValueError(f"image_size must be [H, W], got {self.image_size}")
        if self.channels not in (None, 1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.features not in ("logmel", "mfcc"):
            raise ValueError(f"features {self.features!r} is not one of logmel, mfcc")
        if self.stream not in ("auto", "on", "off"):
            raise ValueError(f"stream {self.stream!r} is not one of auto, on, off")
        if self.tta not in (None, *TTAS):
            raise ValueError(f"tta {self.tta!r} is not one of: {', '.join(TTAS)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be a decay in [0, 1), got {self.ema}")
        if self.augment is not None:
            parse_augment(self.augment)  # a ValueError naming the bad item

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, strict: bool = True) -> TrainConfig:
        """Build from a dict, refusing unknown keys (a typo should not be silently ignored) unless not strict
        (a checkpoint written by a newer cnnlab: its extra options do not change how the model is rebuilt)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(read_json(path))


def read_json(path: str | Path) -> dict:
    """The values of a JSON config file, with the line of a syntax error."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object of config values")
    return values
