"""The course's "position: left or right?" exercise: one generated data set, a classifier and a regressor."""
import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.data import load_data
from cnnlab.data.position import SIZE, make_position


def test_generated_images_put_the_object_where_the_targets_say():
    images, side, x = make_position(200, seed=1)
    assert images.shape == (200, SIZE, SIZE) and images.dtype == np.uint8
    columns = images.sum(1)  # (N, W): ink per column
    for img_cols, s, xi in zip(columns, side, x):
        ink = np.flatnonzero(img_cols)
        assert ink.min() >= xi - 10 and ink.max() <= xi + 10  # the ink lies within the 20-px tile around x
        assert s == (xi >= (SIZE - 1) / 2)
    assert 0.3 < side.mean() < 0.7
    shapes, _, _ = make_position(20, seed=1, source="shapes")
    assert (shapes.reshape(20, -1).max(1) == 255).all()


@pytest.fixture(scope="module")
def position(tmp_path_factory):
    folder = tmp_path_factory.mktemp("position")
    assert main(["data", "make", "position", "--n", "1500", "--out", str(folder)]) == 0
    return folder


def test_same_data_classifies_and_regresses(position, tmp_path, capsys):
    data = load_data(position)
    assert data.classes == ["left", "right"] and data.input_shape == (1, SIZE, SIZE)
    regression = load_data(position, target="x")
    assert regression["train"].regression and regression.meta["task"] == "regression"
    capsys.readouterr()
    assert main(["train", str(position), "--epochs", "4", "--runs-dir", str(tmp_path), "--quiet"]) == 0
    out = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(out["test_acc"]) > 0.85
    assert main(["train", str(position), "--target", "x", "--epochs", "6", "--runs-dir", str(tmp_path),
                 "--quiet"]) == 0
    out = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(out["test_mae"]) < 4.0  # pixels, on a 40-px canvas (guessing the middle would give 5)
    assert out["best"].startswith("val_loss")
    run_dir = out["run_dir"]
    assert main(["evaluate", run_dir]) == 0
    assert "mean absolute error" in capsys.readouterr().out
    images, _, x = make_position(1, seed=99)
    from PIL import Image

    Image.fromarray(images[0]).save(tmp_path / "one.png")
    assert main(["predict", run_dir, str(tmp_path / "one.png")]) == 0
    predicted = float(capsys.readouterr().out.split(": x ")[1].split()[0])
    assert abs(predicted - x[0]) < 8


def test_target_must_be_a_numeric_column(position, tmp_path, capsys):
    assert main(["train", str(position), "--target", "y", "--runs-dir", str(tmp_path)]) == 2
    assert "no column 'y' to regress on" in capsys.readouterr().err
