"""The images' detail: the smallest size they shrink to without losing what they show.

Images enlarged from smaller ones (32×32 photos saved at 64×64, faces upsampled to 80×80, small scans squashed
to a folder's 128×128 working size) cost a model their pixels without adding information: a 64×64 image costs
whitenet 4× a 32×32 one, and drives the data to the photo kind, whose strided stem drops the detail the images
do have (5,000 CIFAR-10 photos enlarged to 64×64, the 3-minute default run: 69.0% at 64×64, 80.0% at 32×32).

The measure (after the shrink-and-enlarge reconstruction error that image pyramids are built on, Burt and
Adelson 1983): an image shrunk to size s (bilinear, antialiased, as Pillow resizes image files) and enlarged
back (bicubic) loses the variation finer than s; the lost share of the image's variance (mean squared
difference over the variance about its mean) is small while s is above the size it was enlarged from and rises
past it.  DETAIL_LOSS is the share allowed (the median over a sample of the training images), on a ladder of
sizes shrinking by STEP.  Measured, the median loss at successive sizes:
- enlarged: CIFAR-10 32 → 64 (bicubic, JPEG): 33×33 0.68%, 26×26 1.53%; FER2013 48 → 80: 51×51 0.54%,
  41×41 1.12%; CIFAR-10 32 → gray 128: 34×34 0.64%, 27×27 1.50%; CIFAR-10 32 → random sizes 64-320 px
  (a folder's 128×128): 34×34 0.57%, 27×27 1.32%;
- as stored, one step down (0.8×): CIFAR-10 32 → 26: 1.85%; FER2013 48 → 38: 1.87%; MNIST 28 → 22: 4.57%.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

DETAIL_LOSS = 0.01  # the median share of an image's variance lost at a size that keeps its detail
STEP = 0.8  # each size on the ladder is 0.8× the one before
MIN_SIDE = 16  # px: the ladder stops above this (the smallest side the colour and faces recipes take)
SAMPLE = 256  # images measured (a seeded draw from the training split)
MIN_VARIANCE = 1.0  # (pixel values 0-255)²: flat images (blank scans) are left out of the median


def detail_loss(images: torch.Tensor, size: tuple[int, int]) -> float:
    """The median share of the images' variance lost when they are shrunk to `size` (H, W) and enlarged back.

    images: (N, C, H, W), any dtype (uint8 pixels 0-255); size smaller than (H, W).  Returns a fraction
    (0.01: 1% of the variation about each image's mean is lost); NaN when every image is flat."""
    x = images.float()
    x = x - x.mean(dim=(1, 2, 3), keepdim=True)
    variance = x.pow(2).mean(dim=(1, 2, 3))
    keep = variance >= MIN_VARIANCE
    if not keep.any():
        return float("nan")
    x, variance = x[keep], variance[keep]
    small = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    back = F.interpolate(small, size=tuple(x.shape[2:]), mode="bicubic", align_corners=False)
    return float(((x - back).pow(2).mean(dim=(1, 2, 3)) / variance).median())


def ladder(size: tuple[int, int], min_side: int = MIN_SIDE) -> list[tuple[int, int]]:
    """The sizes below `size` (H, W) tried, each STEP× the one before (aspect ratio kept), while both sides
    stay at least `min_side`: (64, 64) → [(51, 51), (41, 41), (33, 33), (26, 26), (21, 21), (17, 17)]."""
    sizes, factor = [], STEP
    while True:
        candidate = (round(size[0] * factor), round(size[1] * factor))
        if min(candidate) < min_side:
            return sizes
        sizes.append(candidate)
        factor *= STEP


def detail_size(images: torch.Tensor, min_side: int = MIN_SIDE, sample: int = SAMPLE,
                seed: int = 0) -> tuple[tuple[int, int], float] | None:
    """The smallest size on the ladder down from the images' own that keeps their detail (detail_loss at most
    DETAIL_LOSS), with its loss; None when the first step down loses more (images as sharp as their pixels) or
    the images are too small to shrink.  The loss grows as the size shrinks, so the ladder is bisected: 2 + log2
    of its length measurements (128 px: 5 of its 9 sizes).

    images: (N, C, H, W) uint8; `sample` of them (a seeded draw; the same whatever the run's seed, so that runs
    differing in seed train at one size) are measured."""
    sizes = ladder(tuple(images.shape[2:]), min_side)
    if not sizes or len(images) == 0:
        return None
    if len(images) > sample:
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:sample]
        images = images[pick]

    def keeps(i: int) -> float | None:
        loss = detail_loss(images, sizes[i])
        return loss if loss <= DETAIL_LOSS else None  # NaN (flat images) too

    first = keeps(0)
    if first is None:
        return None
    lo, lo_loss, hi = 0, first, len(sizes)  # sizes[lo] keeps the detail; sizes[hi] (past the end) does not
    last = keeps(hi - 1) if hi > 1 else None
    if last is not None:
        return sizes[hi - 1], last
    hi -= 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        loss = keeps(mid)
        if loss is None:
            hi = mid
        else:
            lo, lo_loss = mid, loss
    return sizes[lo], lo_loss
