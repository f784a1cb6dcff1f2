"""Modalities as objects: the registry's detection order and lookups, and a fourth modality added from
outside the package (one class plus `register`) that trains, predicts and evaluates through the public path."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import modalities
from cnnlab.cli import main
from cnnlab.data import DataError, Dataset, Split, load_data
from cnnlab.data.load import detect_format
from cnnlab.modalities import Modality, detect, modality_of, register, unregister
from cnnlab.training import recipes
from cnnlab.training.config import DATA_FORMATS


# ── a toy fourth modality: a CSV of numeric feature vectors, `label,v0,v1,...` ────────────────────────────
class VectorModality(Modality):
    """Rows of F numbers → float32 (N, 1, 1, F): a 1×F "image" that dense models read."""

    name = "vectors"
    formats = ("vectors",)
    unit = "feature vectors"
    file_hint = "a CSV with a header label,v0,v1,..."
    recipes = {"default": dict(model="dnn", lr=0.01)}  # applies when no recipe is named

    def detect(self, path, head):
        return "vectors" if head is not None and head.lower().startswith(b"label,v0,") else None

    def load(self, path, fmt, image_size=None, channels=None, meta=None, classes=None, **options):
        rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        classes = list(classes) if classes else sorted({str(int(v)) for v in rows[:, 0]})
        labels = np.array([classes.index(str(int(v))) for v in rows[:, 0]], dtype=np.int64)
        x = rows[:, 1:].astype(np.float32)[:, None, None, :]  # (N, 1, 1, F)
        return Dataset(Path(path).stem, classes, {"train": Split(x, labels)}, source=str(path),
                       meta={"kind": self.name})

    def read_inputs(self, run, paths, texts):
        parts = [self.load(Path(p), "vectors", classes=run.classes)["train"] for p in paths]
        ids = [f"{Path(p).name}:{i}" for p, part in zip(paths, parts) for i in range(len(part))]
        return torch.cat([p.images for p in parts]), ids, torch.cat([p.labels for p in parts])


@pytest.fixture
def vectors():
    modality = register(VectorModality())
    yield modality
    unregister(modality.name)


def write_vectors(path: Path, n: int, seed: int) -> Path:
    """Two well-separated Gaussian blobs in 6 dimensions, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 6)) + 3 * (2 * y[:, None] - 1)
    lines = ["label," + ",".join(f"v{i}" for i in range(6))]
    lines += [f"{label}," + ",".join(f"{v:.4f}" for v in row) for label, row in zip(y, x)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(capsys, *args) -> str:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_a_fourth_modality_trains_predicts_and_evaluates_through_the_public_path(vectors, tmp_path, capsys):
    train_csv = write_vectors(tmp_path / "blobs.csv", 200, seed=0)
    new_csv = write_vectors(tmp_path / "new.csv", 8, seed=1)
    assert detect_format(train_csv) == "vectors"
    data = load_data(train_csv)
    assert modality_of(data) is vectors and "feature vectors" in data.describe()

    assert "default vectors model=dnn" in recipes.describe()
    out = run_cli(capsys, "train", train_csv, "--epochs", "3",
                  "--runs-dir", tmp_path / "runs", "--run-name", "vec", "--threads", "1")
    assert "best val_acc" in out
    run_dir = tmp_path / "runs" / "vec"
    assert '"model": "dnn"' in (run_dir / "config.json").read_text()  # the modality's default recipe
    out = run_cli(capsys, "predict", run_dir, new_csv)
    rows = [line for line in out.splitlines() if line.startswith("new.csv:")]
    assert len(rows) == 8
    truths = np.loadtxt(new_csv, delimiter=",", skiprows=1)[:, 0].astype(int).astype(str)
    right = sum(line.split(": ")[1].split()[0] == truth for line, truth in zip(rows, truths))
    assert right >= 7  # the blobs are 6 standard deviations apart
    assert "val_acc" in run_cli(capsys, "evaluate", run_dir)


def test_a_modality_that_does_not_say_it_exports_is_refused_by_onnx_export(vectors, tmp_path, capsys):
    pytest.importorskip("onnx")
    csv = write_vectors(tmp_path / "blobs.csv", 40, seed=0)
    run_cli(capsys, "train", csv, "--model", "dnn", "--epochs", "1", "--runs-dir", tmp_path, "--run-name", "v",
            "--threads", "1")
    assert main(["export", str(tmp_path / "v"), "--out", str(tmp_path / "m.onnx")]) != 0
    assert "ONNX export takes image models; this run reads vectors input" in capsys.readouterr().err


# ── the registry ─────────────────────────────────────────────────────────────────────────────────────────
def test_registered_names_and_formats_are_unique(vectors):
    with pytest.raises(ValueError, match="already registered"):
        register(VectorModality())
    clash = type("Clash", (VectorModality,), {"name": "other-text", "formats": ("text",)})()
    with pytest.raises(ValueError, match="text of modality 'other-text' are already read"):
        register(clash)


def test_the_built_in_formats_are_the_configs_choices():
    assert set(modalities.formats()) == set(DATA_FORMATS)


def test_modality_of_reads_the_stored_kind_and_defaults_to_images():
    assert modality_of({}).name == "image" and modality_of({"task": "regression"}).name == "image"
    assert modality_of({"kind": "text", "tokenizer": {}}).name == "text"
    data = Dataset("d", ["a"], {"train": Split(torch.zeros(1, 8, dtype=torch.int64), torch.zeros(1))},
                   meta={"kind": "text"})
    assert modality_of(data).name == "text"
    run = type("Run", (), {"input_meta": {"kind": "audio"}})()
    assert modality_of(run).name == "audio"
    with pytest.raises(ValueError, match="kind 'smell'.*known: image"):
        modality_of({"kind": "smell"})


def test_image_folders_with_notes_stay_images_and_speech_folders_with_transcripts_stay_audio(tmp_path):
    from cnnlab.modalities.audio.wav import write_wav

    for label in ("cat", "dog"):
        folder = tmp_path / "pictures" / label
        folder.mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
        (folder / "notes.txt").write_text("taken in spring")
        folder = tmp_path / "speech" / label
        folder.mkdir(parents=True)
        write_wav(folder / "a.wav", np.zeros(800, np.float32), 8000)
        (folder / "a.txt").write_text(label)
    assert detect(tmp_path / "pictures") == "folder" and detect(tmp_path / "speech") == "audio"


def test_files_are_detected_by_content_and_text_options_pick_text(tmp_path):
    pixels = tmp_path / "p.csv"
    pixels.write_text("label,feature\n1,0 0 0 0\n")
    text = tmp_path / "t.csv"
    text.write_text("category,text\nsport,a goal\n")
    unknown = tmp_path / "u.csv"
    unknown.write_text("a,b\n1,2\n")
    assert [detect(p) for p in (pixels, text, unknown)] == ["csv", "text", "csv"]  # any other .csv: pixel rows
    assert modalities.forced_format(pixels, {"text_column": "feature"}) == "text"
    odd = tmp_path / "u.dat"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot tell the data format; expected a CSV with a header such as"):
        detect(odd)


def test_the_web_lab_and_export_take_image_classifiers_only():
    from cnnlab.serve.catalog import run_kind

    digits = [str(i) for i in range(10)]
    assert run_kind([1, 28, 28], digits) == "digits"
    assert run_kind([1, 48, 48], ["angry", "happy", "sad"]) == "faces"
    assert run_kind([1, 28, 28], ["x"], "", {"task": "regression", "target": "x"}) == "other"
    assert run_kind([1, 40, 32], digits, "", {"kind": "audio"}) == "other"
    assert run_kind([200], digits, "", {"kind": "text"}) == "other"


def test_the_data_layer_and_the_registry_load_no_modality_internals_nor_torch():
    code = ("import sys; import cnnlab.modalities;"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'torch'];"
            "import cnnlab.data.load;"
            "assert not [m for m in sys.modules if m.startswith(('cnnlab.modalities.text.', 'cnnlab.modalities.audio.'))"
            " and not m.endswith('.modality')], sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
