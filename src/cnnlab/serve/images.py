"""Uploaded bytes → a checked image, and arrays → PNG data URLs for the page."""
from __future__ import annotations

import base64
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data.base import DataError
from cnnlab.data.image_file import has_alpha, upright
from cnnlab.serve.limits import size_text

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # an upload larger than this is refused (HTTP 413)
MAX_PIXELS = 40_000_000  # width × height; larger images are refused before decoding (decompression bombs)


class UploadError(ValueError):
    """An upload that cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def read_upload(data: bytes, name: str = "upload", max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """Decode uploaded bytes into a PIL image (EXIF rotation applied), refusing empty, huge or non-image data."""
    if not data:
        raise UploadError(f"{name}: the upload is empty (0 bytes); send an image file (PNG, JPEG, ...)")
    if len(data) > max_bytes:
        raise UploadError(f"{name}: {size_text(len(data))} is more than the upload limit ({size_text(max_bytes)})",
                          413)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.size[0] * img.size[1] > MAX_PIXELS:
                raise UploadError(f"{name}: {img.size[0]}×{img.size[1]} pixels is more than the "
                                  f"{MAX_PIXELS / 1e6:.0f} megapixel limit", 413)
            img.load()
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        why = "cannot identify the image format" if isinstance(exc, UnidentifiedImageError) else str(exc)[:120]
        raise UploadError(f"{name}: not a readable image ({why}); send a PNG, JPEG, GIF, BMP or WebP file",
                          415) from None
    if min(img.size) < 1:
        raise UploadError(f"{name}: the image has no pixels", 415)
    return ImageOps.exif_transpose(img)


def gray_and_alpha(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 gray pixels (H, W) and the alpha channel (H, W) when the image has one."""
    alpha = np.asarray(img.convert("RGBA"))[..., 3].copy() if has_alpha(img) else None
    return as_channels(img, 1), alpha


def as_channels(img: Image.Image, channels: int) -> np.ndarray:
    """The image as uint8 (H, W) gray or (H, W, 3) RGB, read as image files are (cnnlab.data.image_file.upright:
    EXIF orientation, 16-bit scaled to 8, transparent areas on white paper so dark ink on a clear canvas reads)."""
    try:
        pixels = upright(img, "upload")
    except DataError as exc:
        raise UploadError(str(exc), 415) from None
    return np.asarray(pixels.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)


def to_chw(pixels: np.ndarray) -> np.ndarray:
    """(H, W) → (1, H, W); (H, W, 3) → (3, H, W)."""
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def png_data_url(pixels: np.ndarray) -> str:
    """uint8 (H, W), (H, W, 3), (1, H, W) or (3, H, W) → 'data:image/png;base64,...'."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3) and pixels.shape[2] not in (1, 3):
        pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels.astype(np.uint8))).save(out, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def to_uint8_range(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Float values → uint8 scaled from their own min (0) to max (255), with that min and max."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
    return np.round(scaled).astype(np.uint8), low, high
