"""Modalities: one object per kind of input (image, text, audio) and the registry that finds them.

    modality_of(run_or_dataset)   the Modality of a data set, a trained run or an input_meta dict
    detect(path)                  the data format of a file or folder, asked of each modality in turn
    modality_for_format(fmt)      the Modality that reads a format (idx, csv, folder, cifar10, text, audio)
    register(modality)            add one (see CONTRIBUTING.md, "Adding a modality")

Regression targets are not a modality: they are float labels (meta "task": "regression") on image inputs,
which are read, normalised, explained and drawn as images; the image modality checks the flag where the
target type matters (the web lab and ONNX export take classifiers only).

Importing this package imports no torch: each modality imports its readers when it is used.
"""
from __future__ import annotations

from pathlib import Path

from cnnlab.data.base import DataError
from cnnlab.data.io import head_bytes
from cnnlab.modalities.audio.modality import AudioModality
from cnnlab.modalities.base import Modality
from cnnlab.modalities.image import ImageModality
from cnnlab.modalities.text.modality import TextModality

DEFAULT = "image"  # the kind of a meta without one: images carry no meta ({}), and old runs must load
# Asked in this order: images first (a folder of class subfolders may hold stray .txt or .wav notes),
# audio before text (speech folders often keep transcripts beside the clips); a modality registered
# later is asked last, so it never changes how existing data is detected.
MODALITIES: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Add a modality (its name and formats must be new); returns it."""
    if not modality.name or modality.name in MODALITIES:
        raise ValueError(f"modality name {modality.name!r} is empty or already registered")
    taken = [f for f in modality.formats if f in formats()]
    if taken:
        raise ValueError(f"format(s) {', '.join(taken)} of modality {modality.name!r} are already read by "
                         f"another modality")
    MODALITIES[modality.name] = modality
    return modality


def unregister(name: str) -> None:
    """Remove a modality added with `register` (tests register toy ones)."""
    MODALITIES.pop(name, None)


def formats() -> tuple[str, ...]:
    """Every data format some modality reads, in registration order."""
    return tuple(f for m in MODALITIES.values() for f in m.formats)


def modality_of(thing) -> Modality:
    """The Modality of a Dataset (its meta), a LoadedRun or Ensemble (its input_meta), or a meta dict."""
    meta = thing if isinstance(thing, dict) else getattr(thing, "input_meta", None)
    if meta is None:
        meta = getattr(thing, "meta", None)
    name = (meta or {}).get("kind", DEFAULT)
    if name not in MODALITIES:
        raise ValueError(f"inputs of kind {name!r}, which this cnnlab does not know "
                         f"(known: {', '.join(MODALITIES)})")
    return MODALITIES[name]


def modality_for_format(fmt: str) -> Modality:
    """The Modality that reads data format `fmt`; DataError naming the known formats otherwise."""
    for modality in MODALITIES.values():
        if fmt in modality.formats:
            return modality
    raise DataError(f"unknown data format {fmt!r}; expected one of {', '.join(formats())}")


def forced_format(path: Path, options: dict) -> str | None:
    """The format a file must be read as because `options` name a loader option only one modality reads
    (e.g. text_column: a text CSV, whatever its header says); None when no option decides."""
    if not path.is_file():
        return None
    for modality in MODALITIES.values():
        if any(options.get(k) for k in modality.own_options):
            return modality.formats[0]
    return None


def detect(path: Path) -> str:
    """The data format of a file or folder, from what it holds: each modality's `detect` in order, then
    each one's weaker `guess`; DataError saying what was expected when none claims it."""
    path = Path(path)
    head = None
    if not path.is_dir():
        head = head_bytes(path)
        if not head:
            raise DataError(f"{path}: empty file")
    for ask in ("detect", "guess"):
        for modality in MODALITIES.values():
            found = getattr(modality, ask)(path, head)
            if found:
                return found
    if path.is_dir():
        hints = [m.folder_hint for m in MODALITIES.values() if m.folder_hint]
        raise DataError(f"{path}: cannot tell the data format; expected {'; '.join(hints)}")
    hints = [m.file_hint for m in MODALITIES.values() if m.file_hint]
    raise DataError(f"{path}: cannot tell the data format; expected {'; or '.join(hints)}")


for _modality in (ImageModality(), AudioModality(), TextModality()):
    register(_modality)
