"""Preprocess statistics: the histogram path for uint8 images agrees with float64 arithmetic."""
import torch

from cnnlab.data.preprocess import Preprocess


def test_standardize_stats_match_float64_reference():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (500, 3, 9, 7), dtype=torch.uint8, generator=gen)
    images[:, 1] = images[:, 1] // 4  # channels with different spreads
    pre = Preprocess.fit(images, "standardize")
    x = images.double() / 255
    assert pre.mean.shape == pre.std.shape == (3, 1, 1)
    torch.testing.assert_close(pre.mean.double().flatten(), x.mean((0, 2, 3)), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(pre.std.double().flatten(), x.std((0, 2, 3), correction=0), rtol=1e-5, atol=1e-6)


def test_constant_channel_keeps_a_finite_std():
    images = torch.full((10, 1, 4, 4), 17, dtype=torch.uint8)
    pre = Preprocess.fit(images, "standardize")
    assert torch.isfinite(pre(images)).all()
    assert abs(float(pre.std) - 1e-3) < 1e-9 and abs(float(pre.mean) - 17 / 255) < 1e-7


def test_featurewise_stats_are_per_pixel():
    images = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.tensor([0, 255, 0, 255], dtype=torch.uint8)
    pre = Preprocess.fit(images, "featurewise")
    assert pre.mean.shape == (1, 2, 2)
    assert abs(float(pre.mean[0, 0, 0]) - 0.5) < 1e-6 and abs(float(pre.std[0, 0, 0]) - 0.5) < 1e-6
