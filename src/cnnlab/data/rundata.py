"""A run's data: load `cfg.data` with its extra split files, choose the streamed path for big image folders,
carve the validation split and apply the limit.  Used by training and by every command that re-reads a run's
data (evaluate, export, ensemble, bench)."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset, add_split, load_data
from cnnlab.data.detail import detail_size
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


def resizes(cfg: TrainConfig, source: str) -> bool:
    """True when cfg.image_size resizes `source`'s images as they are read (image folders, IDX, CIFAR-10 batches
    and the named data sets), so that a run's config reads them at the size it trained on."""
    path = Path(source).expanduser()
    if not path.exists():
        return source in NAMED
    return (cfg.data_format or detect_format(path)) in RESIZING_FORMATS


def shrink_to_detail(cfg: TrainConfig, data: Dataset, explicit: set[str]) -> tuple[TrainConfig, list[str]]:
    """Images enlarged from smaller ones, shrunk in `data` (every split, as Pillow resizes image files) to the
    size that keeps their detail (cnnlab.data.detail.detail_size), with cfg.image_size set to it (the run's
    config and `predict` read images at that size) and one note saying so; cfg unchanged, and no note, where
    the images are as sharp as their pixels, where the user chose the size or a model (fields in `explicit`,
    see SIZE_CHOICES), for data other than gray or colour images, and for streamed folders and pixel CSVs."""
    train = data.splits.get("train")
    shape = tuple(data.input_shape)
    if explicit & SIZE_CHOICES or modality_of(data).name != "image" or train is None or train.streamed \
            or len(shape) != 3 or shape[0] not in (1, 3) or not len(train) \
            or not all(resizes(cfg, source) for source in (cfg.data, cfg.val_data, cfg.test_data) if source):
        return cfg, []
    found = detail_size(train.images, seed=cfg.seed)
    if found is None:
        return cfg, []
    (h, w), loss = found
    resized(data, (h, w), None)
    note = (f"images enlarged: their detail fits {h}×{w} (shrunk to it, they lose {loss:.1%} of their "
            f"variation), so training at {h}×{w}, {shape[1] * shape[2] / (h * w):.1f}× fewer pixels; "
            f"--image-size {shape[1]}x{shape[2]} keeps {shape[1]}×{shape[2]}")
    return dataclasses.replace(cfg, image_size=[h, w]), [note]


def split_data(data: Dataset, cfg: TrainConfig) -> Dataset:
    """Carve a stratified validation split (cfg.val_split) when there is none, then apply cfg.limit."""
    if "val" not in data and cfg.val_split > 0:
        data.splits["train"], data.splits["val"] = stratified_split(data["train"], cfg.val_split, cfg.seed)
    if cfg.limit and cfg.limit < len(data["train"]) and not data["train"].streamed:  # streamed: already sampled
        data.splits["train"] = limited(data["train"], cfg.limit, cfg.seed)  # keeps every class
    data.splits = {k: data.splits[k] for k in sorted(data.splits, key=lambda s: ("train", "val", "test").index(s))}
    return data
