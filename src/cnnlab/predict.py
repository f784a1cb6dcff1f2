"""Predictions of a trained run on new inputs: image files or CSV rows."""
from __future__ import annotations

from pathlib import Path

import torch

from .data import DataError, load_data
from .data.folder import IMAGE_SUFFIXES, load_image
from .device import pick_device
from .evaluate import predict_logits, top_predictions
from .predictions import Prediction, accuracy_of, write_predictions  # noqa: F401  (re-exported)
from .runs import LoadedRun


def read_inputs(run: LoadedRun, inputs: list[str]) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """uint8 images (N, C, H, W) shaped for the run's model, their ids, and labels (-1 where unknown)."""
    c, h, w = run.input_shape
    images, ids, labels = [], [], []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(torch.from_numpy(load_image(path, c, (h, w)).copy())[None])
            ids.append(str(path))
            labels.append(torch.tensor([-1]))
            continue
        data = load_data(path, image_size=(h, w), channels=c)
        for split_name, split in data.splits.items():
            images.append(split.images)
            ids += split.ids or [f"{path.name}:{split_name}:{i}" for i in range(len(split))]
            labels.append(split.labels)
    if not images:
        raise DataError("no inputs given: pass image files or a CSV of pixel rows")
    return torch.cat(images), ids, torch.cat(labels)


def predict(run: LoadedRun, images: torch.Tensor, ids: list[str], labels: torch.Tensor | None = None,
            top_k: int = 3, device: str = "auto") -> list[Prediction]:
    """Top-k classes with probabilities for each image."""
    dev = pick_device(device)
    run.model.to(dev)
    logits = predict_logits(run.model, images, run.preprocess, dev, None, 1024, run.config.channels_last,
                            run.config.tta)
    tops = top_predictions(logits, run.classes, run.config.loss, top_k)
    index = logits.argmax(1).tolist()
    labels_list = labels.tolist() if labels is not None else [-1] * len(ids)
    return [Prediction(i, k, t, lab if lab >= 0 else None) for i, k, t, lab in zip(ids, index, tops, labels_list)]
