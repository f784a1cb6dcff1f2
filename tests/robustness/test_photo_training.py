"""A folder of phone photos trains: the working size is said first, the photo recipe applies, memory stays small."""
from __future__ import annotations

import subprocess
import sys

import pytest

from cnnlab.data import load_data
from cnnlab.training.recipes import data_kind, recipe_values

from .robust_cases import photo


def photo_folder(root, w=400, h=300, per_class=3):
    """cat/ and dog/ with landscape and portrait JPEGs mixed, as a phone's camera roll."""
    for cls, hue in (("cat", 0), ("dog", 2)):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            photo(root / cls / f"IMG_{i:04d}.jpg", *((w, h) if i % 2 else (h, w)), hue=hue, seed=i)
    return root


def test_photo_folders_get_the_photo_kind_and_its_model(tmp_path):
    data = load_data(photo_folder(tmp_path / "d"))
    assert data_kind(data) == "photo"
    assert recipe_values("default", data)["model"] == "resnet-photo"
    assert recipe_values("fast", data)["model"] == recipe_values("best", data)["model"] == "resnet-photo"
    assert recipe_values("default", data)["batch_size"] <= 32  # keeps a training step well under 1 GB
    gray_scans = load_data(tmp_path / "d", channels=1)
    assert gray_scans.input_shape == (1, 128, 128) and data_kind(gray_scans) == "photo"
    assert data_kind(load_data(tmp_path / "d", image_size=(96, 96), channels=1)) == "photo"  # gray above 64 px
    assert data_kind(load_data(tmp_path / "d", image_size=(64, 64), channels=1)) == "faces"
    assert data_kind(load_data(tmp_path / "d", image_size=(64, 64))) == "photo"  # colour above 48 px
    assert data_kind(load_data(tmp_path / "d", image_size=(48, 48))) == "color"


def test_first_line_of_train_says_the_working_size(tmp_path, cli):
    root = photo_folder(tmp_path / "d")
    code, out, err = cli("train", root, "--epochs", "1", "--model", "dnn", "--val-split", "0",
                         "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    assert out.splitlines()[0] == ("note      images up to 300×400 px: training at 128×128 (each image squashed to "
                                   "it, aspect ratio not kept); change with --image-size HxW")
    assert out.splitlines()[1].startswith("data      d: 3×128×128, 2 classes")


@pytest.mark.slow
@pytest.mark.parametrize("w,h", [(1600, 1200), (4000, 3000)])
def test_phone_photo_folder_trains_one_epoch_under_2_gb(tmp_path, w, h):
    root = photo_folder(tmp_path / "d", w, h, per_class=20)
    code = ("import resource, sys; from cnnlab.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "train", str(root), "--epochs", "1",
                           "--runs-dir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    peak_kb = int(done.stdout.splitlines()[-1])
    assert peak_kb < 2 * 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"


def test_data_command_says_the_working_size(tmp_path, cli):
    code, out, err = cli("data", photo_folder(tmp_path / "d"))
    assert code == 0 and out.splitlines()[0] == "d: 3×128×128 images, 2 classes"
    assert "note: images up to 300×400 px: training at 128×128 (each image squashed to it" in out
