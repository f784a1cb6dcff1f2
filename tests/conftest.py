"""Shared fixtures: the real data folder (CNNLAB_DATA), small real data sets, temporary files."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import load_data

ROOT = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    """The folder of real data sets (../shared/data by default), or None when absent."""
    path = Path(os.environ.get("CNNLAB_DATA") or ROOT.parent / "shared" / "data")
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = real_data_dir()
    if path is None:
        pytest.skip("real data sets not found (set CNNLAB_DATA)")
    return path


@pytest.fixture(scope="session")
def mini():
    """The bundled mnist-mini data set (6,000 train / 1,000 test)."""
    return load_data("mnist-mini")


def write_pixel_csv(path: Path, images: np.ndarray, labels: np.ndarray | None, header: str = "label,feature",
                    usage: list[str] | None = None) -> Path:
    """Write images (N, H, W) uint8 as a FER-style CSV."""
    lines = [header]
    for i, image in enumerate(images):
        pixels = " ".join(map(str, image.reshape(-1).tolist()))
        if header.startswith("emotion"):
            lines.append(f"{labels[i]},{pixels},{usage[i]}")
        elif header.startswith("id"):
            lines.append(f"{i},{pixels}")
        else:
            lines.append(f"{labels[i]},{pixels}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_digit_folder(root: Path, mini, counts: dict[str, int]) -> Path:
    """mnist-mini's first counts[split] images of each split as PNGs in root/<split>/<label>/NNNN.png."""
    from PIL import Image

    for split, n in counts.items():
        part = mini[split]
        for i in range(n):
            path = root / split / str(int(part.labels[i])) / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(part.images[i, 0].numpy()).save(path)
    return root


@pytest.fixture
def tiny_csv(tmp_path: Path, mini) -> Path:
    """300 mnist-mini training digits as a label,feature CSV (28×28)."""
    split = mini["train"]
    return write_pixel_csv(tmp_path / "digits.csv", split.images[:300, 0].numpy(), split.labels[:300].numpy())


def save_as_older_version(run_dir: Path, old_model, version: int, optimizer_class) -> None:
    """Rewrite the run's best.pt and last.pt as an earlier cnnlab wrote them: `old_model`'s weights (built with
    that version's defaults), checkpoint `version`, and a fresh `optimizer_class` state for its shapes."""
    import torch

    from cnnlab.runs.checkpoint import load_checkpoint

    for name in ("best.pt", "last.pt"):
        state = load_checkpoint(run_dir / name)
        state.update(model_state=old_model.state_dict(), version=version)
        if state.get("optimizer_state") is not None:
            state["optimizer_state"] = optimizer_class(old_model.parameters()).state_dict()
        torch.save(state, run_dir / name)
