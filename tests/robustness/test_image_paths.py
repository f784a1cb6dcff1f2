"""Every place an image file reaches a model reads it the same way: training, predict, explain, ONNX predict and
the web lab's upload (EXIF orientation, 16-bit scaling, transparency on white, the same squash resize)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cnnlab.data.image_file import load_image
from cnnlab.deploy.onnx_predict import read_inputs as onnx_inputs
from cnnlab.explain.samples import read_input
from cnnlab.runs.predict import read_inputs as predict_inputs
from cnnlab.serve.images import read_upload
from cnnlab.serve.inputs import prepare

from .robust_cases import QUADRANTS, gray16_png, oriented_file, quadrant_colours, quadrant_scene, transparent_drawing


def run_like(shape: tuple[int, int, int]):
    """The parts of a loaded run that input preparation reads."""
    return SimpleNamespace(input_shape=shape, input_meta={}, classes=["a", "b"], path=Path("runs/r"),
                           config=SimpleNamespace(data="pictures"))


def every_reading(path: Path, shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """(C, H, W) uint8 as each command would feed it to a model of input `shape`."""
    run = run_like(shape)
    upload = prepare(run, read_upload(path.read_bytes(), path.name), "resize").images[0]
    return {"train": load_image(path, shape[0], shape[1:]),
            "predict": predict_inputs(run, [str(path)])[0][0].numpy(),
            "explain": read_input(run, str(path)).image.numpy(),
            "onnx": onnx_inputs([str(path)], shape)[0][0],
            "web lab": upload.numpy()}


@pytest.mark.parametrize("case", ["exif6.png", "gray16.png", "clear.png"])
def test_png_inputs_read_identically_everywhere(tmp_path, case):
    path = tmp_path / case
    if case == "exif6.png":
        oriented_file(path, quadrant_scene(30, 40), 6)
        shape = (3, 24, 32)
    elif case == "gray16.png":
        gray16_png(path, np.linspace(0, 65535, 40 * 30).reshape(30, 40))
        shape = (1, 15, 20)
    else:
        transparent_drawing(path, "RGBA")
        shape = (1, 16, 16)
    readings = every_reading(path, shape)
    for where, image in readings.items():
        np.testing.assert_array_equal(image, readings["train"], err_msg=where)
    if case == "clear.png":
        assert readings["train"].mean() > 200  # ink on white paper everywhere


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_sideways_phone_jpeg_is_upright_everywhere(tmp_path, orientation):
    path = oriented_file(tmp_path / "phone.jpg", quadrant_scene(300, 400), orientation)
    for where, image in every_reading(path, (3, 48, 64)).items():
        np.testing.assert_allclose(quadrant_colours(image), QUADRANTS, atol=14, err_msg=where)


def test_filter_gallery_reads_image_files_the_same_way(tmp_path):
    from cnnlab.explain.viz.gallery import read_image as gallery_image
    path = oriented_file(tmp_path / "sideways.png", quadrant_scene(30, 40), 8)
    np.testing.assert_array_equal(gallery_image(path), load_image(path, 3, None))
    gray16_png(tmp_path / "g16.png", np.full((4, 4), 65535))
    np.testing.assert_array_equal(gallery_image(tmp_path / "g16.png"), np.full((4, 4), 255.0))
