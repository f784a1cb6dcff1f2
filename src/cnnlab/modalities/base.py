"""The Modality protocol: what one kind of input (images, text, audio ...) tells the rest of cnnlab.

A modality is one object with a `name` (stored as "kind" in a data set's meta and in every checkpoint's
input_meta, so old runs keep loading), the data formats it reads, how it detects and loads them, how a
trained run reads new inputs, which recipe applies, what `explain`, the web lab and ONNX export do with it.
Everything else (the training loop, evaluation, run directories) sees only tensors.  Subclass it, override
what differs from the defaults below (`load` and `read_inputs` have none), and register an instance with cnnlab.modalities.register.

This module imports no torch: the registry is consulted by torch-free code (format detection).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


class Modality(ABC):
    """One kind of input: detect, load, read for predict, recipe kind, explain, serve and export facts."""

    name: str = ""  # the serialised kind: Dataset.meta["kind"], checkpoint input_meta["kind"]
    formats: tuple[str, ...] = ()  # the data formats it reads (`--data-format` values); the first is its default
    unit: str = "inputs"  # what the tensors hold, for summaries: "images", "token ids", "features"
    items: str = "items"  # what one row is called, for summaries
    folder_hint: str = ""  # what a folder of this modality holds, for "cannot tell the format" messages
    file_hint: str = ""  # the same for a single file
    reads_texts: bool = False  # predict takes raw strings (`--text`) as well as files
    # loader options only this modality reads: naming one for a file picks it whatever the content says,
    # naming one for other data is an error (the message says they apply to `own_options_for`)
    own_options: tuple[str, ...] = ()
    own_options_for: str = ""
    # TrainConfig values per recipe name ("default" applies when no recipe is named); image kinds have theirs
    # in cnnlab.training.recipes.VALUES
    recipes: dict[str, dict] = {}

    # ── data ─────────────────────────────────────────────────────────────────────────────────────────────
    def detect(self, path: Path, head: bytes | None) -> str | None:
        """The format of `path` (a folder, or a file whose first bytes are `head`) when it is surely this
        modality's; None otherwise.  May raise DataError for a file it recognises but cannot use alone."""
        return None

    def guess(self, path: Path, head: bytes | None) -> str | None:
        """A weaker claim, asked only when no modality detected `path` (e.g. any *.csv as pixel rows)."""
        return None

    @abstractmethod
    def load(self, path: Path, fmt: str, image_size: tuple[int, int] | None = None, channels: int | None = None,
             **options):
        """The data set at `path` in format `fmt` → cnnlab.data.Dataset whose meta["kind"] is self.name."""

    def loader_options(self, cfg, fmt: str) -> dict:
        """The `load` options a TrainConfig asks for (held-out split, columns, features); {} by default."""
        return {}

    def extra_split_options(self, data, cfg, size: tuple[int, int] | None) -> dict:
        """load_data options for cfg.val_data / cfg.test_data files: by default read the way `data` was
        (its meta, e.g. a fitted tokenizer, and its classes)."""
        return {"meta": data.meta, "classes": data.classes}

    # ── a trained run ────────────────────────────────────────────────────────────────────────────────────
    @abstractmethod
    def read_inputs(self, run, paths: list[str], texts: list[str]):
        """(inputs tensor, ids, labels (-1 where unknown)) for files (and raw texts when `reads_texts`),
        encoded the way the run's training data was; DataError when there is nothing to read."""

    def recipe_kind(self, data) -> str:
        """The key of the recipe table that applies to `data` (cnnlab.training.recipes)."""
        return self.name

    def explain(self, run, source: str | None, text: str | None, out: Path, top_k: int) -> list[str] | None:
        """Explain one input of a run, writing any figure under `out`; the lines to print.  None: use the
        image explanation (feature maps, kernels, Grad-CAM of cnnlab.explain.inside)."""
        return None

    def lab_kind(self, input_shape, classes: list[str], dataset: str = "", meta: dict | None = None) -> str:
        """How the web lab feeds an uploaded picture to the run: digits, faces, images, or other (it cannot)."""
        return "other"

    def exports_onnx(self, run) -> bool:
        """True when `cnnlab export` can write the run as one ONNX graph over raw inputs."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {', '.join(self.formats)}>"
