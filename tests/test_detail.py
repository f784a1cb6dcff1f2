"""Enlarged images are trained at the size of their detail: cnnlab.data.detail and the run that uses it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.cli import main
from cnnlab.data import load_data
from cnnlab.data.detail import DETAIL_LOSS, detail_loss, detail_size, ladder
from cnnlab.training.recipes import data_kind

from robustness.robust_cases import enlarged, natural


@pytest.fixture
def cli(capsys):
    """Run `cnnlab ARGS` in this process: (exit code, stdout, stderr)."""
    def run(*args) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_the_ladder_shrinks_by_a_fifth_and_stops_at_16_px():
    assert ladder((64, 64)) == [(51, 51), (41, 41), (33, 33), (26, 26), (21, 21), (17, 17)]
    assert ladder((28, 56)) == [(22, 45), (18, 36)]  # the aspect ratio is kept
    assert ladder((16, 16)) == [] and ladder((20, 20)) == [(16, 16)]


def test_images_as_sharp_as_their_pixels_keep_their_size():
    for side, channels in ((32, 3), (48, 1), (128, 3)):
        images = torch.from_numpy(natural(64, side, channels))
        assert detail_loss(images, ladder((side, side))[0]) > DETAIL_LOSS
        assert detail_size(images) is None


def test_enlarged_images_shrink_to_about_the_size_they_were_enlarged_from():
    small = natural(64, 32, 3)
    found = detail_size(torch.from_numpy(enlarged(small, (64, 64))))
    assert found is not None
    (h, w), loss = found
    assert loss <= DETAIL_LOSS and 26 <= h == w <= 41  # at most one step from 32, never back to 64


def test_flat_images_and_tiny_images_are_left_alone():
    assert detail_size(torch.full((8, 1, 64, 64), 128, dtype=torch.uint8)) is None  # blank scans: nothing to see
    assert np.isnan(detail_loss(torch.zeros(4, 1, 32, 32, dtype=torch.uint8), (16, 16)))
    assert detail_size(torch.from_numpy(enlarged(natural(8, 8), (18, 18)))) is None  # 18 → 14 is under 16 px


def test_the_ladder_is_bisected_to_the_size_a_walk_down_it_finds():
    for side, big in ((24, 60), (32, 128), (20, 40)):
        images = torch.from_numpy(enlarged(natural(48, side, 1, seed=1), (big, big)))
        walked = None
        for size in ladder((big, big)):
            loss = detail_loss(images, size)
            if loss > DETAIL_LOSS:
                break
            walked = (size, loss)
        assert detail_size(images) == walked


def folder_of(root, images: np.ndarray, classes=("a", "b")):
    for cls in classes:
        (root / cls).mkdir(parents=True)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
        pil.save(root / classes[i % len(classes)] / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def enlarged_folder(tmp_path_factory):
    """24 colour images of 32×32 detail saved at 64×64, two classes (b brighter)."""
    small = natural(24, 32, 3, seed=2)
    small[1::2] = (small[1::2].astype(np.int16) // 2 + 120).astype(np.uint8)
    return folder_of(tmp_path_factory.mktemp("enlarged") / "photos", enlarged(small, (64, 64)))


def test_a_run_on_enlarged_images_trains_at_their_detail_s_size_and_predict_reads_new_ones_so(
        enlarged_folder, tmp_path, cli):
    code, out, err = cli("train", enlarged_folder, "--epochs", "1", "--batch-size", "8",
                         "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    note = next(line for line in out.splitlines() if "images enlarged" in line)
    h = int(note.split("shrunk to ")[1].split("×")[0])
    assert 26 <= h <= 41 and "--image-size 64x64 keeps 64×64" in note
    assert f"data      photos: 3×{h}×{h}, 2 classes" in out
    assert data_kind(load_data(enlarged_folder, image_size=(h, h))) == "color"  # the kind of the size trained at
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "config.json").read_text())["image_size"] == [h, h]  # a resumed run reads them so
    # the run's validation split read again from the files, at the run's size, scores as training scored it
    metrics = json.loads((run / "metrics.json").read_text())
    code, out, err = cli("evaluate", run, "--split", "val")
    assert code == 0, err
    assert f"accuracy {metrics['val']['acc']:.4f}" in out
    code, out, err = cli("predict", run, enlarged_folder / "a" / "000.png")
    assert code == 0, err
    assert "000.png" in out


@pytest.mark.parametrize("chosen", [["--image-size", "64x64"], ["--model", "cnn"]])
def test_a_size_or_model_the_user_chose_keeps_the_images_size(enlarged_folder, tmp_path, cli, chosen):
    code, out, err = cli("train", enlarged_folder, "--epochs", "1", "--batch-size", "8", *chosen,
                         "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    assert "images enlarged" not in out and "3×64×64" in out


def test_pixel_csv_rows_keep_their_shape(tmp_path):
    from cnnlab.data.rundata import load_for_training
    from cnnlab.training.config import TrainConfig

    images = enlarged(natural(20, 16, 1), (48, 48))
    rows = "\n".join(f"{i % 2}," + " ".join(map(str, image.ravel())) for i, image in enumerate(images))
    (tmp_path / "rows.csv").write_text("emotion,pixels\n" + rows + "\n")
    cfg = TrainConfig(data=str(tmp_path / "rows.csv"))
    same, data, notes = load_for_training(cfg, set())
    assert same == cfg and notes == [] and data.input_shape == (1, 48, 48)  # --image-size: a CSV's row shape
    folder = folder_of(tmp_path / "gray", images)
    cfg, data, notes = load_for_training(TrainConfig(data=str(folder)), set())
    assert cfg.image_size is not None and cfg.image_size[0] < 48 and data.input_shape == (1, *cfg.image_size)
    assert len(notes) == 1
    cfg, data, notes = load_for_training(TrainConfig(data=str(folder), val_data=str(tmp_path / "rows.csv")), set())
    assert cfg.image_size is None and notes == [] and data.input_shape == (1, 48, 48)  # a CSV split keeps them


def test_idx_files_and_the_python_api_shrink_too(tmp_path):
    import gzip
    from cnnlab.data.rundata import load_for_training
    from cnnlab.training.config import TrainConfig

    images = enlarged(natural(40, 20, 1, seed=4), (60, 60))[:, 0]
    out = tmp_path / "idx"
    out.mkdir()
    header = lambda magic, *dims: bytes([0, 0, 8, magic]) + b"".join(d.to_bytes(4, "big") for d in dims)
    (out / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header(3, 40, 60, 60) + images.tobytes()))
    (out / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header(1, 40) + bytes([0, 1] * 20)))
    cfg, data, notes = load_for_training(TrainConfig(data=str(out)), set())
    assert cfg.image_size is not None and data.input_shape == (1, *cfg.image_size) and len(notes) == 1
    again = load_data(out, image_size=tuple(cfg.image_size))  # what evaluate and resume read
    assert torch.equal(again["train"].images, data["train"].images)


def test_the_data_command_says_what_training_will_do(enlarged_folder, cli):
    code, out, err = cli("data", enlarged_folder)
    assert code == 0, err
    assert out.splitlines()[0].startswith("photos: 3×64×64 images")  # described as stored
    assert "note: images enlarged: shrunk to " in out
    code, out, err = cli("data", enlarged_folder, "--image-size", "64x64")
    assert code == 0 and "images enlarged" not in out


def test_the_lr_range_test_reads_enlarged_images_as_training_does(enlarged_folder):
    from cnnlab.data.rundata import load_for_training
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.lr_find import lr_find_for
    from cnnlab.training.recipes import apply_recipe

    cfg = TrainConfig(data=str(enlarged_folder), batch_size=8)
    assert apply_recipe(cfg, load_data(enlarged_folder)).model == "resnet-photo"  # at the stored 64×64: photo
    cfg, data, _ = load_for_training(cfg, set())
    _, info = lr_find_for(TrainConfig(data=str(enlarged_folder), batch_size=8), steps=3)
    assert info["model"] == apply_recipe(cfg, data).model != "resnet-photo"  # the colour kind's, as trained


def test_a_home_relative_folder_and_a_cached_photo_backbone(enlarged_folder, tmp_path, monkeypatch):
    import shutil

    from cnnlab.data.rundata import load_for_training
    from cnnlab.training import recipes
    from cnnlab.training.config import TrainConfig

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(enlarged_folder, tmp_path / "photos")
    cfg, data, notes = load_for_training(TrainConfig(data="~/photos"), set())
    assert cfg.image_size is not None and len(notes) == 1
    monkeypatch.setattr(recipes, "photo_backbone_cached", lambda: True)
    cfg, data, notes = load_for_training(TrainConfig(data="~/photos"), set(), recipe_run=True)
    assert cfg.image_size is None and data.input_shape == (3, 64, 64)  # a recipe fine-tunes the backbone at 64×64
    cfg, data, notes = load_for_training(TrainConfig(data="~/photos"), set(), recipe_run=False)
    assert cfg.image_size is not None  # --epochs alone trains resnet-photo from scratch: shrunk


def test_an_error_deciding_the_size_is_raised_wherever_the_decision_is_shared(enlarged_folder, tmp_path):
    import shutil

    from cnnlab.data import DataError
    from cnnlab.data.rundata import load_for_training
    from cnnlab.training.config import TrainConfig

    shutil.copytree(enlarged_folder, tmp_path / "photos")
    (tmp_path / "photos" / "a" / "000.png").write_bytes(b"not a png")
    shared = []

    def decide(compute):  # as torchrun's broadcast: rank 0's (plan, error) reaches every rank
        shared.append(compute())
        return shared[-1]

    with pytest.raises(DataError, match="000.png"):
        load_for_training(TrainConfig(data=str(tmp_path / "photos")), set(), decide=decide)
    assert shared and shared[0][0] is None and isinstance(shared[0][1], DataError)
