"""Enlarged images, drawn at random on every run: any native size, enlargement, resampling filter, channel count
and JPEG quality.  Images enlarged smoothly shrink back towards the size they came from and never below the
detail they have; images as sharp as their pixels keep their size."""
from __future__ import annotations

import io

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnlab.data.detail import STEP, detail_size

from .robust_cases import natural

SMOOTH = [Image.Resampling.BICUBIC, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS]


def resaved(images: np.ndarray, size: tuple[int, int], resample, quality: int | None) -> torch.Tensor:
    """Each image resized to (H, W) with `resample` and, with a quality, saved as a JPEG and read back."""
    out = []
    for image in images:
        pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
        pil = pil.resize(size[::-1], resample)
        if quality is not None:
            buffer = io.BytesIO()
            pil.save(buffer, "JPEG", quality=quality)
            pil = Image.open(io.BytesIO(buffer.getvalue()))
        big = np.asarray(pil)
        out.append(big[None] if big.ndim == 2 else big.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out))


@settings(max_examples=12, deadline=None)
@given(h=st.integers(20, 40), aspect=st.sampled_from([1.0, 0.75, 2.0]), factor=st.floats(2.0, 4.0),
       channels=st.sampled_from([1, 3]), resample=st.sampled_from(SMOOTH),
       quality=st.sampled_from([None, 95, 90]), seed=st.integers(0, 1000))
def test_smoothly_enlarged_images_shrink_towards_their_own_size(h, aspect, factor, channels, resample, quality,
                                                                 seed):
    w = round(h * aspect)
    big = (round(h * factor), round(w * factor))
    images = resaved(natural(32, max(h, w), channels, seed)[:, :, :h, :w], big, resample, quality)
    found = detail_size(images)
    assert found is not None, (big, "not shrunk")
    (sh, sw), _ = found
    assert sh < big[0] * STEP + 1  # at least one step down
    assert sh >= h * STEP - 1, (sh, h)  # never more than a step below the detail the images have


@settings(max_examples=8, deadline=None)
@given(side=st.integers(20, 128), channels=st.sampled_from([1, 3]), quality=st.sampled_from([None, 90]),
       seed=st.integers(0, 1000))
def test_images_as_sharp_as_their_pixels_keep_their_size(side, channels, quality, seed):
    images = resaved(natural(24, side, channels, seed), (side, side), Image.Resampling.NEAREST, quality)
    assert detail_size(images) is None
