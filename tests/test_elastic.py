"""Elastic distortion (augment option elastic=α, elastic_sigma=σ): Simard et al. 2003's smoothed random
displacement field, checked against SciPy's Gaussian filter, and its place in the batched warp."""
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from cnnlab.training.augment import Augmenter, parse_augment, warp
from cnnlab.training.augment.geometry import displacement_field, sampling_grid


def identity(n):
    return torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).repeat(n, 1, 1)


def test_spec_round_trip_and_refusals():
    cfg = parse_augment("light,elastic=34,elastic_sigma=6")
    assert (cfg.elastic, cfg.elastic_sigma, cfg.rotation) == (34.0, 6.0, 10.0) and cfg.geometric
    assert parse_augment(cfg.to_spec()) == cfg
    assert parse_augment("elastic=20").to_spec() == "elastic=20"  # σ at its default (4 px) is left out
    with pytest.raises(ValueError, match="elastic_sigma=0.*above 0"):
        parse_augment("elastic=34,elastic_sigma=0")
    with pytest.raises(ValueError, match="elastic=-1.*at least 0"):
        parse_augment("elastic=-1")


@pytest.mark.parametrize("sigma, alpha, size", [(4.0, 34.0, (28, 28)), (2.0, 8.0, (20, 36)), (6.0, 10.0, (9, 7)), (2.1, 5.0, (16, 16))])
def test_the_field_is_scipys_gaussian_filter_of_the_noise(sigma, alpha, size):
    noise = torch.rand(3, 2, *size, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1
    field = displacement_field(noise, sigma, alpha, size)  # (B, h, w, 2) normalised x, y
    h, w = size
    for b in range(3):
        for k, side in ((0, w), (1, h)):
            expected = gaussian_filter(noise[b, k].numpy(), sigma, mode="constant", truncate=3.0) * alpha * 2 / side
            np.testing.assert_allclose(field[b, ..., k].numpy(), expected, atol=1e-12)


def test_the_field_at_another_output_size_keeps_the_inputs_pixels():
    noise = torch.ones(1, 2, 64, 64, dtype=torch.float64)  # constant: the middle of the smoothed field is 1 · α
    half = displacement_field(noise[:, :, :32, :32], 2.0, 3.0, (64, 64))  # drawn at 32×32 for a 64×64 input
    assert half[0, 16, 16, 0].item() == pytest.approx(3.0 * 2 / 64)  # α = 3 input pixels, whatever the output


def test_an_offset_moves_each_output_pixels_input_position():
    offset = torch.randn(2, 5, 6, 2, dtype=torch.float64)
    plain = sampling_grid(identity(2).double(), 5, 6)
    np.testing.assert_allclose(sampling_grid(identity(2).double(), 5, 6, offset=offset), plain + offset)
    x = torch.rand(2, 1, 5, 6, dtype=torch.float64)
    one_px = torch.zeros(2, 5, 6, 2, dtype=torch.float64)
    one_px[..., 0] = 2 / 6  # every output pixel reads the input one pixel to its right
    moved = warp(x, identity(2).double(), "nearest", size=None, offset=one_px)
    np.testing.assert_allclose(moved[..., :-1], x[..., 1:], atol=1e-12)
    np.testing.assert_allclose(moved[..., -1], x[..., -1], atol=1e-12)  # nearest fill: the edge pixel


def test_elastic_batches_are_seeded_distorted_and_keep_a_flat_image():
    x = torch.rand(6, 1, 28, 28)
    a = Augmenter("elastic=34", torch.Generator().manual_seed(0))(x)
    b = Augmenter("elastic=34", torch.Generator().manual_seed(0))(x)
    c = Augmenter("elastic=34", torch.Generator().manual_seed(1))(x)
    assert torch.equal(a, b) and not torch.allclose(a, c) and not torch.allclose(a, x)
    assert (a - x).abs().mean() > 0.05  # distorted: a 1-px move of uniform noise changes pixels by ~1/3
    flat = torch.full((3, 1, 28, 28), 0.5)
    torch.testing.assert_close(Augmenter("elastic=34,fill=nearest", torch.Generator())(flat), flat)


def test_displacements_are_about_simards_size():
    params = Augmenter("elastic=34", torch.Generator().manual_seed(0)).draw(512, 28, 28)
    pixels = params.displacement * 14  # normalised → 28-px units
    assert params.displacement.shape == (512, 28, 28, 2)
    middle = pixels[:, 10:18, 10:18]  # away from the zero padding at the edges
    assert 0.8 < middle.std().item() < 2.0  # 34 · 1/√3 · 1/(2σ√π) ≈ 1.4 px for σ = 4
    assert middle.mean().abs().item() < 0.1


@pytest.mark.parametrize("spec", ["elastic=34", "light,elastic=34", "elastic=10,fill=wrap", "elastic=5,flip=h"])
def test_elastic_with_other_options_and_a_smaller_output(spec):
    x = torch.rand(4, 3, 16, 16)
    aug = Augmenter(spec, torch.Generator().manual_seed(0))
    assert aug(x).shape == x.shape
    assert aug(x, size=(12, 12)).shape == (4, 3, 12, 12)
    tiny = torch.rand(2, 1, 4, 4)  # the Gaussian's radius (12 px) is wider than the image
    assert torch.isfinite(aug(tiny)).all()
