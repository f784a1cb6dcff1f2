"""Reading one image file as a uint8 array, without PyTorch (shared by the folder loader and ONNX inference)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


def load_image(path: Path, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 (C, H, W): converted to gray (1) or RGB (3), resized to (H, W) when given."""
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
