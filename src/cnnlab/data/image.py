"""Reading one image file as a uint8 array, without PyTorch (shared by the folder loader and ONNX inference)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cnnlab.data.base import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


def load_image(path: Path, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 (C, H, W): converted to gray (1) or RGB (3), resized to (H, W) when given."""
    try:
        with Image.open(path) as img:
            return _converted(img, channels, size)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from None


def convert_image(image: np.ndarray, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 (C, H, W) with C = 1 or 3 → (channels, H', W'), converted and resized as image files are."""
    return _converted(Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)), channels, size)


def _converted(img: Image.Image, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """Gray (1) or RGB (3), bilinear resize to (H, W) when given (antialiased when shrinking), as (C, H, W)."""
    img = img.convert("L" if channels == 1 else "RGB")
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    array = np.asarray(img, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
