"""The filter gallery: kernels against scipy.ndimage and the reference conv2d, and `cnnlab filters`."""
import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image

from cnnlab.cli import main
from cnnlab.explain.ops import conv2d
from cnnlab.explain.ops.filters import KERNELS, filter2d, gallery, median_filter, salt_and_pepper, to_display
from cnnlab.explain.viz.gallery import SAMPLE_IMAGE, read_image

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (23, 17)).astype(np.float64)
COLOUR = RNG.integers(0, 256, (3, 19, 26)).astype(np.float64)


@pytest.mark.parametrize("name", list(KERNELS))
def test_each_kernel_matches_scipy_on_gray_and_colour(name):
    weights = KERNELS[name].weights
    np.testing.assert_allclose(filter2d(GRAY, weights), ndi.correlate(GRAY, weights, mode="nearest"), atol=1e-9)
    ref = np.stack([ndi.correlate(channel, weights, mode="nearest") for channel in COLOUR])
    np.testing.assert_allclose(filter2d(COLOUR, weights), ref, atol=1e-9)


@pytest.mark.parametrize("name", list(KERNELS))
def test_filters_agree_with_the_reference_conv2d_inside_the_border(name):
    weights = KERNELS[name].weights
    r = weights.shape[0] // 2
    inner = filter2d(GRAY, weights)[r:-r, r:-r]  # where no edge pixel is repeated
    np.testing.assert_allclose(inner, conv2d(GRAY, weights, padding="valid"), atol=1e-9)


def test_sobel_magnitude_and_median_match_scipy():
    results = {r.name: r for r in gallery(GRAY)}
    sobel = np.hypot(ndi.sobel(GRAY, axis=1, mode="nearest"), ndi.sobel(GRAY, axis=0, mode="nearest"))
    np.testing.assert_allclose(results["sobel-magnitude"].values, sobel, atol=1e-9)
    np.testing.assert_allclose(median_filter(COLOUR, 3),
                               np.stack([ndi.median_filter(c, 3, mode="nearest") for c in COLOUR]))
    noisy = salt_and_pepper(GRAY, 0.06)
    np.testing.assert_allclose(results["median"].values, ndi.median_filter(noisy, 3, mode="nearest"))


def test_blurs_keep_brightness_and_the_slide_5x5_box_equals_the_3x3_box():
    flat = np.full((9, 9), 77.0)
    for name in ("box-blur", "box-blur-5x5", "gaussian-blur", "sharpen", "identity"):
        np.testing.assert_allclose(filter2d(flat, KERNELS[name].weights), flat)
    np.testing.assert_allclose(filter2d(GRAY, KERNELS["box-blur-5x5"].weights)[2:-2, 2:-2],
                               filter2d(GRAY, KERNELS["box-blur"].weights)[2:-2, 2:-2])


def test_median_removes_salt_and_pepper_noise():
    smooth = np.add.outer(np.arange(40.0), np.arange(40.0)) * 3
    noisy = salt_and_pepper(smooth, 0.05, seed=1)
    assert np.abs(median_filter(noisy) - smooth).mean() < 0.2 * np.abs(noisy - smooth).mean()


def test_to_display():
    values = np.array([[-300.0, -10.0, 0.0, 10.0, 300.0]])
    assert to_display(values, "clip").tolist() == [[0, 0, 0, 10, 255]]
    signed = to_display(values, "signed")
    assert signed.dtype == np.uint8 and signed[0, 2] in (127, 128) and signed[0, 0] == 0 and signed[0, 4] == 255
    assert to_display(values, "abs")[0, 2] == 0
    assert to_display(np.zeros((2, 2)), "signed").max() <= 128
    with pytest.raises(ValueError):
        to_display(values, "rainbow")


def test_sample_image_ships_small_and_in_colour():
    assert SAMPLE_IMAGE.is_file() and SAMPLE_IMAGE.stat().st_size < 100_000
    image = read_image()
    assert image.shape[0] == 3 and min(image.shape[1:]) >= 96


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_filters_command_with_the_sample_and_with_user_images(capsys, tmp_path):
    code, out, _ = cli(capsys, "filters", "--out", tmp_path / "sample")
    assert code == 0
    with Image.open(tmp_path / "sample" / "filters.png") as img:
        assert img.size[0] > 800 and img.size[1] > 800
    # a gray, non-square image, and a large RGBA one (shrunk to --max-size)
    Image.fromarray(np.uint8(np.add.outer(np.arange(60), np.arange(90)) % 256)).save(tmp_path / "gray.png")
    rgba = np.uint8(RNG.integers(0, 256, (700, 500, 4)))
    Image.fromarray(rgba, "RGBA").save(tmp_path / "big.png")
    code, out, _ = cli(capsys, "filters", tmp_path / "gray.png", "--out", tmp_path / "gray", "--each")
    assert code == 0 and (tmp_path / "gray" / "filters.png").is_file()
    with Image.open(tmp_path / "gray" / "sobel-x.png") as img:
        assert img.size == (90, 60) and img.mode == "L"
    assert len(list((tmp_path / "gray").glob("*.png"))) == len(gallery(GRAY)) + 1
    assert read_image(tmp_path / "big.png", 256).shape == (3, 256, 183)
    code, out, _ = cli(capsys, "filters", tmp_path / "big.png", "--out", tmp_path / "big", "--only", "sobel-x,emboss")
    assert code == 0 and "(6 panels)" in out
    code, _, err = cli(capsys, "filters", "--only", "blurry")
    assert code == 2 and "unknown filter" in err
    (tmp_path / "bad.png").write_text("not an image")
    code, _, err = cli(capsys, "filters", tmp_path / "bad.png", "--out", tmp_path / "bad")
    assert code == 2 and "bad.png" in err
