"""A drawn or photographed digit → the 28×28 image an MNIST model expects.

MNIST's digits were made this way: the ink's bounding box scaled to fit a 20×20 box keeping its aspect
(anti-aliased, so edges are gray), then placed in a 28×28 field so that the centre of mass of the ink
lands on the middle pixel.  A digit drawn on a big canvas goes through the same steps, plus one MNIST
did not need: the pen's width is brought to MNIST's typical stroke width at 28×28 (about 2.8 pixels),
since a small digit drawn with a fat brush would otherwise come out as a blot.
"""
from __future__ import annotations

import cv2
import numpy as np

FIELD = 28  # pixels: the MNIST image
BOX = 20  # pixels: the box the ink's bounding box is scaled into
CENTRE = 14.0  # the pixel (row and column, 0-based) the centre of mass lands on; MNIST's mean is 14.0, 14.0
STROKE = 2.8  # pixels at 28×28: MNIST's typical pen width (ink ÷ length of its "1"s and "0"s)
WORK_SIZE = 512  # larger inputs are shrunk to this (longer side) first: morphology cost grows with area
INK_THRESHOLD = 0.5  # ink level (0-1) that counts as stroke when measuring its width


def ink_of(pixels: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """Gray pixels (H, W) 0-255 (+ optional alpha) → ink (H, W) float32 in [0, 1], the background at 0.

    A transparent canvas carries its ink in the alpha channel.  Otherwise the border decides which way round
    the image is: a light border means dark ink on light paper, which is inverted (MNIST is white on black).
    """
    if alpha is not None and alpha.min() < 255:
        return alpha.astype(np.float32) / 255
    gray = pixels.astype(np.float32) / 255
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 0.5:
        gray, background = 1 - gray, 1 - background
    return np.clip((gray - background) / max(1 - background, 1e-6), 0, 1)


def stroke_width(ink: np.ndarray) -> float:
    """The pen's width in pixels: twice the median distance from the stroke's centre line to its edge."""
    mask = (ink > INK_THRESHOLD).astype(np.uint8)
    if not mask.any():
        return 0.0
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    ridge = (dist > 0) & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))  # the centre line
    return 2 * float(np.median(dist[ridge]))


def bounding_box(ink: np.ndarray, level: float = 0.05) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above `level`, bottom/right exclusive; None when blank."""
    rows, cols = np.nonzero(ink.max(1) > level)[0], np.nonzero(ink.max(0) > level)[0]
    if not len(rows) or not len(cols):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def set_stroke_width(ink: np.ndarray, target: float = STROKE) -> np.ndarray:
    """Thicken or thin the strokes so that, once the ink is scaled into the 20×20 box, they are `target` wide."""
    box = bounding_box(ink)
    width = stroke_width(ink)
    if box is None or width <= 0:
        return ink
    size = max(box[1] - box[0], box[3] - box[2])
    # the centre line's extent stays put; the box grows with the pen: scale = BOX / (skeleton + width)
    skeleton = max(size - width, 1.0)
    wanted = target * skeleton / (BOX - target)  # pen width (source pixels) that comes out `target` wide
    radius = int(round(abs(wanted - width) / 2))  # each side of the stroke moves by half the change
    if radius == 0:
        return ink
    if wanted > width:
        return cv2.dilate(ink, _disc(radius))
    radius = min(radius, int(width / 2) - 1)  # never erode a stroke away
    return cv2.erode(ink, _disc(radius)) if radius > 0 else ink


def centre_of_mass(ink: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass."""
    total = float(ink.sum())
    rows, cols = np.indices(ink.shape)
    return float((ink * rows).sum() / total), float((ink * cols).sum() / total)


def mnist_digit(ink: np.ndarray, normalize_stroke: bool = True) -> np.ndarray:
    """Ink (H, W) in [0, 1] → uint8 (28, 28), white digit on black, as MNIST's digits were prepared.

    Raises ValueError when there is no ink at all.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if max(ink.shape) > WORK_SIZE:
        scale = WORK_SIZE / max(ink.shape)
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    if bounding_box(ink) is None:
        raise ValueError("the image is blank: no stroke or digit found (draw something first)")
    if normalize_stroke:
        ink = set_stroke_width(ink)
    top, bottom, left, right = bounding_box(ink)
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # (width, height) for OpenCV
    # area averaging: each output pixel is the mean ink under it, the anti-aliasing MNIST has
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    small = np.clip(small, 0, 1)
    cy, cx = centre_of_mass(small) if small.sum() > 0 else ((small.shape[0] - 1) / 2, (small.shape[1] - 1) / 2)
    top = int(np.clip(round(CENTRE - cy), 0, FIELD - small.shape[0]))
    left = int(np.clip(round(CENTRE - cx), 0, FIELD - small.shape[1]))
    out = np.zeros((FIELD, FIELD), np.float32)
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return np.round(out * 255).astype(np.uint8)
