"""Whether a labelled image set looks the same in a mirror: the evidence for (or against) mirroring it.

Flipping images left-right is a label-preserving augmentation for photos and faces, whose classes look alike in
a mirror; for digits, letters, signs with arrows or numbers it is not.  `mirror_symmetry` measures it from the
data: each class's mean image is compared with the mirror image of a second, independent mean of the same class.
"""
from __future__ import annotations

import statistics

import torch

PER_CLASS = 400  # images per class used (two halves of 200)
MIN_PER_CLASS = 100  # classes with fewer images are left out (their means are too noisy)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))


def mirror_symmetry(images: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> float | None:
    """The median over classes of corr(A, mirror(B)) / corr(A, B), where A and B are the mean images of two
    disjoint random halves of up to PER_CLASS images of the class (Pearson correlations over all pixels).

    `images`: uint8 or float (N, C, H, W); `labels`: int64 (N,) class indices.  About 1 when the classes look the
    same mirrored (the mirrored half agrees with the other half as well as the halves agree with each other):
    photos and faces 0.94-1.02 here (CIFAR-10, FER2013); MNIST's digits 0.76-0.81, two-digit numbers 0.62 (100
    and 400 images per class, two seeds).  The ratio to the halves' own agreement makes it independent of how
    noisy the means are.  Unknown labels (-1) are left out.  None when fewer than 2 classes have MIN_PER_CLASS
    images whose halves agree (correlation over 0.1: flat or pure-noise classes say nothing).  A set with only a
    few mirror-sensitive classes among many (left and right arrows among other signs) keeps a high median: it is
    not detected.
    """
    generator = torch.Generator().manual_seed(seed)
    known = labels >= 0
    images, labels = (images[known], labels[known]) if not bool(known.all()) else (images, labels)
    ratios = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < MIN_PER_CLASS:
            continue
        idx = idx[torch.randperm(len(idx), generator=generator)[:PER_CLASS]]
        half = len(idx) // 2
        a = images[idx[:half]].float().mean(0)
        b = images[idx[half:2 * half]].float().mean(0)
        agree = _corr(a, b)
        if agree > 0.1:  # halves that do not agree (flat or pure-noise classes) say nothing
            ratios.append(_corr(a, b.flip(-1)) / agree)
    if len(ratios) < 2:
        return None
    return float(statistics.median(ratios))  # of an even count: the mean of the middle two
