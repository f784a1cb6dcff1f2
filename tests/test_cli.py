import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main

from conftest import write_pixel_csv


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def lines_dict(text):
    """The 'key value' result lines of the output."""
    return {k: v for k, _, v in (line.partition(" ") for line in text.splitlines())}


@pytest.fixture
def trained(tmp_path, capsys, tiny_csv):
    code, out, err = run_cli(capsys, "train", tiny_csv, "--model", "mnist-2conv", "--epochs", 2,
                           "--runs-dir", tmp_path / "runs", "--batch-size", 32)
    assert code == 0, err
    return lines_dict(out)


def test_train_prints_machine_readable_results(trained):
    assert float(trained["val_acc"]) > 0.2
    assert "test_acc" not in trained  # a single CSV has no test split
    assert trained["best"].startswith("val_acc ")


def test_evaluate_writes_a_confusion_matrix(trained, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "evaluate", trained["run_dir"])
    assert code == 0
    assert "confusion matrix (rows: true, columns: predicted)" in out and "precision" in out
    assert (tmp_path / "runs").exists()
    png = [line for line in out.splitlines() if line.startswith("confusion matrix →")][0].split("→ ")[1]
    assert Image.open(png).size[0] > 300


def test_score_run_is_what_evaluate_prints_and_names_a_missing_split(trained, capsys):
    from cnnlab.runs.rundir import load_run
    from cnnlab.runs.scoring import score_run

    run = load_run(trained["run_dir"])
    score = score_run(run)  # a single CSV: its validation split, the run's own TTA (none)
    assert score.split == "val" and score.tta is None
    code, out, _ = run_cli(capsys, "evaluate", trained["run_dir"])
    assert code == 0 and float(lines_dict(out)["val_acc"]) == pytest.approx(score.report.headline["acc"], abs=1e-4)
    assert score_run(run, tta="flip").tta == "flip"
    with pytest.raises(ValueError, match="has no split 'test' \\(it has train, val\\)"):
        score_run(run, split="test")
    code, _, err = run_cli(capsys, "evaluate", trained["run_dir"], "--split", "test")
    assert code == 2 and err.startswith("error: ") and "no split 'test'" in err


@pytest.mark.parametrize("tta, augment, noted", [("flip", None, True), ("multicrop", "rotation=10,shift=0.1", True),
                                                  ("rotate", "light", True), ("flip", "fer", False),
                                                  ("multicrop", "crop=2,flip=alt", False), ("shift", None, False),
                                                  (None, None, False), ("flip", "flip=hv", False)])
def test_mirror_tta_note(tta, augment, noted):
    from cnnlab.training.config import mirror_tta_note

    note = mirror_tta_note(tta, augment)
    assert (note is not None) == noted
    if noted:
        assert note.startswith(f"test-time augmentation {tta} averages mirror images") and (augment or "none") in note


def test_train_and_evaluate_say_when_a_tta_mirrors_what_training_never_did(trained, capsys, tmp_path, tiny_csv):
    code, out, _ = run_cli(capsys, "evaluate", trained["run_dir"], "--tta", "flip")
    assert code == 0 and "note      test-time augmentation flip averages mirror images" in out
    code, out, _ = run_cli(capsys, "evaluate", trained["run_dir"], "--tta", "shift")
    assert code == 0 and "mirror" not in out
    code, out, err = run_cli(capsys, "train", tiny_csv, "--model", "mnist-2conv", "--epochs", 1, "--tta", "flip",
                             "--runs-dir", tmp_path / "runs2", "--batch-size", 32)
    assert code == 0, err
    assert "test-time augmentation flip averages mirror images, which training never showed" in out + err


def test_predict_images_and_csv_with_kaggle_output(trained, capsys, tmp_path, mini):
    digit = mini["test"].images[0, 0].numpy()
    Image.fromarray(digit).save(tmp_path / "digit.png")
    code, out, _ = run_cli(capsys, "predict", trained["run_dir"], tmp_path / "digit.png", "--top-k", 2)
    assert code == 0 and out.startswith(f"{tmp_path / 'digit.png'}: ")
    test_csv = write_pixel_csv(tmp_path / "test.csv", mini["test"].images[:20, 0].numpy(), None, "id,feature")
    code, out, _ = run_cli(capsys, "predict", trained["run_dir"], test_csv, "--out", tmp_path / "preds.csv")
    rows = (tmp_path / "preds.csv").read_text().splitlines()
    assert rows[0] == "id,label" and len(rows) == 21 and rows[1].split(",")[0] == "0"
    assert all(0 <= int(r.split(",")[1]) <= 9 for r in rows[1:])
    folder = tmp_path / "test1"
    folder.mkdir()
    for i in (1, 2):
        Image.fromarray(digit).save(folder / f"0000{i}.png")
    code, out, _ = run_cli(capsys, "predict", trained["run_dir"], folder, "--out", tmp_path / "sub.csv", "--ids",
                           "stem", "--names")
    rows = (tmp_path / "sub.csv").read_text().splitlines()
    assert code == 0 and [r.split(",")[0] for r in rows] == ["id", "00001", "00002"]
    assert rows[1].split(",")[1] in {str(i) for i in range(10)}


def test_models_and_summary(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and all(name in out for name in ("dnn", "mnist-1conv", "mnist-2conv", "cnn3", "cnn"))
    code, out, _ = run_cli(capsys, "summary", "cnn", "--input", "1x48x48", "--classes", 7)
    assert code == 0 and "Total params:" in out and "(None, 7)" in out


def test_malformed_input_gives_one_clear_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,feature\n0," + " ".join(["1"] * 2304) + "\n3," + " ".join(["1"] * 10) + "\n")
    code, out, err = run_cli(capsys, "train", bad, "--runs-dir", tmp_path / "runs")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith(f"error: {bad}, line 3: found 10 pixel values, expected 2304")
    assert not (tmp_path / "runs").exists()  # nothing written for a run that could not start


def test_train_on_the_course_format_with_a_separate_val_file(tmp_path, capsys, mini):
    images, labels = mini["train"].images[:200, 0].numpy(), mini["train"].labels[:200].numpy()
    train_csv = write_pixel_csv(tmp_path / "train.csv", images[:150], labels[:150])
    val_csv = write_pixel_csv(tmp_path / "val.csv", images[150:], labels[150:])
    code, out, _ = run_cli(capsys, "train", train_csv, "--val-data", val_csv, "--epochs", 1, "--model", "dnn",
                           "--runs-dir", tmp_path / "runs")
    assert code == 0 and "val 50" in out


def test_data_command_and_python_dash_m(capsys):
    code, out, _ = run_cli(capsys, "data", "mnist-mini")
    assert code == 0 and "train    6000 images" in out
    done = subprocess.run([sys.executable, "-m", "cnnlab", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("cnnlab ")


def test_config_file_and_unknown_keys(tmp_path, capsys):
    (tmp_path / "c.json").write_text('{"epochs": 1, "modle": "dnn"}')
    code, _, err = run_cli(capsys, "train", "--config", tmp_path / "c.json")
    assert code == 2 and "unknown config key(s): modle" in err


def _idx(array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_bad_input(tmp_path, kind):
    """A malformed data set of each kind, and the words its error must contain."""
    pixels = " ".join(["9"] * 2304)
    if kind == "truncated idx":
        folder = tmp_path / "idx"
        folder.mkdir()
        (folder / "train-images-idx3-ubyte").write_bytes(_idx(np.zeros((10, 28, 28)))[:-500])
        (folder / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(10)))
        return folder, "train-images-idx3-ubyte: truncated IDX file: header says 10 items"
    if kind == "unreadable image":
        for cls in ("a", "b"):
            (tmp_path / "imgs" / cls).mkdir(parents=True)
            Image.new("L", (8, 8)).save(tmp_path / "imgs" / cls / "ok.png")
        (tmp_path / "imgs" / "b" / "bad.jpg").write_bytes(b"not a jpeg")
        return tmp_path / "imgs", "bad.jpg: unreadable image"
    rows = {"wrong pixel count": ("label,feature", f"0,{pixels}\n1,1 2 3", "line 3: found 3 pixel values, expected 2304"),
            "non-numeric": ("label,feature", f"0,{pixels}\n1,{pixels[:-1]}x", "line 3: pixel 2304 is 'x', not a number"),
            "pixel out of range": ("label,feature", f"0,{pixels}\n1,{pixels[:-1]}300", "line 3: pixel 2304 is 300, outside 0-255"),
            "negative label": ("emotion,pixels,Usage", f"0,{pixels},Training\n-1,{pixels},Training",
                               "line 3: label -1 is negative"),
            "empty file": ("", "", "empty file"),
            "missing column": ("label,values", f"0,{pixels}", "line 1: no pixel column")}
    header, body, words = rows[kind]
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{body}\n" if header else "")
    return path, words


@pytest.mark.parametrize("kind", ["wrong pixel count", "non-numeric", "pixel out of range", "negative label",
                                  "empty file", "missing column", "truncated idx", "unreadable image"])
def test_every_kind_of_malformed_input_is_one_line_naming_the_file(tmp_path, capsys, kind):
    source, words = make_bad_input(tmp_path, kind)
    code, out, err = run_cli(capsys, "train", source, "--runs-dir", tmp_path / "runs")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and words in err
    assert "Traceback" not in err
