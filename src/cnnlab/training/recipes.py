"""Recipes: tuned presets (`--recipe fast|best`), chosen by what the images look like, usable on any data.

A recipe fills in model, schedule, epochs, augmentation ...; options the user gives explicitly always win.
The digits recipes, the faces recipes and the text and audio defaults (each modality's `recipes`, in
cnnlab.modalities) are measured choices (the README's benchmark tables say what each reaches and how fast),
the colour ones on CIFAR-10's JPEG images (a stratified 10% held out for validation).
"""
from __future__ import annotations

import dataclasses

from cnnlab.training.augment.spec import parse_augment
from cnnlab.training.duration import parse_duration
from cnnlab.training.config import MIRRORING_TTAS, TrainConfig
from cnnlab.data import Dataset
from cnnlab.modalities import MODALITIES, modality_of

RECIPES = ("fast", "best")

# The fast digits recipe: 2 epochs, no augmentation (the fastest way to ~99.4% on MNIST).
_FAST_DIGITS = dict(model="fastcnn-patch", epochs=2, batch_size=256, optimizer="adamw", lr=1.2e-2, weight_decay=5e-4,
                    label_smoothing=0.1, schedule="onecycle", val_split=0.0)
_DIGIT_AUGMENT = "rotation=10,shift=0.1,zoom=0.1,fill=constant"
# Within a time budget (--time, and so the default run) it trains with the digits' augmentation, for as many epochs
# as the budget holds.  Without augmentation it had overfitted past ~16 epochs (MNIST: 17 / 46 / 136 epochs in 1 /
# 3 / 10 minutes reached 99.48 / 99.35 / 99.26%), so a 16-epoch cap (max_epochs) ended its runs early: a 3m budget
# used 20 s of training on 9,000 gray 32×32 photos (CIFAR-10's, made gray), val 53.7% at training accuracy 99.7%.
# With the augmentation and no cap (2-core Xeon without AMX, fp32, 2026-12-03, `cnnlab train DATA --time 3m`): those
# photos 63.8% (114 epochs), MNIST 99.51% (23 epochs; the capped recipe 99.42%), where the best digits recipe
# (digitnet, augmentation, EMA) squeezed into 3m reached 59.3% and 99.41%.
TIMED = {("fast", "digits"): dict(augment=_DIGIT_AUGMENT), ("fast", "tiny"): dict(augment=_DIGIT_AUGMENT)}
_DIGIT_TRAINING = dict(batch_size=128, optimizer="adamw", lr=3e-3, weight_decay=5e-4, label_smoothing=0.1,
                       schedule="onecycle", augment=_DIGIT_AUGMENT, ema=0.999)

# within a time budget the big-batch recipes (colour, faces) halve their batch until the budget holds this many
# steps (training/rebatch.py: on a 2-core CPU, 3 minutes of CIFAR-10 or FER2013 did best in batches of 500)
MIN_BUDGET_STEPS = 45

# colour: whitenet (airbench's network, models/whitenet.py) trained as airbench94_muon trains it: Muon on the conv
# filters (rate 0.24 in units of their norm, momentum 0.6), Nesterov SGD (momentum 0.85) on the batch-norm shifts,
# the whitening bias and the head, batches of 2,000, the rates straight down to 0, label smoothing 0.2, 2-px
# reflected shifts and flips, multicrop TTA.  airbench's SGD terms per summed loss turned into cnnlab's per mean loss
# of whitenet (head ×1/9, shifts at 64× the rate): shifts 0.053 × 2,000 = 106 = 64 × 1.66; the head's 0.67 on a
# unit-std layer divided by 256 is the same 1.66 on whitenet's; weight decay 2e-6 per example → 0.004 per step =
# 1.66 × 2.4e-3.  On CIFAR-10's JPEGs (validation split) airbench's own script, ported to the CPU, reached 90.72%
# (SGD + lookahead, 9.9 epochs) and 90.72% (Muon, 8 epochs); the Muon one at whitenet-m's width 90.88% in 12.
_COLOR_TRAINING = dict(batch_size=2000, micro_batch=1000, optimizer="muon", lr=1.66, muon_lr=0.24, momentum=0.85,
                       nesterov=True, weight_decay=2.4e-3, label_smoothing=0.2, schedule="linear",
                       augment="crop=2,flip=h,fill=reflect", tta="multicrop", min_steps=MIN_BUDGET_STEPS)

# faces: the colour recipe's whitenet and Muon training on 48×48 gray faces, with the faces' augmentation (rotation,
# shift, zoom, mirror); batches of 1,000 (26 steps per epoch on FER2013's 25,837 training images) with the SGD rate
# halved (the linear scaling rule; Muon's rate is relative to the filters' norm and stays).  On FER2013 (best epoch
# on a 10% validation split, PublicTest scored once): 23 epochs, 2,421 s on a busy 2-core CPU, validation 71.62%
# with multicrop TTA / 71.52% flip / 70.30% none, PublicTest 70.13% / 69.69% / 68.85%, where vgg11 with AdamW for
# 40 epochs had 67.57%.  Multicrop was chosen on the validation split: it scored above flip there on each faces run
# of whitenet and whitenet-m scored both ways (lower loss too).  Its six views cost the final fp32 scoring of
# validation and PublicTest ~2 minutes more than flip's two: the best recipe pays it, the fast one keeps flip (~1
# minute, an eighth of its run, and most of a --time 3m budget).  The fast recipe, whitenet-m for 7 epochs: 66.95%
# (flip) in 533 s (the former fast recipe, cnn with AdamW for 15 epochs: 64.3%); within --time 3m (the default
# run) 57.37% in 2 epochs, where the cnn recipe had 51.91% (on a CPU without bf16, where 3 minutes hold one epoch of
# 26 steps: 47.95%, and in batches of 250 sized to the budget, MIN_BUDGET_STEPS: 57.95-59.24%).
# The best epoch is the one of least validation loss: the rates fall to 0, so the last epoch is meant to be the best,
# and on 2,872 validation faces the accuracy of 23 epochs picks a winner by noise — a second 23-epoch run (49 min on
# a slower hour) had its highest flip accuracy at epoch 20 (71.66%; epoch 23: 71.17%, least loss), whose weights
# then scored validation 71.31% / PublicTest 68.85% with multicrop where epoch 23's scored 71.31% / 69.96%.  The
# loss picked the last epoch in every whitenet run here (faces and CIFAR-10).
# The best recipe's TTA is rotate (the image and its mirror, each also turned ±8°), chosen on the validation split
# over the last weights of both 23-epoch whitenet runs and the 7-epoch whitenet-m one, in bf16: multicrop 71.66 /
# 71.07 / 68.87% (mean 70.53%, loss 0.870 / 0.865 / 0.943), rotate 71.69 / 72.08 / 69.53% (mean 71.10%, loss
# 0.856 / 0.856 / 0.943); turns of 5° or 11° (70.88 / 70.84%), zooms of ±10% (70.82%) and all of these together
# (70.90%) did less.  The same six passes as multicrop.  Scored in fp32 after that choice, the two whitenet runs' last
# weights: validation 71.76 / 72.11%, PublicTest 70.55 / 70.66% (multicrop: 70.13 / 69.96%).
# The best recipe trains its first 19 of 26 epochs on smaller faces (progressive resizing from 0.67: 32 → 44 px,
# training/resize.py), ~18.9 full-size epochs of cost: `cnnlab bench fer2013` in an hour as slow as the 23-epoch
# run's 2,846 s took 2,427 s, validation 72.46% (was 72.11%), PublicTest 70.44% (70.66%); within --time 44m it
# planned 26 epochs, then 25: 70.41% in 2,459 s (the 23 full-size epochs within 44m: 19 epochs, 69.63%).
_FACE_TRAINING = {**_COLOR_TRAINING, "batch_size": 1000, "micro_batch": 500, "lr": 0.83, "augment": "fer",
                  "monitor": "val_loss"}

# Per kind of image (cnnlab.modalities.image.ImageModality.recipe_kind).  digits: 1 channel, 13-32 px (MNIST, Fashion-MNIST, KMNIST); tiny: 1 channel under 13 px
# (too small for digitnet), and colour or gray images of the whitenet kinds' sizes with a side under 16 px (too small
# for whitenet); faces: 1 channel, 33-64 px (FER2013); color: 3 channels up to 48 px (CIFAR-10);
# photo: 3 channels over 48 px or 1 channel over 64 px (phone photos, scans at the 128×128 working size of image
# folders), where whitenet's full-resolution first block costs too much (modalities/image.py, COLOR_MAX_SIDE);
# other: anything else.
VALUES: dict[tuple[str, str], dict] = {
    ("fast", "digits"): _FAST_DIGITS,
    ("best", "digits"): dict(model="digitnet", epochs=12, **_DIGIT_TRAINING),
    ("fast", "tiny"): {**_FAST_DIGITS, "model": "fastcnn"},  # under 13 px a strided stem would leave too little
    ("best", "tiny"): dict(model="fastcnn-wide", epochs=20, **_DIGIT_TRAINING),
    ("fast", "faces"): {"model": "whitenet-m", "epochs": 7, **_FACE_TRAINING, "tta": "flip"},
    ("best", "faces"): {"model": "whitenet", "epochs": 26, **_FACE_TRAINING, "tta": "rotate",
                        "progressive_resize": 0.67},
    ("fast", "color"): dict(model="whitenet-m", epochs=12, **_COLOR_TRAINING),
    ("best", "color"): dict(model="whitenet", epochs=20, **_COLOR_TRAINING),
    # photos: resnet-photo's strided stem makes a 128×128 image cost what a 32×32 one does in resnet20; batches of
    # 32 keep peak memory well under 1 GB.  Cost, measured as process CPU time (getrusage) of 4 fp32 AdamW steps
    # with 2 torch threads on a 2-core x86 CPU: 55 CPU-ms per 128×128 image (resnet20 on 32×32: 13), i.e. about
    # 30 s per epoch of 1,000 photos on two idle cores; 40 photos of 4000×3000 train an epoch at 0.48 GB peak RSS.
    # Its "default" applies with no recipe named, since TrainConfig's cnn at 128 px would need GBs per batch.
    ("default", "photo"): dict(model="resnet-photo", batch_size=32, optimizer="adamw", lr=2e-3, weight_decay=5e-4,
                               schedule="onecycle"),
    ("fast", "photo"): dict(model="resnet-photo", epochs=10, batch_size=32, optimizer="adamw", lr=2e-3,
                            weight_decay=5e-4, label_smoothing=0.1, schedule="onecycle", augment="crop=8,flip=h",
                            tta="flip"),
    ("best", "photo"): dict(model="resnet-photo", epochs=30, batch_size=32, optimizer="adamw", lr=2e-3,
                            weight_decay=5e-4, label_smoothing=0.1, schedule="onecycle",
                            augment="crop=8,flip=h,erasing=0.25", tta="flip", ema=0.999),
    ("fast", "other"): dict(model="cnn", epochs=10, optimizer="adamw", lr=3e-3, weight_decay=5e-4,
                            label_smoothing=0.1, schedule="onecycle"),
    ("best", "other"): dict(model="cnn", epochs=30, optimizer="adamw", lr=3e-3, weight_decay=5e-4,
                            label_smoothing=0.1, schedule="onecycle", augment="rotation=10,shift=0.1,zoom=0.1",
                            ema=0.999),
}


# `--recipe fast|best` on photos starts from ImageNet weights when they are in the cache: mobilenet_v3_small trains
# an epoch of 196 photos in 3-9 s at 128×128 on a loaded 2-core CPU (resnet18-imagenet: 27-40 s, efficientnet_b0:
# 33-52 s), with one head-only epoch first (fastai's fine_tune).  The rest of the photo recipe stays as it is.
PHOTO_BACKBONE = "mobilenet_v3_small"
PRETRAINED_PHOTO = dict(model=PHOTO_BACKBONE, pretrained=True, freeze_epochs=1)


# `cnnlab train IMAGES` with no --epochs or --recipe: the kind's fast recipe, its length set by a wall-clock budget
# instead of its epochs (training/budget.py plans them): the user's --time, else 3 minutes, so that a first run on
# unknown data takes a known time on any machine.  Python callers (train(TrainConfig()), Classifier.fit) keep
# TrainConfig's epochs.
DEFAULT_RUN = dict(recipe="fast", time="3m")
# --time alone of at least BEST_FROM[kind] takes the kind's best recipe instead: about the time its full length
# took on a 2-core CPU (README), below which squeezing it loses to the fast recipe.  MNIST: the best recipe reached
# 99.65% within 10 minutes, where the fast one reached 99.48% within 1 (without augmentation) and 99.51% within 3
# (with it), and the best one squeezed into 3 minutes 99.41%; FER2013: the former best recipe (vgg11, 40 epochs in
# ~45 minutes) squeezed into 10 minutes gave 59.8%, below the fast recipe's 64.3% in 15 epochs (the whitenet best
# recipe, 23 epochs in 40-49 minutes, within --time 44m planned 19 epochs on a slow hour: 69.63%).  Kinds not
# listed keep the fast recipe whatever the budget.
BEST_FROM = {"digits": "6m", "faces": "45m", "color": "35m"}
LENGTH_FIELDS = {"epochs", "recipe"}  # any of these given: the user chose the run; --time alone sets its budget
KIND_WORDS = {"digits": "digit-sized gray images", "tiny": "tiny images", "faces": "face-sized gray images",
              "color": "color images", "photo": "photos", "other": "images"}


def default_run_applies(cfg: TrainConfig, data: Dataset, explicit: set[str]) -> bool:
    """Whether the time-budgeted default run applies: image data, and neither epochs nor a recipe chosen (its
    recipe: fast, or best for a --time of BEST_FROM[kind] or more)."""
    return modality_of(data).name == "image" and cfg.recipe is None and not explicit & LENGTH_FIELDS


def default_run_notes(cfg: TrainConfig, data: Dataset, default_run: bool) -> list[str]:
    """The note that opens a default run's output: which recipe and budget it took, and how to choose."""
    if not default_run or modality_of(data).name != "image" or cfg.recipe not in RECIPES or not cfg.time:
        return []
    return [f"default run: recipe {cfg.recipe} for {KIND_WORDS.get(data_kind(data), 'images')}, time budget "
            f"{cfg.time} (choose --epochs N, --time T or --recipe {'fast' if cfg.recipe == 'best' else 'best'} to "
            f"change)"]


def photo_backbone_cached() -> bool:
    """True when the photo backbone's ImageNet weight file is in the weights cache."""
    from cnnlab.runs.pretrained import cached_weights

    return cached_weights(PHOTO_BACKBONE) is not None


def data_kind(data: Dataset) -> str:
    """The recipe key of the data: for images digits | tiny | faces | color | photo | other, from the channels
    and size; for other modalities their name (text, audio)."""
    return modality_of(data).recipe_kind(data)


def recipe_values(name: str, data: Dataset, train_images: int | None = None) -> dict:
    """The recipe's config values for this data ({} for "default" on images: TrainConfig's defaults are theirs).
    `train_images`: how many images the run will train on (after its validation split and --limit); default: the
    whole training split."""
    if name not in RECIPES + ("default",):
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    modality = modality_of(data)
    values = dict(VALUES.get((name, modality.recipe_kind(data))) or modality.recipes.get(name, {}))
    if values.get("val_split") == 0.0 and "test" not in data:
        values.pop("val_split")  # without a test split, keep a validation split to score the model on
    if values.get("model", "").startswith("whitenet") and "train" in data:
        values.update(small_data_batch(values, len(data["train"]) if train_images is None else train_images))
    if values.get("progressive_resize") and values.get("model", "").startswith("whitenet"):
        from cnnlab.models.whitenet import WHITENET_MIN_SIDE
        from cnnlab.training.resize import epoch_size

        first = epoch_size(1, values.get("epochs", 1), tuple(data.input_shape[1:]), values["progressive_resize"])
        if min(first) < WHITENET_MIN_SIDE:  # the ramp's first images would be too small for whitenet: full size
            values.pop("progressive_resize")
    return values


MIN_STEPS = 8  # optimisation steps per epoch that the colour recipes' big batches keep on small data sets


def small_data_batch(values: dict, images: int) -> dict:
    """The colour recipes' batch of 2,000 on a small data set: the largest power of two ≤ images / 8 (≥ 32), so
    that an epoch still takes 8 steps, with the SGD rate scaled in proportion (the linear scaling rule, Goyal et
    al. 2017, "Accurate, large minibatch SGD"; Muon's rate is a step relative to the filters' norm and stays).
    {} when the data set is large enough."""
    batch = values["batch_size"]
    if images >= MIN_STEPS * batch:
        return {}
    smaller = max(32, 1 << max(0, (images // MIN_STEPS).bit_length() - 1))
    return {"batch_size": smaller, "lr": values["lr"] * smaller / batch}


def chosen_fields(cfg: TrainConfig) -> set[str]:
    """The fields of cfg not at TrainConfig's defaults: what a Python caller chose (the CLI knows exactly)."""
    defaults = TrainConfig()
    return {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != getattr(defaults, f.name)}


# --balance weighs the classes equally in training; validation accuracy, which counts images, would then choose
# the epoch that favours the large classes again.  Measured (3,850 CIFAR-10 photos in 6 classes of 2,000 … 50,
# the default 3-minute run, 2026-12-03): see the README's imbalanced-classes rows.
BALANCED_MONITOR = "val_balanced_acc"


def apply_recipe(cfg: TrainConfig, data: Dataset, explicit: set[str] | None = None,
                 default_run: bool = False) -> TrainConfig:
    """cfg with its recipe's values (or the data kind's defaults when no recipe is named), except for the
    fields in `explicit` (default: those not at their default value).  With `default_run` (the CLI: neither
    epochs nor a recipe chosen), image data takes DEFAULT_RUN: the fast recipe within the user's --time, else 3m.
    Within a time budget a recipe takes its TIMED values too (the fast digits recipe: augmentation).  With
    --balance, the best epoch is chosen by validation balanced accuracy unless a monitor is chosen."""
    explicit = chosen_fields(cfg) if explicit is None else explicit
    if default_run and default_run_applies(cfg, data, explicit):
        budget = cfg.time if "time" in explicit and cfg.time else DEFAULT_RUN["time"]
        best_from = BEST_FROM.get(data_kind(data))
        long = best_from is not None and parse_duration(budget) >= parse_duration(best_from)
        cfg = dataclasses.replace(cfg, recipe="best" if long else DEFAULT_RUN["recipe"], time=budget)
    values = recipe_values(cfg.recipe or "default", data, training_images(cfg, data, explicit))
    if cfg.time:  # the recipe's form within a time budget
        values.update(TIMED.get((cfg.recipe, data_kind(data)), {}))
    if _pretrained_photo(cfg, data, explicit):
        values.update(PRETRAINED_PHOTO)
        epochs = cfg.epochs if "epochs" in explicit else values.get("epochs", cfg.epochs)
        values["freeze_epochs"] = min(1, epochs - 1)  # a 1-epoch run trains everything from the start
    if "batch_size" in explicit and "min_steps" not in explicit:
        values.pop("min_steps", None)  # the user's batch size stays whatever the budget
    if cfg.balance != "none":  # classes weighed equally: the best epoch is chosen so too (see BALANCED_MONITOR)
        values["monitor"] = BALANCED_MONITOR
    values = {k: v for k, v in values.items() if k not in explicit}
    return dataclasses.replace(cfg, **values)


# A recipe's mirroring (flips in training, flip / multicrop / rotate TTA) is dropped on data whose classes do not
# look the same in a mirror: data.symmetry.mirror_symmetry below MIRROR_SYMMETRY.  Measured (medians over classes,
# 100 and 400 images per class, two seeds): CIFAR-10 photos 0.94-1.01 (gray 32×32, colour 64×64 and 96×96),
# FER2013 faces 0.99-1.02, MNIST digits 0.76-0.81 (also shrunk to 12×12), two-digit numbers 0.62.
# Their TTA goes with them (shifts alone, the TTA left without mirrors, did not pay on digits: 99.67% vs 99.68%).
MIRROR_SYMMETRY = 0.9


def drop_mirrors(cfg: TrainConfig, data: Dataset, explicit: set[str] | None = None) -> tuple[TrainConfig, list[str]]:
    """cfg without the left-right mirroring its recipe brought (augmentation flips, mirroring TTA) when the
    training images' classes do not look the same in a mirror (digits, letters, numbers in colour, two-digit
    numbers at a face's size), and one note saying so; unchanged where the user chose --augment / --tta (the
    fields in `explicit`; default: those of `cfg` not at TrainConfig's defaults, so give the fields chosen before
    the recipe's values were applied), on non-image or regression data, on streamed folders, and where
    mirror_symmetry has too few images per class to tell."""
    explicit = chosen_fields(cfg) if explicit is None else explicit
    augment = parse_augment(cfg.augment) if cfg.augment and "augment" not in explicit else None
    flips = augment is not None and augment.mirrors
    tta = cfg.tta in MIRRORING_TTAS and "tta" not in explicit
    train = data.splits.get("train")
    if not (flips or tta) or modality_of(data).name != "image" or train is None or train.streamed or \
            train.regression:
        return cfg, []
    from cnnlab.data.symmetry import mirror_symmetry

    symmetry = mirror_symmetry(train.images, train.labels)
    if symmetry is None or symmetry >= MIRROR_SYMMETRY:
        return cfg, []
    changes = {}
    if flips:
        kept = augment.flip.replace("h", "") if augment.flip != "alt" else ""
        changes["augment"] = dataclasses.replace(augment, flip=kept).to_spec()
    if tta:
        changes["tta"] = None
    said = ", ".join(f"{name} {getattr(cfg, name)} → {value or 'none'}" for name, value in changes.items())
    note = (f"mirror images: these classes do not look the same in a mirror (symmetry {symmetry:.2f}; photos and "
            f"faces ≥ {MIRROR_SYMMETRY}), so the recipe's mirroring is dropped: {said} (--augment / --tta to "
            f"choose)")
    return dataclasses.replace(cfg, **changes), [note]


def training_images(cfg: TrainConfig, data: Dataset, explicit: set[str]) -> int | None:
    """How many images of data["train"] the run trains on: less the validation split it will carve (the user's
    --val-split, else the recipe's, else the default), at most --limit.  None without a training split."""
    if "train" not in data:
        return None
    images = len(data["train"])
    if "val" not in data and not data["train"].streamed:  # streamed folders come split and sampled already
        recipe = VALUES.get((cfg.recipe or "default", data_kind(data))) or {}
        val_split = cfg.val_split if "val_split" in explicit else recipe.get("val_split", cfg.val_split)
        images -= round(images * val_split)
    return min(images, cfg.limit) if cfg.limit else images


def _pretrained_photo(cfg: TrainConfig, data: Dataset, explicit: set[str]) -> bool:
    """Whether `--recipe fast|best` on photos starts from the cached ImageNet backbone: the user chose neither
    the model nor another starting point, and the weights are in the cache."""
    return (cfg.recipe in RECIPES and data_kind(data) == "photo" and not explicit & {"model", "init_from"}
            and photo_backbone_cached())


def recipe_notes(cfg: TrainConfig, data: Dataset) -> list[str]:
    """One line when a photo recipe trains from scratch for want of the backbone's weights (what to do instead)."""
    if cfg.recipe not in RECIPES or data_kind(data) != "photo" or cfg.model != "resnet-photo":
        return []
    if photo_backbone_cached():  # the user chose resnet-photo although the weights are there
        return []
    from cnnlab.runs.pretrained import pretrained_spec, weights_dir

    spec = pretrained_spec(PHOTO_BACKBONE)
    return [f"recipe {cfg.recipe}: no {PHOTO_BACKBONE} ImageNet weights in {weights_dir()}, so resnet-photo trains "
            f"from scratch; to fine-tune instead, put {spec.file} there ({spec.url}) or run once with "
            f"--model {PHOTO_BACKBONE} --pretrained to download it"]


def describe() -> str:
    """All recipes as text, for `cnnlab recipes`."""
    images = [row for row in VALUES.items() if row[0][1] != "other"]
    others = [((name, m.name), values) for m in MODALITIES.values() for name, values in m.recipes.items()]
    rows = images + others + [row for row in VALUES.items() if row[0][1] == "other"]  # the catch-all last
    lines = []
    for (name, kind), values in rows:
        lines.append(f"{name:7s} {kind:7s} " + " ".join(f"{k}={v}" for k, v in values.items()))
        if (name, kind) in TIMED:
            lines.append(f"{'':15s} within --time: " + " ".join(f"{k}={v}" for k, v in TIMED[name, kind].items()))
        if kind == "photo" and name in RECIPES:
            lines.append(f"{'':15s} with {PHOTO_BACKBONE}'s weights cached: "
                         + " ".join(f"{k}={v}" for k, v in PRETRAINED_PHOTO.items()))
    lines.append(f"On images whose classes do not look the same in a mirror (symmetry under {MIRROR_SYMMETRY}: "
                 f"digits, letters, numbers) a recipe's flips and mirroring TTA are dropped.")
    return "\n".join(lines)
