"""Predictions of a trained run (or an ensemble of runs) on new inputs: image files or CSV rows, texts, clips."""
from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.data import DataError
from cnnlab.deploy.predictions import Prediction, accuracy_of, write_predictions  # noqa: F401  (re-exported)
from cnnlab.modalities import modality_of
from cnnlab.runs.rundir import load_run


def load_predictor(path: str | Path):
    """A run directory or checkpoint (LoadedRun), or an ensemble folder (Ensemble): both have classes,
    input_shape and probabilities(images, device)."""
    from cnnlab.runs.ensemble import is_ensemble, load_ensemble

    return load_ensemble(path) if is_ensemble(path) else load_run(path)


def read_inputs(predictor, inputs: list[str], texts: list[str] | None = None
                ) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """The model's inputs for image files / CSV rows (images), raw texts / .txt files (text), or .wav files
    (audio), encoded the way the run's training data was (its modality's read_inputs); their ids; labels
    (-1 where unknown)."""
    modality = modality_of(predictor)
    if texts and not modality.reads_texts:
        raise DataError(f"--text is for text models; this one takes {modality.name} inputs")
    return modality.read_inputs(predictor, list(inputs), list(texts or []))


def predict(predictor, images: torch.Tensor, ids: list[str], labels: torch.Tensor | None = None,
            top_k: int = 3, device: str = "auto") -> list[Prediction]:
    """Top-k classes with probabilities for each input, from a run or an ensemble."""
    probs = predictor.probabilities(images, device)
    values, index = probs.topk(min(top_k, probs.shape[1]), 1)
    labels_list = labels.tolist() if labels is not None else [-1] * len(ids)
    return [Prediction(i, ri[0], [(predictor.classes[k], p) for k, p in zip(ri, rv)], lab if lab >= 0 else None)
            for i, ri, rv, lab in zip(ids, index.tolist(), values.tolist(), labels_list)]
