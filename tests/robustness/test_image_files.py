"""What the pixels of odd image files mean: EXIF orientation, 16-bit depth, transparency, modes, broken files."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays
from PIL import Image

from cnnlab.data import DataError
from cnnlab.data.folder import guess_channels
from cnnlab.data.image_file import load_image, read_image

from .robust_cases import (QUADRANTS, color16_file, gray16_png, gray_as, oriented_file, photo, quadrant_colours,
                          quadrant_scene, transparent_drawing, truncated)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_every_exif_orientation_reads_upright(tmp_path, orientation, suffix):
    scene = quadrant_scene(48, 64)
    path = oriented_file(tmp_path / f"o{orientation}{suffix}", scene, orientation)
    image = load_image(path, 3, None)
    assert image.shape == (3, 48, 64)  # the upright shape, not the stored one (64×48 for 5-8)
    if suffix == ".png":
        np.testing.assert_array_equal(image.transpose(1, 2, 0), scene)
    else:  # JPEG is lossy: compare the colour inside each quadrant
        np.testing.assert_allclose(quadrant_colours(image), QUADRANTS, atol=12)


@pytest.mark.parametrize("orientation", [6, 8])
def test_orientation_is_applied_before_resizing(tmp_path, orientation):
    path = oriented_file(tmp_path / "sideways.jpg", quadrant_scene(300, 400), orientation)
    image = load_image(path, 3, (60, 80))  # draft-decoded, then turned, then resized
    np.testing.assert_allclose(quadrant_colours(image), QUADRANTS, atol=12)


def test_16_bit_gray_is_scaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    image = load_image(gray16_png(tmp_path / "g16.png", values), 1, None)[0]
    np.testing.assert_array_equal(image, np.rint(values / 257).astype(np.uint8))
    assert (image == 255).mean() < 0.01  # clipping made 97% of such pixels 255


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint16, (5, 7)))
def test_16_bit_gray_scaling_is_v_times_255_over_65535(tmp_path_factory, values):
    path = gray16_png(tmp_path_factory.mktemp("g16") / "x.png", values)
    expected = np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(load_image(path, 1, None)[0], expected)


def test_16_bit_gray_tiff_too(tmp_path):
    values = np.array([[0, 257, 32896], [65535, 1000, 50000]], dtype=np.uint16)
    import cv2
    cv2.imwrite(str(tmp_path / "g16.tif"), values)
    np.testing.assert_array_equal(load_image(tmp_path / "g16.tif", 1, None)[0], np.rint(values / 257))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_keeps_its_range(tmp_path, suffix):
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32)
    values = np.dstack([ramp, ramp / 2, 65535 - ramp]).astype(np.uint16)
    image = load_image(color16_file(tmp_path / f"c16{suffix}", values), 3, None).transpose(1, 2, 0)
    np.testing.assert_allclose(image, values / 257, atol=1)  # the high byte: v >> 8, within one step of v/257
    assert image.max() == 255 and image[..., 1].max() in (127, 128)  # half range stays half, not 255


def test_float_and_32_bit_pixels_outside_their_range_are_refused(tmp_path):
    Image.fromarray(np.array([[0.0, 3.5]], dtype=np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(DataError, match=r"f\.tif: F pixels range 0\.0\.\.3\.5; expected"):
        load_image(tmp_path / "f.tif", 1, None)
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).save(tmp_path / "ok.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "ok.tif", 1, None)[0], [[0, 128, 255]])


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_background_becomes_white(tmp_path, mode):
    expected = transparent_drawing(tmp_path / f"d_{mode}.png", mode)
    image, transparent = read_image(tmp_path / f"d_{mode}.png", 1, None)
    assert transparent
    np.testing.assert_array_equal(image[0], expected)  # black ink on white, not all black
    rgb = load_image(tmp_path / f"d_{mode}.png", 3, None)
    np.testing.assert_array_equal(rgb, np.stack([expected] * 3))


def test_same_drawing_reads_alike_on_transparent_and_on_white(tmp_path):
    expected = transparent_drawing(tmp_path / "clear.png", "RGBA")
    Image.fromarray(expected).save(tmp_path / "white.png")
    np.testing.assert_array_equal(load_image(tmp_path / "clear.png", 1, None),
                                  load_image(tmp_path / "white.png", 1, None))


@pytest.mark.parametrize("mode", ["L", "P", "RGB", "RGBA"])
def test_gray_pictures_are_gray_whatever_the_file_mode(tmp_path, mode):
    gray = gray_as(tmp_path / f"g_{mode}.png", mode)
    assert guess_channels([tmp_path / f"g_{mode}.png"]) == 1
    np.testing.assert_array_equal(load_image(tmp_path / f"g_{mode}.png", 1, None)[0], gray)


def test_gray_photo_saved_as_jpeg_rgb_is_gray_and_a_colour_one_is_not(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
    Image.fromarray(np.dstack([gray] * 3)).save(tmp_path / "gray.jpg", quality=80)
    assert guess_channels([tmp_path / "gray.jpg"]) == 1
    assert guess_channels([tmp_path / "gray.jpg", photo(tmp_path / "colour.jpg", 120, 90)]) == 3


def test_cmyk_jpeg_reads_as_rgb(tmp_path):
    Image.new("CMYK", (16, 16), (255, 0, 0, 0)).save(tmp_path / "cyan.jpg", quality=95)  # pure cyan ink
    np.testing.assert_allclose(load_image(tmp_path / "cyan.jpg", 3, None)[:, 8, 8], (0, 255, 255), atol=3)


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9])
def test_truncated_or_empty_file_is_one_line_naming_it(tmp_path, keep):
    source = photo(tmp_path / "whole.jpg", 200, 150)
    bad = truncated(tmp_path / "half.jpg", source, keep)
    with pytest.raises(DataError) as info:
        load_image(bad, 3, (32, 32))
    message = str(info.value)
    assert message.startswith(f"{bad}: unreadable image (") and "\n" not in message


def test_non_image_bytes_with_an_image_suffix(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(DataError, match=r"notes\.png: unreadable image \(cannot identify image file"):
        load_image(tmp_path / "notes.png", 1, None)


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path, monkeypatch):
    path = photo(tmp_path / "big.jpg", 4000, 3000)
    sizes = []
    real = Image.Image.resize
    monkeypatch.setattr(Image.Image, "resize", lambda self, size, *a, **k: (sizes.append(self.size),
                                                                             real(self, size, *a, **k))[1])
    assert load_image(path, 3, (128, 128)).shape == (3, 128, 128)
    assert sizes == [(500, 375)]  # Pillow's draft: a 1/8-scale DCT decode, not 36 MB of full-size pixels


def test_tiny_image_resizes_up(tmp_path):
    Image.fromarray(np.array([[200]], dtype=np.uint8)).save(tmp_path / "dot.png")
    np.testing.assert_array_equal(load_image(tmp_path / "dot.png", 3, (4, 4)), np.full((3, 4, 4), 200))


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, (3, 4, 4)))
def test_any_alpha_blends_onto_white(tmp_path_factory, rgba_planes):
    gray, alpha = rgba_planes[0], rgba_planes[1]
    path = tmp_path_factory.mktemp("la") / "x.png"
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(path)
    expected = gray * (alpha / 255) + 255 * (1 - alpha / 255)  # "over" compositing onto white paper
    np.testing.assert_allclose(load_image(path, 1, None)[0], expected, atol=1)


def test_decompression_bomb_is_one_line_naming_the_file(tmp_path, monkeypatch):
    Image.new("L", (300, 200)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PNGs decode in full: over Pillow's limit is refused
    with pytest.raises(DataError) as info:
        load_image(tmp_path / "bomb.png", 1, (8, 8))
    assert str(info.value) == (f"{tmp_path / 'bomb.png'}: 300×200 pixels is more than the 0 megapixels read in "
                               "full for PNG files; shrink it (or save it as JPEG) first")


def test_photos_above_pillows_pixel_limit_load_as_jpeg_without_warnings(tmp_path, monkeypatch):
    import warnings
    path = photo(tmp_path / "200mp.jpg", 4000, 3000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # as a 200 MP photo is to Pillow's 89 MP limit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(path, 3, (128, 128)).shape == (3, 128, 128)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000  # the raised limit was for that one open only
