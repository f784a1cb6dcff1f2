"""Predictions of a trained run (or an ensemble of runs) on new inputs: image files or CSV rows."""
from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.data import DataError, load_data
from cnnlab.data.folder import IMAGE_SUFFIXES, load_image
from cnnlab.deploy.predictions import Prediction, accuracy_of, write_predictions  # noqa: F401  (re-exported)
from cnnlab.runs.rundir import load_run


def load_predictor(path: str | Path):
    """A run directory or checkpoint (LoadedRun), or an ensemble folder (Ensemble): both have classes,
    input_shape and probabilities(images, device)."""
    from cnnlab.runs.ensemble import is_ensemble, load_ensemble

    return load_ensemble(path) if is_ensemble(path) else load_run(path)


def read_inputs(predictor, inputs: list[str], texts: list[str] | None = None
                ) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """The model's inputs for image files / CSV rows (images), raw texts / .txt files (text), or .wav files
    (audio), encoded the way the run's training data was; their ids; labels (-1 where unknown)."""
    kind = predictor.input_meta.get("kind", "image")
    if kind == "text":
        from cnnlab.data.io import decode_text, read_bytes
        from cnnlab.modalities.text.loader import encode_texts, wordless_texts

        typed = list(texts or [])
        texts = typed + [decode_text(read_bytes(p), p)[0] for p in inputs]  # as the training files were read
        if not texts:
            raise DataError("no inputs given: pass --text \"...\" or .txt files")
        for i in wordless_texts(texts):  # a model scores anything, even nothing: refuse what has no words
            what = f"--text {texts[i]!r}" if i < len(typed) else f"{inputs[i - len(typed)]}"
            raise DataError(f"{what}: no words to classify; expected a text with at least one word")
        ids = [t[:40].replace("\n", " ") for t in typed] + list(inputs)
        return encode_texts(predictor.input_meta, texts), ids, torch.full((len(texts),), -1)
    if texts:
        raise DataError(f"--text is for text models; this one takes {kind} inputs")
    if kind == "audio":
        from cnnlab.modalities.audio.loader import encode_audio

        if not inputs:
            raise DataError("no inputs given: pass .wav files")
        return encode_audio(predictor.input_meta, inputs), list(inputs), torch.full((len(inputs),), -1)
    c, h, w = predictor.input_shape
    images, ids, labels = [], [], []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(torch.from_numpy(load_image(path, c, (h, w)).copy())[None])
            ids.append(str(path))
            labels.append(torch.tensor([-1]))
            continue
        data = load_data(path, image_size=(h, w), channels=c, classes=list(predictor.classes))
        for split_name, split in data.splits.items():
            images.append(split.images)
            ids += split.ids or [f"{path.name}:{split_name}:{i}" for i in range(len(split))]
            labels.append(split.labels)
    if not images:
        raise DataError("no inputs given: pass image files or a CSV of pixel rows")
    return torch.cat(images), ids, torch.cat(labels)


def predict(predictor, images: torch.Tensor, ids: list[str], labels: torch.Tensor | None = None,
            top_k: int = 3, device: str = "auto") -> list[Prediction]:
    """Top-k classes with probabilities for each input, from a run or an ensemble."""
    probs = predictor.probabilities(images, device)
    values, index = probs.topk(min(top_k, probs.shape[1]), 1)
    labels_list = labels.tolist() if labels is not None else [-1] * len(ids)
    return [Prediction(i, ri[0], [(predictor.classes[k], p) for k, p in zip(ri, rv)], lab if lab >= 0 else None)
            for i, ri, rv, lab in zip(ids, index.tolist(), values.tolist(), labels_list)]
