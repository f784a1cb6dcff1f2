"""The course's "position: left or right?" exercise: one generated data set, a classifier and a regressor."""
import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.data import load_data
from cnnlab.data.position import SIZE, make_position


def test_generated_images_put_the_object_where_the_targets_say():
    images, side, x, y = make_position(200, seed=1)
    assert images.shape == (200, SIZE, SIZE) and images.dtype == np.uint8
    columns, rows = images.sum(1), images.sum(2)  # (N, W): ink per column, (N, H): ink per row
    for img_cols, img_rows, s, xi, yi in zip(columns, rows, side, x, y):
        ink = np.flatnonzero(img_cols)
        assert ink.min() >= xi - 10 and ink.max() <= xi + 10  # the ink lies within the 20-px tile around x
        ink = np.flatnonzero(img_rows)
        assert ink.min() >= yi - 10 and ink.max() <= yi + 10  # ... and around y
        assert s == (xi >= (SIZE - 1) / 2)
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.3  # the two coordinates are drawn independently
    assert 0.3 < side.mean() < 0.7
    shapes, *_ = make_position(20, seed=1, source="shapes")
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
    rows = load_data(position, target="y")["train"].labels
    assert rows.is_floating_point() and 9.5 <= rows.min() and rows.max() <= SIZE - 10.5
    capsys.readouterr()
    assert main(["train", str(position), "--model", "fastcnn", "--epochs", "4", "--runs-dir", str(tmp_path), "--quiet"]) == 0
    out = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(out["test_acc"]) > 0.85
    assert main(["train", str(position), "--target", "x", "--model", "fastcnn", "--epochs", "6", "--runs-dir", str(tmp_path),
                 "--quiet"]) == 0
    out = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(out["test_mae"]) < 4.0  # pixels, on a 40-px canvas (guessing the middle would give 5)
    assert out["best"].startswith("val_loss")
    run_dir = out["run_dir"]
    assert main(["evaluate", run_dir]) == 0
    evaluated = capsys.readouterr().out
    assert "mean absolute error" in evaluated and float(evaluated.split("R² ")[1].split()[0]) > 0.5
    images, _, x, _ = make_position(1, seed=99)
    from PIL import Image

    Image.fromarray(images[0]).save(tmp_path / "one.png")
    assert main(["predict", run_dir, str(tmp_path / "one.png")]) == 0
    predicted = float(capsys.readouterr().out.split(": x ")[1].split()[0])
    assert abs(predicted - x[0]) < 8


def test_target_must_be_a_numeric_column(position, tmp_path, capsys):
    assert main(["train", str(position), "--target", "z", "--runs-dir", str(tmp_path)]) == 2
    assert "no column 'z' to regress on" in capsys.readouterr().err


def test_regression_report_scores_against_the_targets_spread():
    import torch

    from cnnlab.runs.evaluate import regression_report

    targets = torch.tensor([10.0, 20.0, 30.0, 40.0])
    perfect = regression_report(targets[:, None], targets, "x")
    assert perfect.mae == 0 and perfect.r2 == 1
    mean = regression_report(torch.full((4, 1), 25.0), targets, "x")
    assert mean.mae == 10 and abs(mean.rmse - 125 ** 0.5) < 1e-5 and abs(mean.r2) < 1e-6
    assert "R² 0.0000" in mean.text() and mean.to_dict()["r2"] == mean.r2
    assert regression_report(torch.zeros(0, 1), torch.zeros(0), "x").n == 0
