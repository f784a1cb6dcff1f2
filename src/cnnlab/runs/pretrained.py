"""Published ImageNet weights for `cnnlab train --pretrained`: found in a given file, in the cache, or downloaded
once into the cache, and kept only when the whole file's SHA-256 matches the registry's."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from cnnlab.data.dataset import DataError
from cnnlab.data.download import Progress, RemoteFile, fetch, file_sha256
from cnnlab.data.named import cache_dir
from cnnlab.models.registry import MODELS


def pretrained_spec(model: str):
    """The backbones.spec.Pretrained of registry model `model`; a ValueError naming those that have one."""
    spec = MODELS[model].pretrained if model in MODELS else None
    if spec is None:
        takes = ", ".join(name for name, s in MODELS.items() if s.pretrained is not None)
        twin = f" (for ImageNet's layout use {model}-imagenet)" if f"{model}-imagenet" in MODELS else ""
        raise ValueError(f"model {model!r} has no pretrained weights{twin}; these do: {takes}")
    return spec


def weights_dir() -> Path:
    """Where downloaded weights are kept: <cache>/weights ($CNNLAB_CACHE, else ~/.cache/cnnlab)."""
    return cache_dir() / "weights"


def cached_weights(model: str) -> Path | None:
    """The cached weight file of registry model `model` when it is in the cache (not checked here; loading it
    checks its SHA-256), else None."""
    path = weights_dir() / pretrained_spec(model).file
    return path if path.is_file() else None


def weights_mirrors(spec) -> list[str]:
    """Base URLs tried in turn: $CNNLAB_WEIGHTS_MIRROR (a local or private mirror) first, then the publisher's."""
    extra = os.environ.get("CNNLAB_WEIGHTS_MIRROR")
    return ([extra] if extra else []) + [spec.base_url]


def locate_weights(model: str, file: str | Path | None = None, download: bool = True,
                   progress: Progress | None = None) -> Path:
    """The checked weight file of `model`: `file` when given (checked, never copied), else the cached copy, else a
    download into the cache (kept only when its SHA-256 matches).  DataError with one line when a checksum is
    wrong or nothing could be found."""
    spec = pretrained_spec(model)
    remote = RemoteFile(spec.file, sha256=spec.sha256)
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise DataError(f"{path}: no such weight file (expected {spec.file} for model {model!r})")
        got = file_sha256(path)
        if got != spec.sha256:
            raise DataError(f"{path}: SHA-256 {got} does not match {spec.file}'s {spec.sha256}; "
                            f"not the published weights of {model!r}")
        return path
    cached = weights_dir() / spec.file
    if cached.is_file() or download:
        try:
            fetch((remote,), weights_mirrors(spec) if download else [], weights_dir(), progress)
        except DataError:
            if weights_dir().is_dir() and not any(weights_dir().iterdir()):
                weights_dir().rmdir()  # a rejected download leaves nothing behind
            raise
        return cached
    raise DataError(f"{cached}: not found; download {spec.url} there or pass --pretrained-weights FILE")


def load_pretrained(model: nn.Module, name: str, path: Path) -> list[str]:
    """Put the ImageNet weights in `path` into `model` (registry name `name`); the keys left newly initialised."""
    from cnnlab.models.backbones import adapt_state

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, in one line
        raise DataError(f"{path}: cannot read as PyTorch weights ({str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict):
        raise DataError(f"{path}: expected a state_dict (name → tensor), found {type(state).__name__}")
    return adapt_state(state, model, pretrained_spec(name), str(path))
