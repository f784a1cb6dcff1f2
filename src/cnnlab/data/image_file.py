"""Reading one image file as a uint8 array, without PyTorch: the one conversion training, prediction, explanation,
ONNX inference and the web lab share.

What the pixels mean, whatever the file's mode:
- EXIF orientation (1-8) is applied first, so a phone photo stored sideways reaches the model upright;
- 16-bit gray (I;16, 0-65535) is scaled to 8 bits (v·255/65535, rounded), never clipped; 16-bit colour is read by
  Pillow as its high byte (v >> 8); 32-bit integer or float pixels outside 0..65535 / 0..1 are refused;
- transparent pixels (RGBA, LA, PA, palette with tRNS) are composited onto BACKGROUND (white, as drawings are
  usually made on paper), never dropped to black;
- palette, CMYK, YCbCr and other modes become RGB; gray or colour is then a choice of the caller (see is_gray).
Resizing squashes to (H, W) — the aspect ratio is not kept, as Keras's image_dataset_from_directory does by
default — bilinear, antialiased when shrinking.  Large JPEGs are decoded at a reduced DCT scale (Pillow's
`draft`), so a 4000×3000 photo never needs its full 36 MB in memory when a 128×128 image is asked for.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data.base import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".avif", ".pgm", ".ppm", ".pbm"}
# Photo formats Pillow cannot decode: iPhones' HEIC and cameras' raw files.  Listed so that a folder of them is
# reported (with what to do) instead of looking empty.
UNREADABLE_SUFFIXES = {".heic": "HEIC", ".heif": "HEIF", ".dng": "raw", ".cr2": "raw", ".cr3": "raw",
                       ".nef": "raw", ".arw": "raw", ".orf": "raw", ".rw2": "raw", ".raf": "raw"}
BACKGROUND = (255, 255, 255)  # what transparent pixels become (white paper)
GRAY_TOLERANCE = 3  # an RGB pixel whose channels differ by at most this much is gray (lossy coding leaves ±1-2)
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


JPEG_MAX_PIXELS = 260_000_000  # 200-megapixel phone photos: JPEGs decode at 1/8 scale, so they pass Pillow's limit
_OPEN_LOCK = threading.Lock()  # Image.MAX_IMAGE_PIXELS is a module global: raise it for one open at a time


def open_image(path: Path) -> Image.Image:
    """Image.open with Pillow's decompression-bomb limit (MAX_IMAGE_PIXELS, 89 MP) raised to JPEG_MAX_PIXELS for
    JPEGs, which load_image decodes at reduced scale; other formats larger than Pillow's limit raise DataError
    (they would be decoded in full).  No DecompressionBombWarning is left to reach the user."""
    with _OPEN_LOCK:
        limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max(limit, JPEG_MAX_PIXELS) if limit else limit
        try:
            img = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = limit
    w, h = img.size
    if limit and img.format not in ("JPEG", "MPO") and w * h > limit:
        img.close()
        raise DataError(f"{path}: {w}×{h} pixels is more than the {limit / 1e6:.0f} megapixels read in full for "
                        f"{img.format or 'this'} files; shrink it (or save it as JPEG) first")
    return img


def read_errors() -> tuple[type[BaseException], ...]:
    """The exceptions Pillow raises for unreadable, truncated or hostile files."""
    return (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def load_image(path: Path, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """One image file as uint8 (C, H, W): oriented, 8-bit, composited, gray (1) or RGB (3), squashed to (H, W)
    when given.  Raises DataError naming the file when it cannot be read (corrupt, truncated, not an image)."""
    return read_image(path, channels, size)[0]


def read_image(path: Path, channels: int, size: tuple[int, int] | None) -> tuple[np.ndarray, bool]:
    """load_image's array, and whether the file had transparent pixels (composited onto BACKGROUND)."""
    try:
        with open_image(path) as img:
            if size is not None:  # decode a large JPEG at 1/2, 1/4 or 1/8 scale, still ≥ size on both sides
                side = max(size)
                img.draft(None, (side, side))
            pixels = upright(img, path)
            return _converted(pixels, channels, size), is_transparent(img)
    except DataError:
        raise
    except read_errors() as exc:
        raise unreadable(path, exc) from None


def convert_image(image: np.ndarray, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 (C, H, W) with C = 1 or 3 → (channels, H', W'), converted and resized as image files are."""
    return _converted(Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)), channels, size)


def upright(img: Image.Image, path: Path | str = "image") -> Image.Image:
    """The image with its EXIF orientation applied (to `img` itself, tag removed), in mode L (8-bit gray) or RGB,
    transparency on BACKGROUND.

    Raises DataError for pixel values that cannot be mapped to 8 bits without clipping."""
    ImageOps.exif_transpose(img, in_place=True)  # no copy of an upright image (a photo is 36 MB decoded)
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _eight_bit(img, path)
    if has_alpha(img):
        return composite(img)
    if mode in ("L", "RGB"):
        return img
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")  # P (palette), CMYK (Adobe inversion handled by Pillow), YCbCr, LAB, HSV


def composite(img: Image.Image) -> Image.Image:
    """An image with transparency laid onto BACKGROUND: L for LA, else RGB."""
    gray = img.mode in ("L", "LA", "La")
    rgba = img.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    out = Image.alpha_composite(paper, rgba).convert("RGB")
    return out.convert("L") if gray else out


def has_alpha(img: Image.Image) -> bool:
    """True when the image carries transparency (an alpha channel or a palette/gray tRNS entry)."""
    return img.mode in _ALPHA_MODES or "transparency" in img.info


def is_transparent(img: Image.Image) -> bool:
    """True when some pixel is less than fully opaque (an RGBA screenshot with alpha 255 everywhere is not)."""
    if not has_alpha(img):
        return False
    alpha = img.getchannel("A") if img.mode in ("RGBA", "LA", "PA") else img.convert("RGBA").getchannel("A")
    return alpha.getextrema()[0] < 255


def _eight_bit(img: Image.Image, path: Path | str) -> Image.Image:
    """16-bit (and 32-bit int / float) gray → 8-bit L, scaled by the range the type implies, never clipped."""
    values = np.asarray(img)
    if img.mode == "F":
        low, high, scale = 0.0, 1.0, 255.0
    else:
        low, high, scale = 0, 65535, 255 / 65535
    if values.size and (values.min() < low or values.max() > high):
        raise DataError(f"{path}: {img.mode} pixels range {values.min()}..{values.max()}; expected 8-bit, "
                        f"16-bit (0..65535) or float (0..1) values — rescale the file to one of those")
    return Image.fromarray(np.rint(values.astype(np.float64) * scale).astype(np.uint8), "L")


def is_gray(img: Image.Image) -> bool:
    """True when an upright() image's pixels are gray: mode L, or RGB with R ≈ G ≈ B everywhere."""
    if img.mode == "L":
        return True
    rgb = np.asarray(img.convert("RGB"), dtype=np.int16)
    return bool(np.abs(rgb[..., 0] - rgb[..., 1]).max(initial=0) <= GRAY_TOLERANCE
                and np.abs(rgb[..., 1] - rgb[..., 2]).max(initial=0) <= GRAY_TOLERANCE)


def _converted(img: Image.Image, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """Gray (1) or RGB (3), bilinear resize to (H, W) when given (antialiased when shrinking), as (C, H, W)."""
    img = img.convert("L" if channels == 1 else "RGB")
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    array = np.asarray(img, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def unreadable(path: Path | str, exc: BaseException) -> DataError:
    """The one-line error for a file Pillow could not read: the file, Pillow's reason (shortened), what was expected."""
    why = (" ".join(str(exc).split()) or type(exc).__name__)[:160]
    return DataError(f"{path}: unreadable image ({why}); expected a complete PNG, JPEG, BMP, GIF, TIFF or WebP file")
