"""Folders of loose images labelled by their file names (dogs-vs-cats' cat.0.jpg, Oxford-IIIT Pets'
american_bulldog_10.jpg), and the names that must not be read as labels (phone photos, numbered files)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.data import DataError, load_data
from cnnlab.data.namelabels import name_labels

from .test_label_csv import images, labels_of, notes_of


def test_dogs_vs_cats(tmp_path):
    root = images(tmp_path / "dvc", [f"train/{c}.{i}.jpg" for c in ("cat", "dog") for i in range(3)]
                  + ["test1/1.jpg", "test1/2.jpg"])
    data = load_data(root)
    assert data.classes == ["cat", "dog"] and labels_of(data)["train/dog.2.jpg"] == "dog"
    assert notes_of(data) == ["labels from the file names (train/cat.0.jpg → cat): 2 classes",
                              f"ignored test1/: nothing labels its images with training classes; `cnnlab predict "
                              f"RUN {root / 'test1'}` labels them"]


def test_oxford_pets_images_folder(tmp_path):
    root = images(tmp_path / "pets", [f"images/{b}_{i}.jpg" for b in ("Abyssinian", "american_bulldog")
                                      for i in (1, 10, 100)])
    (root / "annotations").mkdir()
    data = load_data(root)
    assert data.classes == ["Abyssinian", "american_bulldog"] and len(data["train"]) == 6


@pytest.mark.parametrize("names", [["IMG_1234", "IMG_1235", "PXL_20240101_1", "PXL_20240101_2"],
                                   ["1", "2", "3", "4"], ["cat.1", "cat.2", "dog.1", "holiday"],
                                   ["scan a 1", "scan b 2"], ["a_1", "b_2", "c_3", "d_4"],
                                   ["clip1_0001", "clip1_0002", "clip2_0001", "clip2_0002"],
                                   ["patient1_slice_001", "patient1_slice_002", "patient2_slice_001",
                                    "patient2_slice_002"], ["0_jackson_0", "0_jackson_1", "1_theo_0", "1_theo_1"]])
def test_names_that_are_no_labels(names):
    assert name_labels([Path(f"{n}.jpg") for n in names]) is None


def test_phone_photos_stop_with_one_line(tmp_path, cli):
    root = images(tmp_path / "phone", ["IMG_1234.jpg", "IMG_1235.jpg", "IMG_1236.jpg", "IMG_1237.jpg"])
    code, out, err = cli("data", root)
    assert code != 0 and err.count("\n") == 1
    assert "4 loose image(s) (e.g. IMG_1234.jpg) and nothing that labels them" in err
    with pytest.raises(DataError, match="nothing that labels them"):
        load_data(root)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([".", "_", "-", " "]), st.sampled_from(["lower", "title", "snake"]), st.booleans(),
       st.integers(0, 10**6))
def test_unseen_name_labelled_folders(tmp_path_factory, sep, case, zero_pad, seed):
    root = tmp_path_factory.mktemp("names")
    rng = np.random.default_rng(seed)
    words = [["great", "pyrenees"], ["pug"], ["maine", "coon"], ["sphynx"]][:int(rng.integers(2, 5))]
    labels = [{"lower": "".join(w), "title": "".join(x.title() for x in w), "snake": "_".join(w)}[case]
              for w in words]
    truth = {}
    for label in labels:
        for i in range(int(rng.integers(2, 5))):
            truth[f"{label}{sep}{i:04d}.png" if zero_pad else f"{label}{sep}{i}.png"] = label
    images(root, list(truth))
    data = load_data(root)
    assert labels_of(data) == truth


def test_dogs_vs_cats_extracted_twice_with_other_folders_beside(tmp_path):
    root = images(tmp_path / "dvc", [f"train/train/{c}.{i}.jpg" for c in ("cat", "dog") for i in range(3)]
                  + ["test1/test1/1.jpg", "examples/ex1.jpg"])
    data = load_data(root)
    assert data.classes == ["cat", "dog"] and len(data["train"]) == 6
    assert notes_of(data)[-1] == "ignored examples/: not a split folder"


def test_a_name_labelled_train_split_beside_other_splits(tmp_path):
    root = images(tmp_path / "mix", [f"train/{c}.{i}.jpg" for c in ("cat", "dog") for i in range(3)]
                  + ["val/cat/1.jpg", "val/dog/2.jpg", "test/dog.9.jpg"])
    data = load_data(root)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 6, "val": 2, "test": 1}
    assert labels_of(data, "test") == {"test/dog.9.jpg": "dog"}
    images(root, ["test/boxer.9.jpg"])
    with pytest.raises(DataError, match=r"test: label\(s\) boxer that no training image has"):
        load_data(root)


def test_oxford_pets_as_torchvision_and_fastai_leave_it(tmp_path):
    root = images(tmp_path / "oxford-iiit-pet", [f"images/{b}_{i}.jpg" for b in ("Bengal", "pug") for i in range(3)]
                  + ["annotations/trimaps/Bengal_1.png", "annotations/trimaps/pug_1.png"])
    data = load_data(root)
    assert data.classes == ["Bengal", "pug"] and len(data["train"]) == 6
