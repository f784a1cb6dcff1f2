"""Shared by the fine-tuning tests: a tiny two-class folder of colour images (bird darker than ship)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def two_class_photos(root: Path, n: int = 4, side: int = 32) -> Path:
    """root/bird/*.png and root/ship/*.png: n random side×side RGB images each, the classes 100 grey levels apart."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(("bird", "ship")):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray((rng.random((side, side, 3)) * 100 + 100 * c).astype(np.uint8)).save(
                root / name / f"{i}.png")
    return root
