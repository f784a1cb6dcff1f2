"""A run's data: load `cfg.data` with its extra split files, choose the streamed path for big image folders,
carve the validation split and apply the limit.  Used by training and by every command that re-reads a run's
data (evaluate, export, ensemble, bench)."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset, Split, add_split, load_data
from cnnlab.data.detail import SAMPLE, detail_size
from cnnlab.data.load import detect_format, resized
from cnnlab.data.named import NAMED
from cnnlab.modalities import MODALITIES, modality_for_format, modality_of
from cnnlab.data.splits import limited, stratified_split
from cnnlab.data.stream import estimated_bytes, load_folder_streamed, should_stream


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare_data(cfg: TrainConfig, progress=None) -> Dataset:
    """Load cfg.data (+ val_data / test_data files) and carve a validation split when there is none."""
    return split_data(load_sources(cfg, progress), cfg)


def streams(cfg: TrainConfig, size: tuple[int, int] | None) -> bool:
    """True when cfg.data is an image folder to be read through the memory-mapped cache (see cfg.stream)."""
    if cfg.stream == "off" or cfg.val_data or cfg.test_data:
        return False
    path = Path(cfg.data)
    if not path.is_dir() or (cfg.data_format or detect_format(path)) != "folder":
        return False
    return cfg.stream == "on" or should_stream(estimated_bytes(path, size, cfg.channels), cfg.stream)


def modality_options(cfg: TrainConfig, path: Path) -> dict:
    """The loader options cfg asks of its data's modality (columns, held-out split, features, target)."""
    fmt = (cfg.data_format or detect_format(path)) if path.exists() else "named"
    modality = modality_of({}) if fmt == "named" else modality_for_format(fmt)  # named sets are images
    for other in MODALITIES.values():
        if other is not modality and any(getattr(cfg, k, None) for k in other.own_options):
            what = "a named image data set" if fmt == "named" else f"{fmt} data"
            flags = " / ".join("--" + k.replace("_", "-") for k in other.own_options)
            raise ValueError(f"{flags} apply to {other.own_options_for}; {cfg.data} is {what}")
    return modality.loader_options(cfg, fmt)


def load_sources(cfg: TrainConfig, progress=None) -> Dataset:
    """cfg.data with cfg.val_data / cfg.test_data added as splits, as stored (no validation split carved yet)."""
    size = tuple(cfg.image_size) if cfg.image_size else None
    if streams(cfg, size):  # the validation split and the limit sample are taken before decoding
        data = load_folder_streamed(cfg.data, size, cfg.channels, cfg.val_split, cfg.seed, cfg.limit)
    else:
        data = load_data(cfg.data, data_dir=cfg.data_dir, fmt=cfg.data_format, image_size=size,
                         channels=cfg.channels, progress=progress, **modality_options(cfg, Path(cfg.data)))
    for split, source in (("val", cfg.val_data), ("test", cfg.test_data)):
        if not source:
            continue
        options = modality_of(data).extra_split_options(data, cfg, size)  # e.g. the training split's tokenizer
        other = load_data(source, fmt=cfg.data_format, **options)
        add_split(data, split, other)
    if "train" not in data:
        raise ValueError(f"{data.source}: no training split (found {', '.join(data.splits)})")
    if not data["train"].labeled:
        raise ValueError(f"{data.source}: the training rows have no labels")
    return data


RESIZING_FORMATS = ("folder", "idx", "cifar10")  # --image-size resizes them (a pixel CSV's gives its rows' shape)
# a size the user or their model chose: the images keep the size they are loaded at
SIZE_CHOICES = {"image_size", "model", "pretrained", "init_from"}


def source_format(cfg: TrainConfig, source: str) -> str:
    """The format `source` is read as: cfg.data_format, detected, or 'named' for a data set name."""
    path = Path(source).expanduser()
    return (cfg.data_format or detect_format(path)) if path.exists() else "named" if source in NAMED else "?"


def load_for_training(cfg: TrainConfig, explicit: set[str], progress=None,
                      decide: Callable[[Callable], object] | None = None,
                      recipe_run: bool = False) -> tuple[TrainConfig, Dataset, list[str]]:
    """load_sources(cfg), with images enlarged from smaller ones at the size of their detail
    (cnnlab.data.detail.detail_size): cfg.image_size set to it (the run's config, `evaluate` and `predict` read
    images at that size) and one note saying so.  An image folder's size is decided from a sample of its files
    before the folder is decoded, so every image is decoded once, straight to that size, as `predict` decodes new
    ones; IDX files, CIFAR-10 batches and named sets are resized once loaded (Pillow), as they are whenever read.

    The images keep their size where the user chose a size or a model (fields in `explicit`, see SIZE_CHOICES),
    for pixel CSVs (whose --image-size gives the rows' shape) and other modalities, and for photos in a
    `recipe_run` (--recipe or the default run) when the photo recipes' ImageNet backbone is cached (they
    fine-tune it at the stored size).  `decide(compute)` runs the decision (distributed: on rank 0, shared with
    the others; an error there is raised on every rank); default: here."""
    share = decide or (lambda compute: compute())

    def decided(plan_of: Callable[[], object]):
        def compute():
            try:
                return plan_of(), None
            except Exception as exc:  # noqa: BLE001 — raised below, on every rank alike
                return None, exc
        plan, error = share(compute)
        if error is not None:
            raise error
        return plan

    sources = [source for source in (cfg.data, cfg.val_data, cfg.test_data) if source]
    formats = {source_format(cfg, source) for source in sources}
    allowed = not explicit & SIZE_CHOICES and formats <= {*RESIZING_FORMATS, "named"}
    plan = decided(lambda: _folder_plan(cfg, recipe_run)) if allowed and formats == {"folder"} else None
    if plan is not None:  # decoded straight to that size: the folder's working-size note is the plan's to say
        cfg = dataclasses.replace(cfg, image_size=list(plan[0]))
    data = load_sources(cfg, progress)
    if allowed and formats != {"folder"} and not data["train"].streamed:
        plan = decided(lambda: _loaded_plan(data, recipe_run))
        if plan is not None:
            cfg = dataclasses.replace(cfg, image_size=list(plan[0]))
            resized(data, plan[0], None)
    return cfg, data, plan[1] if plan is not None else []


def training_size_notes(cfg: TrainConfig, data: Dataset) -> list[str]:
    """What `cnnlab train` (the default run) with no size or model chosen would say of `data`'s size (cfg.data,
    already loaded at its stored size): the enlarged-images note, or nothing."""
    formats = {source_format(cfg, cfg.data)}
    if not formats <= {*RESIZING_FORMATS, "named"}:
        return []
    plan = _folder_plan(cfg, True) if formats == {"folder"} else _loaded_plan(data, True)
    return plan[1][-1:] if plan is not None else []  # the enlarged-images note (`data` said the working size's)


def _folder_plan(cfg: TrainConfig, recipe_run: bool) -> tuple[tuple[int, int], list[str]] | None:
    """(size, notes) for an image folder from SAMPLE of its training files decoded at the working size; the
    notes say the working size first where the folder chose one (mixed or large images)."""
    from cnnlab.data.folder import list_image_folder, load_images, sample_paths

    listing = list_image_folder(Path(cfg.data).expanduser(), None, cfg.channels)
    sample = sample_paths(*listing.files["train"], n=SAMPLE)
    images, _ = load_images(sample, listing.channels, listing.image_size)
    plan = _plan(torch.from_numpy(images), recipe_run)
    if plan is None:
        return None
    return plan[0], ([listing.size_note] if listing.size_note else []) + plan[1]


def _loaded_plan(data: Dataset, recipe_run: bool) -> tuple[tuple[int, int], list[str]] | None:
    train = data["train"]
    if modality_of(data).name != "image" or len(data.input_shape) != 3 or not len(train):
        return None
    return _plan(train.images, recipe_run)


def _plan(images: torch.Tensor, recipe_run: bool) -> tuple[tuple[int, int], list[str]] | None:
    c, h, w = images.shape[1:]
    if c not in (1, 3) or recipe_run and _fine_tunes_photos(c, h, w):
        return None
    found = detail_size(images)
    if found is None:
        return None
    (sh, sw), loss = found
    return (sh, sw), [f"images enlarged: shrunk to {sh}×{sw} and enlarged back, they lose {loss:.1%} of their "
                      f"variation, so training at {sh}×{sw}, {h * w / (sh * sw):.1f}× fewer pixels; "
                      f"--image-size {h}x{w} keeps {h}×{w}"]


def _fine_tunes_photos(c: int, h: int, w: int) -> bool:
    """Photos (by their stored size) when the photo recipes' ImageNet backbone is cached: they fine-tune it."""
    from cnnlab.modalities.image import COLOR_MAX_SIDE, FACES_MAX_SIDE
    from cnnlab.training.recipes import photo_backbone_cached

    return max(h, w) > (FACES_MAX_SIDE if c == 1 else COLOR_MAX_SIDE) and photo_backbone_cached()


# a given validation split smaller than this (and than a quarter of what cfg.val_split would hold out) chooses the
# best epoch by a handful of images — Kaggle's chest X-ray set ships val/ with 16 of its 5,856: each image 6.25 points
TINY_VAL = 50


def _tiny_val(data: Dataset, cfg: TrainConfig) -> bool:
    """True when the data's own validation split is too small to choose on and cfg.val_split would do better."""
    train, val = data["train"], data.splits.get("val")
    return (cfg.val_split > 0 and val is not None and 0 < len(val) < TINY_VAL and val.labeled and train.labeled
            and not val.regression and not train.streamed and not val.streamed
            and cfg.val_split * (len(train) + len(val)) >= 4 * len(val))


def split_data(data: Dataset, cfg: TrainConfig) -> Dataset:
    """Carve a stratified validation split (cfg.val_split) when there is none, or when the one given is tiny
    (TINY_VAL: then it joins the training split first, with a note), then apply cfg.limit."""
    if _tiny_val(data, cfg):
        train, val = data["train"], data.splits.pop("val")
        ids = train.ids + val.ids if train.ids is not None and val.ids is not None else None
        data.splits["train"] = Split(torch.cat([train.images, val.images]), torch.cat([train.labels, val.labels]), ids)
        data.splits["train"], data.splits["val"] = stratified_split(data["train"], cfg.val_split, cfg.seed)
        items = modality_of(data).items  # images, or items of text and audio
        data.meta = {**data.meta, "notes": list(data.meta.get("notes", [])) + [
            f"the given validation split has only {len(val)} {items}, too few to choose the best epoch on (each is "
            f"{100 / len(val):.1f} points): they joined the training {items}, and a stratified {cfg.val_split:.0%} "
            f"of those ({len(data['val'])}) is the validation split (--val-split 0 keeps the given one)"]}
    if "val" not in data and cfg.val_split > 0:
        data.splits["train"], data.splits["val"] = stratified_split(data["train"], cfg.val_split, cfg.seed)
    if cfg.limit and cfg.limit < len(data["train"]) and not data["train"].streamed:  # streamed: already sampled
        data.splits["train"] = limited(data["train"], cfg.limit, cfg.seed)  # keeps every class
    data.splits = {k: data.splits[k] for k in sorted(data.splits, key=lambda s: ("train", "val", "test").index(s))}
    return data
