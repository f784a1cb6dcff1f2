"""The robustness corpus's inputs: the image files and folders real users bring, generated small in tmp_path.

Each builder writes one case and returns what the right reading of it is (the expected pixels, or the file an
error must name), so a test states the expected outcome next to the input.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# EXIF orientation k → the transpose that makes the stored pixels upright (EXIF 2.3, the TIFF Orientation tag)
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
# … and its inverse: how a camera stores an upright scene under that tag
STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}
QUADRANTS = np.array([[(220, 30, 30), (30, 220, 30)], [(30, 30, 220), (230, 230, 40)]], dtype=np.uint8)


def quadrant_scene(h: int = 48, w: int = 64) -> np.ndarray:
    """An upright (H, W, 3) scene of four solid colours (red, green / blue, yellow): every flip or turn differs."""
    scene = np.zeros((h, w, 3), dtype=np.uint8)
    for r in range(2):
        for c in range(2):
            scene[r * h // 2:(r + 1) * h // 2, c * w // 2:(c + 1) * w // 2] = QUADRANTS[r, c]
    return scene


def quadrant_colours(chw: np.ndarray) -> np.ndarray:
    """The colour at the centre of each quadrant of a (3, H, W) image, as (2, 2, 3)."""
    h, w = chw.shape[1:]
    return np.array([[chw[:, (2 * r + 1) * h // 4, (2 * c + 1) * w // 4] for c in range(2)] for r in range(2)])


def oriented_file(path: Path, scene: np.ndarray, orientation: int) -> Path:
    """Save `scene` the way a phone does: pixels stored turned/flipped, EXIF Orientation saying how to undo it."""
    img = Image.fromarray(scene)
    if orientation != 1:
        img = img.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    img.save(path, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def gray16_png(path: Path, values: np.ndarray) -> Path:
    """A 16-bit gray PNG (mode I;16) holding `values` (H, W) uint16."""
    Image.fromarray(values.astype(np.uint16)).save(path)
    return path


def color16_file(path: Path, values: np.ndarray) -> Path:
    """A 48-bit RGB PNG or 16-bit-per-channel TIFF (by suffix) holding `values` (H, W, 3) uint16."""
    import cv2
    cv2.imwrite(str(path), np.ascontiguousarray(values.astype(np.uint16)[..., ::-1]))  # OpenCV writes BGR
    return path


def drawing(h: int = 16, w: int = 16) -> np.ndarray:
    """(H, W) ink mask of a plus sign: True where the pen was."""
    mask = np.zeros((h, w), dtype=bool)
    mask[h // 2 - 1:h // 2 + 1, 2:-2] = mask[2:-2, w // 2 - 1:w // 2 + 1] = True
    return mask


def transparent_drawing(path: Path, mode: str, ink: int = 0) -> np.ndarray:
    """A black plus on a fully transparent background, saved as RGBA, LA or P with tRNS; returns the
    expected gray image (ink on white)."""
    mask = drawing()
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    gray = np.full(mask.shape, ink, dtype=np.uint8)  # transparent pixels hold ink too: only alpha tells them apart
    if mode == "RGBA":
        Image.fromarray(np.dstack([gray, gray, gray, alpha]), "RGBA").save(path)
    elif mode == "LA":
        Image.fromarray(np.dstack([gray, alpha]), "LA").save(path)
    else:  # palette: index 0 transparent, index 1 ink — both black
        img = Image.fromarray(mask.astype(np.uint8), "P")
        img.putpalette([ink, ink, ink, ink, ink, ink] + [0] * 762)
        img.save(path, transparency=0)
    return np.where(mask, ink, 255).astype(np.uint8)


def gray_as(path: Path, mode: str, size: tuple[int, int] = (16, 16), seed: int = 0) -> np.ndarray:
    """A gray picture saved in a colour-capable mode (RGB, RGBA opaque, P palette, L); returns its gray pixels."""
    gray = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    if mode == "L":
        Image.fromarray(gray).save(path)
    elif mode == "P":
        Image.fromarray(gray).convert("P").save(path)  # a palette of grays
        gray = np.asarray(Image.open(path).convert("L"))
    else:
        rgb = np.dstack([gray] * 3)
        img = Image.fromarray(np.dstack([rgb, np.full(size, 255, np.uint8)]) if mode == "RGBA" else rgb)
        img.save(path)
    return gray


def photo(path: Path, w: int, h: int, hue: int = 0, seed: int = 0) -> Path:
    """A phone-photo-like JPEG of w×h: smooth colour blotches (realistic size on disk), tinted in channel `hue`."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (max(h // 100, 2), max(w // 100, 2), 3), dtype=np.uint8)
    small[..., hue] = 230
    Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR).save(path, quality=90)
    return path


def class_folder(root: Path, layout: dict[str, list[str]], size: tuple[int, int] = (12, 12)) -> Path:
    """root/<class>/<relative path> for each listed file (sub-folders created), a small distinct gray PNG each;
    an empty list makes an empty class folder."""
    n = 0
    for cls, files in layout.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for rel in files:
            path = root / cls / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full(size, (n * 37) % 256, np.uint8)).save(path)
            n += 1
    return root


def review_folder(root: Path, per_class: int, text=lambda label, i: f"a {label} review number {i}") -> Path:
    """aclImdb's layout under `root`: train/{neg,pos,unsup}/ and test/{neg,pos}/, `per_class` .txt files each
    (`{i}_7.txt`, holding text(label, i))."""
    for split, labels in (("train", ("neg", "pos", "unsup")), ("test", ("neg", "pos"))):
        for label in labels:
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                (folder / f"{i}_7.txt").write_text(text(label, i))
    return root


def truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """`source`'s bytes cut to `keep` of their length: a half-copied file."""
    data = source.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


def natural(n: int, side: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """n images (N, C, side, side) uint8 with a natural image's 1/f amplitude spectrum (Field 1987), rendered at
    twice the size and shrunk by Pillow (bilinear, antialiased), as photos are to their stored size: detail at
    every scale down to the pixel (shrinking them one step, 0.8×, loses 3.5-6.7% of their variation)."""
    rng = np.random.default_rng(seed)
    big = 2 * side
    fy, fx = np.fft.fftfreq(big)[:, None], np.fft.rfftfreq(big)[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    shape = (n, channels, big, big // 2 + 1)
    x = np.fft.irfft2((rng.normal(size=shape) + 1j * rng.normal(size=shape)) / f, s=(big, big))
    lo, hi = x.min(axis=(1, 2, 3), keepdims=True), x.max(axis=(1, 2, 3), keepdims=True)
    return resized_images(((x - lo) / (hi - lo) * 255).round().astype(np.uint8), (side, side),
                          Image.Resampling.BILINEAR)


def resized_images(images: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Each image (N, C, H, W) uint8 resized to (H', W') by Pillow with `resample`."""
    out = []
    for image in images:
        pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
        small = np.asarray(pil.resize(size[::-1], resample))
        out.append(small[None] if small.ndim == 2 else small.transpose(2, 0, 1))
    return np.stack(out)


def enlarged(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each image resized to (H, W) by Pillow (bicubic), as a 32×32 photo saved at 64×64 is."""
    return resized_images(images, size, Image.Resampling.BICUBIC)
