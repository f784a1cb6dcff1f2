"""Classify images with an exported model.onnx using onnxruntime, NumPy and Pillow only: no PyTorch.

The file is self-describing: its graph takes uint8 images (B, C, H, W) in 0-255 and applies the run's
normalisation itself; its metadata (JSON values) gives the input size, channels, classes and output kind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.base import UNLABELED, DataError
from cnnlab.data.image_file import IMAGE_SUFFIXES, load_image
from cnnlab.data.pixelrows import label_index, read_pixel_rows
from cnnlab.deploy.predictions import Prediction

FORMAT = "cnnlab-onnx"  # the metadata tag of files written by cnnlab.deploy.onnx_export
VERSION = 1
REQUIRED_KEYS = ("cnnlab", "classes", "input", "output")
BATCH = 256  # images per onnxruntime call (bounds the float activations)


class OnnxModelError(ValueError):
    """A file that is not an ONNX model cnnlab can use: unreadable, or without cnnlab's metadata."""


def read_metadata(props: dict[str, str], path: Path) -> dict:
    """The cnnlab metadata_props as parsed JSON values; a clear error when missing or malformed."""
    missing = [k for k in REQUIRED_KEYS if k not in props]
    if missing:
        raise OnnxModelError(f"{path}: an ONNX model without cnnlab metadata (missing {', '.join(missing)}); "
                             "export it with `cnnlab export RUN` so the file records its classes and input")
    try:
        meta = {k: json.loads(v) for k, v in props.items() if k in REQUIRED_KEYS or k in ("preprocess", "model")}
    except json.JSONDecodeError as exc:
        raise OnnxModelError(f"{path}: metadata is not valid JSON ({exc})") from None
    tag = meta["cnnlab"]
    if not isinstance(tag, dict) or tag.get("format") != FORMAT:
        raise OnnxModelError(f"{path}: metadata 'cnnlab' is {tag!r}, expected format {FORMAT!r}")
    if tag.get("version", 0) > VERSION:
        raise OnnxModelError(f"{path}: metadata version {tag['version']} is newer than this cnnlab reads "
                             f"({VERSION}); upgrade cnnlab")
    return meta


@dataclass
class OnnxClassifier:
    """An onnxruntime session with the classes and input shape its metadata records."""

    path: Path
    session: object  # onnxruntime.InferenceSession
    classes: list[str]
    input_shape: tuple[int, int, int]  # (C, H, W)
    probabilities: str  # softmax | sigmoid
    meta: dict

    @classmethod
    def load(cls, path: str | Path, threads: int | None = None) -> OnnxClassifier:
        """Open a model.onnx written by `cnnlab export` (CPU execution provider)."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise OnnxModelError("predicting with an ONNX file needs onnxruntime: pip install onnxruntime "
                                 "(or cnnlab[infer])") from None
        path = Path(path)
        if not path.is_file():
            raise OnnxModelError(f"{path}: no such ONNX file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail ...) share no base but Exception
            raise OnnxModelError(f"{path}: not a readable ONNX model ({str(exc).splitlines()[0][:200]})") from None
        meta = read_metadata(session.get_modelmeta().custom_metadata_map, path)
        inp, out = meta["input"], meta["output"]
        return cls(path, session, list(meta["classes"]), tuple(int(d) for d in inp["shape"]),
                   out.get("probabilities", "softmax"), meta)

    def logits(self, images: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
        """Logits (N, K) float32 for uint8 images (N, C, H, W)."""
        if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"expected uint8 images (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {images.dtype} {tuple(images.shape)}")
        name = self.session.get_inputs()[0].name
        out = [self.session.run(None, {name: np.ascontiguousarray(images[lo:lo + batch_size])})[0]
               for lo in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K): softmax, or sigmoid for models trained with a one-vs-all loss."""
        return probabilities(self.logits(images), self.probabilities)


def probabilities(logits: np.ndarray, kind: str) -> np.ndarray:
    """softmax over classes (or element-wise sigmoid), computed stably in float64."""
    z = logits.astype(np.float64)
    if kind == "sigmoid":
        return 1 / (1 + np.exp(-z))
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def read_inputs(inputs: list[str], input_shape: tuple[int, int, int], classes: list[str] | None = None
                ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """uint8 images (N, C, H, W), ids and labels (-1 where unknown) from image files and pixel CSVs; CSV labels
    become indices into the model's `classes` as in training (pixelrows.label_index).

    Rows and ids come out as `cnnlab predict` with a run gives them: CSV splits in train, val, test order.
    """
    c, h, w = input_shape
    images, ids, labels = [], [], []
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(load_image(path, c, (h, w))[None])
            ids.append(str(path))
            labels.append(np.array([UNLABELED]))
            continue
        if path.is_dir():
            raise DataError(f"{path}: is a folder; predicting with an ONNX model takes image files or a CSV "
                            "of pixel rows")
        rows = read_pixel_rows(path, (h, w), c)
        if classes and rows.labeled:
            rows.labels = label_index(rows.labels, list(classes), path, rows.lines)[0]
        split_of_row = rows.split_of_row()
        groups = ([("train" if rows.labeled else "test", np.arange(len(rows.images)))] if split_of_row is None
                  else [(s, np.flatnonzero(split_of_row == s)) for s in ("train", "val", "test")])
        for split, index in groups:
            if not index.size:
                continue
            images.append(rows.images[index])
            ids += [rows.ids[i] for i in index] if rows.ids else [f"{path.name}:{split}:{i}" for i in range(len(index))]
            labels.append(rows.labels[index])
    if not images:
        raise DataError("no inputs given: pass image files or a CSV of pixel rows")
    return np.concatenate(images), ids, np.concatenate(labels)


def predict(model: OnnxClassifier, images: np.ndarray, ids: list[str], labels: np.ndarray | None = None,
            top_k: int = 3) -> list[Prediction]:
    """Top-k classes with probabilities for each image (the same records as cnnlab.runs.predict.predict)."""
    logits = model.logits(images)
    probs = probabilities(logits, model.probabilities)
    k = min(top_k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # most probable first
    index = logits.argmax(1)
    labels = labels if labels is not None else np.full(len(ids), UNLABELED)
    return [Prediction(ids[n], int(index[n]), [(model.classes[j], float(probs[n, j])) for j in order[n]],
                       int(labels[n]) if labels[n] >= 0 else None) for n in range(len(ids))]
