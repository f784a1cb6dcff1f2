"""ONNX export: parity with PyTorch, self-describing metadata, int8, and the torch-free onnxruntime predict path."""
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from cnnlab.cli import main  # noqa: E402
from cnnlab.training.config import TrainConfig  # noqa: E402
from cnnlab.data import DataError, Split  # noqa: E402
from cnnlab.deploy.onnx_export import check_parity, export_onnx, quantize_int8, torch_logits  # noqa: E402
from cnnlab.models import build  # noqa: E402
from cnnlab.deploy.onnx_predict import OnnxClassifier, OnnxModelError  # noqa: E402
from cnnlab.deploy.onnx_predict import predict as onnx_predict  # noqa: E402
from cnnlab.deploy.onnx_predict import read_inputs  # noqa: E402
from cnnlab.runs.predict import predict as torch_predict  # noqa: E402
from cnnlab.data.preprocess import Preprocess  # noqa: E402
from cnnlab.runs.rundir import LoadedRun, load_run  # noqa: E402
from cnnlab.training.pipeline import train  # noqa: E402

from conftest import write_pixel_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def lines_dict(text):
    return {k: v for k, _, v in (line.partition(" ") for line in text.splitlines())}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run trained for one epoch on 500 mnist-mini digits (a model without batch norm learns in that time)."""
    cfg = TrainConfig(data="mnist-mini", model="mnist-1conv", limit=500, epochs=1, batch_size=32,
                      runs_dir=str(tmp_path_factory.mktemp("runs")))
    return train(cfg).run_dir


@pytest.fixture(scope="module")
def exported(run_dir):
    """`cnnlab export RUN --quantize int8`: its exit code and printed result lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["export", str(run_dir), "--quantize", "int8"])
    return code, lines_dict(out.getvalue()), run_dir / "model.onnx"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, mini):
    """Two PNG digits and a label,feature CSV of 200 test digits."""
    folder = tmp_path_factory.mktemp("inputs")
    split = mini["test"]
    pngs = []
    for i in range(2):
        pngs.append(folder / f"digit{i}.png")
        Image.fromarray(split.images[i, 0].numpy()).save(pngs[-1])
    csv = write_pixel_csv(folder / "digits.csv", split.images[:200, 0].numpy(), split.labels[:200].numpy())
    return [str(p) for p in pngs] + [str(csv)]


def test_export_prints_parity_and_accuracies(exported):
    code, result, onnx_file = exported
    assert code == 0
    assert float(result["parity"].split()[1]) < 1e-4  # 'max_abs_diff 1.2e-06 (...)'
    assert result["test_acc_torch"] == result["test_acc_onnx"]
    assert float(result["test_acc_torch"]) > 0.5  # the run learned something: the comparison means something
    int8_acc = float(result["test_acc_int8"].split()[0])
    assert abs(int8_acc - float(result["test_acc_onnx"])) < 0.05
    assert onnx_file.is_file() and onnx_file.with_name("model.int8.onnx").is_file()


def test_metadata_makes_the_file_self_describing(exported, run_dir):
    proto = onnx.load(str(exported[2]))
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
    run = load_run(run_dir)
    assert meta["cnnlab"]["format"] == "cnnlab-onnx"
    assert meta["classes"] == run.classes
    assert meta["input"]["shape"] == [1, 28, 28] and meta["input"]["dtype"] == "uint8"
    assert meta["preprocess"]["in_graph"] and meta["preprocess"]["mode"] == "standardize"
    assert np.allclose(meta["preprocess"]["mean"], run.preprocess.mean.numpy())
    assert np.allclose(meta["preprocess"]["std"], run.preprocess.std.numpy())
    assert meta["output"]["probabilities"] == "softmax"
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a named, dynamic batch axis
    int8 = {p.key: json.loads(p.value) for p in onnx.load(str(exported[2].with_name("model.int8.onnx"))).metadata_props}
    assert int8["cnnlab"]["quantized"] == "int8-static" and int8["classes"] == run.classes


def test_predictions_identical_to_torch_on_the_test_split(exported, run_dir, mini):
    run = load_run(run_dir)
    split = mini["test"]
    model = OnnxClassifier.load(exported[2])
    reference = torch_logits(run, split.images)
    logits = model.logits(split.images.numpy())
    assert np.abs(logits - reference).max() < 1e-4
    assert (logits.argmax(1) == reference.argmax(1)).all()
    one_by_one = np.concatenate([model.logits(split.images[i:i + 1].numpy()) for i in range(8)])
    assert np.abs(one_by_one - logits[:8]).max() < 1e-5  # the batch axis is dynamic
    ids = [str(i) for i in range(len(split))]
    ours = onnx_predict(model, split.images.numpy(), ids, split.labels.numpy(), top_k=3)
    theirs = torch_predict(run, split.images, ids, split.labels, top_k=3, device="cpu")
    assert [p.index for p in ours] == [p.index for p in theirs]
    assert [[c for c, _ in p.top] for p in ours] == [[c for c, _ in p.top] for p in theirs]
    assert np.allclose([[q for _, q in p.top] for p in ours], [[q for _, q in p.top] for p in theirs], atol=1e-5)


def test_cli_predict_with_onnx_matches_the_run(exported, run_dir, inputs, tmp_path, capsys):
    outputs = {}
    for name, model in (("torch", run_dir), ("onnx", exported[2])):
        assert main(["predict", str(model), *inputs, "--out", str(tmp_path / f"{name}.csv"), "--show", "500"]) == 0
        outputs[name] = capsys.readouterr().out.replace(str(tmp_path / f"{name}.csv"), "OUT")
    assert outputs["onnx"] == outputs["torch"]  # same lines: 'file: class prob  class prob ...', acc
    assert (tmp_path / "onnx.csv").read_text() == (tmp_path / "torch.csv").read_text()
    assert "digit0.png: " in outputs["onnx"] and "\nacc " in outputs["onnx"]


TORCH_BLOCKED = """
import sys
sys.modules["torch"] = None  # `import torch` now fails
{body}
assert not [m for m, v in sys.modules.items() if v is not None and m.split(".")[0] == "torch"]
"""


def run_without_torch(body: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", TORCH_BLOCKED.format(body=body), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_onnx_inference_library_needs_no_torch(exported, inputs, tmp_path):
    body = """
from cnnlab.deploy.onnx_predict import OnnxClassifier, read_inputs, predict
from cnnlab.deploy.predictions import write_predictions
model = OnnxClassifier.load(sys.argv[1])
images, ids, labels = read_inputs(sys.argv[3:], model.input_shape)
write_predictions(sys.argv[2], predict(model, images, ids, labels), model.classes)
"""
    done = run_without_torch(body, str(exported[2]), str(tmp_path / "p.csv"), *inputs)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 2 + 200


def test_cnnlab_predict_onnx_runs_with_torch_blocked(exported, inputs, tmp_path, capsys):
    body = "from cnnlab.cli import main\nrc = main(sys.argv[1:])\nassert rc == 0, rc"
    done = run_without_torch(body, "predict", str(exported[2]), *inputs, "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    assert main(["predict", str(exported[2]), *inputs, "--out", str(tmp_path / "q.csv")]) == 0
    assert (tmp_path / "p.csv").read_text() == (tmp_path / "q.csv").read_text()


def test_bad_model_files_give_clear_errors(exported, inputs, tmp_path, capsys):
    with pytest.raises(OnnxModelError, match="no such ONNX file"):
        OnnxClassifier.load(tmp_path / "missing.onnx")
    not_onnx = tmp_path / "digits.onnx"
    not_onnx.write_text("label,feature\n1,0 0 0\n")
    with pytest.raises(OnnxModelError, match="not a readable ONNX model"):
        OnnxClassifier.load(not_onnx)
    proto = onnx.load(str(exported[2]))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    with pytest.raises(OnnxModelError, match="without cnnlab metadata"):
        OnnxClassifier.load(bare)
    assert main(["predict", str(bare), inputs[0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cnnlab export" in err and "Traceback" not in err
    model = OnnxClassifier.load(exported[2])
    with pytest.raises(ValueError, match=r"expected uint8 images \(N, 1, 28, 28\)"):
        model.logits(np.zeros((2, 1, 32, 32), np.uint8))
    with pytest.raises(DataError, match="is a folder"):
        read_inputs([str(tmp_path)], model.input_shape)


def test_batch_norm_rgb_per_pixel_normalisation_and_sigmoid(tmp_path):
    """cnn (batch norm), 3×32×32, featurewise (C,H,W) statistics, a bce run: parity and metadata hold."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    model = build("cnn", (3, 32, 32), 4).eval()
    for m in model.modules():  # non-trivial batch-norm statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    run = LoadedRun(tmp_path, model, Preprocess.fit(images, "featurewise"), ["a", "b", "c", "d"], (3, 32, 32),
                    TrainConfig(model="cnn", loss="bce"), {})
    out = export_onnx(run, tmp_path / "m.onnx")
    parity = check_parity(run, out, _labelled(images), "test")
    assert parity.max_abs_diff < 1e-4 and parity.agreement == 1.0
    clf = OnnxClassifier.load(out)
    assert clf.probabilities == "sigmoid" and np.asarray(clf.meta["preprocess"]["mean"]).shape == (3, 32, 32)
    ours = onnx_predict(clf, images.numpy(), [str(i) for i in range(64)], top_k=2)
    theirs = torch_predict(run, images, [str(i) for i in range(64)], top_k=2, device="cpu")
    assert np.allclose([[q for _, q in p.top] for p in ours], [[q for _, q in p.top] for p in theirs], atol=1e-5)
    quantize_int8(out, tmp_path / "m.int8.onnx", method="dynamic")
    assert OnnxClassifier.load(tmp_path / "m.int8.onnx").logits(images.numpy()).shape == (64, 4)


def _labelled(images):
    return Split(images, torch.zeros(len(images), dtype=torch.int64))


@pytest.mark.slow
def test_dynamo_exporter(run_dir, mini, tmp_path):
    pytest.importorskip("onnxscript")
    run = load_run(run_dir)
    out = export_onnx(run, tmp_path / "d.onnx", opset=18, exporter="dynamo")
    assert check_parity(run, out, mini["test"], "test").max_abs_diff < 1e-4


def test_test_time_augmentation_is_built_into_the_graph(run_dir, mini, tmp_path, capsys):
    """--tta flip / shift / rotate: the ONNX file averages the same views as `cnnlab evaluate --tta`, to 1e-4."""
    images = mini["test"].subset(torch.arange(300))
    plain = OnnxClassifier.load(export_onnx(load_run(run_dir), tmp_path / "plain.onnx")).logits(images.images.numpy())
    for tta in ("flip", "shift", "rotate"):
        out = tmp_path / f"{tta}.onnx"
        assert main(["export", str(run_dir), "--tta", tta, "--out", str(out), "--limit", "300",
                     "--quantize", "int8", "--quant-method", "dynamic"]) == 0
        printed = capsys.readouterr().out
        assert f"{tta} test-time augmentation" in printed and float(lines_dict(printed)["parity"].split()[1]) < 1e-4
        clf = OnnxClassifier.load(out)
        assert clf.meta["output"]["tta"] == tta
        run = load_run(run_dir)
        run.config.tta = tta
        assert np.abs(clf.logits(images.images.numpy()) - torch_logits(run, images.images)).max() < 1e-4
        assert np.abs(clf.logits(images.images.numpy()) - plain).max() > 1e-3  # the views do change the logits
        assert OnnxClassifier.load(out.with_name(f"{tta}.int8.onnx")).logits(images.images.numpy()).shape == (300, 10)
    assert OnnxClassifier.load(tmp_path / "plain.onnx").meta["output"]["tta"] == "none"
