"""Checkpoints: plain dicts of tensors and JSON-able values, written atomically, read without unpickling code."""
from __future__ import annotations

import json
import os
import pickle
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: `cnnlab predict model.onnx` runs without it
    import torch

FORMAT = "cnnlab-checkpoint"
VERSION = 3
# Builder options whose default changed since an earlier checkpoint version: a checkpoint of version v rebuilds its
# model with LEGACY_OPTIONS[v][model name] under its own stored options.  2: textcnn pools max and mean, was max.
# 3: fastcnn-patch's two 3×3 convs have 24/48 filters, were 32/64.
_FASTCNN_PATCH_V2 = {"fastcnn-patch": {"widths": (16, 32, 64)}}
LEGACY_OPTIONS: dict[int, dict[str, dict]] = {1: {"textcnn": {"pool": "max"}, **_FASTCNN_PATCH_V2},
                                              2: _FASTCNN_PATCH_V2}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read safely or is not a cnnlab checkpoint."""


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path), then rename tmp_path over `path`: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _new_temp(path: Path) -> Path:
    """A new empty file beside `path`, created with mode 0666 less the umask (as open() would), unlike mkstemp's
    0600; the name is random, and O_EXCL never reuses an existing file."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, value) -> None:
    write_text(path, json.dumps(value, indent=2) + "\n")


def save_checkpoint(path: Path, checkpoint: dict) -> None:
    """Write a checkpoint dict (tagged with format and version) atomically."""
    import torch  # here, not at the top: atomic writes and CheckpointError serve the torch-free ONNX path

    checkpoint = {"format": FORMAT, "version": VERSION, **checkpoint}
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def legacy_options(checkpoint: dict) -> dict:
    """The builder defaults of the cnnlab version that saved the checkpoint, where they differ from today's."""
    return LEGACY_OPTIONS.get(checkpoint.get("version", VERSION), {}).get(checkpoint.get("model_name"), {})


def model_options(checkpoint: dict) -> dict:
    """The keyword options that rebuild the checkpoint's model with models.build: those stored with its inputs
    (e.g. a text model's vocab_size), over legacy_options."""
    return {**legacy_options(checkpoint), **(checkpoint.get("input_meta") or {}).get("model_options", {})}


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with torch.load(weights_only=True); pickled code is refused."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{path}: refused: the file contains pickled Python objects beyond tensors and "
                              f"plain values, which could run code when loaded ({str(exc).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0]})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a cnnlab checkpoint (no format tag {FORMAT!r})")
    if checkpoint.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {checkpoint['version']} is newer than this cnnlab "
                              f"reads ({VERSION}); upgrade cnnlab")
    return checkpoint
