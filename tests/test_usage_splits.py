"""Kaggle FER2013's Usage column: chosen on validation (carved from Training), reported on test (PublicTest)."""
import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.data import DataError
from cnnlab.data.pixelcsv import load_pixel_csv
from cnnlab.data.pixelrows import read_pixel_rows
from cnnlab.data.rundata import split_data
from cnnlab.data.splits import stratified_split
from cnnlab.training.config import TrainConfig

from conftest import write_pixel_csv

RNG = np.random.default_rng(0)


def kaggle_csv(path, usage, side=8):
    """A Kaggle-style emotion,pixels,Usage file: one image per Usage value, labels cycling over 3 classes."""
    images = RNG.integers(0, 256, (len(usage), side, side), dtype=np.uint8)
    return write_pixel_csv(path, images, np.arange(len(usage)) % 3, "emotion,pixels,Usage", usage), images


def test_training_and_publictest_are_train_and_test(tmp_path):
    path, images = kaggle_csv(tmp_path / "f.csv", ["Training"] * 12 + ["PublicTest"] * 6)
    data = load_pixel_csv(path)
    assert list(data.splits) == ["train", "test"]  # no validation split from Usage: it is carved from Training
    assert (data["test"].images[:, 0].numpy() == images[12:]).all()
    assert len(data["train"]) == 12
    note, = data.meta["notes"]
    assert note.startswith(f"{path}: Usage PublicTest is the test split (nothing is tuned on it)")
    assert "stratified --val-split share of Training" in note


def test_validation_is_a_stratified_seeded_share_of_training(tmp_path):
    path, _ = kaggle_csv(tmp_path / "f.csv", ["Training"] * 30 + ["PublicTest"] * 6)
    data = split_data(load_pixel_csv(path), TrainConfig(data=str(path), val_split=0.2, seed=3))
    kept, held = stratified_split(load_pixel_csv(path)["train"], 0.2, 3)
    assert list(data.splits) == ["train", "val", "test"]
    assert (data["val"].images == held.images).all() and (data["train"].images == kept.images).all()
    assert data["val"].class_counts(3) == [2, 2, 2]  # 20% of each class's 10 Training rows
    assert len(data["test"]) == 6  # PublicTest untouched


def test_privatetest_alone_is_the_test_split(tmp_path):
    path, images = kaggle_csv(tmp_path / "f.csv", ["Training"] * 6 + ["PrivateTest"] * 3)
    data = load_pixel_csv(path)
    assert list(data.splits) == ["train", "test"] and (data["test"].images[:, 0].numpy() == images[6:]).all()
    assert "Usage PrivateTest is the test split" in data.meta["notes"][0]


def test_with_both_privatetest_is_left_out_and_said(tmp_path):
    usage = ["Training"] * 6 + ["PrivateTest", "PublicTest", "PrivateTest", "PublicTest"]
    path, images = kaggle_csv(tmp_path / "f.csv", usage)
    data = load_pixel_csv(path, name="fer2013")
    assert list(data.splits) == ["train", "test"]
    assert (data["test"].images[:, 0].numpy() == images[[7, 9]]).all()  # the PublicTest rows, in file order
    note, = data.meta["notes"]
    assert note.startswith("fer2013: Usage PublicTest is the test split")
    assert "left out 2 PrivateTest rows" in note and "cnnlab evaluate" in note
    rows = read_pixel_rows(path)  # the torch-free reader (ONNX predict) agrees row by row
    assert rows.split_of_row().tolist() == ["train"] * 6 + [None, "test", None, "test"]


def test_usage_values_are_case_insensitive(tmp_path):
    path, _ = kaggle_csv(tmp_path / "f.csv", ["training", " TRAINING", "publictest"])
    assert {k: len(v) for k, v in load_pixel_csv(path).splits.items()} == {"train": 2, "test": 1}


def test_unknown_usage_names_file_line_and_the_values_expected(tmp_path):
    path, _ = kaggle_csv(tmp_path / "f.csv", ["Training", "PublicTest", "Validation", "Test"])
    with pytest.raises(DataError) as info:
        load_pixel_csv(path)
    assert str(info.value) == (f"{path}, line 4: Usage 'Validation', expected Training, PublicTest or PrivateTest")


def test_cnnlab_train_on_a_kaggle_csv_reports_test_acc(tmp_path, capsys):
    path, _ = kaggle_csv(tmp_path / "f.csv", ["Training"] * 60 + ["PublicTest"] * 15, side=12)
    code = main(["train", str(path), "--model", "dnn", "--epochs", "1", "--threads", "1",
                 "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = {k: v for k, _, v in (line.partition(" ") for line in out.out.splitlines())}
    assert 0 <= float(result["test_acc"]) <= 1 and "val_acc" in result
    assert "Usage PublicTest is the test split" in out.out + out.err


def _with_val(n_train: int, n_val: int):
    from cnnlab.data import Dataset, Split
    import torch

    labels = lambda n: torch.arange(n) % 2  # noqa: E731
    images = lambda n, v: torch.full((n, 1, 4, 4), v, dtype=torch.uint8)  # noqa: E731
    ids = lambda n, c: [f"{c}{i}" for i in range(n)]  # noqa: E731
    return Dataset("x", ["a", "b"], {"train": Split(images(n_train, 1), labels(n_train), ids(n_train, "t")),
                                     "val": Split(images(n_val, 2), labels(n_val), ids(n_val, "v")),
                                     "test": Split(images(6, 3), labels(6))})


def test_a_tiny_given_validation_split_joins_training_and_a_share_is_held_out():
    """Kaggle's chest X-ray set: val/ holds 16 images beside 5,216 training ones — 6.25 points each."""
    data = split_data(_with_val(1000, 16), TrainConfig(data="x", val_split=0.1, seed=0))
    assert len(data["train"]) + len(data["val"]) == 1016 and len(data["val"]) in (101, 102)
    counts = data["val"].class_counts(2)
    assert abs(counts[0] - counts[1]) <= 1 and len(data["test"]) == 6  # stratified; the test split untouched
    assert {i[0] for i in data["train"].ids + data["val"].ids} == {"t", "v"}
    note, = data.meta["notes"]
    assert note.startswith("the given validation split has only 16 images, too few to choose the best epoch on "
                           "(each is 6.2 points)") and "(--val-split 0 keeps the given one)" in note
    again = split_data(_with_val(1000, 16), TrainConfig(data="x", val_split=0.1, seed=0))  # evaluate re-reads it so
    assert again["val"].ids == data["val"].ids


@pytest.mark.parametrize("n_train,n_val,val_split", [(1000, 16, 0.0), (1000, 60, 0.1), (400, 16, 0.1)])
def test_a_given_validation_split_is_kept_when_it_is_not_tiny_or_asked_for(n_train, n_val, val_split):
    data = split_data(_with_val(n_train, n_val), TrainConfig(data="x", val_split=val_split, seed=0))
    assert len(data["val"]) == n_val and all(i.startswith("v") for i in data["val"].ids)
    assert "notes" not in data.meta
