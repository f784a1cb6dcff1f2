"""What the web lab computes, without HTTP: predictions, explanations and dot products for one uploaded image,
with the run's model kept warm and used by one request at a time."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import torch
from PIL import Image

from cnnlab.serve.images import png_data_url
from cnnlab.serve.catalog import Registry


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


class Lab:
    """The runs of a server and the model calls made on them."""

    def __init__(self, registry: Registry, threads: int = 1):
        self.registry = registry
        self.threads = threads  # torch CPU threads per call: one image gains little from more
        self._lock = threading.Lock()

    @contextmanager
    def model_call(self):
        """One model call at a time (explain hooks into the shared model), with the thread count set in the
        thread that runs it: torch's setting is per thread, so a training job's own setting does not leak in."""
        with self._lock:
            torch.set_num_threads(self.threads)
            yield

    def _inputs(self, run_name: str, img: Image.Image, mode: str, face: int | None = None):
        from cnnlab.serve.inputs import prepare

        run = self.registry.model(run_name)
        prepared = prepare(run, img, mode)
        if face is not None and not 0 <= face < len(prepared.images):
            raise ValueError(f"face {face}: {len(prepared.images)} input(s) were found "
                             f"(0..{len(prepared.images) - 1})")
        return run, prepared

    def predict(self, run_name: str, img: Image.Image, mode: str = "auto", top_k: int = 5) -> dict:
        """Top-k classes of the image (or of each face found in it), with the input the model saw."""
        from cnnlab.runs.evaluate import predict_logits, top_predictions
        from cnnlab.serve.inputs import kind_of

        t0 = time.perf_counter()
        run, prepared = self._inputs(run_name, img, mode)
        with self.model_call():
            logits = predict_logits(run.model, prepared.images, run.preprocess, torch.device("cpu"), None, 64,
                                    run.config.channels_last)
        tops = top_predictions(logits, run.classes, run.config.loss, max(1, min(top_k, len(run.classes))))
        items = [{"top": [{"class": c, "p": p} for c, p in t], "input": png_data_url(x.numpy())}
                 for t, x in zip(tops, prepared.images)]
        for item, face in zip(items, prepared.faces):
            item["box"] = face.to_dict()
        return {"run": run_name, "kind": kind_of(run), "mode": prepared.mode, "top": items[0]["top"],
                "input": items[0]["input"], "faces": items if prepared.faces else [],
                "image_size": list(prepared.size), "note": prepared.note, "ms": _ms(t0)}

    def explain(self, run_name: str, img: Image.Image, mode: str = "auto", face: int = 0,
                class_name: str | None = None) -> dict:
        """Feature maps, first-layer kernels and Grad-CAM (for `class_name`, default the predicted class)."""
        from cnnlab.explain.inside import class_index_of
        from cnnlab.serve.explain_json import explanation_json

        t0 = time.perf_counter()
        run, prepared = self._inputs(run_name, img, mode, face)
        with self.model_call():
            out = explanation_json(run, prepared.images[face], class_index_of(run, class_name))
        return {"run": run_name, "mode": prepared.mode, **out, "ms": _ms(t0)}

    def dot(self, run_name: str, img: Image.Image, mode: str, face: int, layer: int, channel: int, row: int,
            col: int) -> dict:
        """The window · kernel + bias behind one feature-map pixel."""
        from cnnlab.serve.explain_json import dot_product

        run, prepared = self._inputs(run_name, img, mode, face)
        with self.model_call():
            return dot_product(run, prepared.images[face], layer, channel, row, col)
