import gzip

import numpy as np
import pytest

from cnnlab.data import DataError, load_data
from cnnlab.data.pixelcsv import FER_CLASSES, load_pixel_csv

from conftest import write_pixel_csv

RNG = np.random.default_rng(0)


def faces(n=12):
    return RNG.integers(0, 256, (n, 48, 48), dtype=np.uint8), np.arange(n) % 7  # FER2013's seven codes


def test_course_and_kaggle_formats_give_the_same_images(tmp_path):
    images, labels = faces()
    usage = ["Training"] * 8 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
    kaggle = load_data(write_pixel_csv(tmp_path / "k.csv", images, labels, "emotion,pixels,Usage", usage))
    course = load_data(write_pixel_csv(tmp_path / "c.csv", images[:8], labels[:8]))
    assert kaggle.classes == FER_CLASSES == course.classes
    assert list(kaggle.splits) == ["train", "test"]  # PrivateTest is left out when PublicTest is there
    assert (kaggle["train"].images == course["train"].images).all()
    assert (kaggle["train"].labels == course["train"].labels).all()
    assert (kaggle["test"].images[:, 0].numpy() == images[8:10]).all()
    assert kaggle.input_shape == (1, 48, 48)


def test_gzip_csv(tmp_path):
    images, labels = faces(3)
    plain = write_pixel_csv(tmp_path / "c.csv", images, labels)
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert (load_data(gz)["train"].images == load_data(plain)["train"].images).all()


def test_unlabeled_id_feature_csv_for_prediction(tmp_path):
    images, _ = faces(4)
    data = load_pixel_csv(write_pixel_csv(tmp_path / "test.csv", images, None, "id,feature"))
    split = data["test"]
    assert not split.labeled and split.ids == ["0", "1", "2", "3"]


def test_rgb_non_square_rows_with_image_size(tmp_path):
    rgb = RNG.integers(0, 256, (3, 4, 6, 3), dtype=np.uint8)  # N, H, W, C interleaved
    lines = ["label,pixels"] + [f"{i % 2}," + " ".join(map(str, im.reshape(-1))) for i, im in enumerate(rgb)]
    (tmp_path / "rgb.csv").write_text("\n".join(lines))
    data = load_pixel_csv(tmp_path / "rgb.csv", image_size=(4, 6), channels=3)
    assert data.input_shape == (3, 4, 6)
    assert (data["train"].images.numpy() == rgb.transpose(0, 3, 1, 2)).all()


def test_non_square_without_size_asks_for_it(tmp_path):
    (tmp_path / "x.csv").write_text("label,feature\n0," + " ".join(["1"] * 12) + "\n")
    with pytest.raises(DataError, match="--image-size"):
        load_pixel_csv(tmp_path / "x.csv")


@pytest.mark.parametrize("row, message", [
    ("0," + " ".join(["1"] * 2303), r"line 3: found 2303 pixel values, expected 2304"),
    ("0," + " ".join(["1"] * 2303) + " abc", r"line 3: pixel 2304 is 'abc', not a number"),
    ("0," + " ".join(["1"] * 2303) + " 256", r"line 3: pixel 2304 is 256, outside 0-255"),
    ("0," + " ".join(["1"] * 2303) + " -3", r"line 3: pixel 2304 is -3, outside 0-255"),
    ("0," + " ".join(["1"] * 2303) + " 1.5", r"line 3: pixel 2304 is 1.5, expected an integer"),
    ("x," + " ".join(["1"] * 2304), r"line 3: label 'x' is not an integer"),
    ("-1," + " ".join(["1"] * 2304), r"line 3: label -1 is negative"),
    ("0", r"line 3: found 1 comma-separated fields, expected 2"),
])
def test_bad_rows_name_file_line_and_expectation(tmp_path, row, message):
    good = "0," + " ".join(["7"] * 2304)
    path = tmp_path / "bad.csv"
    path.write_text(f"label,feature\n{good}\n{row}\n{good}\n")
    with pytest.raises(DataError, match=message) as info:
        load_pixel_csv(path)
    assert str(path) in str(info.value)


def test_label_outside_the_named_classes(tmp_path):
    images, labels = faces(3)
    labels[1] = 9
    path = write_pixel_csv(tmp_path / "f.csv", images, labels, "emotion,pixels,Usage", ["Training"] * 3)
    (tmp_path / "classes.txt").write_text("\n".join(FER_CLASSES) + "\n")
    with pytest.raises(DataError, match=r"f.csv, line 3: label 9 has no class among the 7 class names \(Angry,"):
        load_pixel_csv(path)
    with pytest.raises(DataError, match=r"line 3: label 9 has no class among the 2 class names \(a, b\)"):
        load_pixel_csv(path, class_names=["a", "b"])


def test_fer_names_only_for_fer2013s_seven_codes(tmp_path):
    """48×48 gray rows re-coded to 6 classes (Disgust merged into Angry) are not FER2013: names are the labels."""
    images, _ = faces(12)
    six = np.arange(12) % 6
    recoded = load_pixel_csv(write_pixel_csv(tmp_path / "six.csv", images, six, "emotion,pixels,Usage",
                                             ["Training"] * 12))
    assert recoded.classes == ["0", "1", "2", "3", "4", "5"] and "notes" not in recoded.meta
    fer = load_pixel_csv(write_pixel_csv(tmp_path / "seven.csv", images, np.arange(12) % 7))
    assert fer.classes == FER_CLASSES
    assert "class names assumed to be FER2013's" in fer.meta["notes"][0]
    names = ["Angry", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
    named = load_pixel_csv(tmp_path / "six.csv", class_names=names)
    assert named.classes[1] == "Fear" and named["train"].labels.tolist() == six.tolist()
    (tmp_path / "classes.txt").write_bytes("Äpfel\r\nBirnen\r\nC\r\nD\r\nE\r\nF\r\n".encode("cp1252"))
    beside = load_pixel_csv(tmp_path / "six.csv")
    assert beside.classes == ["Äpfel", "Birnen", "C", "D", "E", "F"] and "classes.txt" in beside.meta["notes"][0]


@pytest.mark.parametrize("values, classes, index", [
    ([1, 2, 3, 4, 5, 6], ["1", "2", "3", "4", "5", "6"], [0, 1, 2, 3, 4, 5]),
    ([0, 2, 5, 5, 2], ["0", "2", "5"], [0, 1, 2, 2, 1]),
    ([10, 3, 10], ["3", "10"], [1, 0, 1]),
])
def test_label_values_that_are_not_indices_become_classes(tmp_path, values, classes, index):
    images = RNG.integers(0, 256, (len(values), 4, 4), dtype=np.uint8)
    path = tmp_path / "v.csv"
    path.write_text("label,feature\n" + "".join(f"{v},{' '.join(map(str, im.ravel()))}\n"
                                                for v, im in zip(values, images)))
    data = load_pixel_csv(path)
    assert data.classes == classes and data["train"].labels.tolist() == index
    assert "predictions give these indices" in data.meta["notes"][0]
    again = load_pixel_csv(path, classes=classes)  # a val/test file read with the training file's classes
    assert again["train"].labels.tolist() == index and "notes" not in again.meta


def test_empty_file_and_missing_column(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv: empty file"):
        load_pixel_csv(tmp_path / "empty.csv")
    (tmp_path / "nopix.csv").write_text("label,text\n0,hello\n")
    with pytest.raises(DataError, match=r"nopix.csv, line 1: no pixel column"):
        load_pixel_csv(tmp_path / "nopix.csv")
    (tmp_path / "header.csv").write_text("label,feature\n")
    with pytest.raises(DataError, match="no data rows"):
        load_pixel_csv(tmp_path / "header.csv")


def test_parser_matches_a_plain_python_parse(tmp_path):
    images = RNG.integers(0, 256, (50, 48, 48), dtype=np.uint8)
    images[0, 0, :5] = [0, 9, 10, 99, 100]  # every digit count
    path = write_pixel_csv(tmp_path / "p.csv", images, np.zeros(50, int))
    assert (load_pixel_csv(path)["train"].images[:, 0].numpy() == images).all()


def test_fer2013_loads_fast_with_the_documented_counts(data_dir):
    import time

    start = time.perf_counter()
    data = load_data(data_dir / "fer2013" / "fer2013.csv.gz")
    seconds = time.perf_counter() - start
    assert data["train"].class_counts(7) == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert len(data["test"]) == 3589 and "val" not in data  # PublicTest; validation is carved from Training
    assert seconds < 30  # ~4 s on a 2-core CPU; generous for busy CI machines


def test_fer2013_in_the_course_format_trains_identically(data_dir, tmp_path):
    """Kaggle's emotion,pixels,Usage file and the same rows rewritten as label,feature (PublicTest as --test-data)
    give the same run: the same validation split carved from Training, the same test split."""
    import gzip as gz

    from cnnlab.training.config import TrainConfig
    from cnnlab.training.pipeline import train

    lines = gz.open(data_dir / "fer2013" / "fer2013.csv.gz", "rt").read().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    train_rows = [r for r in rows if r[2] == "Training"][:400]
    test_rows = [r for r in rows if r[2] == "PublicTest"][:100]
    (tmp_path / "kaggle.csv").write_text("emotion,pixels,Usage\n"
                                         + "\n".join(",".join(r) for r in train_rows + test_rows))
    (tmp_path / "train.csv").write_text("label,feature\n" + "\n".join(f"{r[0]},{r[1]}" for r in train_rows))
    (tmp_path / "test.csv").write_text("label,feature\n" + "\n".join(f"{r[0]},{r[1]}" for r in test_rows))
    common = dict(model="mnist-2conv", epochs=1, batch_size=50, runs_dir=str(tmp_path / "runs"))
    kaggle = train(TrainConfig(data=str(tmp_path / "kaggle.csv"), **common))
    course = train(TrainConfig(data=str(tmp_path / "train.csv"), test_data=str(tmp_path / "test.csv"), **common))
    assert kaggle.fit.history[0]["train_loss"] == course.fit.history[0]["train_loss"]
    for split in ("val", "test"):
        assert kaggle.reports[split].accuracy == course.reports[split].accuracy
    assert kaggle.reports["test"].classes == course.reports["test"].classes == FER_CLASSES
