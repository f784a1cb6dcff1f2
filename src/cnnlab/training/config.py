"""The run configuration: one typed dataclass, overridable from the CLI, saved with every run and checkpoint."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.training.augment.spec import parse_augment
from cnnlab.training.duration import parse_duration

LOSSES = ("cross_entropy", "bce", "mse")
LOSS_ALIASES = {"categorical_crossentropy": "cross_entropy", "ce": "cross_entropy",
                "binary_crossentropy": "bce", "mean_squared_error": "mse"}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adadelta", "adagrad", "muon")
SCHEDULES = ("constant", "step", "cosine", "onecycle", "linear")
NORMALIZATIONS = ("none", "standardize", "featurewise")
BALANCING = ("none", "weights", "sampler")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
TTAS = ("flip", "shift", "multicrop", "rotate")  # test-time augmentations (see evaluate.predict_logits)
MONITORS = ("val_loss", "val_acc", "val_balanced_acc")
STREAMS = ("auto", "on", "off")
FEATURES = ("logmel", "mfcc")
LOGGERS = ("tensorboard",)  # experiment logs written beside history.csv (training/tensorboard.py)
DATA_FORMATS = ("idx", "csv", "folder", "cifar10", "text", "audio")  # as data.load.FORMATS (which imports torch)


def opt(default=dataclasses.MISSING, help: str = "", choices: tuple[str, ...] | None = None, *,
        factory=dataclasses.MISSING):
    """A TrainConfig field with its `--option` help text and allowed values (the CLI builds its parser from them;
    `__post_init__` checks the values against them)."""
    return field(default=default, default_factory=factory, metadata={"help": help, "choices": choices})


def epoch_tta(tta: str | None) -> str | None:
    """The test-time augmentation of the per-epoch validation: the run's own, but flip for multicrop and rotate (2
    forward passes instead of 6: on a CPU multicrop scoring of every epoch cost more than a tenth of whitenet's
    training time).  The final report uses the run's own."""
    return "flip" if tta in ("multicrop", "rotate") else tta


def chosen_tta(option: str | None, own: str | None) -> str | None:
    """The test-time augmentation a `--tta` option picks: None keeps the run's own, "none" turns it off."""
    return own if option is None else None if option == "none" else option


MIRRORING_TTAS = ("flip", "multicrop", "rotate")  # the test-time augmentations that average mirror images


def mirror_tta_note(tta: str | None, augment: str | None) -> str | None:
    """One line when test-time augmentation `tta` averages left-right mirror images that the training
    augmentation `augment` (a spec, e.g. "rotation=10,shift=0.1") never showed: on data whose mirror image is
    another thing (digits, letters) that lowers accuracy (a digits run scored 99.71% plain, 92.4% with multicrop).
    None when the TTA keeps images the right way round or the augmentation flips them."""
    if tta not in MIRRORING_TTAS:
        return None
    if augment and augment.strip() and parse_augment(augment).mirrors:
        return None
    return (f"test-time augmentation {tta} averages mirror images, which training never showed (augment: "
            f"{augment or 'none'}); where a mirrored image means something else (digits, letters) that costs "
            f"accuracy: add flip=h to the augmentation, or use --tta shift or none")


@dataclass
class TrainConfig:
    """Everything a training run depends on: one field per `cnnlab train --option`, its help and choices in the
    field's metadata (units in the help)."""

    # ── data ──────────────────────────────────────────────────────────────
    data: str = opt("mnist-mini", 'a data set name (mnist, fer2013, ...) or a path to a file/folder')
    data_format: str | None = opt(None,
        'idx | csv | folder | cifar10; None: detected from the content', choices=DATA_FORMATS)
    data_dir: str | None = opt(None, 'where named data sets are looked for first (else $CNNLAB_DATA)')
    val_data: str | None = opt(None, 'a separate file/folder used as the validation split')
    test_data: str | None = opt(None, 'a separate file/folder used as the test split')
    image_size: list[int] | None = opt(None, "[H, W]: resize images (pixel CSVs: the rows' shape); None: as stored")
    channels: int | None = opt(None, '1 (gray) or 3 (RGB); None: as stored')
    val_split: float = opt(0.1, 'fraction of train held out (stratified) when the data has no val split; 0: none')
    limit: int | None = opt(None, 'train on about this many images (a stratified sample), for quick trials')
    stream: str = opt("auto",
        'image folders: on = decode once to a memory-mapped cache and stream batches with worker processes '
        '(data bigger than memory) | off = load into memory | auto = on when the images would fill half the '
        'RAM', choices=STREAMS)
    workers: int = opt(2, 'DataLoader worker processes for streamed data')
    target: str | None = opt(None,
        'pixel CSVs: regress on this numeric column (e.g. x) instead of classifying the label')
    text_column: str | None = opt(None, 'text CSVs: the column with the text (default: found from the header)')
    label_column: str | None = opt(None, 'text CSVs: the column with the label (default: found from the header)')
    holdout: str = opt("auto",
        'text/audio without a test split: auto | standard (FSDD clips 0-4) | speaker:NAME | random')
    test_split: float = opt(0.2,
        'text/audio: share held out (stratified, seeded) as the test split when there is none')
    features: str = opt("logmel", 'audio: logmel | mfcc', choices=FEATURES)
    normalize: str = opt("standardize",
        'none: x/255 | standardize: per-channel mean/std | featurewise: per-pixel', choices=NORMALIZATIONS)
    balance: str = opt("none",
        'none | weights: class-weighted loss | sampler: class-balanced sampling', choices=BALANCING)
    augment: str | None = opt(None,
        'training batches only, e.g. rotation=20,shift=0.1,flip=h or a preset: light, fer')
    class_names: str | None = opt(None,
        'pixel CSVs: the class names, comma-separated in label order (e.g. angry,fear,happy); None: classes.txt '
        'beside the file, else FER2013\'s for its 48×48 layout with labels 0-6, else the label values')
    # ── model ─────────────────────────────────────────────────────────────
    model: str = opt("cnn", 'a name from `cnnlab models`')
    pretrained: bool = opt(False,
        "start from the model's published ImageNet weights (`cnnlab models` lists which take them), normalising "
        'inputs with their ImageNet mean/std; the file from --pretrained-weights, the cache or a download')
    pretrained_weights: str | None = opt(None,
        "--pretrained: a local copy of the weight file (checked by SHA-256, not copied); None: the cache or URL")
    init_from: str | None = opt(None,
        'a run directory, checkpoint or state_dict file: load every tensor whose name and shape match, the '
        'classifier head newly initialised (another data set is fine); not --resume')
    freeze_epochs: int = opt(0,
        "fastai's fine_tune: train only the classifier head for N epochs (the rest frozen, BatchNorm statistics "
        'fixed), then everything with a fresh schedule and rates from lr/200 (first layers) to lr/2 (head)')
    # ── optimisation ──────────────────────────────────────────────────────
    epochs: int = opt(5, 'passes over the training split (`cnnlab train` on images with neither --epochs nor '
                         '--recipe: the fast recipe within --time, 3m if not given, instead)')
    time: str | None = opt(None,
        'a wall-clock budget for the whole run, e.g. 90s, 3m, 1.5m, 2h (plain numbers: seconds): the epochs and '
        'the schedule are planned from the measured speed so that the run ends on time; instead of --epochs')
    max_epochs: int | None = opt(None,
        'with --time: the most epochs a plan may take, ending the run early (e.g. where longer runs stop paying: '
        'without augmentation the fast digits recipe overfitted MNIST past ~16 epochs)')
    batch_size: int = opt(128, 'images per step')
    min_steps: int | None = opt(None,
        'with --time: the fewest optimisation steps the budget should hold; when it holds fewer at --batch-size '
        '(timed on one batch before training), the batch is halved, the SGD rate with it, down to an eighth (the '
        'colour and faces recipes set 45: their batches of 1,000-2,000 suit long runs); None: the batch stays')
    micro_batch: int | None = opt(None,
        'pass each batch through the model in pieces of this many images, accumulating their gradients into one '
        'step: less memory, and faster on a CPU when a big batch overflows its caches; batch norm then normalises '
        'each piece by its own statistics')
    optimizer: str = opt("adam", 'sgd | adam | adamw | rmsprop | adadelta | adagrad | muon (Muon on the conv '
                                 'filters at --muon-lr, Nesterov SGD at --lr on the rest)', choices=OPTIMIZERS)
    lr: float | None = opt(None, "peak learning rate; None: the optimizer's usual default (adam 1e-3, sgd 1e-2 ...)")
    momentum: float = opt(0.9, 'sgd momentum (muon: of its SGD part)')
    muon_lr: float = opt(0.24, "muon: the conv filters' peak rate, a step in units of their norm whatever the "
                               "loss's scale (airbench94_muon's 0.24)")
    nesterov: bool = opt(False, "sgd: Nesterov momentum (muon is always Nesterov, as Jordan's reference)")
    weight_decay: float = opt(0.0, 'decoupled for adamw, L2-in-gradient for the others')
    l1: float = opt(0.0, 'Keras-style kernel regulariser: adds l1·Σ|w| over conv/dense weights to the loss')
    l2: float = opt(0.0, 'Keras-style kernel regulariser: adds l2·Σw² over conv/dense weights to the loss')
    schedule: str = opt("onecycle",
        'onecycle (warm up then anneal) | cosine | step | constant | linear (from lr straight down to 0); '
        'stepped per batch', choices=SCHEDULES)
    step_epochs: int = opt(10, 'step schedule: multiply the lr by step_gamma every step_epochs epochs')
    step_gamma: float = opt(0.1, 'step schedule: the factor applied every step_epochs epochs')
    loss: str = opt("cross_entropy",
        'cross_entropy | bce (one-vs-all sigmoid) | mse (on softmax probabilities); Keras names too',
        choices=(*LOSSES, *LOSS_ALIASES))
    label_smoothing: float = opt(0.0, 'cross_entropy only: weight moved from the true class to all classes')
    top_k: int = opt(5, 'also report top-k accuracy')
    ema: float = opt(0.0,
        '> 0: evaluate and save an exponential moving average of the weights with this decay per step')
    progressive_resize: float | None = opt(None,
        'progressive resizing (fastai, FFCV): train epoch 1 on images scaled by this factor (e.g. 0.67), growing '
        'linearly to full size at 3/4 of the epochs in steps of 4 px; validation, test and predictions at full '
        'size; for models that end in global pooling (whitenet, resnet20)')
    tta: str | None = opt(None,
        "test-time augmentation: flip = average each prediction with its mirror image's; shift = with those "
        'of the image moved 1 px left, right, up and down (for digits, which must not flip); multicrop = the image '
        'and its mirror, plus both moved 1 px up-left and down-right (airbench); rotate = the image and its mirror, '
        'plus both turned 8° either way (for data trained with rotations: faces)', choices=TTAS)
    clip_grad: float | None = opt(None,
        'clip the gradients to this total L2 norm before each step (torch.nn.utils.clip_grad_norm_); a remedy for '
        'a loss that turns NaN/inf')
    # ── callbacks ─────────────────────────────────────────────────────────
    monitor: str = opt("val_acc",
        'val_loss | val_acc | val_balanced_acc (the mean recall over classes; --balance picks it unless chosen): '
        'what picks best.pt and drives early stopping', choices=MONITORS)
    early_stopping: bool = opt(False, 'stop when `monitor` has not improved for `patience` epochs')
    patience: int = opt(5, 'epochs')
    min_delta: float = opt(0.0, 'smallest change of `monitor` that counts as an improvement')
    restore_best: bool = opt(True, "evaluate and keep the best epoch's weights, not the last")
    # ── recipes and benchmarks ────────────────────────────────────────────
    recipe: str | None = opt(None,
        'fast | best: a tuned preset for the data (`cnnlab recipes`); explicit options win')
    track_test: bool = opt(False,
        'also score the test split every epoch (history; time-to-accuracy), never for selection')
    # ── run ───────────────────────────────────────────────────────────────
    seed: int = opt(0, 'seeds Python, NumPy and torch; the shuffling and the val split')
    device: str = opt("auto", 'auto (cuda, mps, cpu) | cpu | cuda | cuda:1 | mps')
    precision: str = opt("auto",
        'auto: bf16 where it is faster (GPUs, CPUs with AMX, AMD CPUs with AVX-512 BF16), else fp32 | fp32 | bf16 '
        '| fp16 (cuda)', choices=PRECISIONS)
    channels_last: bool = opt(True, 'NHWC memory format: faster convolutions on CPU and tensor cores')
    threads: int | None = opt(None, 'torch CPU threads; None: the cores this process may use')
    eval_batch_size: int | None = opt(None,
        'images per step when evaluating; None: 64 on a CPU, whose caches then hold the activations (1.2-3x '
        'faster than 1024 for cnn, whitenet, resnet20), 1024 on a GPU')
    runs_dir: str = opt("runs", 'parent of the run directory')
    run_name: str | None = opt(None, 'run directory name; None: <YYYYmmdd-HHMMSS>-<dataset>-<model>')
    log: str | None = opt(None,
        "tensorboard: also write curves, config, confusion matrix and a sample batch to <run_dir>/tensorboard/ "
        "(view with `tensorboard --logdir runs`; pip install 'cnnlab[tensorboard]')", choices=LOGGERS)
    extra: dict = opt(factory=dict, help='free-form notes kept with the run')

    def __post_init__(self) -> None:
        self.loss = LOSS_ALIASES.get(self.loss, self.loss)
        self.optimizer = self.optimizer.lower()
        for f in dataclasses.fields(self):
            allowed, value = f.metadata.get("choices"), getattr(self, f.name)
            if allowed and value is not None and value not in allowed:
                raise ValueError(f"{f.name} {value!r} is not one of {', '.join(allowed)}")
        if not 0 <= self.val_split < 1:
            raise ValueError(f"val_split must be in [0, 1), got {self.val_split}")
        if self.min_steps is not None and self.min_steps < 1:
            raise ValueError(f"min_steps must be at least 1, got {self.min_steps}")
        if self.micro_batch is not None and self.micro_batch < 1:
            raise ValueError(f"micro_batch must be at least 1, got {self.micro_batch}")
        for name in ("epochs", "batch_size", "eval_batch_size", "top_k"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.freeze_epochs < 0:
            raise ValueError(f"freeze_epochs must be 0 or more, got {self.freeze_epochs}")
        if self.freeze_epochs and self.freeze_epochs >= self.epochs:
            raise ValueError(f"freeze_epochs {self.freeze_epochs} leaves no epoch to train the whole model; "
                             f"give fewer than epochs ({self.epochs}), or 0 to train everything from the start")
        if self.image_size is not None:
            self.image_size = [int(v) for v in self.image_size]
            if len(self.image_size) != 2 or min(self.image_size) < 1:
                raise ValueError(f"image_size must be [H, W], got {self.image_size}")
        if self.channels not in (None, 1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise ValueError(f"clip_grad must be a norm > 0, got {self.clip_grad}")
        if self.progressive_resize is not None and not 0 < self.progressive_resize <= 1:
            raise ValueError(f"progressive_resize must be a scale in (0, 1], got {self.progressive_resize}")
        if self.progressive_resize and self.progressive_resize < 1 and self.normalize == "featurewise":
            raise ValueError("progressive_resize cannot train on smaller images with normalize featurewise (its "
                             "per-pixel statistics are those of the full size); use standardize")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be a decay in [0, 1), got {self.ema}")
        if self.time is not None:
            self.time = str(self.time)
            parse_duration(self.time)  # a ValueError naming the text and the accepted forms
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
